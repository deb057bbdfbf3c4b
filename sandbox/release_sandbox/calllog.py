"""Every AWS call that reaches the sandbox, counted by API and by second (benchmarks, tests).

A WSGI layer outside everything else, so a call is counted whatever answers it
(moto, the emulator, an armed fault). The operation is where the AWS protocols
put it: the `X-Amz-Target` header for JSON services (ECS: "AmazonEC2ContainerService
V20141113.DescribeServices"), the `Action` form field for query services (ELB:
"Action=DescribeInstanceHealth"); the AWS service is the one the request is signed
for (SigV4's credential scope, ".../us-east-1/ecs/aws4_request"), so the peak per
second is per service, as AWS throttles. `label` lets a benchmark attribute calls
to the tool it is running; `GET /_sandbox/calls` returns the counts to another
process.
"""

from __future__ import annotations

import io
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import parse_qs

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def operation_of(environ: dict[str, Any]) -> str | None:
    """The API a request calls, or None (moto's own API, the sandbox's control paths)."""
    target = environ.get("HTTP_X_AMZ_TARGET", "")
    if target:
        return target.rsplit(".", 1)[-1]
    if environ.get("REQUEST_METHOD") != "POST" or environ.get("PATH_INFO", "/") != "/":
        return None
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return None
    body = environ["wsgi.input"].read(length) if length else b""
    environ["wsgi.input"] = io.BytesIO(body)  # the app reads it again
    action = parse_qs(body.decode("utf-8", "replace")).get("Action")
    return action[0] if action else None


def service_of(environ: dict[str, Any]) -> str:
    """The AWS service a SigV4-signed request is for ("" when unsigned)."""
    scope = environ.get("HTTP_AUTHORIZATION", "").split("Credential=", 1)[-1].split(",", 1)[0]
    parts = scope.split("/")
    return parts[3] if len(parts) >= 5 else ""


class CallLog:
    """Counts calls per (label, operation) and per wall-clock second."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self.label = "all"
        self.calls: Counter[tuple[str, str]] = Counter()
        self.per_second: Counter[tuple[str, int]] = Counter()  # (service, second) → calls
        self._clock = clock
        self._lock = threading.Lock()

    def wrap(self, app: WsgiApp) -> WsgiApp:
        def counted(environ: dict[str, Any], start_response: Callable[..., Any]
                    ) -> Iterable[bytes]:
            operation = operation_of(environ)
            if operation is not None:
                with self._lock:
                    self.calls[(self.label, operation)] += 1
                    self.per_second[(service_of(environ), int(self._clock()))] += 1
            return app(environ, start_response)

        return counted

    def of(self, label: str | None = None) -> Counter[str]:
        """Calls by operation (of one label, or all)."""
        with self._lock:
            return Counter({op: n for (lab, op), n in self.calls.items()
                            if label is None or lab == label})

    def reset(self, label: str = "all") -> None:
        with self._lock:
            self.calls.clear()
            self.per_second.clear()
            self.label = label

    def as_dict(self) -> dict[str, Any]:
        with self._lock:
            return {"label": self.label,
                    "calls": [[lab, op, n] for (lab, op), n in sorted(self.calls.items())],
                    "peak_per_second": max(self.per_second.values(), default=0),
                    "peak_by_service": {svc: max(n for (s, _), n in self.per_second.items()
                                                 if s == svc)
                                        for svc in sorted({s for s, _ in self.per_second})}}
