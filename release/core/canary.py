"""A canary behind a classic ELB: N tasks of the new revision as a second service, as data.

A classic ELB routes to instances, and ECS registers the instance of every task
of every service that names the ELB. So a second service `<serviceName>-canary`
with the same `loadBalancers` entry and N tasks of the new revision takes
N / (desiredCount + N) of the traffic, and removing it (desiredCount 0, its
instances drain, DeleteService) takes that share back. This module decides
what the canary is (`release.canary` in the service spec), its service
definition and the calls that start and remove it; engine/canary.py runs them
around the main service's update, under the main service's lock.

Pure: the spec and the canary's live service (or None) in, `ApiCall`s out. The
same calls are shown by `release plan` and run by `release deploy`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from release.core.calls import ApiCall
from release.core.config import Environment, ServiceSpec
from release.core.deployments import short

SUFFIX = "-canary"
CANARY_OF_TAG = "release:canary-of"
# Settings of the main service the canary shares: where its tasks go and how the ELB sees them.
SHARED_SETTINGS = ("role", "loadBalancers", "launchType", "placementConstraints",
                   "placementStrategy", "healthCheckGracePeriodSeconds", "enableECSManagedTags",
                   "enableExecuteCommand")
# One task per instance with a static host port: a canary task is replaced in place
# (stop first, then start on the freed port), never beside another one.
DEPLOYMENT_CONFIGURATION = {"minimumHealthyPercent": 0, "maximumPercent": 100}


@dataclass(frozen=True)
class Canary:
    """`release.canary`: how many tasks of the new revision, how long they bake, which alarms."""

    count: int
    bake_minutes: float
    alarms: tuple[str, ...] = ()


def canary_of(spec: ServiceSpec) -> Canary | None:
    """The spec's canary, None when it has none. Alarms are those of `release.bake`."""
    policy = spec.doc.get("release") or {}
    section = policy.get("canary")
    if not isinstance(section, dict):
        return None
    bake = policy.get("bake") if isinstance(policy.get("bake"), dict) else {}
    return Canary(count=int(section.get("count", 1)),
                  bake_minutes=float(section.get("bakeMinutes", 0)),
                  alarms=tuple(str(a) for a in bake.get("alarms", [])))


def canary_name(spec: ServiceSpec) -> str:
    return spec.service_name + SUFFIX


def is_canary_of(service: dict[str, Any], spec: ServiceSpec) -> bool:
    """The service is the canary a release started for `spec`'s service: named
    `<serviceName>-canary` and tagged `release:canary-of` with that name (CreateService's
    `tags`, as `service_definition` gives them). A service of that name without the tag
    is someone else's: it is never removed because the spec no longer asks for a canary."""
    tags = {t.get("key"): t.get("value") for t in service.get("tags") or []}
    return (service.get("serviceName") == canary_name(spec)
            and tags.get(CANARY_OF_TAG) == spec.service_name)


def canary_spec(spec: ServiceSpec, canary: Canary) -> ServiceSpec:
    """The main spec as the canary's: its name, its count; for the wait and its budget."""
    from dataclasses import replace

    return replace(spec, service=service_definition(spec, canary), rollback_on_failure=False)


def service_definition(spec: ServiceSpec, canary: Canary) -> dict[str, Any]:
    """The canary's CreateService input, without cluster and taskDefinition."""
    definition: dict[str, Any] = {"serviceName": canary_name(spec),
                                  "desiredCount": canary.count}
    definition.update({k: spec.service[k] for k in SHARED_SETTINGS if k in spec.service})
    definition["deploymentConfiguration"] = dict(DEPLOYMENT_CONFIGURATION)
    definition["tags"] = [{"key": CANARY_OF_TAG, "value": spec.service_name}]
    return definition


def traffic_share(spec: ServiceSpec, canary: Canary) -> str:
    total = spec.desired_count + canary.count
    return f"{canary.count} of {total} tasks behind the ELB"


