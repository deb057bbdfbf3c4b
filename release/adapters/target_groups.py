"""ALB/NLB target groups as a health source: which tasks they serve, drain, until when.

Everything the wait knows about ELBv2 target groups is in this file:

- A task is a target of its own: the container instance and the task's host
  port (network modes bridge and host, target type `instance`), or the task's
  private IP and the container port (awsvpc, target type `ip`). With dynamic
  host ports several tasks share an instance, so a target is (Id, Port).
- DescribeTargetHealth (TargetHealthDescriptions: Target {Id, Port}, TargetHealth
  {State, Reason, Description}) without Targets describes the registered
  targets; a target seen before and missing from that answer is asked by name,
  which describes it whatever its state (`draining`, or `unused` once gone).
- State `healthy` serves; `initial` is registration or the first health
  checks (Elb.RegistrationInProgress, Elb.InitialHealthChecking); `unhealthy`
  is failing checks; `draining` (Target.DeregistrationInProgress) lasts until
  the target group's deregistration_delay.timeout_seconds
  (DescribeTargetGroupAttributes) has passed; `unused` is not registered.
- A re-registered (instance, port) target starts from `initial`, but a
  `healthy` read just after a new task took the port over may still be the old
  task's: it counts for the new task only when the target was seen not healthy
  since the task's startedAt, or HealthyThresholdCount × HealthCheckIntervalSeconds
  has passed since then (as for the classic ELB).

A service spec may name its target group (and a blue/green entry's alternate target
group) by name; `resolve` turns names into ARNs
(DescribeTargetGroups) before anything else reads or changes the service.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from typing import Any

from release.core.config import Environment, ServiceSpec
from release.core.errors import InvalidInput
from release.core.serving import (
    DRAINING,
    NOT_REGISTERED,
    NOT_YET,
    SERVING,
    HealthView,
    Placed,
    Serving,
)

DELAY_ATTRIBUTE = "deregistration_delay.timeout_seconds"
FAILING_STATES = ("unhealthy", "unhealthy.draining")

Key = tuple[str, int | None]  # (target id, port); the port None: any (ip targets)


def target_group_arn(elbv2: Any, reference: str, env: Environment | None = None) -> str:
    """The ARN of a target group named by ARN or by name (DescribeTargetGroups Names=)."""
    if reference.startswith("arn:"):
        return reference
    try:
        found = elbv2.describe_target_groups(Names=[reference])["TargetGroups"]
    except elbv2.exceptions.TargetGroupNotFoundException:
        found = []
    if not found:
        where = f" in environment {env.name}" if env is not None else ""
        create = (f"create it with `release bootstrap --env {env.name}`" if env is not None
                  else "create it (`release bootstrap`)")
        raise InvalidInput(f"target group {reference!r} does not exist{where}",
                           f"{create}, or name an existing target group (its name or ARN); "
                           "nothing was changed")
    return str(found[0]["TargetGroupArn"])


def resolve(aws: Any, env: Environment, spec: ServiceSpec) -> ServiceSpec:
    """The spec with every target group given by name replaced by the group's ARN: each
    entry's targetGroupArn and, for a blue/green move, its advancedConfiguration's
    alternateTargetGroupArn (both name a target group; ECS takes only ARNs)."""
    entries = spec.service.get("loadBalancers") or []
    if not any(_by_name(lb.get("targetGroupArn")) or _by_name(_alternate(lb))
               for lb in entries):
        return spec
    resolved = []
    for lb in entries:
        entry = dict(lb)
        if _by_name(lb.get("targetGroupArn")):
            entry["targetGroupArn"] = target_group_arn(aws.elbv2, lb["targetGroupArn"], env)
        if _by_name(_alternate(lb)):
            entry["advancedConfiguration"] = {
                **lb["advancedConfiguration"],
                "alternateTargetGroupArn": target_group_arn(aws.elbv2, _alternate(lb), env)}
        resolved.append(entry)
    return dataclasses.replace(spec, service={**spec.service, "loadBalancers": resolved})


def _alternate(lb: Mapping[str, Any]) -> Any:
    return (lb.get("advancedConfiguration") or {}).get("alternateTargetGroupArn")


def _by_name(reference: Any) -> bool:
    return isinstance(reference, str) and bool(reference) and not reference.startswith("arn:")


def deregistration_delay(elbv2: Any, arn: str) -> float | None:
    """The live deregistration_delay.timeout_seconds (None when it cannot be read)."""
    try:
        attributes = elbv2.describe_target_group_attributes(TargetGroupArn=arn)["Attributes"]
    except Exception:  # no such group yet, or no permission: the document's value is the plan
        return None
    for attribute in attributes:
        if attribute.get("Key") == DELAY_ATTRIBUTE:
            try:
                return float(attribute.get("Value", 0))
            except (TypeError, ValueError):
                return None
    return None


def reason_of(description: Mapping[str, Any]) -> str:
    """`state: Reason (Description)` in the load balancer's own words."""
    health = description.get("TargetHealth") or {}
    words = " ".join(w for w in (health.get("Reason"), f"({health['Description']})"
                                 if health.get("Description") else "") if w)
    return f"{health.get('State', '')}: {words}" if words else str(health.get("State", ""))


def place(description: Mapping[str, Any]) -> str:
    target = description.get("Target") or {}
    return f"{target.get('Id', '')}:{target.get('Port', '')}"


