"""ALB/NLB target groups as ECS uses them: targets, health checks, deregistration delay.

moto stores ELBv2 load balancers, listeners and target groups, but keeps one
target per id (an instance with two tasks on dynamic host ports is two
targets), never runs a health check and never drains. ECS registers nothing
with moto's target groups either. What this follows (AWS documentation, by
page title or API reference):

* "Use load balancing to distribute Amazon ECS service traffic": ECS registers
  a task with the service's target groups once it is RUNNING and deregisters it
  when it stops; the target is the container instance and the task's host port
  (network mode bridge or host) or the task's private IP and the container port
  (awsvpc: target type `ip`).
* TargetHealth API reference (botocore model), State and Reason: `initial`
  (Elb.RegistrationInProgress: "The target is in the process of being
  registered with the load balancer"; Elb.InitialHealthChecking: "The load
  balancer is still sending the target the minimum number of health checks
  required to determine its health status"), `healthy` (no reason),
  `unhealthy` (Target.FailedHealthChecks), `draining`
  (Target.DeregistrationInProgress: "The target is in the process of being
  deregistered and the deregistration delay period has not expired"), `unused`
  (Target.NotRegistered: "The target is not registered with the target group").
* "Health checks for Application Load Balancer target groups":
  HealthyThresholdCount consecutive successful checks HealthCheckIntervalSeconds
  apart make a target healthy; UnhealthyThresholdCount consecutive failures make
  it unhealthy.
* DeregisterTargets API reference: "The load balancer stops sending requests to
  targets that are deregistering, but uses connection draining to ensure that
  in-flight traffic completes on the existing connections"; the target group
  attribute deregistration_delay.timeout_seconds (default 300) is how long, and
  ECS stops the task only after it. "If the specified target does not exist,
  the action returns successfully."
* DescribeTargetHealth without Targets describes the registered targets (a
  draining one is still registered until its delay ends); named targets are
  described whatever their state (`unused` when unknown).

Sandbox choice (not from AWS): a target that never turned healthy served no
request, so its deregistration completes at once, without draining.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from release_sandbox.world import ServiceRecord, TaskRecord, World

REGISTERING = ("initial", "Elb.RegistrationInProgress", "Target registration is in progress")
INITIAL_CHECKS = ("initial", "Elb.InitialHealthChecking", "Initial health checks in progress")
FAILED = ("unhealthy", "Target.FailedHealthChecks", "Health checks failed")
DRAINING = ("draining", "Target.DeregistrationInProgress", "Target deregistration is in progress")
UNUSED = ("unused", "Target.NotRegistered", "Target is not registered to the target group")
DEFAULT_DELAY = 300.0

Key = tuple[str, int]  # (target id: instance id or IP address, port)


@dataclass
class Target:
    """One registered target's health-check history."""

    task_arn: str | None  # the task ECS registered here (None: an API caller's target)
    next_check: float
    checks: int = 0
    passes: int = 0
    fails: int = 0
    healthy: bool = False
    failed_out: bool = False


@dataclass
class GroupRecord:
    targets: dict[Key, Target] = field(default_factory=dict)
    draining: dict[Key, float] = field(default_factory=dict)  # target -> until


def settings(group: Any) -> dict[str, Any]:
    """A moto target group's health check (moto keeps the thresholds as strings)."""
    return {"interval": float(group.health_check_interval_seconds or 30),
            "healthy": int(group.healthy_threshold_count or 5),
            "unhealthy": int(group.unhealthy_threshold_count or 2)}


def delay_of(group: Any) -> float:
    """deregistration_delay.timeout_seconds, as set through the API (moto keeps strings)."""
    value = (getattr(group, "attributes", None) or {}).get(
        "deregistration_delay.timeout_seconds", DEFAULT_DELAY)
    try:
        return float(value)
    except (TypeError, ValueError):
        return DEFAULT_DELAY


def target_of(record: ServiceRecord, task: TaskRecord, entry: dict[str, Any],
              group: Any) -> Key | None:
    """Where ECS registers the task for one loadBalancers entry (None: it has no such port)."""
    if group.target_type == "ip":
        return (task.private_ip, int(entry["containerPort"])) if task.private_ip else None
    for container in task.task.containers:
        if container.name != entry.get("containerName"):
            continue
        for binding in container.network_bindings or []:
            if binding.get("containerPort") == entry.get("containerPort"):
                return task.ec2_instance_id, int(binding["hostPort"])
    return None


