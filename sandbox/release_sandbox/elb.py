"""The classic ELB as ECS uses it: registration, health checks, draining, DescribeInstanceHealth.

moto stores classic load balancers and their registered instances but reports
every registered instance InService at once. What this follows (AWS
documentation, by page title):

* "Use load balancing to distribute Amazon ECS service traffic": ECS registers
  the instance hosting a task once the task is RUNNING and deregisters it when
  the task stops ("registered 1 instances in (elb ...)").
* "Health checks for your Classic Load Balancer": an instance is InService after
  HealthyThreshold consecutive passing checks, one every Interval seconds, and
  OutOfService after UnhealthyThreshold consecutive failures.
* "Configure connection draining for your Classic Load Balancer": a deregistered
  instance keeps in-flight requests for up to the draining timeout; meanwhile
  DescribeInstanceHealth reports it InService, "Instance deregistration currently
  in progress."; afterwards OutOfService, "Instance is not currently registered
  with the LoadBalancer."
* DescribeInstanceHealth API reference: "If no instances are specified, the call
  describes the state of all instances that are currently registered with the
  load balancer. If instances are specified, their state is returned even if
  they are no longer registered" — a draining instance is listed only when named.
  A registered instance (again) starts its health history anew: OutOfService,
  "Instance registration is still in progress.", until HealthyThreshold checks
  passed, even if it was InService or draining just before.

Sandbox choice (not from AWS): an instance that never reached InService is
deregistered without draining.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from release_sandbox import awslogs
from release_sandbox.world import ServiceRecord, TaskRecord, World

DEFAULT_HEALTH_CHECK = {"target": "TCP:80", "interval": 30, "timeout": 5,
                        "healthy_threshold": 10, "unhealthy_threshold": 2}

REGISTRATION_IN_PROGRESS = "Instance registration is still in progress."
FAILED_CHECKS = ("Instance has failed at least the UnhealthyThreshold number of health "
                 "checks consecutively.")
DEREGISTRATION_IN_PROGRESS = "Instance deregistration currently in progress."
NOT_REGISTERED = "Instance is not currently registered with the LoadBalancer."


@dataclass
class InstanceHealth:
    """One instance's health-check history on one classic ELB."""

    registered_at: float
    next_check: float
    passes: int = 0
    fails: int = 0
    in_service: bool = False
    failed_out: bool = False


@dataclass
class LbRecord:
    instances: dict[str, InstanceHealth] = field(default_factory=dict)
    draining: dict[str, float] = field(default_factory=dict)  # instance id -> until


def health_settings(lb: Any) -> dict[str, Any]:
    check = getattr(lb, "health_check", None)
    if check is None:
        return dict(DEFAULT_HEALTH_CHECK)
    return {"target": check.target, "interval": int(check.interval),
            "timeout": int(check.timeout), "healthy_threshold": int(check.healthy_threshold),
            "unhealthy_threshold": int(check.unhealthy_threshold)}


def check_port(target: str) -> int | None:
    try:
        return int(target.split(":", 1)[1].split("/", 1)[0])
    except (IndexError, ValueError):
        return None


def draining_seconds(lb: Any) -> float:
    """The draining timeout in seconds, 0 when draining is off.

    moto keeps the attribute as the caller spelled it ("Enabled"/"Timeout" through the
    API) and adds a lowercase "timeout": 300 of its own, so the API spelling wins.
    """
    setting = (getattr(lb, "attributes", None) or {}).get("connection_draining") or {}
    enabled = setting.get("Enabled", setting.get("enabled"))
    if str(enabled).lower() not in ("true", "1"):
        return 0.0
    return float(setting.get("Timeout", setting.get("timeout", 300)))


def registered_ids(lb: Any) -> list[str]:
    """Each registered instance once (moto appends an instance registered twice)."""
    if lb is None:
        return []
    return list(dict.fromkeys([*lb.instance_sparse_ids, *lb.instance_autoscaling_ids]))


