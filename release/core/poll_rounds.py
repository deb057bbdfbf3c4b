"""What moved and what is due: the pure judgements behind the environment's poller.

The poller (release/adapters/poller.py) reads every waiting service in shared
rounds; which calls a round needs is decided here, from the answers alone:
whether a service's counts, deployments or events moved (`tasks_moved`), whether
an event names a task the list lacks (`names_unknown`), which tasks ECS is still
moving (`on_its_way`), and when a health view next has something due
(`expectations`). Also how a missing cluster is said (`no_cluster`), shared by
every ECS read.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from typing import Any

from release.core.errors import InvalidInput
from release.core.serving import SERVING, HealthView

DESCRIBE_SERVICES_MAX = 10  # DescribeServices: "You may specify up to 10 services"
DESCRIBE_TASKS_MAX = 100  # DescribeTasks: "You can specify up to 100 tasks"


def no_cluster(cluster: str, env_name: str | None) -> InvalidInput:
    """ClusterNotFoundException, said with the environment whose bootstrap creates it."""
    if env_name is None:  # `release init`: the cluster is the operator's --cluster
        return InvalidInput(f"cluster {cluster!r} does not exist",
                            "check --cluster (`aws ecs list-clusters`)")
    return InvalidInput(f"cluster {cluster!r} does not exist",
                        f"create it with `release bootstrap --env {env_name}`, or fix "
                        f"environments/{env_name}/environment.json's cluster")


def chunks(items: list[str], size: int) -> Iterable[list[str]]:
    for i in range(0, len(items), size):
        yield items[i:i + size]


def failed_signature(service: dict[str, Any]) -> tuple[Any, ...]:
    deployments = service.get("deployments", [])
    return tuple(sorted((d.get("id"), d.get("failedTasks") or 0) for d in deployments))


def more_failed(now: tuple[Any, ...], before: tuple[Any, ...]) -> bool:
    """A deployment counted a failed task since `before` (one leaving the list is not news)."""
    earlier = dict(before)
    return any(failed > earlier.get(deployment, 0) for deployment, failed in now)


def new_events(service: dict[str, Any], seen: str | None) -> list[dict[str, Any]]:
    """The service's events newer than the event `seen` (ECS lists them newest first)."""
    fresh = []
    for event in service.get("events", []):
        if event.get("id") == seen:
            break
        fresh.append(event)
    return fresh


_SETTLED_STATUSES = frozenset({"RUNNING", "STOPPED", "DEACTIVATING"})  # DEACTIVATING: draining


def on_its_way(task: dict[str, Any]) -> bool:
    """A task ECS is moving on its own schedule (placing, starting, stopping): read it again.
    A draining task (DEACTIVATING) moves when its drain ends, a moment the view knows."""
    last = task.get("lastStatus")
    if last not in _SETTLED_STATUSES:
        return True
    return last == "RUNNING" and task.get("desiredStatus") == "STOPPED"


def health_key(tasks: list[dict[str, Any]]) -> tuple[Any, ...]:
    return tuple(sorted((t.get("taskArn"), t.get("lastStatus"), t.get("desiredStatus"),
                         t.get("containerInstanceArn")) for t in tasks))


def expectations(view: HealthView) -> tuple[float, bool]:
    """(the earliest moment the view says something is due, whether every state it holds has
    such a moment or is final): a settled view needs no read before that moment."""
    moments = [s.until for s in view.tasks.values() if s.until is not None]
    moments += [u for u in view.draining.values() if u is not None]
    settled = (all(s.state == SERVING or (s.until is not None and not s.failing)
                   for s in view.tasks.values())
               and all(u is not None for u in view.draining.values()))
    return min(moments, default=math.inf), settled


_TASK_IN_EVENT = re.compile(r"\(task ([0-9a-zA-Z-]+)\)")


def names_unknown(event: dict[str, Any], verb: str, arns: list[str]) -> bool:
    """A start or stop event (`verb`: "started", "stopped") naming a task the list does not
    hold, or naming none: ECS's events say "has stopped 1 running tasks: (task ID)"."""
    message = str(event.get("message", ""))
    if f"has {verb}" not in message:
        return False
    named = _TASK_IN_EVENT.findall(message)
    return not named or any(not any(a.endswith("/" + i) for a in arns) for i in named)


def task_signature(service: dict[str, Any]) -> tuple[Any, ...]:
    """What moves when the service's set of tasks changes (a start, a stop, a replacement)."""
    deployments = tuple(sorted(
        (d.get("id"), d.get("desiredCount"), d.get("runningCount"), d.get("pendingCount"),
         d.get("failedTasks")) for d in service.get("deployments", [])))
    events = service.get("events", [])
    return (service.get("desiredCount"), service.get("runningCount"), service.get("pendingCount"),
            deployments, events[0].get("id") if events else None)


def newest(service: dict[str, Any], default: str | None) -> str | None:
    events = service.get("events", [])
    return events[0].get("id") if events else default


def tasks_moved(seen: tuple[Any, ...] | None, seen_event: str | None,
                service: dict[str, Any]) -> bool:
    """Counts or deployments moved since the previous round (`seen`: its counts and
    deployments, `seen_event`: its newest event), or a new event speaks of tasks (started,
    stopped, draining, unplaceable): "has reached a steady state" alone moves nothing."""
    if seen is None or seen != task_signature(service)[:-1]:
        return True
    return any("task" in str(e.get("message", "")) for e in new_events(service, seen_event))