class TargetGroups:
    """The ELBv2 target groups of one account and region (`world.LoadBalancers`)."""

    def __init__(self, world: World) -> None:
        self.world = world
        self._groups: dict[str, GroupRecord] = {}

    def _group(self, arn: str) -> Any:
        return self.world.elbv2.target_groups.get(arn)

    def _record(self, arn: str) -> GroupRecord:
        return self._groups.setdefault(arn, GroupRecord())

    # -- the API (moto_hooks) -----------------------------------------------------------

    def target_health(self, arn: str, asked: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """DescribeTargetHealth: the named targets, else every registered (or draining) one."""
        group = self._group(arn)
        record = self._record(arn)
        self._end_draining(record, self.world.clock.now())
        if asked:
            keys = [(str(t["Id"]), int(t.get("Port") or group.port or 0)) for t in asked]
        else:
            keys = [*record.targets, *(k for k in record.draining if k not in record.targets)]
        return [self._describe(group, record, key) for key in keys]

    def api_registered(self, arn: str, targets: list[dict[str, Any]]) -> None:
        """RegisterTargets by an API caller: a new health history for each target."""
        group, now = self._group(arn), self.world.clock.now()
        for target in targets:
            self._add(group, (str(target["Id"]), int(target.get("Port") or group.port)),
                      None, now)

    def api_deregistered(self, arn: str, targets: list[dict[str, Any]]) -> None:
        group, now = self._group(arn), self.world.clock.now()
        for target in targets:
            self._remove(group, arn, (str(target["Id"]), int(target.get("Port") or group.port)),
                         now)

    # -- what ECS does (world.LoadBalancers) --------------------------------------------

    def register(self, record: ServiceRecord, task: TaskRecord, now: float) -> None:
        for entry in record.target_group_entries():
            group = self._group(entry["targetGroupArn"])
            key = None if group is None else target_of(record, task, entry, group)
            if key is None:
                continue
            self._add(group, key, task.arn, now)
            task.targets[group.arn] = key
            self.world.event(record, f"registered 1 targets in (target-group {group.arn})", now)

    def deregister(self, record: ServiceRecord | None, task: TaskRecord, now: float) -> float:
        """Take the task's targets out; returns when the last one's draining ends."""
        until = now
        for arn, key in sorted(task.targets.items()):
            group = self._group(arn)
            if group is None:
                continue
            until = max(until, self._remove(group, arn, key, now))
            if record is not None:
                self.world.event(record, f"deregistered 1 targets in (target-group {arn})", now)
        if until > now and record is not None:
            self.world.event(record, "has begun draining connections on 1 tasks.", now)
        task.targets.clear()
        return until

    def serving(self, record: ServiceRecord, task: TaskRecord) -> bool:
        """Registered and healthy in every target group of the service."""
        for entry in record.target_group_entries():
            key = task.targets.get(entry["targetGroupArn"])
            target = self._record(entry["targetGroupArn"]).targets.get(key) if key else None
            if target is None or not target.healthy:
                return False
        return True

    def failure(self, task: TaskRecord) -> tuple[str, str] | None:
        for arn, key in sorted(task.targets.items()):
            target = self._record(arn).targets.get(key)
            if target is not None and target.failed_out:
                return (f"(port {key[1]}) is unhealthy in (target-group {arn}) due to "
                        f"(reason {FAILED[2]}).", f"Task failed ELB health checks in "
                        f"(target-group {arn})")
        return None

    def tick(self, now: float) -> None:
        for arn, record in self._groups.items():
            group = self._group(arn)
            if group is not None:
                self._end_draining(record, now)
                self._run_health_checks(group, record, now)

    def forget_vanished(self) -> None:
        for arn in [a for a in self._groups if self._group(a) is None]:
            del self._groups[arn]

    # -- the model ----------------------------------------------------------------------

    def _add(self, group: Any, key: Key, task_arn: str | None, now: float) -> None:
        record = self._record(group.arn)
        record.draining.pop(key, None)
        record.targets[key] = Target(task_arn, next_check=now + settings(group)["interval"])

    def _remove(self, group: Any, arn: str, key: Key, now: float) -> float:
        record = self._record(arn)
        target = record.targets.pop(key, None)
        if target is None or not target.healthy or delay_of(group) <= 0:
            return now
        record.draining[key] = now + delay_of(group)
        return record.draining[key]

    def _end_draining(self, record: GroupRecord, now: float) -> None:
        for key, until in list(record.draining.items()):
            if now >= until:
                del record.draining[key]

    def _describe(self, group: Any, record: GroupRecord, key: Key) -> dict[str, Any]:
        target = record.targets.get(key)
        if key in record.draining and target is None:
            state = DRAINING
        elif target is None:
            state = UNUSED
        elif target.healthy:
            state = ("healthy", "", "")
        elif target.failed_out:
            state = FAILED
        else:
            state = INITIAL_CHECKS if target.checks else REGISTERING
        health = {"State": state[0]}
        if state[1]:
            health.update(Reason=state[1], Description=state[2])
        port = group.health_check_port
        return {"Target": {"Id": key[0], "Port": key[1]},
                "HealthCheckPort": str(key[1]) if port in (None, "traffic-port") else str(port),
                "TargetHealth": health}

    def _passes(self, target: Target, key: Key, at: float) -> bool:
        """Would a health check of this target pass at time `at`?"""
        task = self.world.tasks.get(target.task_arn or "") or self._task_at(key)
        # A DEACTIVATING task's containers still run: ECS stops them only after draining.
        if task is None or task.status not in ("RUNNING", "DEACTIVATING"):
            return False
        if task.stop_kind == "crash":
            return False
        return task.fault.passes_health_check(at - (task.started or at))

    def _task_at(self, key: Key) -> TaskRecord | None:
        """The task an API caller's target reaches: its IP, or its instance and host port."""
        for task in self.world.tasks.values():
            if task.private_ip == key[0] or task.ec2_instance_id == key[0]:
                ports = {b.get("hostPort") if task.ec2_instance_id == key[0] else
                         b.get("containerPort") for c in task.task.containers
                         for b in c.network_bindings or []}
                if key[1] in ports or (task.private_ip == key[0] and not ports):
                    return task
        return None

    def _run_health_checks(self, group: Any, record: GroupRecord, now: float) -> None:
        check = settings(group)
        for key, target in record.targets.items():
            while target.next_check <= now + 1e-9:
                target.checks += 1
                if self._passes(target, key, target.next_check):
                    target.passes, target.fails = target.passes + 1, 0
                    if target.passes >= check["healthy"]:
                        target.healthy, target.failed_out = True, False
                else:
                    target.fails, target.passes = target.fails + 1, 0
                    if target.fails >= check["unhealthy"]:
                        target.healthy, target.failed_out = False, True
                target.next_check += check["interval"]
