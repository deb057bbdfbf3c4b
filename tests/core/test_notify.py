"""Notifications as data: which events become messages, what they carry, what they never do."""

from __future__ import annotations

import json

from release.core import notify

SLACK = "https://hooks.slack.com/services/T000/B000/XyZsecretTokenValue"


def _release_events() -> list[tuple[str, dict]]:
    return [
        ("release.plan", {"env": "production", "service": "svc", "commit": "a" * 40,
                          "image": "sha256:" + "b" * 64, "live_revision": "arn:x/fam:1"}),
        ("release.registered", {"revision": "arn:aws:ecs:r:1:task-definition/fam:2"}),
        ("wait.start", {"env": "production", "service": "svc"}),
        ("wait.failed", {"env": "production", "service": "svc", "cause": "tasks_stopping",
                         "reason": "Essential container exited", "fix": "see the logs",
                         "revision": "arn:aws:ecs:r:1:task-definition/fam:2"}),
        ("release.rollback", {"env": "production", "service": "svc",
                              "revision": "arn:aws:ecs:r:1:task-definition/fam:1"}),
        ("release.rolled_back", {"env": "production", "service": "svc",
                                 "revision": "arn:aws:ecs:r:1:task-definition/fam:2",
                                 "restored": "arn:aws:ecs:r:1:task-definition/fam:1",
                                 "cause": "tasks_stopping"}),
    ]


def test_a_failed_release_is_start_failure_rollback_with_the_event_fields() -> None:
    notes = notify.Notifications(build_url="https://jenkins.example/job/a/7/")
    payloads = []
    for t, (kind, data) in enumerate(_release_events()):
        payloads += notes.observe(kind, data, 1000.0 + 10 * t)
    assert [p["outcome"] for p in payloads] == ["started", "failed", "rolled_back"]
    start, failed, back = payloads
    assert start["environment"] == "production" and start["service"] == "svc"
    assert start["digest"] == "sha256:" + "b" * 64 and start["commit"] == "a" * 40
    assert start["build_url"] == "https://jenkins.example/job/a/7/"
    assert failed["revision"].endswith("fam:2") and failed["cause"] == "tasks_stopping"
    assert failed["duration_seconds"] == 30.0
    assert back["restored"].endswith("fam:1") and back["duration_seconds"] == 50.0
    assert back["text"].startswith(":leftwards_arrow_with_hook: *production/svc*: rolled back")
    assert "commit aaaaaaaaaaaa" in back["text"] and "<https://jenkins.example" in back["text"]


def test_a_second_wait_failure_while_rolling_back_is_not_restored() -> None:
    notes = notify.Notifications()
    events = _release_events()[:5] + [("wait.failed", {"env": "production", "service": "svc",
                                                       "reason": "rollback stuck"})]
    outcomes = [p["outcome"] for k, d in events for p in notes.observe(k, d, 0.0)]
    assert outcomes == ["started", "failed", "not_restored"]


def test_an_operator_rollback_starts_with_release_rollback_and_ends_with_rollback_done() -> None:
    notes = notify.Notifications()
    lane = object()
    first = notes.observe("release.rollback", {"env": "e", "service": "s",
                                               "revision": "arn:x/fam:4"}, 0.0, lane)
    done = notes.observe("rollback.done", {"revision": "arn:x/fam:4"}, 5.0, lane)
    assert first[0]["action"] == "rollback" and first[0]["outcome"] == "started"
    assert done[0]["outcome"] == "rolled_back" and done[0]["service"] == "s"
    assert done[0]["revision"] == "arn:x/fam:4"


def test_releases_on_two_lanes_stay_apart() -> None:
    notes = notify.Notifications()
    notes.observe("release.plan", {"env": "e", "service": "a"}, 0.0, 1)
    notes.observe("release.plan", {"env": "e", "service": "b"}, 0.0, 2)
    notes.observe("release.registered", {"revision": "arn:x/a:2"}, 1.0, 1)
    released = notes.observe("release.released", {"env": "e", "service": "b"}, 2.0, 2)
    assert released[0]["service"] == "b" and released[0]["revision"] is None
    aborted = notes.abort("AWS went away", 3.0)
    assert [(p["service"], p["outcome"], p["revision"]) for p in aborted] == [
        ("a", "failed", "arn:x/a:2")]