def _state(health: InstanceHealth | None, registered: bool, draining: bool
           ) -> tuple[str, str, str]:
    """(State, ReasonCode, Description) of one instance, as DescribeInstanceHealth words it."""
    if draining:
        return "InService", "N/A", DEREGISTRATION_IN_PROGRESS
    if registered and health is not None:
        if health.in_service:
            return "InService", "N/A", "N/A"
        if health.failed_out:
            return "OutOfService", "Instance", FAILED_CHECKS
        return "OutOfService", "ELB", REGISTRATION_IN_PROGRESS
    return "OutOfService", "N/A", NOT_REGISTERED


class ClassicElb:
    """The classic ELBs of one account and region (`world.LoadBalancers`)."""

    def __init__(self, world: World) -> None:
        self.world = world
        self._lbs: dict[str, LbRecord] = {}

    # -- the API (moto_hooks) -----------------------------------------------------------

    def instance_health(self, lb_name: str, instance_ids: list[str]) -> list[dict[str, str]]:
        """DescribeInstanceHealth as a classic ELB answers it (see the module docstring).

        ELB API reference: "If no instances are specified, the call describes the state of
        all instances that are currently registered with the load balancer. If instances
        are specified, their state is returned even if they are no longer registered with
        the load balancer." So a draining (deregistered) instance is listed only when named.
        """
        lb = self.world.elb.get_load_balancer(lb_name)
        record = self._sync(lb_name, lb, self.world.clock.now())
        registered = registered_ids(lb)
        states = []
        for instance_id in instance_ids or registered:
            state, code, text = _state(record.instances.get(instance_id),
                                       instance_id in registered,
                                       instance_id in record.draining)
            states.append({"InstanceId": instance_id, "State": state,
                           "ReasonCode": code, "Description": text})
        return states

    def registrations_changed(self, lb_name: str) -> None:
        """RegisterInstancesWithLoadBalancer / DeregisterInstances... by an API caller.

        Followed at once, so a deregistration and a registration within one tick still
        restart the instance's health history (see `_sync`).
        """
        self._sync(lb_name, self.world.elb.get_load_balancer(lb_name), self.world.clock.now())

    # -- what ECS does (world.LoadBalancers) --------------------------------------------

    def tick(self, now: float) -> None:
        for name, lb in list(self.world.elb.load_balancers.items()):
            self._sync(name, lb, now)
            self._run_health_checks(name, lb, now)

    def forget_vanished(self) -> None:
        for name in [n for n in self._lbs if n not in self.world.elb.load_balancers]:
            del self._lbs[name]

    def register(self, record: ServiceRecord, task: TaskRecord, now: float) -> None:
        for lb_name in record.lb_names():
            lb = self.world.elb.get_load_balancer(lb_name)
            if lb is None:
                continue
            instance_id = task.ec2_instance_id
            self._lbs.setdefault(lb_name, LbRecord()).draining.pop(instance_id, None)
            if instance_id not in registered_ids(lb):
                self.world.elb.register_instances(lb_name, [instance_id])
            self._sync(lb_name, lb, now)
            task.registered_lbs.add(lb_name)
            self.world.event(record, f"registered 1 instances in (elb {lb_name})", now)

    def deregister(self, record: ServiceRecord | None, task: TaskRecord, now: float) -> float:
        """Take the task's instance out of its classic ELBs; returns when draining ends."""
        until = now
        for lb_name in sorted(task.registered_lbs):
            until = max(until, self._deregister(lb_name, task, now, record))
        return until

    def serving(self, record: ServiceRecord, task: TaskRecord) -> bool:
        """Registered and InService on every classic ELB of the service."""
        for lb_name in record.lb_names():
            health = self._lbs.get(lb_name, LbRecord()).instances.get(task.ec2_instance_id)
            if lb_name not in task.registered_lbs or health is None or not health.in_service:
                return False
        return True

    def failure(self, task: TaskRecord) -> tuple[str, str] | None:
        for lb_name in sorted(task.registered_lbs):
            health = self._lbs.get(lb_name, LbRecord()).instances.get(task.ec2_instance_id)
            if health is None or not health.failed_out:
                continue
            port = check_port(health_settings(self.world.elb.get_load_balancer(lb_name))
                              ["target"])
            return (f"(instance {task.ec2_instance_id}) (port {port}) is unhealthy in "
                    f"(elb {lb_name}) due to (reason {FAILED_CHECKS})",
                    f"Task failed ELB health checks in (elb {lb_name})")
        return None

    # -- the model ----------------------------------------------------------------------

    def _deregister(self, lb_name: str, task: TaskRecord, now: float,
                    record: ServiceRecord | None) -> float:
        lb = self.world.elb.get_load_balancer(lb_name)
        if lb is None:
            return now
        instance_id = task.ec2_instance_id
        lb_record = self._sync(lb_name, lb, now)
        health = lb_record.instances.pop(instance_id, None)
        if instance_id in registered_ids(lb):
            self.world.elb.deregister_instances(lb_name, [instance_id])
        until = now
        if health is not None and health.in_service and draining_seconds(lb) > 0:
            until = now + draining_seconds(lb)
            lb_record.draining[instance_id] = until
        if record is not None:
            self.world.event(record, f"deregistered 1 instances in (elb {lb_name})", now)
            if until > now:
                self.world.event(record, "has begun draining connections on 1 tasks.", now)
        return until

    def _sync(self, lb_name: str, lb: Any, now: float) -> LbRecord:
        """Follow registrations made by anyone (API callers too) and end finished draining.

        A (re-)registered instance starts a new health history, even if it was InService or
        still draining a moment ago: "Health checks for your Classic Load Balancer" has an
        instance move to InService only after HealthyThreshold consecutive passing checks
        (until then DescribeInstanceHealth says "Instance registration is still in
        progress."), and a registered instance is no longer deregistering.
        """
        record = self._lbs.setdefault(lb_name, LbRecord())
        if lb is None:
            return record
        interval = health_settings(lb)["interval"]
        registered = registered_ids(lb)
        for instance_id in registered:
            if instance_id not in record.instances:
                record.instances[instance_id] = InstanceHealth(registered_at=now,
                                                               next_check=now + interval)
                record.draining.pop(instance_id, None)
        for instance_id in [i for i in record.instances if i not in registered]:
            health = record.instances.pop(instance_id)
            draining = draining_seconds(lb)
            if health.in_service and draining > 0 and instance_id not in record.draining:
                record.draining[instance_id] = now + draining
        for instance_id, until in list(record.draining.items()):
            if now >= until:
                del record.draining[instance_id]
        return record

    def _check_passes(self, instance_id: str, port: int | None, at: float,
                     target: str = "") -> bool:
        """Would the health check on `port` of this instance pass at time `at`?"""
        for task in self.world.tasks.values():
            # A DEACTIVATING task's containers still run: ECS stops them only after draining.
            if task.ec2_instance_id != instance_id or task.status not in ("RUNNING",
                                                                          "DEACTIVATING"):
                continue
            if port is not None and port not in task.ports:
                continue
            if task.stop_kind == "crash":
                return False  # its essential container has exited
            passes = task.fault.passes_health_check(at - (task.started or at))
            answered = passes or task.fault.unhealthy  # a slow starter is not listening yet
            line = awslogs.request_line(target, passes) if answered else None
            if line:
                awslogs.write(self.world.account, self.world.region, task.definitions,
                              task.short_id, [line], at, self._checked_container(task))
            return passes
        return False

    def _checked_container(self, task: TaskRecord) -> str | None:
        """The container the ELB checks: the service's loadBalancers containerName."""
        record = self.world.services.get(task.service_key)
        balancers = (record.service.load_balancers or []) if record is not None else []
        return next((lb.get("containerName") for lb in balancers if lb.get("containerName")),
                    None)

    def _run_health_checks(self, lb_name: str, lb: Any, now: float) -> None:
        settings = health_settings(lb)
        port = check_port(settings["target"])
        for instance_id, health in self._lbs[lb_name].instances.items():
            while health.next_check <= now + 1e-9:
                if self._check_passes(instance_id, port, health.next_check, settings["target"]):
                    health.passes += 1
                    health.fails = 0
                    if health.passes >= settings["healthy_threshold"]:
                        health.in_service, health.failed_out = True, False
                else:
                    health.fails += 1
                    health.passes = 0
                    if health.fails >= settings["unhealthy_threshold"]:
                        health.in_service, health.failed_out = False, True
                health.next_check += settings["interval"]
