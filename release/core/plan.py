"""Desired (git) vs live (AWS) → the release's instructions and its time budget.

Pure: the caller fetches the live service and task definition (release/adapters/live.py)
and renders the desired one (release/core/render.py); what differs is core/diff.py's.
The same `ReleasePlan` is what `release plan` prints and what `release deploy`
executes (its `instructions`, core/instructions.py), so the plan shown is the plan run.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from release.core import autoscaling, records, registration, rolling
from release.core import instructions as steps
from release.core import service_deployments as native
from release.core.bake import Bake, bake_of, deployment_alarms, watched_alarms
from release.core.calls import ApiCall, Ref
from release.core.canary import CanaryPlan
from release.core.config import Environment, ServiceSpec
from release.core.deployments import short
from release.core.diff import (
    SERVICE,
    TAGS,
    TASKDEF,
    UPDATABLE_SETTINGS,
    Change,
    Drift,
    Live,
    diff,
    drift,
    normalise_taskdef,
    service_changes,
    tag_changes,
    taskdef_changes,
)
from release.core.errors import UsageError
from release.core.instructions import Instruction
from release.core.rolling import static_host_port  # noqa: F401 - the wait's target port
from release.core.wait_strategy import choose as choose_wait

__all__ = ["SERVICE", "TASKDEF", "Budget", "Change", "Drift", "Live", "ReleasePlan",
           "budget_for", "diff", "drift", "make_plan", "normalise_taskdef", "rollback_plan",
           "service_changes", "tag_changes", "taskdef_changes"]

# Sent to UpdateService only when they change: "You must have a service-linked role when you
# update this property" (UpdateService, loadBalancers and serviceRegistries).
ONLY_WHEN_CHANGED = frozenset({"loadBalancers", "serviceRegistries"})

REGISTER_KEY = "register"


# ------------------------------------------------------------------------------ budget


@dataclass(frozen=True)
class Budget:
    """How long a release may take before it counts as failed, and how that was worked out."""

    seconds: int
    source: str  # auto | spec | option
    waves: int = 0
    per_wave: int = 0
    margin: int = 0
    explanation: str = ""
    bake: int = 0  # seconds of the bake after stable (release.bake); the wait's is `seconds`

    @property
    def total(self) -> int:
        """The whole release: the rollout's budget, then the bake."""
        return self.seconds + self.bake

    def baked(self, bake: Bake | None) -> Budget:
        """This budget followed by `bake` (core/bake.py), in the figures and the words."""
        if bake is None:
            return self
        return dataclasses.replace(self, bake=bake.seconds, explanation=(
            f"{self.explanation}; then {bake.describe()}: {self.seconds + bake.seconds} s "
            "in all"))

    def as_dict(self) -> dict[str, Any]:
        return {"seconds": self.seconds, "source": self.source, "waves": self.waves,
                "per_wave": self.per_wave, "margin": self.margin,
                "explanation": self.explanation, "bake": self.bake, "total": self.total}


def load_balanced_container(spec: ServiceSpec) -> str | None:
    for lb in spec.service.get("loadBalancers", []):
        if lb.get("containerName"):
            return lb["containerName"]
    return spec.image.container


def budget_for(env: Environment, spec: ServiceSpec, taskdef: dict[str, Any],
               override: str | int | None = None, tasks: int | None = None) -> Budget:
    """`--timeout` if given, else the spec's release.timeout; `auto` derives it from settings:
    the waves of the rolling update × one wave's time (release/core/rolling.py) + a margin.
    `tasks`: the count the service really has (core/autoscaling.Count.effective), else the
    spec's."""
    chosen, source = (override, "option") if override not in (None, "") else (spec.timeout, "spec")
    if str(chosen).strip().lower() != "auto":
        try:
            seconds = int(str(chosen))
        except ValueError:
            raise UsageError(f"timeout must be `auto` or a number of seconds, not {chosen!r}",
                             "pass --timeout auto or e.g. --timeout 900") from None
        return Budget(seconds, source, explanation=f"{seconds} s ({source})")
    count = rolling.plan_for(env, spec.desired_count if tasks is None else tasks,
                             spec.minimum_healthy_percent,
                             spec.maximum_percent, taskdef).waves
    wave = rolling.wave_time(env, taskdef)
    base = wave.minimum(count)
    margin = rolling.margin(base)
    hc = env.load_balancer.health_check
    explanation = (f"{wave.describe(count, hc.healthy_threshold, hc.interval)} + {margin} s "
                   f"margin = {base + margin} s")
    per_wave = wave.seconds if count else base
    return Budget(base + margin, "auto", count, per_wave, margin, explanation)


# -------------------------------------------------------------------------------- plan


