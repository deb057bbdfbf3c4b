"""CloudWatch Logs reads: a stream's last lines, a group's lines since a moment.

Reading logs is a diagnosis, never a step of a release: a missing group or stream, a
role without logs:GetLogEvents / logs:FilterLogEvents, or any other error comes back as
one `problem` line (with its kind), not as an exception. The verb `release logs` turns
the kind into its exit code; the wait only prints the line.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import botocore.exceptions

from release.core.awslogs import Stream

MISSING = "missing"  # ResourceNotFoundException: no such group or stream
DENIED = "denied"  # AccessDeniedException: the role may not read it
FAILED = "failed"  # anything else (throttled past the retries, unreachable, ...)
MAX_PAGES = 100  # a `--since` reaching back over a busy group stops here, saying so


@dataclass(frozen=True)
class LogLine:
    timestamp: int  # milliseconds since the epoch, the event's own time
    message: str
    stream: str = ""
    event_id: str = ""


@dataclass(frozen=True)
class LogRead:
    lines: list[LogLine] = field(default_factory=list)
    problem: str = ""  # one line for people when nothing could be read
    kind: str = ""  # MISSING | DENIED | FAILED when problem is set
    next_token: str | None = None


def _problem(exc: Exception, group: str, what: str, action: str) -> LogRead:
    if isinstance(exc, botocore.exceptions.ClientError):
        error = exc.response.get("Error", {})
        code, message = error.get("Code", ""), error.get("Message", "")
        if code == "ResourceNotFoundException":
            return LogRead(problem=f"{what} does not exist ({message or code})", kind=MISSING)
        if code in ("AccessDeniedException", "AccessDenied"):
            return LogRead(problem=f"not allowed to read {group} (needs {action}): "
                           f"{message or code}", kind=DENIED)
        return LogRead(problem=f"cannot read {what}: {code}: {message}", kind=FAILED)
    return LogRead(problem=f"cannot read {what}: {exc}", kind=FAILED)


def _line(event: dict[str, Any], stream: str = "") -> LogLine:
    return LogLine(int(event.get("timestamp") or 0), str(event.get("message", "")).rstrip("\n"),
                   str(event.get("logStreamName") or stream), str(event.get("eventId") or ""))


def tail(client: Any, stream: Stream, limit: int) -> LogRead:
    """The last `limit` events of one stream, oldest first (GetLogEvents from the end)."""
    try:
        answer = client.get_log_events(logGroupName=stream.group, logStreamName=stream.stream,
                                       startFromHead=False, limit=limit)
    except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as exc:
        return _problem(exc, stream.group, f"log stream {stream.group} {stream.stream}",
                        "logs:GetLogEvents")
    return LogRead([_line(e, stream.stream) for e in answer.get("events", [])])


def since(client: Any, group: str, streams: Iterable[str], start_ms: int,
          token: str | None = None) -> LogRead:
    """Events of these streams of `group` from `start_ms` on, oldest first (FilterLogEvents,
    every page). `next_token` is the last page's, for a caller that keeps reading."""
    names = list(streams)
    params: dict[str, Any] = {"logGroupName": group, "startTime": start_ms}
    if names:
        params["logStreamNames"] = names[:100]  # FilterLogEvents takes at most 100
    lines: list[LogLine] = []
    try:
        for _ in range(MAX_PAGES):
            if token:
                params["nextToken"] = token
            answer = client.filter_log_events(**params)
            lines += [_line(e) for e in answer.get("events", [])]
            token = answer.get("nextToken")
            if not token:
                break
    except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as exc:
        read = _problem(exc, group, f"log group {group}", "logs:FilterLogEvents")
        return LogRead(lines, read.problem, read.kind)
    lines.sort(key=lambda line: line.timestamp)
    return LogRead(lines, next_token=token)
