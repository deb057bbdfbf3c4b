"""The classic ELB as a health source: which tasks it serves, which it drains, until when.

Everything the wait knows about the classic ELB is in this file:

- DescribeInstanceHealth names every instance that hosts a task of the service,
  old or new (ELB API reference: "If no instances are specified, the call
  describes the state of all instances that are currently registered with the
  load balancer. If instances are specified, their state is returned even if
  they are no longer registered"): a draining instance is already deregistered,
  so only naming it shows it. An id the ELB cannot describe fails the whole call
  with InvalidInstance; then each instance is asked on its own.
- Draining is told by its description: `InService` with "Instance deregistration
  currently in progress" (Classic Load Balancers guide, "Configure connection
  draining"); it ends at the ELB's ConnectionDraining timeout.
- The ELB reports instances, not tasks: an instance that served the old task can
  still say `InService` just after the new task started there. An `InService`
  counts for a task only when the instance was seen not `InService` since the
  task's startedAt, or HealthyThreshold × Interval (the least time a fresh
  registration takes to turn InService) has passed since then.

A second kind (ALB/NLB target groups: DescribeTargetHealth on (instance, port)
targets, `draining` state, `deregistration_delay.timeout_seconds`) is a second
file with a class that has the same `for_service`, `serving` and
`draining_seconds`, chosen by its kind's `health_source` (engine/balancers/).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from release.core.config import Environment
from release.core.serving import (
    DRAINING,
    NOT_REGISTERED,
    NOT_YET,
    SERVING,
    HealthView,
    Placed,
    Serving,
)

DRAINING_DESCRIPTION = "Instance deregistration currently in progress"


def instance_health(elb: Any, load_balancer: str, instances: list[str]
                    ) -> list[dict[str, Any]]:
    """The ELB's view of `instances` (all registered ones when none are named).

    An id the ELB cannot describe fails the whole call with InvalidInstance ("The
    specified endpoint is not valid."); then each instance is asked on its own and the
    ones it refuses are left out: not registered, so not serving."""
    if not instances:
        return elb.describe_instance_health(LoadBalancerName=load_balancer
                                            ).get("InstanceStates", [])
    try:
        return elb.describe_instance_health(
            LoadBalancerName=load_balancer,
            Instances=[{"InstanceId": i} for i in instances]).get("InstanceStates", [])
    except elb.exceptions.InvalidEndPointException:
        if len(instances) == 1:
            return []
    states: list[dict[str, Any]] = []
    for instance in instances:
        states += instance_health(elb, load_balancer, [instance])
    return states


def draining_seconds(elb: Any, env: Environment) -> float:
    """The ELB's own connection-draining timeout (what ECS waits for), else the document's."""
    try:
        attributes = elb.describe_load_balancer_attributes(
            LoadBalancerName=env.load_balancer.name)["LoadBalancerAttributes"]
    except Exception:  # no such ELB yet, or no permission: the document's value is the plan
        return float(env.load_balancer.effective_draining)
    draining = attributes.get("ConnectionDraining") or {}
    return float(draining.get("Timeout", 0)) if draining.get("Enabled") else 0.0


def is_draining(health: Mapping[str, Any]) -> bool:
    return DRAINING_DESCRIPTION.lower() in str(health.get("Description", "")).lower()


def is_in_service(health: Mapping[str, Any] | None) -> bool:
    return bool(health) and health.get("State") == "InService" and not is_draining(health)


def is_failing(health: Mapping[str, Any] | None) -> bool:
    """OutOfService because checks fail, not because registration is still in progress."""
    if not health or health.get("State") != "OutOfService":
        return False
    text = f"{health.get('ReasonCode', '')} {health.get('Description', '')}".lower()
    return "registration" not in text and "not currently registered" not in text


class ClassicElb:
    """One wait's health source for a service behind the classic ELB `name`."""

    def __init__(self, elb: Any, name: str, healthy_after: float,
                 draining: float | None = None, env: Environment | None = None) -> None:
        self.elb, self.name, self.healthy_after = elb, name, healthy_after
        self._draining, self._env = draining, env
        self.not_described: set[str] = set()  # ids the ELB refused or no longer knows
        self.not_in_service_at: dict[str, float] = {}  # EC2 id → last poll not InService
        self.draining_since: dict[str, float] = {}  # EC2 id → when its draining began
        self.started: dict[str, float] = {}  # task ARN → startedAt (first seen when absent)

    @classmethod
    def for_service(cls, aws: Any, env: Environment, name: str) -> ClassicElb:
        hc = env.load_balancer.health_check
        return cls(aws.elb, name, hc.healthy_after, env=env)

    def draining_seconds(self) -> float:
        """Read once from the live ELB: the document may not match AWS."""
        if self._draining is None:
            self._draining = (draining_seconds(self.elb, self._env) if self._env is not None
                              else 0.0)
        return self._draining

    def serving(self, tasks: Sequence[Placed], now: float) -> HealthView:
        hosts = self.hosts(tasks)
        return self.view(tasks, self.fetch(hosts), hosts, now)

    # the batched protocol (core/serving.BatchedHealthSource): one call per ELB per round

    def batch_key(self) -> tuple[str, str]:
        return ("DescribeInstanceHealth", self.name)

    def hosts(self, tasks: Sequence[Placed]) -> list[str]:
        """The instances to name for these tasks (not the ones the ELB refused before)."""
        return sorted({t.instance_id for t in tasks} - {""} - self.not_described)

    def fetch(self, hosts: list[str]) -> list[dict[str, Any]]:
        """One DescribeInstanceHealth for `hosts` (the union over the ELB's services)."""
        return instance_health(self.elb, self.name, hosts)

    def view(self, tasks: Sequence[Placed], answer: Sequence[Mapping[str, Any]],
             hosts: list[str], now: float) -> HealthView:
        """This service's view out of a shared answer: only its own instances count (another
        service's draining instance is not this one's)."""
        states = [h for h in answer if h.get("InstanceId") in hosts] if hosts else list(answer)
        # terminated (not returned) or refused: not asked again, each poll would repeat it
        self.not_described |= set(hosts) - {h.get("InstanceId") for h in states}
        return self.judge(tasks, states, now)

    def judge(self, tasks: Sequence[Placed], states: Sequence[Mapping[str, Any]],
              now: float) -> HealthView:
        """The view out of one DescribeInstanceHealth answer (no call: tests use it alone)."""
        health = {h.get("InstanceId", ""): h for h in states}
        self._remember(tasks, health, now)
        draining = {i: self.draining_since[i] + self.draining_seconds()
                    for i in self.draining_since}
        view = {t.task_arn: self._of(t, health.get(t.instance_id), draining, now)
                for t in tasks if not t.stopped}
        return HealthView(view, draining, list(states))

    def _remember(self, tasks: Sequence[Placed], health: Mapping[str, Mapping[str, Any]],
                  now: float) -> None:
        draining_now = {i for i, h in health.items() if is_draining(h)}
        for instance in draining_now:
            self.draining_since.setdefault(instance, now)
        for instance in set(self.draining_since) - draining_now:
            del self.draining_since[instance]
        # absent from the answer counts as not InService: not registered
        for instance in {*(t.instance_id for t in tasks), *health} - {""}:
            if not is_in_service(health.get(instance)):
                self.not_in_service_at[instance] = now
        for task in tasks:
            if task.stopped:
                continue
            if task.started_at is not None:
                self.started.setdefault(task.task_arn, min(now, task.started_at))
            if task.stopping_at is not None and task.instance_id in self.draining_since:
                # ECS deregistered it then: a better start than when we first saw it
                self.draining_since[task.instance_id] = min(
                    self.draining_since[task.instance_id], task.stopping_at)

    def _of(self, task: Placed, health: Mapping[str, Any] | None,
            draining: Mapping[str, float], now: float) -> Serving:
        if health is None:
            return Serving(NOT_REGISTERED, "not registered with the load balancer",
                           until=self._due(task))
        reason = f"{health.get('State', '')}: {health.get('Description', '')}"
        if task.instance_id in draining:
            return Serving(DRAINING, reason, until=draining[task.instance_id])
        started = self.started.get(task.task_arn)
        if started is None:
            return Serving(NOT_YET, "not started")
        if not is_in_service(health):
            return Serving(NOT_YET, reason, failing=is_failing(health), until=self._due(task))
        if (self.not_in_service_at.get(task.instance_id, -math.inf) >= started
                or now - started >= self.healthy_after):
            return Serving(SERVING, reason)
        return Serving(NOT_YET, reason, until=self._due(task))  # maybe the previous task's

    def _due(self, task: Placed) -> float | None:
        started = self.started.get(task.task_arn)
        return None if started is None else started + self.healthy_after
