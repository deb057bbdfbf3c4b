"""Smoke checks: a few real HTTP requests against the released service.

Standard library only (http.client), so `release verify` runs anywhere the tool
does. Retries wait on the injectable clock: right after a release the ELB may
still be warming up, and tests must not sleep for real.

Outcome per check: `passed`, `failed` (the service answered, but not as
expected) or `unreachable` (no HTTP answer at all: DNS, refused, timeout).
"""

from __future__ import annotations

import http.client
import json
import ssl
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin, urlsplit

from release.core.clock import Clock, default_clock
from release.core.config import SmokeCheck

PASSED, FAILED, UNREACHABLE = "passed", "failed", "unreachable"


@dataclass
class CheckResult:
    check: SmokeCheck
    url: str
    outcome: str
    attempts: int
    status: int | None = None
    detail: str = ""
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return self.outcome == PASSED

    def as_dict(self) -> dict[str, Any]:
        return {"check": self.check.name, "method": self.check.method, "url": self.url,
                "expect": self.check.expect_status, "status": self.status,
                "outcome": self.outcome, "attempts": self.attempts, "detail": self.detail,
                "seconds": round(self.seconds, 3)}


@dataclass
class Answer:
    status: int | None
    body: bytes
    error: str | None  # set when there was no HTTP answer at all
    refused: bool = False  # the request itself could not be sent: the check is malformed


def request_body(check: SmokeCheck) -> tuple[bytes | None, dict[str, str]]:
    """The body bytes and headers: JSON for objects/lists (with its content type), text as is."""
    headers = dict(check.headers)
    if check.body is None:
        return None, headers
    if isinstance(check.body, str):
        return check.body.encode("utf-8"), headers
    if not any(k.lower() == "content-type" for k in headers):
        headers["Content-Type"] = "application/json"
    return json.dumps(check.body).encode("utf-8"), headers


def send(method: str, url: str, body: bytes | None, headers: dict[str, str],
         timeout: float) -> Answer:
    """One request; connection-level failures become an Answer with `error`, never raise."""
    parts = urlsplit(url)
    conn_class = (http.client.HTTPSConnection if parts.scheme == "https"
                  else http.client.HTTPConnection)
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    conn = None
    try:
        conn = conn_class(parts.hostname or "", parts.port, timeout=timeout)
        conn.request(method, path, body=body, headers={"User-Agent": "release-verify", **headers})
        response = conn.getresponse()
        return Answer(response.status, response.read(4096), None)
    except (ValueError, http.client.InvalidURL) as exc:  # CR/LF/NUL in a header or the path,
        return Answer(None, b"", f"{type(exc).__name__}: {exc}", refused=True)  # a bad port
    except (OSError, http.client.HTTPException, ssl.SSLError) as exc:  # refused, DNS, timeout
        return Answer(None, b"", f"{type(exc).__name__}: {exc}")
    finally:
        if conn is not None:
            conn.close()


def run_check(base_url: str, check: SmokeCheck, retries: int, interval: float,
              timeout: float, clock: Clock) -> CheckResult:
    """Try one check up to 1 + retries times, `interval` seconds apart, until it passes."""
    url = urljoin(base_url.rstrip("/") + "/", check.path.lstrip("/"))
    body, headers = request_body(check)
    started = time.monotonic()
    attempts = 0
    answer = Answer(None, b"", "not tried")
    for attempt in range(retries + 1):
        if attempt:
            clock.sleep(interval)
        attempts += 1
        answer = send(check.method, url, body, headers, timeout)
        if answer.refused:  # retrying cannot help: the check, not the service, is at fault
            return CheckResult(check, url, FAILED, attempts, None,
                               f"the request cannot be sent: {answer.error}; fix the check's "
                               "path and headers in the spec (`release validate`)",
                               time.monotonic() - started)
        if answer.status == check.expect_status:
            return CheckResult(check, url, PASSED, attempts, answer.status, "",
                               time.monotonic() - started)
    elapsed = time.monotonic() - started
    if answer.error is not None:
        return CheckResult(check, url, UNREACHABLE, attempts, None, answer.error, elapsed)
    excerpt = answer.body.decode("utf-8", "replace").strip().replace("\n", " ")[:200]
    return CheckResult(check, url, FAILED, attempts, answer.status,
                       f"expected {check.expect_status}, got {answer.status}"
                       + (f": {excerpt}" if excerpt else ""), elapsed)


def run_checks(base_url: str, checks: list[SmokeCheck], retries: int = 3,
               interval: float = 5.0, timeout: float = 10.0,
               clock: Clock | None = None) -> list[CheckResult]:
    """Run the checks in the order the spec lists them (a health check first, then the API)."""
    clock = clock or default_clock()
    return [run_check(base_url, c, retries, interval, timeout, clock) for c in checks]
