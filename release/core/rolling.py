"""What a rolling update behind a classic ELB can do, and how long it takes: one truth.

The rules (will it place? will the timeout do?), the plan (the release budget),
bootstrap and the sandbox (what an instance registers) all ask these questions,
so the answers live here once: task sizes, instance sizes, host ports, how
many tasks fit per instance, how many waves an update needs, and the time one
wave takes. Pure: documents in, numbers out.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

from release.core.config import Environment

# ----------------------------------------------------------------------------- instance sizes

# vCPUs and installed GiB per instance type (Amazon EC2 "Instance types" specifications).
INSTANCE_TYPES: dict[str, tuple[int, float]] = {
    "t2.nano": (1, 0.5), "t2.micro": (1, 1), "t2.small": (1, 2), "t2.medium": (2, 4),
    "t2.large": (2, 8), "t2.xlarge": (4, 16), "t2.2xlarge": (8, 32),
    "t3.nano": (2, 0.5), "t3.micro": (2, 1), "t3.small": (2, 2), "t3.medium": (2, 4),
    "t3.large": (2, 8), "t3.xlarge": (4, 16), "t3.2xlarge": (8, 32),
    "t3a.medium": (2, 4), "t3a.large": (2, 8), "t3a.xlarge": (4, 16),
    "m5.large": (2, 8), "m5.xlarge": (4, 16), "m5.2xlarge": (8, 32), "m5.4xlarge": (16, 64),
    "m6i.large": (2, 8), "m6i.xlarge": (4, 16), "m6i.2xlarge": (8, 32),
    "c5.large": (2, 4), "c5.xlarge": (4, 8), "c5.2xlarge": (8, 16),
    "r5.large": (2, 16), "r5.xlarge": (4, 32),
}

# ECS registers less memory than is installed. Amazon ECS developer guide, "Reserving Amazon
# ECS Linux container instance memory": "Because of platform memory overhead and memory
# occupied by the system kernel, this number is different than the installed memory amount
# that is advertised for Amazon EC2 instances" (its m4.large: 8192 MiB installed, 7985 MiB
# available for tasks, 97.5 %). A t2.medium on the ECS-optimized AMI registers 3943 of 4096
# MiB (96.3 %, the figure the sandbox registers too); types without a measured figure are
# counted at 96 % of installed memory, so a task that validates also places.
REGISTERED_MEMORY_MIB = {"t2.medium": 3943}
REGISTERED_SHARE = 0.96
CPU_UNITS_PER_VCPU = 1024  # "1024 CPU units is the equivalent of 1 vCPU" (ECS task definition)


def instance_resources(instance_type: str) -> tuple[int, int] | None:
    """CPU units and MiB an instance of this type registers with ECS; None when not in the table."""
    size = INSTANCE_TYPES.get(instance_type)
    if size is None:
        return None
    vcpus, gib = size
    memory = REGISTERED_MEMORY_MIB.get(instance_type, math.floor(gib * 1024 * REGISTERED_SHARE))
    return vcpus * CPU_UNITS_PER_VCPU, memory


# ----------------------------------------------------------------------------- task sizes


def containers(taskdef: dict[str, Any]) -> list[dict[str, Any]]:
    return list(taskdef.get("containerDefinitions", []))


def parse_cpu(value: Any) -> int | None:
    """Task-level cpu ("1024", "1 vCPU", ".25 vcpu", or an override integer) in CPU units."""
    text = str(value).strip()
    match = re.fullmatch(r"([0-9]+(?:\.[0-9]+)?|\.[0-9]+) ?[vV][cC][pP][uU]", text)
    if match:
        return int(float(match.group(1)) * CPU_UNITS_PER_VCPU)
    return int(text) if text.isdigit() else None


def parse_memory(value: Any) -> int | None:
    """Task-level memory ("1024", "1GB", "1 GB", ".5 gb", or an override integer) in MiB.

    RegisterTaskDefinition: "It can be expressed as an integer using MiB (for example, 1024)
    or as a string using GB (for example, 1GB or 1 GB)"; the developer guide's ECS Exec
    example registers ".5 gb" and ".25 vcpu".
    """
    text = str(value).strip()
    match = re.fullmatch(r"([0-9]+(?:\.[0-9]+)?|\.[0-9]+) ?[gG][bB]", text)
    if match:
        return int(float(match.group(1)) * 1024)
    return int(text) if text.isdigit() else None


def task_size(taskdef: dict[str, Any]) -> tuple[int, int]:
    """CPU units and MiB one task reserves on an instance (task level, else the containers')."""
    cpu = parse_cpu(taskdef["cpu"]) if "cpu" in taskdef else None
    memory = parse_memory(taskdef["memory"]) if "memory" in taskdef else None
    if cpu is None:
        cpu = sum(int(c.get("cpu", 0) or 0) for c in containers(taskdef))
    if memory is None:
        memory = sum(int(c.get("memory", c.get("memoryReservation", 0)) or 0)
                     for c in containers(taskdef))
    return cpu, memory


# ----------------------------------------------------------------------------- host ports


def host_port(taskdef: dict[str, Any], mapping: dict[str, Any]) -> int:
    """The instance port a mapping binds, 0 for none: host mode binds the container port
    itself, bridge binds hostPort (0 or left out: ECS picks one), awsvpc and none bind no
    instance port (PortMapping, ECS API reference)."""
    mode = taskdef.get("networkMode") or "bridge"
    if mode == "host":
        return int(mapping.get("hostPort") or mapping.get("containerPort") or 0)
    if mode == "bridge":
        return int(mapping.get("hostPort") or 0)
    return 0


def static_host_ports(taskdef: dict[str, Any]) -> bool:
    """True when tasks bind fixed instance ports: then one task per instance."""
    return any(host_port(taskdef, m) for c in containers(taskdef)
               for m in c.get("portMappings", []))


def static_host_port(taskdef: dict[str, Any], container: str | None) -> int | None:
    """The fixed instance port of `container` (any container when None); None when ECS picks."""
    for c in containers(taskdef):
        if container and c.get("name") != container:
            continue
        for mapping in c.get("portMappings", []):
            port = host_port(taskdef, mapping)
            if port:
                return port
    return None


# ----------------------------------------------------------------------------- capacity, waves


def tasks_per_instance(instance_type: str, taskdef: dict[str, Any]) -> int | None:
    """How many tasks one instance holds (cpu, memory, one per static port); None: no bound."""
    bound = math.inf
    resources = instance_resources(instance_type)
    cpu, memory = task_size(taskdef)
    if resources is not None:
        if cpu > 0:
            bound = min(bound, resources[0] // cpu)
        if memory > 0:
            bound = min(bound, resources[1] // memory)
    if static_host_ports(taskdef):
        bound = min(bound, 1)
    return None if bound == math.inf else int(bound)


@dataclass(frozen=True)
class RollingPlan:
    """What a rolling update can do on a fixed set of instances.

    ECS keeps at least ceil(desired × minimumHealthyPercent) tasks running and
    runs at most floor(desired × maximumPercent); the instances hold at most
    `capacity`. Each wave starts what fits beside the running tasks and stops
    what the minimum allows, so a wave replaces `can_start + can_stop` tasks.
    """

    capacity: int | None  # tasks the instances can hold at once; None when unbounded
    desired: int
    can_start: int  # new tasks ECS may start before stopping any
    can_stop: int  # old tasks ECS may stop first (minimumHealthyPercent)

    @property
    def stuck(self) -> bool:
        return self.desired > 0 and self.can_start <= 0 and self.can_stop <= 0

    @property
    def waves(self) -> int:
        """Replace-steps of the update: 0 when scaled to zero; `desired` when stuck (the worst
        a budget must allow; validation says why it is stuck)."""
        if self.desired <= 0:
            return 0
        if self.stuck:
            return self.desired
        per_wave = min(self.desired, self.can_start + self.can_stop)
        return math.ceil(self.desired / per_wave)


def rolling_plan(desired: int, minimum_percent: int, maximum_percent: int, instances: int,
                 per_instance: int | None) -> RollingPlan:
    """The first move of a rolling update of `desired` tasks on `instances` instances."""
    capacity = None if per_instance is None else instances * per_instance
    minimum = math.ceil(desired * minimum_percent / 100)
    maximum = math.floor(desired * maximum_percent / 100)
    running = desired if capacity is None else min(desired, capacity)
    room = maximum if capacity is None else min(capacity, maximum)
    return RollingPlan(capacity, desired, room - running, running - minimum)


def fargate_only(taskdef: dict[str, Any]) -> bool:
    """Its tasks run on Fargate alone: no container instance of the environment holds them."""
    return list(taskdef.get("requiresCompatibilities") or []) == ["FARGATE"]


def on_instances(taskdef: dict[str, Any], launch_type: str | None = None) -> bool:
    """Its tasks run on the environment's container instances: not on Fargate (the service's
    launchType, or a task definition for Fargate alone) nor on ECS Anywhere's own machines."""
    return launch_type not in ("FARGATE", "EXTERNAL") and not fargate_only(taskdef)


def plan_for(env: Environment, desired: int, minimum_percent: int, maximum_percent: int,
             taskdef: dict[str, Any], launch_type: str | None = None) -> RollingPlan:
    """The rolling plan of a task definition on an environment's instances (Fargate: none,
    so only the percentages bound a wave)."""
    if not on_instances(taskdef, launch_type):
        return rolling_plan(desired, minimum_percent, maximum_percent, 0, None)
    return rolling_plan(desired, minimum_percent, maximum_percent, env.instance_count,
                        tasks_per_instance(env.instance_type, taskdef))


# ----------------------------------------------------------------------------- time

PLACEMENT_SECONDS = 30  # pull + start of one task; the ECS scheduler places every few seconds
# ContainerDefinition.stopTimeout (ECS API reference): "If neither the stopTimeout parameter
# or the ECS_CONTAINER_STOP_TIMEOUT agent configuration variable are set, then the default
# values of 30 seconds for Linux containers ... are used."
DEFAULT_STOP_TIMEOUT = 30
MIN_MARGIN_SECONDS = 60


def stop_timeout(taskdef: dict[str, Any]) -> int:
    """Seconds the slowest container may take to exit after SIGTERM before SIGKILL."""
    return max((int(c.get("stopTimeout", DEFAULT_STOP_TIMEOUT)) for c in containers(taskdef)),
               default=DEFAULT_STOP_TIMEOUT)


@dataclass(frozen=True)
class WaveTime:
    """The seconds one wave of a rolling update behind a classic ELB takes, step by step.

    The steps of a wave follow each other; none overlaps the next: a new task
    is placed and started (`placement`), the ELB calls it healthy only after
    HealthyThreshold consecutive checks Interval apart (`health`), only then
    does ECS deregister an old task, which drains up to the draining timeout
    (`draining`), and only after draining is it sent SIGTERM and given up to
    stopTimeout to exit (`stop`). With static host ports on a full set of
    instances the order turns round (stop first, then start on the freed
    port), but the sum is the same, and the next wave waits for it.
    """

    placement: int
    health: int
    draining: int
    stop: int

    @property
    def seconds(self) -> int:
        return self.placement + self.health + self.draining + self.stop

    def minimum(self, waves: int) -> int:
        """What `waves` waves need at least; scaled to zero, the old tasks still drain and stop."""
        return waves * self.seconds if waves > 0 else self.draining + self.stop

    def describe(self, waves: int, health_threshold: int, interval: int) -> str:
        if waves == 0:
            return (f"desiredCount 0: no new tasks; the old ones drain ({self.draining} s) and "
                    f"stop ({self.stop} s stopTimeout)")
        return (f"{waves} wave{'s' if waves != 1 else ''} × ({self.placement} s placement + "
                f"{health_threshold} × {interval} s health checks + {self.draining} s draining"
                f" + {self.stop} s stopTimeout)")


def wave_time(env: Environment, taskdef: dict[str, Any]) -> WaveTime:
    lb = env.load_balancer
    hc = lb.health_check
    return WaveTime(PLACEMENT_SECONDS, hc.healthy_after, lb.effective_draining,
                    stop_timeout(taskdef))


def margin(seconds: int) -> int:
    """Slack on top of the minimum for slow pulls and ECS's scheduling rhythm."""
    return max(MIN_MARGIN_SECONDS, math.ceil(seconds * 0.1))
