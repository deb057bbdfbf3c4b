"""Who owns a service's desiredCount, and the count a release really waits for.

An autoscaled service's count moves under load. Application Auto Scaling raised
`akka-firehose-service` from 2 to 6 tasks; a release that sets the spec's 2 back
calls the difference drift and scales the service in at the very moment of a
deploy (the incidents CloudFormation, CDK and ecs-cli users reported). The ECS
developer guide says as much of a manual count ("Service Auto Scaling changes the
desired count you set manually as long as the service has active scaling
policies"): with a scalable target, the count is not the spec's to give.

So the count is decided once, at plan time (`decide`), from the spec, the live
service and the service's scalable target (DescribeScalableTargets, namespace
`ecs`, ResourceId `service/<cluster>/<service>`, dimension
`ecs:service:DesiredCount`):

- no `desiredCount` in the spec: the live count is kept (UpdateService without
  it); a service to create takes the scalable target's minimum, else 1;
- a scalable target: the release never sets a count below the live one, nor
  outside the target's MinCapacity..MaxCapacity; when that leaves the live count,
  UpdateService goes without desiredCount;
- otherwise the spec's count, as before.

`Count.effective` is what the waves, the budget and the wait count with.
`release.autoscaling.suspendScaleIn` asks for dynamic scale-in to be suspended
during the release (`suspension`): "Application Auto Scaling turns off scale-in
processes while Amazon ECS deployments are in progress, and they resume once the
deployment has completed" (ECS developer guide, "Troubleshooting service auto
scaling"), but a release is longer than its ECS deployment: the canary and its
bake, beforeDeploy, the bake after stable and a rollback are not covered.
Pure: the target is read by release/adapters/autoscaling.py.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from release.core.calls import ApiCall
from release.core.config import Environment, ServiceSpec

NAMESPACE = "ecs"
DIMENSION = "ecs:service:DesiredCount"
CLIENT = "application_autoscaling"  # the attribute of adapters/aws.Aws that calls it
SUSPENDED_KEYS = ("DynamicScalingInSuspended", "DynamicScalingOutSuspended",
                  "ScheduledScalingSuspended")

SPEC, LIVE, AUTOSCALING, TARGET_MINIMUM, DEFAULT = (
    "spec", "live", "autoscaling", "target-minimum", "default")


def resource_id(cluster: str, service: str) -> str:
    """Application Auto Scaling API reference, ResourceId: "ECS service - The resource type is
    service and the unique identifier is the cluster name and service name. Example:
    service/my-cluster/my-service" (a cluster ARN's name is its last part)."""
    return f"service/{cluster.rsplit('/', 1)[-1]}/{service}"


@dataclass(frozen=True)
class ScalableTarget:
    """A scalable target as DescribeScalableTargets returns it (the fields a release uses)."""

    resource_id: str
    minimum: int
    maximum: int
    suspended: tuple[bool, bool, bool] = (False, False, False)  # in SUSPENDED_KEYS' order

    @classmethod
    def from_api(cls, target: Mapping[str, Any]) -> ScalableTarget:
        state = target.get("SuspendedState") or {}
        scale_in, scale_out, scheduled = (bool(state.get(k, False)) for k in SUSPENDED_KEYS)
        return cls(str(target.get("ResourceId", "")), int(target.get("MinCapacity", 0)),
                   int(target.get("MaxCapacity", 0)), (scale_in, scale_out, scheduled))

    @property
    def scale_in_suspended(self) -> bool:
        return self.suspended[0]

    def suspended_state(self, scale_in: bool | None = None) -> dict[str, bool]:
        """The whole SuspendedState, with scale-in as given: all three are always sent, so
        the call means the same whether AWS merges a partial state or replaces it."""
        state = dict(zip(SUSPENDED_KEYS, self.suspended, strict=True))
        if scale_in is not None:
            state[SUSPENDED_KEYS[0]] = scale_in
        return state

    def bounds(self) -> str:
        return f"min {self.minimum}, max {self.maximum}"


@dataclass(frozen=True)
class Scaling:
    """What Application Auto Scaling said of the service: its target (None: it has none), or
    why it could not be asked (`unknown`, e.g. AccessDeniedException: a warning, not a
    failure; the spec's count is then used, as before)."""

    target: ScalableTarget | None = None
    unknown: str = ""


