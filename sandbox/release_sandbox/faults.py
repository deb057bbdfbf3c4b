"""Fault injection that only the sandbox reads.

Two kinds, so demos and tests can show how `release` behaves when things go wrong:

* Task faults, declared on a container definition as the environment variable
  `RELEASE_SANDBOX_FAULT` (real ECS ignores it; the emulator reads it):
  `crash` / `crash:exit=N` (the essential container exits right after start),
  `unhealthy` (the ELB health check never passes), `slow-start:seconds=N`
  (the application answers health checks only N seconds after it started),
  `alarm:name=NAME,after=S` (once a task has served S seconds, default 0, the
  CloudWatch alarm NAME goes into ALARM: release_sandbox/alarms.py),
  `scale:to=N,after=S` (once a task has served S seconds, default 0, a scaling
  policy of Application Auto Scaling sets the service's desiredCount to N within
  its scalable target's bounds: release_sandbox/autoscaling.py).
  Several faults may be joined with `;`.
* What a container exits with when ECS stops it (not a fault, a fact about the
  image the emulator cannot run): the container definition's docker label
  `release.sandbox.stop-exit-code` (real ECS just puts the label on the
  container). Without it, 143: a JVM, such as the real akka-firehose, exits
  128 + 15 on SIGTERM.
* API faults, armed at run time: the next N AWS API calls answer
  ThrottlingException (HTTP 400) or have their connection closed without an
  answer. They are applied by `FaultMiddleware`, a WSGI layer around moto's app,
  and armed in-process (`Faults.throttle/drop`) or over HTTP
  (`POST /_sandbox/faults {"throttle": N}` / `{"drop": N}`).
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

FAULT_VARIABLE = "RELEASE_SANDBOX_FAULT"
STOP_EXIT_CODE_LABEL = "release.sandbox.stop-exit-code"
# 128 + SIGTERM (15): what a JVM exits with after its shutdown hooks ran.
DEFAULT_STOP_EXIT_CODE = 143
CONTROL_PREFIX = "/_sandbox/"


@dataclass(frozen=True)
class TaskFault:
    """What a task's containers do wrong in the sandbox (all off by default)."""

    crash_exit_code: int | None = None
    unhealthy: bool = False
    slow_start_seconds: float = 0.0
    alarm: str | None = None  # the CloudWatch alarm this revision's tasks put in ALARM
    alarm_after: float = 0.0  # ... once a task has served this long
    scale_to: int | None = None  # the desiredCount a scaling policy gives the service
    scale_after: float = 0.0  # ... once a task has served this long

    @property
    def crashes(self) -> bool:
        return self.crash_exit_code is not None

    def passes_health_check(self, seconds_since_start: float) -> bool:
        """Would the application answer a health check this long after it started?"""
        return not self.unhealthy and seconds_since_start >= self.slow_start_seconds


def _number(options: dict[str, str], name: str, default: float) -> float:
    try:
        return float(options.get(name, default))
    except ValueError:
        return default


def _crash(options: dict[str, str]) -> dict[str, Any]:
    try:
        return {"crash_exit_code": int(options.get("exit", "1"))}
    except ValueError:
        return {"crash_exit_code": 1}


def _scale(options: dict[str, str]) -> dict[str, Any]:
    try:
        count = int(options.get("to", ""))
    except ValueError:
        return {}
    return {"scale_to": max(count, 0), "scale_after": _number(options, "after", 0.0)}


# Each fault word and the TaskFault fields it sets from its `name=value` options.
# A new fault: a TaskFault field, a reader here, and where the emulator applies it.
FAULT_WORDS: dict[str, Callable[[dict[str, str]], dict[str, Any]]] = {
    "crash": _crash,
    "unhealthy": lambda options: {"unhealthy": True},
    "slow-start": lambda options: {"slow_start_seconds": _number(options, "seconds", 60.0)},
    "alarm": lambda options: {"alarm": options.get("name") or None,
                              "alarm_after": _number(options, "after", 0.0)},
    "scale": _scale,
}


def parse_fault(value: str | None) -> TaskFault:
    """Read `crash`, `crash:exit=N`, `unhealthy`, `slow-start:seconds=N`,
    `alarm:name=NAME,after=S`, `scale:to=N,after=S` (joined by `;`).

    Unknown words are ignored rather than rejected: the variable is a demo aid and
    must never make a real deployment fail validation.
    """
    fields: dict[str, Any] = {}
    for part in (value or "").split(";"):
        name, _, args = part.strip().partition(":")
        options = dict(item.partition("=")[::2] for item in args.split(",") if "=" in item)
        reader = FAULT_WORDS.get(name)
        if reader is not None:
            fields.update(reader(options))
    return TaskFault(**fields)


def fault_of_container_definitions(definitions: Iterable[dict[str, Any]]
                                   ) -> tuple[str | None, TaskFault]:
    """The first container definition that declares a fault decides the task's fault.

    Returns that container's name (None when no container declares one) and the fault.
    """
    for definition in definitions:
        for variable in definition.get("environment") or []:
            if variable.get("name") == FAULT_VARIABLE:
                return definition.get("name"), parse_fault(variable.get("value"))
    return None, TaskFault()