@dataclass(frozen=True)
class ReleasePlan:
    """A release (or rollback) decided: what differs, and every step that makes it so.

    `calls` are the register and create/update calls; `instructions` is the whole list in
    the order it runs (core/instructions.py): beforeDeploy and the canary's start right
    before the update, then the wait, the bake, the release record, what runs once
    stable (`after_stable`) and the canary's removal."""

    env: str
    service: str
    cluster: str
    family: str
    desired_taskdef: dict[str, Any]
    live_revision: str | None
    service_exists: bool
    taskdef_changes: list[Change]
    setting_changes: list[Change]
    recreate_changes: list[Change]
    calls: list[ApiCall]
    budget: Budget
    after_stable: list[Instruction] = field(default_factory=list)  # once the wait says stable
    canary: CanaryPlan | None = None  # release.canary's calls around the update (core/canary.py)
    count: autoscaling.Count | None = None  # the desiredCount it waits for, and who owns it
    suspension: autoscaling.Suspension | None = None  # release.autoscaling.suspendScaleIn
    wait: steps.Wait | None = None  # after the calls: how it waits for stable
    bake: steps.Bake | None = None  # once stable: release.bake (and ECS deployment alarms)
    before_deploy: steps.RunBeforeDeploy | None = None  # release.beforeDeploy, before the update
    record: steps.TagRecord | None = None  # once baked: "completed" on the registered revision

    @property
    def instructions(self) -> list[Instruction]:
        """Every step of the release in the order it runs: what is shown and what is run."""
        part = self.canary
        before: list[Instruction] = []
        if self.before_deploy is not None:
            before.append(self.before_deploy)
        if part is not None and part.runs and part.canary is not None:
            before.append(steps.CanaryStart(part.name, part.canary.count,
                                            part.canary.bake_minutes, tuple(part.start)))
        listed: list[Instruction] = []
        for call in self.calls:
            if call.operation == "update_service":
                listed += before
                before = []
            listed.append(call)
        listed += [s for s in (self.wait, self.bake, self.record) if s is not None]
        listed += self.after_stable
        if part is not None and part.remove:
            listed.append(steps.CanaryRemoval(part.name, tuple(part.remove)))
        return listed

    @property
    def registers(self) -> bool:
        return any(c.operation == "register_task_definition" for c in self.calls)

    @property
    def unchanged(self) -> bool:
        return not self.calls and not self.recreate_changes

    @property
    def blockers(self) -> list[str]:
        """Changes a release cannot make: the service must be re-created by hand."""
        return [f"{c.path} cannot be changed on an existing service (UpdateService does not "
                "take it; a classic ELB and the service role are fixed at creation): delete and "
                "re-create the service (a downtime), or revert the change in git"
                for c in self.recreate_changes]

    def as_dict(self) -> dict[str, Any]:
        return {
            "env": self.env, "service": self.service, "cluster": self.cluster,
            "family": self.family, "live_revision": self.live_revision,
            "service_exists": self.service_exists, "unchanged": self.unchanged,
            "taskdef_changes": [c.as_dict() for c in self.taskdef_changes],
            "service_changes": [c.as_dict() for c in self.setting_changes],
            "blockers": self.blockers,
            "calls": [c.as_dict() for c in self.calls],
            "after_stable": [steps.fields_of(c) for c in self.after_stable],
            "instructions": [steps.fields_of(i) for i in self.instructions],
            "canary": self.canary.as_dict() if self.canary else None,
            "budget": self.budget.as_dict(),
            "count": self.count.as_dict() if self.count else None,
            "autoscaling": self.suspension.as_dict() if self.suspension else None,
        }


def make_plan(env: Environment, spec: ServiceSpec, desired: dict[str, Any], live: Live,
              timeout: str | int | None = None, tags: list[dict[str, str]] | None = None
              ) -> ReleasePlan:
    """Compare and list the calls, in the order they must run."""
    cluster, name = env.cluster, spec.service_name
    exists = live.service is not None
    count = autoscaling.decide(spec, live.service, live.scaling)
    differs = drift(spec, desired, live, registration.Where(env.account, env.region), count)
    td_changes, settings, recreate = differs.taskdef, differs.settings, differs.recreate
    calls: list[ApiCall] = []
    revision: Any = spec.revision or live.revision_arn
    if td_changes and not spec.revision:
        register = {k: v for k, v in desired.items() if k != TAGS}
        written = registration.merged_tags(desired.get(TAGS), tags)
        if written:  # no tags at all: none sent
            register[TAGS] = written
        calls.append(ApiCall(
            "ecs", "register_task_definition", register,
            "the task definition differs from the live revision" if live.taskdef is not None
            else "no live revision yet", target=desired.get("family", spec.family),
            key=REGISTER_KEY))
        revision = Ref(REGISTER_KEY, ("taskDefinition", "taskDefinitionArn"))
    if not exists:
        params = count.applied(spec.service)
        params.update(cluster=cluster, taskDefinition=revision)
        if "capacityProviderStrategy" not in params:
            params.setdefault("launchType", "EC2")  # exclusive with a capacity provider strategy
        calls.append(ApiCall("ecs", "create_service", params, "the service does not exist",
                             target=f"{cluster}/{name}"))
    elif td_changes or settings:
        params = {"cluster": cluster, "service": name, "taskDefinition": revision}
        changed = {c.path.split(".")[1] for c in settings}
        wanted = count.applied(spec.service)
        for key in UPDATABLE_SETTINGS:
            if key in wanted and (key not in ONLY_WHEN_CHANGED or key in changed):
                params[key] = wanted[key]
        why = []
        if td_changes:
            why.append(f"revision {short(spec.revision)}, registered elsewhere" if spec.revision
                       else "new revision")
        if settings:
            why.append("settings: " + ", ".join(sorted({c.path.split('.')[1] for c in settings})))
        calls.append(ApiCall("ecs", "update_service", params, "; ".join(why),
                             target=f"{cluster}/{name}"))
    budget = budget_for(env, spec, desired, timeout, count.effective).baked(bake_of(spec))
    return ReleasePlan(
        env=env.name, service=name, cluster=cluster, family=desired.get("family", spec.family),
        desired_taskdef=desired, live_revision=live.revision_arn, service_exists=exists,
        taskdef_changes=td_changes, setting_changes=settings, recreate_changes=recreate,
        calls=calls, budget=budget, count=count,
        suspension=autoscaling.suspension(env, spec, live.scaling),
        **(release_steps(spec, budget, revision, exists) if calls else {}))