def test_nothing_secret_reaches_a_payload() -> None:
    secrets = notify.secret_values({"AWS_SECRET_ACCESS_KEY": "wJalrXUtnFEMI/K7MDENG",
                                    "RELEASE_NOTIFY_URL": SLACK, "HOME": "/home/me"})
    notes = notify.Notifications("https://bob:hunter22@jenkins.example/job/x/?token=abc123",
                                 secrets)
    notes.observe("release.plan", {"env": "e", "service": "s"}, 0.0)
    [failed] = notes.observe("wait.failed", {
        "env": "e", "service": "s", "reason": f"posting to {SLACK} with key AKIAABCDEFGHIJKLMNOP "
        "and wJalrXUtnFEMI/K7MDENG failed; password=pa55word"}, 1.0)
    text = json.dumps(failed)
    for secret in ("XyZsecretTokenValue", "AKIAABCDEFGHIJKLMNOP", "wJalrXUtnFEMI", "pa55word",
                   "hunter22", "abc123"):
        assert secret not in text, secret
    assert failed["build_url"] == "https://jenkins.example/job/x/?…"


def test_the_url_shown_is_scheme_and_host_only() -> None:
    assert notify.redact_url(SLACK) == "https://hooks.slack.com/…"
    assert notify.redact_url("http://127.0.0.1:8080/a/b?c=d") == "http://127.0.0.1:8080/…"


def test_the_target_is_the_option_then_the_variable_then_the_environment() -> None:
    doc = {"notify": {"urlFromEnv": "SLACK_PROD", "timeoutSeconds": 2, "attempts": 4}}
    env = {"SLACK_PROD": "https://hooks.example/prod"}
    assert notify.target_of(doc, None, env) == notify.Target("https://hooks.example/prod", 2, 4)
    assert notify.target_of(doc, None, {**env, "RELEASE_NOTIFY_URL": "https://v"}).url == \
        "https://v"
    assert notify.target_of(doc, "https://o", env).url == "https://o"
    assert notify.target_of({"notify": {"url": "https://u"}}, None, {}).url == "https://u"
    assert notify.target_of({}, None, {}) is None
    assert [notify.backoff(n) for n in (1, 2, 3, 9)] == [1, 2, 4, 8]


def test_a_pause_is_a_message_with_the_approval_and_continue_reports_the_end() -> None:
    notes = notify.Notifications()
    plan = _release_events()[0]
    paused = notes.observe(*plan, 0.0) + notes.observe("release.paused", {
        "env": "production", "service": "svc", "revision": "arn:x/fam:2",
        "resume": "release continue --env production --service svc"}, 60.0)
    assert [p["outcome"] for p in paused] == ["started", "paused"]
    assert "fam:2 paused at a lifecycle hook" in paused[1]["text"]
    assert "approve with `release continue --env production --service svc`" in paused[1]["text"]
    later = notify.Notifications()  # `release continue` is another run
    assert later.observe("continue.start", {"env": "production", "service": "svc",
                                            "revision": "arn:x/fam:2"}, 0.0) == []
    [done] = later.observe("release.released", {"env": "production", "service": "svc",
                                                "revision": "arn:x/fam:2"}, 30.0)
    assert (done["outcome"], done["action"], done["revision"]) == ("released", "continue",
                                                                    "arn:x/fam:2")


def test_a_release_ended_with_no_event_is_told_by_the_summary_once() -> None:
    """A native deployment ECS could not restore ends with no event of its own."""
    notes = notify.Notifications()
    notes.observe(*_release_events()[0], 0.0)
    outcome = {"env": "production", "service": "svc", "status": "not_restored",
               "message": "deployment ROLLBACK_FAILED", "revision": "arn:x/fam:2", "hint": "page"}
    [told] = notes.observe("deploy.summary", {"outcomes": [outcome]}, 9.0)
    assert told["outcome"] == "not_restored" and told["reason"] == "deployment ROLLBACK_FAILED"
    assert notes.observe("deploy.summary", {"outcomes": [outcome]}, 9.0) == []


def test_a_credential_in_a_webhook_url_is_named() -> None:
    assert notify.url_secret(SLACK) == "a token in its path"
    assert notify.url_secret("https://hooks.slack.com/services/T0/B0/XXXX") == \
        "a token in its path"
    assert notify.url_secret("https://bot:pw@chat.example/hook") == "a user name or password"
    assert notify.url_secret("https://chat.example/hook?key=1") == "a query string"
    assert notify.url_secret("https://chat.example/hooks/release-notices") is None


def test_finishing_a_release_an_earlier_run_left_is_told_as_a_release() -> None:
    notes = notify.Notifications()
    started = notes.observe("release.finish", {"env": "e", "service": "s", "commit": "c" * 40,
                                               "revision": "arn:x/fam:2"}, 0.0)
    released = notes.observe("release.released", {"env": "e", "service": "s",
                                                  "revision": "arn:x/fam:2"}, 300.0)
    assert [p["outcome"] for p in started + released] == ["started", "released"]
    assert released[0]["revision"] == "arn:x/fam:2" and released[0]["duration_seconds"] == 300
