"""The awslogs log driver's stand-in: what a sandbox task's containers write, into moto.

On ECS the awslogs driver sends a container's stdout and stderr to CloudWatch Logs
(ECS developer guide, "Using the awslogs log driver": "The awslogs log driver sends the
logs from the container to CloudWatch Logs"), in the group `awslogs-group` of the region
`awslogs-region`, in the stream that awslogs-stream-prefix names: "If you specify a prefix
with this option, then the log stream takes the following format:
prefix-name/container-name/ecs-task-id" (without a prefix the stream is named by Docker
container ID, which the ECS API never reports: this stand-in then writes nothing). The
group must exist unless `awslogs-create-group` is `true` ("Specify whether you want the
log group automatically created. If this option isn't specified, it defaults to false").

No container runs in the sandbox, so the emulator writes what the example service
(examples/akka-firehose/src/server.c) prints at the moments it would print it: its
"listening" line when the task turns RUNNING (a container without ports, such as the
heartbeat sidecar or the audit worker, its "started" line), one "METHOD PATH STATUS" line per ELB
health check it answers, "stopping" when ECS stops it, and — the `crash` fault — its last
words before it exits. Each line is stamped with the sandbox's clock, the time `release`
itself reads, so `release logs --since 10m` means the same ten minutes. CloudWatch Logs
refuses events older than 14 days (PutLogEvents), and a virtual clock may be years behind
the wall clock, so the lines go straight into moto's stream rather than through its
PutLogEvents check, which compares them with the wall clock.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

DEFAULT_PORT = 8080  # the example service's, without HTTP_PORT
_CREATE_GROUP = "awslogs-create-group"


def _environment(definition: dict[str, Any]) -> dict[str, str]:
    return {str(v.get("name")): str(v.get("value")) for v in definition.get("environment") or []}


def _revision(image: str | None) -> str:
    """What the stand-in calls its revision (APP_REVISION, the image tag): the pin's tag
    when the image names one, else the digest's first 12 characters."""
    if not image:
        return "unknown"
    reference = image.rsplit("/", 1)[-1]
    if "@" in reference:
        return reference.split("@", 1)[1].removeprefix("sha256:")[:12]
    return reference.rsplit(":", 1)[1] if ":" in reference else "latest"


def listening_line(definition: dict[str, Any]) -> str:
    """server.c: "akka-firehose stand-in listening on port %d (revision %s, stream %s)";
    a container that listens on no port (the heartbeat sidecar, the audit worker) prints
    "NAME started (revision %s)"."""
    env = _environment(definition)
    ports = [m.get("containerPort") for m in definition.get("portMappings") or []]
    if not ports and "HTTP_PORT" not in env:
        return f"{definition.get('name')} started (revision {_revision(definition.get('image'))})"
    port = env.get("HTTP_PORT") or (ports[0] if ports else DEFAULT_PORT)
    return (f"{definition.get('name')} stand-in listening on port {port} (revision "
            f"{_revision(definition.get('image'))}, stream {env.get('FIREHOSE_STREAM', '-')})")


def crash_lines(exit_code: int) -> list[str]:
    """The crash fault's last words: what a service that fails on start prints as it goes."""
    return [f"fatal: the service cannot start: IllegalStateException: sandbox fault "
            f"crash:exit={exit_code} (RELEASE_SANDBOX_FAULT)",
            f"exiting with code {exit_code}"]


def _backend(account: str, region: str) -> Any:
    from moto.backends import get_backend

    return get_backend("logs")[account][region]


def write(account: str, region: str, definitions: Iterable[dict[str, Any]], task_id: str,
          lines: list[str], at: float, container: str | None = None) -> int:
    """Write `lines` at sandbox time `at` to the awslogs stream of each container (or only
    `container`) that has one; returns how many streams were written."""
    written = 0
    for definition in definitions:
        if container is not None and definition.get("name") != container:
            continue
        config = definition.get("logConfiguration") or {}
        options = config.get("options") or {}
        group, prefix = options.get("awslogs-group"), options.get("awslogs-stream-prefix")
        if config.get("logDriver") != "awslogs" or not group or not prefix or not lines:
            continue
        logs = _backend(account, options.get("awslogs-region") or region)
        if group not in logs.groups:
            if str(options.get(_CREATE_GROUP, "false")).lower() != "true":
                continue  # the driver does not create it; the lines are lost, as on ECS
            logs.create_log_group(group, {})
        stream = f"{prefix}/{definition.get('name')}/{task_id}"
        logs.ensure_log_stream(group, stream)
        stamp = int(at * 1000)
        logs.groups[group].put_log_events(stream, [
            {"timestamp": stamp + i, "message": line} for i, line in enumerate(lines)])
        written += 1
    return written



def request_line(target: str, passes: bool) -> str | None:
    """The line the service prints for one ELB health check (server.c: "%s %s %d"), None when
    the target is not HTTP(S) or the service does not answer at all."""
    protocol, _, rest = target.partition(":")
    if protocol.upper() not in ("HTTP", "HTTPS") or "/" not in rest:
        return None
    return f"GET /{rest.split('/', 1)[1]} {200 if passes else 503}"
