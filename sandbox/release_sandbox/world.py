"""What the emulator's parts share: moto's backends, the services and tasks it runs.

The emulator's parts (scheduler, tasks, placement, load balancers, agent) each
keep their own rules; this module holds the state they all read and the two
records they pass around. moto's objects hold the API view (what Describe*
returns); the records hold what only the emulator needs to know.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from release.core.clock import Clock
from release_sandbox.faults import TaskFault

EVENTS_KEPT = 100


def stamp(now: float) -> datetime:
    return datetime.fromtimestamp(now, tz=UTC)


@dataclass
class TaskRecord:
    """What the emulator knows about a task it started (moto's Task holds the API view)."""

    task: Any
    service_key: str
    deployment_id: str
    container_instance_id: str
    ec2_instance_id: str
    cpu: int
    memory: int
    ports: list[int]
    fault: TaskFault
    phase_since: float
    fault_container: str | None = None  # the container that declares the fault
    stop_codes: dict[str, int] = field(default_factory=dict)  # container -> exit when stopped
    started: float | None = None
    stop_kind: str | None = None  # scale | unhealthy | crash | user
    exit_codes: dict[str, int] = field(default_factory=dict)  # containers that ran -> exit
    drain_until: float | None = None
    registered_lbs: set[str] = field(default_factory=set)
    stopped_at: float | None = None
    definitions: list[dict[str, Any]] = field(default_factory=list)  # its container definitions
    targets: dict[str, tuple[str, int]] = field(default_factory=dict)  # target group → target
    private_ip: str = ""  # awsvpc: the address of the task's network interface

    @property
    def arn(self) -> str:
        return self.task.task_arn

    @property
    def short_id(self) -> str:
        return self.task.id

    @property
    def status(self) -> str:
        return self.task.last_status

    @property
    def live(self) -> bool:
        """Wanted by the scheduler (desiredStatus RUNNING)."""
        return self.task.desired_status == "RUNNING"

    @property
    def holds_resources(self) -> bool:
        return self.status != "STOPPED"


@dataclass
class ServiceRecord:
    service: Any
    key: str  # "cluster:name", moto's own key
    last_completed: tuple[str, str] | None = None  # (deployment id, task definition arn)
    steady_reported_at: float | None = None
    last_event_at: dict[str, float] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.service.name

    def config(self) -> dict[str, Any]:
        return getattr(self.service, "deployment_configuration", None) or {}

    @property
    def minimum_percent(self) -> int:
        return int(self.config().get("minimumHealthyPercent", 100))

    @property
    def maximum_percent(self) -> int:
        return int(self.config().get("maximumPercent", 200))

    @property
    def breaker(self) -> dict[str, Any]:
        return self.config().get("deploymentCircuitBreaker") or {}

    @property
    def grace_seconds(self) -> float:
        return float(getattr(self.service, "health_check_grace_period_seconds", None) or 0)

    def lb_names(self) -> list[str]:
        """The classic ELBs the service is behind (loadBalancerName entries)."""
        return [lb["loadBalancerName"] for lb in self.service.load_balancers or []
                if lb.get("loadBalancerName")]

    @property
    def on_fargate(self) -> bool:
        """launchType FARGATE, or a FARGATE capacity provider: no container instance hosts
        its tasks (AWS Fargate runs each task on capacity of its own)."""
        providers = [p.get("capacityProvider", "") for p in
                     getattr(self.service, "capacity_provider_strategy", None) or []]
        return (getattr(self.service, "launch_type", "") == "FARGATE"
                or any(str(p).startswith("FARGATE") for p in providers))

    def target_group_entries(self) -> list[dict[str, Any]]:
        """The service's loadBalancers entries that name a target group (ALB/NLB)."""
        return [lb for lb in self.service.load_balancers or [] if lb.get("targetGroupArn")]

    @property
    def behind_classic_elb(self) -> bool:
        """A loadBalancers entry names a classic ELB (loadBalancerName, not targetGroupArn).

        Deployment API reference, rolloutState: "The rolloutState of a service is only
        returned for services that use the rolling update (ECS) deployment type that aren't
        behind a Classic Load Balancer." Such a service's deployments carry neither
        rolloutState nor rolloutStateReason, and (DeploymentCircuitBreaker, as the API
        reference long said) "The deployment circuit breaker can only be used for services
        using the rolling update (ECS) deployment type that aren't behind a Classic Load
        Balancer": its setting is kept and echoed, but it never trips.
        """
        return bool(self.lb_names())

    def rollout(self, deployment_id: str, reason: str | None = None) -> dict[str, str]:
        """The rolloutState fields of a new deployment; none behind a classic ELB."""
        if self.behind_classic_elb:
            return {}
        return {"rolloutState": "IN_PROGRESS",
                "rolloutStateReason": reason or f"ECS deployment {deployment_id} in progress."}

    def deployment(self, deployment_id: str) -> dict[str, Any] | None:
        return next((d for d in self.service.deployments if d["id"] == deployment_id), None)


class LoadBalancers(Protocol):
    """One kind of load balancer as ECS uses it (the classic ELB: `elb.ClassicElb`; ALB/NLB
    target groups: `target_groups.TargetGroups`), an entry of the emulator's `balancers`."""

    def tick(self, now: float) -> None:
        """Follow registrations made by anyone, end finished draining, run health checks."""

    def register(self, record: ServiceRecord, task: TaskRecord, now: float) -> None:
        """ECS registers a task that turned RUNNING with the service's load balancers."""

    def deregister(self, record: ServiceRecord | None, task: TaskRecord, now: float) -> float:
        """ECS takes a stopping task out; returns when its draining ends."""

    def serving(self, record: ServiceRecord, task: TaskRecord) -> bool:
        """The task passes the health checks of every load balancer of this kind."""

    def failure(self, task: TaskRecord) -> tuple[str, str] | None:
        """(service event, stoppedReason) when a load balancer found the task unhealthy."""

    def forget_vanished(self) -> None:
        """Drop what is known of load balancers that no longer exist."""


class World:
    """moto's ECS and ELB backends for one account and region, and the emulator's records."""

    def __init__(self, account: str, region: str, clock: Clock) -> None:
        self.account = account
        self.region = region
        self.clock = clock
        self.services: dict[str, ServiceRecord] = {}
        self.tasks: dict[str, TaskRecord] = {}

    # moto's backends are looked up each time: a moto reset replaces them.

    @property
    def ecs(self) -> Any:
        from moto.backends import get_backend

        return get_backend("ecs")[self.account][self.region]

    @property
    def elb(self) -> Any:
        from moto.backends import get_backend

        return get_backend("elb")[self.account][self.region]

    @property
    def elbv2(self) -> Any:
        from moto.backends import get_backend

        return get_backend("elbv2")[self.account][self.region]

    @property
    def ec2(self) -> Any:
        from moto.backends import get_backend

        return get_backend("ec2")[self.account][self.region]

    def service_tasks(self, record: ServiceRecord) -> list[TaskRecord]:
        return [t for t in self.tasks.values() if t.service_key == record.key]

    def event(self, record: ServiceRecord, message: str, now: float) -> None:
        """A service event as ECS words it, newest first, at most EVENTS_KEPT kept."""
        record.service.events.insert(0, {"id": str(uuid.uuid4()), "createdAt": stamp(now),
                                         "message": f"(service {record.name}) {message}"})
        del record.service.events[EVENTS_KEPT:]

    def forget_vanished(self) -> None:
        """Drop records of services and tasks moto no longer has (deleted, or a reset)."""
        services = self.ecs.services
        for key, record in list(self.services.items()):
            if services.get(key) is not record.service:
                del self.services[key]
        known = {arn for tasks in self.ecs.tasks.values() for arn in tasks}
        for arn in [a for a in self.tasks if a not in known]:
            del self.tasks[arn]