@dataclass(frozen=True)
class Count:
    """The desiredCount of one release: what it waits for and what, if anything, it sets."""

    effective: int  # the count the waves, the budget and the wait use
    set_to: int | None  # CreateService/UpdateService desiredCount; None: the live one stays
    owner: str  # spec | live | autoscaling | target-minimum | default
    note: str  # one line for the plan: the count, and who owns it
    spec: int | None = None
    live: int | None = None
    target: ScalableTarget | None = None
    unknown: str = ""  # Application Auto Scaling could not be read: why

    @property
    def worth_showing(self) -> bool:
        """Anything but "the spec's count, nothing else known": the plan says who owns it."""
        return self.owner != SPEC or bool(self.unknown) or self.target is not None

    def applied(self, service: Mapping[str, Any]) -> dict[str, Any]:
        """The spec's `service` block with this count: set, or left out (the live one stays)."""
        block = {k: v for k, v in service.items() if k != "desiredCount"}
        if self.set_to is not None:
            block["desiredCount"] = self.set_to
        return block

    def as_dict(self) -> dict[str, Any]:
        target = self.target
        return {"effective": self.effective, "set": self.set_to, "owner": self.owner,
                "spec": self.spec, "live": self.live, "note": self.note,
                "scalable_target": None if target is None else {
                    "resource_id": target.resource_id, "min": target.minimum,
                    "max": target.maximum,
                    "suspended": dict(zip(SUSPENDED_KEYS, target.suspended, strict=True))},
                "autoscaling_unknown": self.unknown or None}


def _spec_count(spec: ServiceSpec) -> int | None:
    value = spec.service.get("desiredCount")
    return None if value is None else int(value)


def _says(spec_count: int | None) -> str:
    return "the spec sets none" if spec_count is None else f"the spec says {spec_count}"


def decide(spec: ServiceSpec, live: Mapping[str, Any] | None, scaling: Scaling | None
           ) -> Count:
    """The release's count: see the module docstring for the rules."""
    wanted = _spec_count(spec)
    target = scaling.target if scaling is not None else None
    unknown = scaling.unknown if scaling is not None else ""
    if spec.service.get("schedulingStrategy") == "DAEMON":  # one task per instance: ECS's
        count = int((live or {}).get("desiredCount") or wanted or 1)
        return Count(count, wanted, SPEC, "", wanted, None, target, unknown)
    if live is None:
        return _to_create(wanted, target, unknown)
    current = int(live.get("desiredCount") or 0)
    if target is not None:
        return _autoscaled(wanted, current, target)
    if wanted is None:
        return Count(current, None, LIVE, f"desiredCount: {current} kept (the spec sets none)",
                     None, current, None, unknown)
    note = (f"desiredCount: {wanted} from the spec (Application Auto Scaling could not be "
            f"read: {unknown}; if a scaling policy owns this count, the release may undo "
            "it)") if unknown else f"desiredCount: {wanted} (the spec)"
    return Count(wanted, wanted, SPEC, note, wanted, current, None, unknown)


def _to_create(wanted: int | None, target: ScalableTarget | None, unknown: str) -> Count:
    """A service to create needs a count: the spec's (within the target's bounds), else the
    target's minimum, else 1."""
    if target is not None:
        base = wanted if wanted is not None else target.minimum
        count = min(max(base, target.minimum), target.maximum)
        owner = SPEC if wanted is not None and count == wanted else (
            TARGET_MINIMUM if wanted is None else AUTOSCALING)
        why = (f"the scalable target's minimum; {_says(wanted)}" if wanted is None else
               f"{_says(wanted)}, within the scalable target's {target.bounds()}")
        return Count(count, count, owner, f"desiredCount: {count} for the new service ({why})",
                     wanted, None, target, unknown)
    if wanted is not None:
        return Count(wanted, wanted, SPEC, f"desiredCount: {wanted} (the spec)", wanted, None,
                     None, unknown)
    return Count(1, 1, DEFAULT, "desiredCount: 1 for the new service (the spec sets none and "
                 "there is no scalable target: 1)", None, None, None, unknown)