class TargetGroupHealth:
    """One wait's health source for a service behind the target group `arn`."""

    def __init__(self, elbv2: Any, arn: str, healthy_after: float,
                 draining: float | None = None, default_draining: float = 0.0) -> None:
        self.elbv2, self.arn, self.healthy_after = elbv2, arn, healthy_after
        self._draining, self._default_draining = draining, default_draining
        self.keys: dict[str, Key] = {}  # task ARN → its target, once seen
        self.not_healthy_at: dict[Key, float] = {}  # target → last poll not healthy
        self.draining_since: dict[str, float] = {}  # place → when its draining began
        self.started: dict[str, float] = {}  # task ARN → startedAt (first seen when absent)

    @classmethod
    def for_service(cls, aws: Any, env: Environment, reference: str) -> TargetGroupHealth:
        group = env.load_balancer.target_group(reference)
        hc = group.health_check if group is not None else env.load_balancer.health_check
        delay = (group.deregistration_delay if group is not None
                 else env.load_balancer.effective_draining)
        return cls(aws.elbv2, target_group_arn(aws.elbv2, reference, env), hc.healthy_after,
                   default_draining=float(delay))

    def draining_seconds(self) -> float:
        """Read once from the live target group: the document may not match AWS."""
        if self._draining is None:
            live = deregistration_delay(self.elbv2, self.arn)
            self._draining = self._default_draining if live is None else live
        return self._draining

    def serving(self, tasks: Sequence[Placed], now: float) -> HealthView:
        answer = self.elbv2.describe_target_health(TargetGroupArn=self.arn).get(
            "TargetHealthDescriptions", [])
        listed = {(d["Target"]["Id"], d["Target"].get("Port")) for d in answer}
        missing = [k for t in tasks if (k := self.keys.get(t.task_arn)) is not None
                   and k[1] is not None and k not in listed]
        if missing:
            answer = [*answer, *self.elbv2.describe_target_health(
                TargetGroupArn=self.arn, Targets=[{"Id": i, "Port": p} for i, p in missing]
            ).get("TargetHealthDescriptions", [])]
        return self.judge(tasks, answer, now)

    def judge(self, tasks: Sequence[Placed], answer: Sequence[Mapping[str, Any]],
              now: float) -> HealthView:
        """The view out of DescribeTargetHealth answers (no call: tests use it alone)."""
        by_key = {(d["Target"]["Id"], d["Target"].get("Port")): d for d in answer}
        by_id: dict[str, Mapping[str, Any]] = {}
        for d in answer:
            by_id.setdefault(d["Target"]["Id"], d)
        found = {t.task_arn: (by_id.get(t.address) if t.address
                              else by_key.get((t.instance_id, t.host_port)))
                 for t in tasks if not t.stopped}
        for arn, description in found.items():
            if description is not None:
                self.keys[arn] = (description["Target"]["Id"], description["Target"].get("Port"))
        draining = self._remember_draining(tasks, answer, now)
        view = {t.task_arn: self._of(t, found[t.task_arn], draining, now)
                for t in tasks if not t.stopped}
        return HealthView(view, draining, list(answer))

    def _remember_draining(self, tasks: Sequence[Placed], answer: Sequence[Mapping[str, Any]],
                           now: float) -> dict[str, float | None]:
        draining_now = {place(d) for d in answer
                        if (d.get("TargetHealth") or {}).get("State") == "draining"}
        for where in draining_now:
            self.draining_since.setdefault(where, now)
        for where in set(self.draining_since) - draining_now:
            del self.draining_since[where]
        for task in tasks:  # ECS deregistered it when it began stopping: a better start
            key = self.keys.get(task.task_arn)
            where = f"{key[0]}:{key[1] if key[1] is not None else ''}" if key else None
            if task.stopping_at is not None and where in self.draining_since:
                self.draining_since[where] = min(self.draining_since[where], task.stopping_at)
        for d in answer:
            if (d.get("TargetHealth") or {}).get("State") != "healthy":
                self.not_healthy_at[(d["Target"]["Id"], d["Target"].get("Port"))] = now
        return {w: s + self.draining_seconds() for w, s in self.draining_since.items()}

    def _of(self, task: Placed, found: Mapping[str, Any] | None,
            draining: Mapping[str, float | None], now: float) -> Serving:
        if task.started_at is not None:
            self.started.setdefault(task.task_arn, min(now, task.started_at))
        if found is None:
            return Serving(NOT_REGISTERED, "not registered with the target group",
                           until=self._due(task))
        state = (found.get("TargetHealth") or {}).get("State")
        reason = reason_of(found)
        if state in ("draining", "unhealthy.draining"):
            return Serving(DRAINING, reason, until=draining.get(place(found)))
        if state == "unused":
            return Serving(NOT_REGISTERED, reason, until=self._due(task))
        started = self.started.get(task.task_arn)
        if started is None:
            return Serving(NOT_YET, "not started")
        if state != "healthy":
            return Serving(NOT_YET, reason, failing=state in FAILING_STATES,
                           until=self._due(task))
        key = (found["Target"]["Id"], found["Target"].get("Port"))
        if (task.address or self.not_healthy_at.get(key, -math.inf) >= started
                or now - started >= self.healthy_after):
            return Serving(SERVING, reason)
        return Serving(NOT_YET, reason, until=self._due(task))  # maybe the previous task's

    def _due(self, task: Placed) -> float | None:
        started = self.started.get(task.task_arn)
        return None if started is None else started + self.healthy_after
