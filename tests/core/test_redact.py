"""core/redact.py: what a credential looks like, and how each writer keeps it out."""

from __future__ import annotations

import pytest

from release.core import redact

WEBHOOK = "https://hooks.slack.com/services/T00000000/B00000000/" + "X" * 24


@pytest.mark.parametrize(("value", "what"), [
    ("AKIAIOSFODNN7EXAMPLE", "an AWS access key id"),
    ("xoxb-0000000000-0000000000000-fakefake", "a Slack token"),
    ("sk_live_" + "0" * 24, "a Stripe secret key"),
    (WEBHOOK, "a Slack webhook URL (its path is the token)"),
    ("postgres://app:s3cret@db:5432/app", "a URL with a password"),
    ("glpat-" + "a" * 20, "a GitLab token"),
    ("-----BEGIN RSA PRIVATE KEY-----", "a private key"),
    ("ghp_" + "a" * 36, "a GitHub token"),
    ("github_pat_" + "a" * 30, "a GitHub token"),
    ("xapp-1-" + "a" * 12, "a Slack token"),
    ("https://discord.com/api/webhooks/123/abc-def",
     "a Discord webhook URL (its path is the token)"),
    ("AIza" + "a" * 35, "a Google API key"),
    ("npm_" + "a" * 36, "an npm token"),
    ("eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0In0.c2lnbmF0dXJl", "a JWT"),
])
def test_a_credential_is_known_by_its_shape(value: str, what: str) -> None:
    assert redact.maybe_credential(value)  # the cheap test never misses one
    assert redact.credential_kind(f"x {value} y") == what
    assert value not in redact.mask(f"x {value} y")


@pytest.mark.parametrize("value", ["pk_live_" + "0" * 24, "https://hooks.example.com/x",
                                   "arn:aws:ssm:us-east-1:123456789012:parameter/db",
                                   "/staging/slack/bot-token", "postgres://db:5432/app"])
def test_what_is_not_a_credential_is_left_as_it_is(value: str) -> None:
    assert redact.credential_kind(value) is None and redact.mask(value) == value


def test_a_ci_url_loses_its_user_info_and_query() -> None:
    assert redact.ci_value("https://u:p@ci/job/1/?token=t#x") == "https://ci/job/1/"
    assert redact.ci_value("https://u:p@ci/job/1/_token=old") == "https://ci/job/1/_token=***"
    assert redact.ci_value("jenkins-akka-42") == "jenkins-akka-42"
    assert redact.ci_value("") == ""


def test_scrub_keeps_a_url_s_host_and_path_and_says_a_query_was_there() -> None:
    text = redact.scrub(f"posting to {WEBHOOK} via https://u:pw@proxy:8080/a?sig=1 "
                        "password=hunter2", ["hunter2"])
    assert text == ("posting to https://hooks.slack.com/*** via https://proxy:8080/a?… "
                    "password=***")


def test_a_secret_option_s_value_is_masked_whole() -> None:
    argv = ["release", "deploy", "--notify", "https://chat.example/hooks/abc", "--env", "x",
            "--notify=https://chat.example/hooks/def", "--api-token", "abc",
            "--base-url", "https://u:p@elb/?token=t"]
    assert redact.scrub_argv(argv) == [
        "release", "deploy", "--notify", "***", "--env", "x", "--notify=***", "--api-token",
        "***", "--base-url", "https://elb/?…"]


def test_a_value_named_like_a_secret_is_masked_for_display() -> None:
    shown = redact.mask_value({"environment": [
        {"name": "DB_PASSWORD", "value": "hunter2"}, {"name": "JWT_TOKEN_TTL", "value": "15m"},
        {"name": "FLAG", "value": "AKIAIOSFODNN7EXAMPLE"}],
        "dockerLabels": {"api_token": "abc", "team": "payments"},
        "tags": [{"key": "api-token", "value": "true"}]})
    assert shown == {"environment": [
        {"name": "DB_PASSWORD", "value": "***"}, {"name": "JWT_TOKEN_TTL", "value": "15m"},
        {"name": "FLAG", "value": "***"}],
        "dockerLabels": {"api_token": "***", "team": "payments"},
        "tags": [{"key": "api-token", "value": "true"}]}