def stop_exit_code(definition: dict[str, Any]) -> int:
    """The exit code of this container when ECS stops it (its label, else 143).

    StopTask API reference: "the equivalent of docker stop is issued to the containers
    running in the task. This results in a stop signal value [...] This signal can be
    defined in your container image with the STOPSIGNAL instruction and will default to
    SIGTERM." A process ended by signal n exits 128 + n; a JVM does the same after its
    shutdown hooks. An unreadable label is ignored, like an unknown fault word.
    """
    value = (definition.get("dockerLabels") or {}).get(STOP_EXIT_CODE_LABEL)
    try:
        return int(value) if value is not None else DEFAULT_STOP_EXIT_CODE
    except (TypeError, ValueError):
        return DEFAULT_STOP_EXIT_CODE


class Faults:
    """Counters of armed API faults; thread-safe because moto's server is threaded."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._throttle = 0
        self._drop = 0

    def throttle(self, calls: int) -> None:
        """The next `calls` AWS API calls answer ThrottlingException (HTTP 400)."""
        with self._lock:
            self._throttle += max(int(calls), 0)

    def drop(self, connections: int) -> None:
        """The next `connections` AWS API calls are closed without an answer."""
        with self._lock:
            self._drop += max(int(connections), 0)

    def clear(self) -> None:
        with self._lock:
            self._throttle = self._drop = 0

    def pending(self) -> dict[str, int]:
        with self._lock:
            return {"throttle": self._throttle, "drop": self._drop}

    def take(self) -> str | None:
        """Consume one armed fault for the current call: "drop", "throttle" or None."""
        with self._lock:
            if self._drop > 0:
                self._drop -= 1
                return "drop"
            if self._throttle > 0:
                self._throttle -= 1
                return "throttle"
            return None


WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def throttling_answer(environ: dict[str, Any]) -> tuple[str, list[tuple[str, str]], bytes]:
    """A 400 in the protocol the caller speaks: JSON (ECS, ECR) or query/XML (ELB, EC2, IAM)."""
    request_id = str(uuid.uuid4())
    if environ.get("HTTP_X_AMZ_TARGET"):
        body = json.dumps({"__type": "ThrottlingException", "message": "Rate exceeded"})
        headers = [("Content-Type", "application/x-amz-json-1.1"),
                   ("x-amzn-ErrorType", "ThrottlingException"),
                   ("x-amzn-RequestId", request_id)]
        return "400 Bad Request", headers, body.encode()
    body = ("<ErrorResponse><Error><Type>Sender</Type><Code>Throttling</Code>"
            "<Message>Rate exceeded</Message></Error>"
            f"<RequestId>{request_id}</RequestId></ErrorResponse>")
    return "400 Bad Request", [("Content-Type", "text/xml")], body.encode()


def _drop_connection(environ: dict[str, Any]) -> None:
    """Close the client's socket so it sees the connection end with no response at all."""
    connection = environ.get("werkzeug.socket")
    if connection is None:
        return
    with contextlib.suppress(OSError):
        connection.shutdown(socket.SHUT_RDWR)


class FaultMiddleware:
    """WSGI layer in front of moto: applies armed faults, serialises calls, answers control calls.

    `lock` (the emulator's) is held while moto answers, so a caller never sees a
    half-applied scheduler tick.
    """

    def __init__(self, app: WsgiApp, faults: Faults, lock: Any = None,
                 control: Callable[[str, str, bytes], tuple[int, dict[str, Any]]] | None = None
                 ) -> None:
        self.app = app
        self.faults = faults
        self.lock = lock
        self.control = control

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]
                 ) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path.startswith(CONTROL_PREFIX):
            return self._control(environ, start_response)
        if not path.startswith("/moto-api"):
            fault = self.faults.take()
            if fault == "drop":
                _drop_connection(environ)
                start_response("500 Internal Server Error", [("Content-Length", "0")])
                return [b""]
            if fault == "throttle":
                status, headers, body = throttling_answer(environ)
                start_response(status, [*headers, ("Content-Length", str(len(body)))])
                return [body]
        if self.lock is None:
            return self.app(environ, start_response)
        with self.lock:
            # moto builds the whole body inside the call; materialise it under the lock.
            return list(self.app(environ, start_response))

    def _control(self, environ: dict[str, Any], start_response: Callable[..., Any]
                 ) -> Iterable[bytes]:
        method = environ.get("REQUEST_METHOD", "GET")
        path = environ.get("PATH_INFO", "")[len(CONTROL_PREFIX):]
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        body = environ["wsgi.input"].read(length) if length else b""
        if path == "faults":
            code, answer = self._faults_call(method, body)
        elif self.control is not None:
            code, answer = self.control(method, path, body)
        else:
            code, answer = 404, {"error": f"unknown control path {path!r}"}
        payload = json.dumps(answer).encode()
        start_response(f"{code} {'OK' if code == 200 else 'Error'}",
                       [("Content-Type", "application/json"),
                        ("Content-Length", str(len(payload)))])
        return [payload]

    def _faults_call(self, method: str, body: bytes) -> tuple[int, dict[str, Any]]:
        if method == "POST":
            try:
                request = json.loads(body or b"{}")
                if request.get("clear"):
                    self.faults.clear()
                self.faults.throttle(int(request.get("throttle", 0)))
                self.faults.drop(int(request.get("drop", 0)))
            except (ValueError, TypeError, AttributeError) as exc:
                return 400, {"error": f"bad fault request: {exc}"}
        return 200, self.faults.pending()
