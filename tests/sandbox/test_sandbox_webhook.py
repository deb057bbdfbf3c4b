"""The sandbox's webhook receiver, the POST adapter, and the retries around it."""

from __future__ import annotations

import io
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from release.adapters.webhook import WebhookError, post_json
from release.core import notify
from release.core.clock import VirtualClock, use_clock
from release.engine.notify import NotifyingReporter
from release.output.events import Reporter
from release_sandbox.webhook import TOKEN_PATH, WebhookReceiver


@pytest.fixture
def hook() -> Iterator[WebhookReceiver]:
    with WebhookReceiver() as receiver:
        yield receiver


@pytest.fixture
def clock() -> Iterator[VirtualClock]:
    virtual = VirtualClock()
    previous = use_clock(virtual)
    yield virtual
    use_clock(previous)


def _reporter(url: str, attempts: int = 3, timeout: float = 2.0) -> NotifyingReporter:
    inner = Reporter("json", stream=io.StringIO())
    return NotifyingReporter(inner, lambda env: notify.Target(url, timeout, attempts))


def test_the_receiver_records_json_and_answers_ok_then_as_told(hook: WebhookReceiver) -> None:
    assert hook.url.endswith(TOKEN_PATH) and hook.url.startswith("http://127.0.0.1:")
    assert post_json(hook.url, {"text": "hi"}, 2) == 200
    hook.answer(500, times=1)
    with pytest.raises(WebhookError) as failed:
        post_json(hook.url, {"text": "again"}, 2)
    assert str(failed.value) == "HTTP 500" and failed.value.retry
    assert post_json(hook.url, {"text": "third"}, 2) == 200
    hook.answer(404)
    with pytest.raises(WebhookError) as gone:
        post_json(hook.url, {}, 2)
    assert not gone.value.retry  # a revoked token does not come back by retrying
    assert hook.bodies()[:3] == [{"text": "hi"}, {"text": "again"}, {"text": "third"}]
    assert hook.requests[0].path == TOKEN_PATH


def test_a_hanging_webhook_times_out_without_naming_its_url(hook: WebhookReceiver) -> None:
    hook.hang()
    started = time.monotonic()
    with pytest.raises(WebhookError) as failed:
        post_json(hook.url, {"text": "x"}, 0.3)
    assert time.monotonic() - started < 3
    assert str(failed.value) == "no answer within 0.3 s" and failed.value.retry
    assert "sandboxWebhookToken" not in str(failed.value)


def test_delivery_retries_with_backoff_on_the_clock(hook: WebhookReceiver,
                                                   clock: VirtualClock) -> None:
    hook.answer(503, times=2)
    reporter = _reporter(hook.url)
    before = clock.now()
    reporter.emit("release.plan", "plan", env="e", service="s")
    assert clock.now() - before == 1 + 2  # backoff after attempts 1 and 2, in virtual time
    assert len(hook.requests) == 3
    sent = [e for e in reporter.events if e.kind == "notify.sent"]
    assert sent[0].data["attempt"] == 3 and sent[0].data["outcome"] == "started"


def test_a_dead_webhook_is_one_warning_and_then_left_alone(hook: WebhookReceiver,
                                                           clock: VirtualClock) -> None:
    hook.hang()
    reporter = _reporter(hook.url, attempts=2, timeout=0.2)
    reporter.emit("release.plan", "plan", env="e", service="s")
    reporter.emit("release.released", "done", env="e", service="s", revision="arn:x/f:2")
    warnings = [e for e in reporter.events if e.kind == "notify.failed"]
    assert len(warnings) == 1 and len(hook.requests) == 2
    assert "http://127.0.0.1" in warnings[0].message and TOKEN_PATH not in warnings[0].message
    assert [e.kind for e in reporter.events][:1] == ["release.plan"]  # the event came first


def test_a_defect_in_delivery_is_a_warning_not_an_exception(clock: VirtualClock,
                                                            tmp_path: Path) -> None:
    def broken(url: str, payload: dict, timeout: float) -> int:
        raise RuntimeError("boom " + url)

    inner = Reporter("json", stream=io.StringIO())
    reporter = NotifyingReporter(inner, lambda env: notify.Target("https://h/x/secret"),
                                 broken)
    reporter.emit("release.plan", "plan", env="e", service="s")
    [warning] = [e for e in reporter.events if e.kind == "notify.failed"]
    assert "RuntimeError" in warning.message and "secret" not in warning.message


def test_a_url_with_user_info_is_delivered_with_basic_auth(hook: WebhookReceiver) -> None:
    """urllib sends no credentials from a URL's user-info (it reads them as part of the
    host): they go as an Authorization header, as curl sends them."""
    import base64

    with_user = hook.url.replace("http://", "http://bot:s%40cret@")
    assert post_json(with_user, {"text": "hi"}, 2) == 200
    [received] = hook.requests
    assert received.headers["Authorization"] == "Basic " + base64.b64encode(
        b"bot:s@cret").decode()
    assert received.path == TOKEN_PATH and received.body == {"text": "hi"}


@pytest.mark.parametrize("url", ["ftp://files.example/hook", "http://", "hooks.slack.com/x"])
def test_a_notify_url_that_is_no_http_url_is_a_usage_error_before_anything(
        tmp_path: Path, url: str) -> None:
    from typer.testing import CliRunner

    from release.cli import app

    (tmp_path / "environments").mkdir()  # the refusal comes before the documents are read
    out = CliRunner().invoke(app, ["deploy", "--env", "staging", "--repo", str(tmp_path),
                                   "--notify", url])
    assert out.exit_code == 2, out.output
    assert "not an http(s) URL" in out.output and "files.example" not in out.output
    env = {"RELEASE_NOTIFY_URL": "ftp://files.example/hook"}
    out = CliRunner().invoke(app, ["deploy", "--env", "staging", "--repo", str(tmp_path)],
                             env=env)
    assert out.exit_code == 2 and "$RELEASE_NOTIFY_URL" in out.output, out.output