def wait_step(spec: ServiceSpec, budget: Budget, *, resumed: bool = False) -> steps.Wait:
    """How a release of `spec` waits, as core/wait_strategy.choose decides it: ECS's native
    deployment followed (an `auto` budget grown by the strategy's bakes,
    core/service_deployments.native_seconds), else the rolling update counted within the
    budget, read from the load balancer the service is behind."""
    chosen = choose_wait(spec.service)
    if chosen.native:
        config = spec.service.get("deploymentConfiguration") or {}
        seconds = budget.seconds + (native.native_seconds(config)
                                    if budget.source == "auto" else 0)
        return steps.Wait(spec.service_name, chosen.strategy, seconds, resumed=resumed)
    return steps.Wait(spec.service_name, steps.ROLLING, budget.seconds, resumed=resumed,
                      health=chosen.health.called if chosen.health else None)


def bake_step(spec: ServiceSpec) -> steps.Bake | None:
    """The bake after stable (engine/bake.after_stable): `release.bake`, and the ECS
    deployment alarms it reads; none on a native strategy (ECS bakes it itself)."""
    bake, ecs = bake_of(spec), deployment_alarms(spec)
    if native.is_native(spec.service) or (bake is None and ecs is None):
        return None
    watched = watched_alarms(spec) if ecs is None or ecs.enable else (
        bake.alarms if bake else ())
    return steps.Bake(bake.minutes if bake else 0, tuple(watched))


def release_steps(spec: ServiceSpec, budget: Budget, revision: Any, exists: bool
                  ) -> dict[str, Any]:
    """The steps of a release beside its calls: beforeDeploy (a new revision of a service
    that exists), the wait, the bake, and the record of a registered revision."""
    hook = (spec.doc.get("release") or {}).get("beforeDeploy")
    registers = isinstance(revision, Ref)
    return {"wait": wait_step(spec, budget), "bake": bake_step(spec),
            "before_deploy": steps.RunBeforeDeploy(revision, tuple(hook.get("command") or ()))
            if isinstance(hook, dict) and registers and exists else None,
            "record": steps.TagRecord(revision, records.COMPLETED, "stable")
            if registers else None}


def rollback_plan(env: Environment, spec: ServiceSpec, live: Live, to_revision: str,
                  timeout: str | int | None = None, *, to_taskdef: dict[str, Any] | None = None,
                  ecs_rolls_back: bool = False,
                  restored_tags: list[dict[str, str]] | None = None) -> ReleasePlan:
    """Point the service back at an existing revision; nothing is registered or deregistered.

    The budget is that of the revision rolled back to (its stop timeout, its ports). When
    ECS already started its own rollback there is no call to make, only the wait; once
    stable, the restored revision's release record says so (`restored_tags`).
    """
    target = f"{env.cluster}/{spec.service_name}"
    calls = [] if ecs_rolls_back else [
        ApiCall("ecs", "update_service", {"cluster": env.cluster, "service": spec.service_name,
                                          "taskDefinition": to_revision},
                f"roll back from {short(live.revision_arn)} to {short(to_revision)}",
                target=target)]
    after: list[Instruction] = [steps.TagRecord(
        to_revision, restored_from=live.revision_arn or "", tags=tuple(restored_tags))
    ] if restored_tags else []
    change = Change("service.taskDefinition", live.revision_arn, to_revision)
    taskdef = to_taskdef if to_taskdef is not None else live.taskdef or {}
    count = autoscaling.kept(live.service, spec)  # a rollback leaves the count as it is
    budget = budget_for(env, spec, taskdef, timeout, count.effective)
    return ReleasePlan(
        env=env.name, service=spec.service_name, cluster=env.cluster, family=spec.family,
        desired_taskdef=taskdef, live_revision=live.revision_arn,
        service_exists=live.service is not None, taskdef_changes=[change], setting_changes=[],
        recreate_changes=[], calls=calls, budget=budget, after_stable=after, count=count,
        wait=steps.Wait(spec.service_name, steps.ROLLING, budget.seconds, steps.ROLLBACK,
                        resumed=ecs_rolls_back))
