"""`--notify` against the sandbox's webhook receiver: what a channel hears of a release."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from engine_sandbox import ENV_DOC, SPEC, Stage

from release_sandbox.webhook import TOKEN_PATH, WebhookReceiver

TOKEN = TOKEN_PATH.rsplit("/", 1)[-1]


@pytest.fixture
def hook() -> Iterator[WebhookReceiver]:
    with WebhookReceiver() as receiver:
        yield receiver


def _crash_v2(stage: Stage) -> None:
    stage.edit(SPEC, lambda d: d["service"]["deploymentConfiguration"].update(
        deploymentCircuitBreaker={"enable": False, "rollback": False}))
    stage.pin("v2", fault="crash:exit=3")


def test_webhook_hears_start_failure_and_rollback_with_the_fields_and_no_secret(
        released: Stage, hook: WebhookReceiver, monkeypatch: pytest.MonkeyPatch) -> None:
    stage = released
    monkeypatch.setenv("BUILD_URL", "https://jenkins.example/job/akka/42/")
    _crash_v2(stage)
    commit = stage.git.head.commit.hexsha
    run = stage.cli("deploy", "--notify", hook.url)
    assert run.exit_code == 3, run.output
    bodies = hook.bodies()
    assert [b["outcome"] for b in bodies] == ["started", "failed", "rolled_back"], bodies
    start, failed, back = bodies
    digest = json.loads((stage.repo / SPEC).read_text())["image"]["digest"]
    for body in bodies:
        assert body["environment"] == "sandbox"
        assert body["service"] == "akka-firehose-service"
        assert body["commit"] == commit and body["digest"] == digest
        assert body["build_url"] == "https://jenkins.example/job/akka/42/"
        assert body["text"].startswith(":") and "*sandbox/akka-firehose-service*" in body["text"]
    assert failed["revision"].endswith("akka-demo:2") and failed["cause"] == "tasks_stopping"
    assert "exit code 3" in failed["reason"]
    assert back["restored"].endswith("akka-demo:1")
    assert back["duration_seconds"] >= failed["duration_seconds"] > 0
    assert all(r.headers["Content-Type"] == "application/json" for r in hook.requests)
    # the token is the URL's last part: neither the messages nor the output carry it
    assert TOKEN not in json.dumps(bodies)
    assert TOKEN not in run.output
    assert [e["webhook"] for e in run.events if e["event"] == "notify.sent"] == [
        hook.url.split("/services/")[0] + "/…"] * 3


def test_a_failing_webhook_leaves_the_exit_code_as_it_was(
        released: Stage, hook: WebhookReceiver) -> None:
    stage = released
    hook.answer(500)
    stage.edit(ENV_DOC, lambda d: d.update(notify={"url": hook.url, "attempts": 3}))
    _crash_v2(stage)
    run = stage.cli("deploy")
    assert run.exit_code == 3, run.output
    assert stage.live_revision() == "akka-demo:1"
    # three attempts at the first message, then this run gives the webhook up
    assert len(hook.requests) == 3
    [warning] = [e for e in run.events if e["event"] == "notify.failed"]
    assert warning["level"] == "warn" and "HTTP 500 after" not in warning["message"]
    assert "failed after 3 attempt(s): HTTP 500" in warning["message"]
    assert TOKEN not in run.output
    assert run.summary["outcomes"][0]["status"] == "rolled_back"

