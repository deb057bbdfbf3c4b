"""Which tasks does the load balancer send traffic to? A view that names no load balancer.

The wait must know, per task of the service, whether the load balancer serves it,
has not yet started to (and why, in its own words), is draining it (until when),
or does not know it at all. How to find out differs by kind of load balancer
(classic ELB: DescribeInstanceHealth per instance; target groups:
DescribeTargetHealth per instance and port, or per IP for awsvpc tasks), so
`stability` reads only this view and each kind is one `HealthSource` in `release/adapters/`.
A kind whose answers cover many services at once (one classic ELB fronts many instances)
also implements `BatchedHealthSource`, and the environment's poller then reads it once
per load balancer a round for all the services behind it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

SERVING = "serving"
NOT_YET = "not_yet"  # registered, not (yet) passing its health checks for this task
DRAINING = "draining"  # deregistered, still finishing requests in flight
NOT_REGISTERED = "not_registered"


@dataclass(frozen=True)
class Placed:
    """One task of the service, as far as a load balancer can tell it apart from others."""

    task_arn: str
    instance_id: str  # EC2 instance id, "" when not known (yet)
    host_port: int | None  # the port the load balancer reaches it on (target groups)
    started_at: float | None  # None: not started yet, it cannot serve
    stopping_at: float | None = None  # when ECS began stopping it (and deregistered it)
    stopped: bool = False  # STOPPED: serves nothing, but its instance may still drain
    address: str = ""  # awsvpc: the private IP of its network interface (an `ip` target)


@dataclass(frozen=True)
class Serving:
    """What the load balancer does with one task."""

    state: str  # SERVING | NOT_YET | DRAINING | NOT_REGISTERED
    reason: str = ""  # what the load balancer said about it (its own words)
    failing: bool = False  # NOT_YET because its health checks fail, not registration
    until: float | None = None  # DRAINING: when it ends; otherwise when serving is due


@dataclass(frozen=True)
class HealthView:
    """One poll's answer of a `HealthSource`."""

    tasks: Mapping[str, Serving]  # task ARN → its state
    draining: Mapping[str, float | None] = field(default_factory=dict)  # place → until when
    answer: Sequence[Mapping[str, Any]] = ()  # the load balancer's raw answer, for display only

    def of(self, task_arn: str) -> Serving:
        return self.tasks.get(task_arn, Serving(NOT_REGISTERED))

    def fingerprint(self) -> tuple[Any, ...]:
        """What the load balancer said that moved. Neither a countdown nor a state that the
        clock alone changed (a task proved served by time passing) is news of the world."""
        return (tuple(sorted((arn, s.reason) for arn, s in self.tasks.items())),
                tuple(sorted(self.draining)))


class HealthSource(Protocol):
    """A kind of load balancer. One per wait: it may remember earlier polls."""

    def serving(self, tasks: Sequence[Placed], now: float) -> HealthView:
        """Which of these tasks are serving, which are draining, until when."""
        ...

    def draining_seconds(self) -> float:
        """How long a deregistered task keeps serving requests in flight."""
        ...


class BatchedHealthSource(HealthSource, Protocol):
    """The extension for fleets: many services behind one load balancer, one read a round.

    The environment's poller (adapters/poller.py) groups the sources of the services it
    reads in one round by `batch_key()`, asks each for the `hosts` of its tasks, makes
    ONE `fetch` (by the first source of the group) for the union of those hosts, and
    hands the shared answer to every source's `view`, which keeps only its own hosts.
    A kind that implements these four has its reads batched; one that implements only
    `serving` and `draining_seconds` still works, read once per service per round.
    `serving(tasks, now)` must equal `view(tasks, fetch(hosts(tasks)), hosts(tasks), now)`.
    """

    def batch_key(self) -> tuple[str, str]:
        """(the API it reads, the load balancer or target group): equal keys share a read."""
        ...

    def hosts(self, tasks: Sequence[Placed]) -> list[str]:
        """What to name in the read for these tasks (instance ids, or "id:port" targets)."""
        ...

    def fetch(self, hosts: list[str]) -> list[Mapping[str, Any]]:
        """One read of the load balancer for `hosts` (all services of the group)."""
        ...

    def view(self, tasks: Sequence[Placed], answer: Sequence[Mapping[str, Any]],
             hosts: list[str], now: float) -> HealthView:
        """This source's view out of the shared `answer` (only its own `hosts` count)."""
        ...


def epoch(value: Any) -> float | None:
    """Timestamps arrive as datetime (boto3), epoch numbers, or ISO strings (JSON)."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value.timestamp()
    if isinstance(value, int | float):
        return float(value)
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


def placed(task: Mapping[str, Any], instance_ids: Mapping[str, str], now: float) -> Placed:
    """A DescribeTasks task as a load balancer sees it. A RUNNING task without startedAt
    counts as started when first seen."""
    started = epoch(task.get("startedAt"))
    if started is None and task.get("lastStatus") == "RUNNING":
        started = now
    ports = [b.get("hostPort") for c in task.get("containers", [])
             for b in c.get("networkBindings", []) if b.get("hostPort")]
    return Placed(task_arn=task.get("taskArn", ""),
                  instance_id=instance_ids.get(task.get("containerInstanceArn", ""), ""),
                  host_port=ports[0] if ports else None, started_at=started,
                  stopping_at=epoch(task.get("stoppingAt")),
                  stopped=task.get("lastStatus") == "STOPPED", address=private_ip(task))


def private_ip(task: Mapping[str, Any]) -> str:
    """An awsvpc task's address: its ElasticNetworkInterface attachment's privateIPv4Address,
    else a container's networkInterfaces privateIpv4Address (DescribeTasks shapes)."""
    for attachment in task.get("attachments") or []:
        if attachment.get("type") == "ElasticNetworkInterface":
            for detail in attachment.get("details") or []:
                if detail.get("name") == "privateIPv4Address" and detail.get("value"):
                    return str(detail["value"])
    for container in task.get("containers") or []:
        for interface in container.get("networkInterfaces") or []:
            if interface.get("privateIpv4Address"):
                return str(interface["privateIpv4Address"])
    return ""