@dataclass(frozen=True)
class CanaryPlan:
    """The canary's part of a release: `start` before the main update, `remove` after.

    `left_over` is a canary service found live before the release (an interrupted run):
    `start` reuses it with UpdateService, and when there is no canary to run (no new
    revision, or the spec no longer asks for one: `canary` is None) `remove` takes it
    away at the end. `release rollback` runs `remove` alone (`removal_plan`).
    """

    name: str
    canary: Canary | None
    start: list[ApiCall] = field(default_factory=list)
    remove: list[ApiCall] = field(default_factory=list)
    left_over: dict[str, Any] | None = None

    @property
    def runs(self) -> bool:
        return bool(self.start)

    def as_dict(self) -> dict[str, Any]:
        return {"service": self.name, "runs": self.runs,
                "count": self.canary.count if self.canary else 0,
                "bake_minutes": self.canary.bake_minutes if self.canary else 0,
                "alarms": list(self.canary.alarms) if self.canary else [],
                "left_over": (self.left_over or {}).get("taskDefinition"),
                "start": [c.as_dict() for c in self.start],
                "remove": [c.as_dict() for c in self.remove]}


def start_calls(env: Environment, spec: ServiceSpec, canary: Canary, revision: Any,
                left_over: dict[str, Any] | None) -> list[ApiCall]:
    """CreateService for the canary, or UpdateService of one left from an earlier run."""
    name, target = canary_name(spec), f"{env.cluster}/{canary_name(spec)}"
    bake = (f"; then wait until its tasks are InService and bake {canary.bake_minutes:g} min"
            + (f" (alarms: {', '.join(canary.alarms)})" if canary.alarms else ""))
    why = f"canary: {traffic_share(spec, canary)} run the new revision{bake}"
    if left_over is None:
        params = service_definition(spec, canary)
        params.update(cluster=env.cluster, taskDefinition=revision)
        return [ApiCall("ecs", "create_service", params, why, target=target)]
    return [ApiCall("ecs", "update_service",
                    {"cluster": env.cluster, "service": name, "taskDefinition": revision,
                     "desiredCount": canary.count,
                     "deploymentConfiguration": dict(DEPLOYMENT_CONFIGURATION)},
                    f"{why} (reusing the canary an interrupted release left on "
                    f"{short(left_over.get('taskDefinition'))})", target=target)]


def scale_down_call(env: Environment, name: str) -> ApiCall:
    return ApiCall("ecs", "update_service",
                   {"cluster": env.cluster, "service": name, "desiredCount": 0},
                   "remove the canary: no tasks; its instances drain (connection draining)",
                   target=f"{env.cluster}/{name}")


def delete_call(env: Environment, name: str) -> ApiCall:
    return ApiCall("ecs", "delete_service", {"cluster": env.cluster, "service": name},
                   "remove the canary: delete the drained service",
                   target=f"{env.cluster}/{name}")


def plan_canary(env: Environment, spec: ServiceSpec, revision: Any, registers: bool,
                updates: bool, left_over: dict[str, Any] | None) -> CanaryPlan | None:
    """The canary's calls for a release; None when there is neither a canary nor a left-over.

    A canary runs only when the release registers a new revision of a service that
    exists (`updates`): a first release has no traffic to protect.
    """
    canary = canary_of(spec)
    name = canary_name(spec)
    if canary is None and left_over is None:
        return None
    remove = [scale_down_call(env, name), delete_call(env, name)]
    if canary is None or not (registers and updates):  # no canary runs: only a left-over goes
        return CanaryPlan(name, canary, [], remove if left_over else [], left_over)
    return CanaryPlan(name, canary, start_calls(env, spec, canary, revision, left_over),
                      remove, left_over)


def removal_plan(env: Environment, spec: ServiceSpec, left_over: dict[str, Any] | None
                 ) -> CanaryPlan | None:
    """Only the removal of a canary found live, whatever the spec says now (rollback)."""
    if left_over is None:
        return None
    name = canary_name(spec)
    return CanaryPlan(name, canary_of(spec), [], [scale_down_call(env, name),
                                                  delete_call(env, name)], left_over)
