"""`release verify`: the spec's smoke checks against a real local HTTP server."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler

import pytest
from sandbox_git import serve
from typer.testing import CliRunner

from release.adapters.smoke import FAILED, PASSED, UNREACHABLE, run_checks
from release.cli import app
from release.core import clock as clocks
from release.core.config import SmokeCheck

SEED_BODY = {"userId": 100, "userName": "This is user data"}


class AkkaFirehoseLike(BaseHTTPRequestHandler):
    """The two endpoints of the seed's service; `broken` makes the user API fail."""

    broken = False
    seen: list[tuple[str, str, object]] = []

    def log_message(self, *args) -> None:  # keep pytest output clean
        pass

    def _answer(self, status: int, body: bytes = b"") -> None:
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        self.seen.append(("GET", self.path, None))
        self._answer(200 if self.path == "/api/healthcheck" else 404, b"ok")

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", 0))
        body = json.loads(self.rfile.read(length) or b"null")
        self.seen.append(("POST", self.path, body))
        if self.broken:
            self._answer(500, b"firehose unavailable")
        elif self.path == "/api/user" and self.headers.get("Content-Type") == "application/json":
            self._answer(200, b"{}")
        else:
            self._answer(400, b"bad request")



SEEN: list[tuple[str, str, object]] = []


@pytest.fixture()
def healthy() -> Iterator[str]:
    SEEN.clear()
    handler = type("Healthy", (AkkaFirehoseLike,), {"seen": SEEN, "broken": False})
    yield from serve(handler)


@pytest.fixture()
def broken() -> Iterator[str]:
    handler = type("Broken", (AkkaFirehoseLike,), {"seen": [], "broken": True})
    yield from serve(handler)


@pytest.fixture()
def closed_port_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}"


@pytest.fixture()
def virtual_clock() -> Iterator[clocks.VirtualClock]:
    clock = clocks.VirtualClock()
    previous = clocks.use_clock(clock)
    yield clock
    clocks.use_clock(previous)


CHECKS = [
    SmokeCheck("healthcheck", "GET", "/api/healthcheck", 200),
    SmokeCheck("post-user", "POST", "/api/user", 200, {"Content-Type": "application/json"},
               SEED_BODY),
]


def test_the_seed_smoke_checks_pass_against_a_healthy_service(healthy, virtual_clock):
    results = run_checks(healthy, CHECKS, retries=2, interval=5)
    assert [(r.outcome, r.status, r.attempts) for r in results] == [(PASSED, 200, 1),
                                                                    (PASSED, 200, 1)]
    assert virtual_clock.now() == 1_700_000_000.0  # passing checks never wait


def test_a_wrong_status_fails_after_the_retries_and_says_what_came_back(broken, virtual_clock):
    results = run_checks(broken, CHECKS, retries=2, interval=5)
    user = results[1]
    assert (user.outcome, user.status, user.attempts) == (FAILED, 500, 3)
    assert "expected 200, got 500: firehose unavailable" in user.detail
    assert virtual_clock.now() == 1_700_000_000.0 + 2 * 5


def test_a_refused_connection_is_retried_on_the_clock_then_unreachable(closed_port_url,
                                                                       virtual_clock):
    [result] = run_checks(closed_port_url, CHECKS[:1], retries=3, interval=4)
    assert (result.outcome, result.attempts) == (UNREACHABLE, 4)
    assert "Refused" in result.detail
    assert virtual_clock.now() == 1_700_000_000.0 + 3 * 4


def verify(url: str, *extra: str):
    return CliRunner().invoke(app, ["verify", "--env", "staging", "--base-url", url,
                                    "--format", "json", *extra])


def test_verify_exits_0_when_every_check_passes_and_posts_the_seed_body(healthy, virtual_clock):
    out = verify(healthy)
    assert out.exit_code == 0, out.output
    events = [json.loads(line) for line in out.stdout.splitlines()]
    report = next(e for e in events if e["event"] == "verify.report")
    assert [r["outcome"] for r in report["rows"]] == ["passed", "passed"]
    assert SEEN == [("GET", "/api/healthcheck", None), ("POST", "/api/user", SEED_BODY)]


def test_verify_exits_1_when_the_service_answers_wrongly(broken, virtual_clock):
    out = verify(broken, "--retries", "1")
    assert out.exit_code == 1
    assert "post-user" in out.stdout


def test_verify_exits_5_when_nothing_answers(closed_port_url, virtual_clock):
    out = verify(closed_port_url, "--retries", "2")
    assert out.exit_code == 5
    assert virtual_clock.now() == 1_700_000_000.0 + 2 * 2 * 5  # two checks, two retries each


@pytest.mark.parametrize("check", [
    SmokeCheck("crlf-header", "GET", "/api/healthcheck", 200, {"X-Trace": "a\r\nX-Evil: 1"}),
    SmokeCheck("crlf-path", "GET", "/api/healthcheck\r\nX-Evil: 1", 200),
])
def test_a_check_that_cannot_be_sent_fails_at_once_without_retries(healthy, virtual_clock,
                                                                   check) -> None:
    [result] = run_checks(healthy, [check], retries=3, interval=5, clock=virtual_clock)
    assert result.outcome == FAILED and result.attempts == 1
    assert "cannot be sent" in result.detail
    assert SEEN == []  # nothing reached the service


def test_validation_refuses_a_crlf_in_a_smoke_check_header(config_git) -> None:
    spec = "environments/staging/services/akka-firehose.json"
    config_git.edit_json(spec, lambda d: d["release"]["smokeChecks"][1]["headers"].update(
        {"X-Trace": "a\r\nX-Evil: 1"}))
    out = CliRunner().invoke(app, ["verify", "--env", "staging", "--format", "json",
                                   "--repo", str(config_git.root)])
    assert out.exit_code == 1, out.output
    findings = [json.loads(line) for line in out.stdout.splitlines()
                if '"validate.finding"' in line]
    assert {(f["rule"], f["pointer"]) for f in findings} == {
        ("schema-pattern", "/release/smokeChecks/1/headers/X-Trace")}


def with_credentials(url: str) -> str:
    return url.replace("http://", "http://smoke:Pa55w0rd@") + "/?token=T0k3nValue"


@pytest.mark.parametrize("output", ["json", "text"])
def test_a_base_url_s_password_and_token_are_never_printed(healthy, virtual_clock, tmp_path,
                                                           output):
    summary = tmp_path / "verify.json"
    out = CliRunner().invoke(app, ["verify", "--env", "staging", "--base-url",
                                   with_credentials(healthy), "--format", output,
                                   "--summary", str(summary)])
    assert out.exit_code == 0, out.output
    said = out.output + summary.read_text()
    assert "Pa55w0rd" not in said and "T0k3nValue" not in said
    assert healthy.removeprefix("http://") in said
    assert json.loads(summary.read_text())["base_url"] == healthy + "/?…"


def test_an_unreachable_base_url_is_named_without_its_password(closed_port_url, virtual_clock):
    out = verify(with_credentials(closed_port_url), "--retries", "0")
    assert out.exit_code == 5
    assert "Pa55w0rd" not in out.output and "T0k3nValue" not in out.output
    assert closed_port_url.removeprefix("http://") in out.output
