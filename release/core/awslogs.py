"""Where a container's output is in CloudWatch Logs, from its task definition alone.

Pure: a container definition's `logConfiguration` and a task ARN in, the log group and
stream out (or why they cannot be told). The ECS developer guide ("Using the awslogs log
driver", awslogs-stream-prefix): "The awslogs-stream-prefix option allows you to associate
a log stream with the specified prefix, the container name, and the ID of the Amazon ECS
task to which the container belongs. If you specify a prefix with this option, then the
log stream takes the following format: prefix-name/container-name/ecs-task-id". Without
a prefix "the log stream is named after the container ID that's assigned by the Docker
daemon on the container instance" — an ID the ECS API does not report, so no stream can
be named for a task then.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from release.core.deployments import short

AWSLOGS = "awslogs"
DEFAULT_LINES = 20
MAX_LINES = 10_000  # GetLogEvents' limit ("The maximum number of log events returned")
_DURATION = re.compile(r"^\s*(\d+)\s*([smhd]?)\s*$")
_UNIT_SECONDS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86_400}


@dataclass(frozen=True)
class Stream:
    """One container's awslogs stream: where its stdout and stderr went."""

    group: str
    stream: str
    region: str | None  # awslogs-region; None: the task's own region
    container: str
    task_id: str


@dataclass(frozen=True)
class Located:
    """A stream, or why there is none to read (one line for people)."""

    stream: Stream | None = None
    why: str = ""
    containers: tuple[str, ...] = ()  # set when the container asked for is not there: the names


def no_container(taskdef: Mapping[str, Any], revision: str, name: str | None) -> Located:
    """`--container NAME` names no container of this revision: say which it has."""
    names = tuple(str(d.get("name")) for d in taskdef.get("containerDefinitions") or [])
    return Located(why=f"{revision} has no container {name!r} (its containers: "
                   f"{', '.join(names) or 'none'})", containers=names)


def task_id(task_arn: str) -> str:
    """The task's ID: the ARN's last part (`…:task/cluster/ID`, or the older `…:task/ID`)."""
    return short(task_arn, "")


def container_definition(taskdef: Mapping[str, Any], name: str | None
                         ) -> Mapping[str, Any] | None:
    """The container named `name`, else the first essential one."""
    definitions = list(taskdef.get("containerDefinitions") or [])
    if name is not None:
        return next((d for d in definitions if d.get("name") == name), None)
    return next((d for d in definitions if d.get("essential", True)),
                definitions[0] if definitions else None)


def locate(definition: Mapping[str, Any], task_arn: str) -> Located:
    """The awslogs group and stream of this container in this task, or why not."""
    name = str(definition.get("name", ""))
    config = definition.get("logConfiguration") or {}
    driver = config.get("logDriver")
    if driver != AWSLOGS:
        how = f"the {driver} log driver" if driver else "no logConfiguration"
        return Located(why=f"container {name} has {how}, not awslogs: its output is not in "
                       "CloudWatch Logs where release can find it")
    options = config.get("options") or {}
    group = options.get("awslogs-group")
    if not group:
        return Located(why=f"container {name} uses awslogs without awslogs-group")
    prefix = options.get("awslogs-stream-prefix")
    if not prefix:
        return Located(why=f"container {name} uses awslogs without awslogs-stream-prefix: "
                       "its streams are named by Docker container ID, not by task")
    ident = task_id(task_arn)
    return Located(Stream(str(group), f"{prefix}/{name}/{ident}",
                          options.get("awslogs-region"), name, ident))


def log_groups(taskdefs: Iterable[Mapping[str, Any]]) -> list[tuple[str, str | None]]:
    """(group, awslogs-region) of every awslogs container, in order, once each."""
    found: dict[tuple[str, str | None], None] = {}
    for taskdef in taskdefs:
        for definition in taskdef.get("containerDefinitions") or []:
            config = definition.get("logConfiguration") or {}
            options = config.get("options") or {}
            if config.get("logDriver") == AWSLOGS and options.get("awslogs-group"):
                found[(str(options["awslogs-group"]), options.get("awslogs-region"))] = None
    return list(found)


def failure_lines(spec_doc: Mapping[str, Any]) -> int:
    """How many lines of a failing task's log the wait prints: `release.logs.lines` (0 = none)."""
    setting = ((spec_doc.get("release") or {}).get("logs") or {}).get("lines", DEFAULT_LINES)
    return max(0, min(int(setting), MAX_LINES))


def parse_since(text: str, now: float | None = None) -> int:
    """`90`, `90s`, `10m`, `2h`, `1d` → seconds; ValueError with the accepted forms, or when
    it reaches back before 1970 from `now`: CloudWatch Logs counts time from the epoch
    (FilterLogEvents startTime: "the number of milliseconds after Jan 1, 1970 00:00:00 UTC",
    at least 0), so no line is older."""
    match = _DURATION.match(text or "")
    if not match or int(match.group(1)) <= 0:
        raise ValueError(f"{text!r} is not a duration: give a whole number with s, m, h or d "
                         "(e.g. 10m)")
    seconds = int(match.group(1)) * _UNIT_SECONDS[match.group(2)]
    if now is not None and seconds > now:
        raise ValueError(f"{text!r} reaches back before 1970, where CloudWatch Logs time "
                         f"begins: give at most {int(now // 86_400)}d")
    return seconds


def environment_log_groups(repo: Any, env: str) -> list[tuple[str, str | None]]:
    """(group, awslogs-region) the environment's services log to, overrides applied."""
    from release.core.render import apply_overrides

    return log_groups(apply_overrides(spec, repo.taskdef_for(spec))
                      for spec in repo.services_of(env) if spec.taskdef_file)