def _autoscaled(wanted: int | None, current: int, target: ScalableTarget) -> Count:
    """Never below the live count, never outside min..max (a live count already above the
    maximum is left to Application Auto Scaling, not lowered by a release)."""
    bounded = min(max(wanted if wanted is not None else current, target.minimum),
                  target.maximum)
    count = max(current, bounded)
    owns = f"Application Auto Scaling owns it: {target.bounds()}; {_says(wanted)}"
    if count == current:
        return Count(current, None, AUTOSCALING, f"desiredCount: {current} kept ({owns})",
                     wanted, current, target)
    return Count(count, count, AUTOSCALING, f"desiredCount: {current} → {count} ({owns}; "
                 "raised, never lowered)", wanted, current, target)


def kept(live: Mapping[str, Any] | None, spec: ServiceSpec) -> Count:
    """A change that leaves the count alone (a rollback): the live count, else the spec's."""
    if live is not None and live.get("desiredCount") is not None:
        current = int(live["desiredCount"])
        return Count(current, None, LIVE, f"desiredCount: {current} kept", None, current)
    return Count(spec.desired_count, None, SPEC, "", _spec_count(spec))


# ------------------------------------------------------------------ suspending scale-in


@dataclass(frozen=True)
class Suspension:
    """`release.autoscaling.suspendScaleIn`: the calls around the release, or why none."""

    resource_id: str
    note: str
    suspend: ApiCall | None = None
    restore: ApiCall | None = None

    @property
    def acts(self) -> bool:
        return self.suspend is not None

    def as_dict(self) -> dict[str, Any]:
        return {"resource_id": self.resource_id, "note": self.note, "acts": self.acts,
                "suspend": self.suspend.as_dict() if self.suspend else None,
                "restore": self.restore.as_dict() if self.restore else None}


def suspend_scale_in(spec: ServiceSpec) -> bool:
    return bool(((spec.doc.get("release") or {}).get("autoscaling") or {}).get(
        "suspendScaleIn", False))


def _register(target: ScalableTarget, scale_in: bool, reason: str) -> ApiCall:
    return ApiCall(CLIENT, "register_scalable_target",
                   {"ServiceNamespace": NAMESPACE, "ResourceId": target.resource_id,
                    "ScalableDimension": DIMENSION,
                    "SuspendedState": target.suspended_state(scale_in)},
                   reason, target=target.resource_id)


def suspension(env: Environment, spec: ServiceSpec, scaling: Scaling | None
               ) -> Suspension | None:
    """None unless the spec asks; else the suspend and restore calls, or why there are none."""
    if not suspend_scale_in(spec):
        return None
    rid = resource_id(env.cluster, spec.service_name)
    if scaling is None or scaling.unknown:
        why = scaling.unknown if scaling is not None else "not read"
        return Suspension(rid, f"scale-in cannot be suspended: Application Auto Scaling "
                          f"could not be read ({why})")
    target = scaling.target
    if target is None:
        return Suspension(rid, "scale-in: nothing to suspend (no scalable target)")
    if target.scale_in_suspended:
        return Suspension(rid, "scale-in is already suspended: left as it is (suspended by "
                          "someone else, or by a release stopped before it could restore it)")
    return Suspension(
        rid, f"dynamic scale-in of {rid} suspended during the release, restored after "
        "(release.autoscaling.suspendScaleIn)",
        _register(target, True, "suspend dynamic scale-in during the release "
                  "(release.autoscaling.suspendScaleIn)"),
        _register(target, False, "restore the scalable target's suspended state as it was "
                  "before the release"))


def restore_command(call: ApiCall) -> str:
    """The AWS CLI command that makes `call` by hand (a restore that failed)."""
    params = call.params
    state = ",".join(f"{k}={str(v).lower()}" for k, v in params["SuspendedState"].items())
    return (f"aws application-autoscaling register-scalable-target --service-namespace "
            f"{params['ServiceNamespace']} --resource-id {params['ResourceId']} "
            f"--scalable-dimension {params['ScalableDimension']} --suspended-state {state}")


def with_count(spec: ServiceSpec, count: Count) -> ServiceSpec:
    """The spec as the release counts it (desiredCount = the effective count): for what is
    worded or timed from the count (a canary's share of the traffic), never for the calls."""
    return replace(spec, service={**spec.service, "desiredCount": count.effective})
