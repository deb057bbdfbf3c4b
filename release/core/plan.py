"""Desired (git) vs live (AWS) → what differs, the API calls that make it so, the time budget.

Pure: the caller fetches the live service and task definition (release/adapters/live.py)
and renders the desired one (release/core/render.py). The same `ReleasePlan` is what
`release plan` prints and what `release deploy` executes, so the plan shown is
the plan run.

DescribeTaskDefinition answers with more than was registered: what ECS adds
(ARN, revision, status, registeredAt/By, compatibilities, requiresAttributes,
...) and members nobody wrote at their API defaults (`enableFaultInjection:
false`, `essential: true`, `protocol: tcp`, `cpu: 0`, empty lists, ...). Both
facts come from the ECS API model (release/core/ecs_model.py), not from a list kept
here. The desired document decides what is compared: a member it writes is
always compared (against the API default when live omits it); a member it
does not write is a change only when live holds something other than empty or
the default. Values ECS rewrites on register ("1 vCPU" → "1024", a role name → its
ARN, an EFS rootDirectory left out → "/") are compared in the form ECS stores them
(release/core/registration.py), on both sides. The task definition's tags are compared
with the live revision's, leaving out the release record's (`release:`) and AWS's
(`aws:`). The service settings compare only what the spec states, each against live
or, when live omits it, the API default. So an untouched repository plans "no change"
instead of registering a new revision every run.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from release.core import autoscaling, redact, registration, rolling
from release.core import ecs_model as model
from release.core import service_settings as settings_model
from release.core.bake import Bake, bake_of
from release.core.calls import ApiCall, Ref
from release.core.canary import CanaryPlan
from release.core.config import Environment, ServiceSpec
from release.core.errors import UsageError
from release.core.rolling import static_host_port  # noqa: F401 - the wait's target port

NAMED_LISTS = frozenset({"containerDefinitions", "environment", "secrets", "volumes",
                         "ulimits", "systemControls", "extraHosts"})
SORTED_STRING_LISTS = frozenset({"requiresCompatibilities", "links", "dnsServers",
                                 "dnsSearchDomains", "dockerSecurityOptions"})

# Service settings update_service can change in place (core/service_settings.py: the model's).
UPDATABLE_SETTINGS = settings_model.IN_PLACE
# Sent to UpdateService only when they change: "You must have a service-linked role when you
# update this property" (UpdateService, loadBalancers and serviceRegistries).
ONLY_WHEN_CHANGED = frozenset({"loadBalancers", "serviceRegistries"})

NEW_REVISION = "<new revision>"
TASKDEF, SERVICE = model.TASK_DEFINITION, model.SERVICE
REGISTER_KEY = "register"
TAGS = "tags"


# ------------------------------------------------------------------------- normalisation


def normalise_taskdef(doc: dict[str, Any], where: registration.Where | None = None
                      ) -> dict[str, Any]:
    """A task definition without what ECS adds and without its tags (compared on their own),
    the values ECS rewrites on register in the form it stores them (role names as ARNs in
    `where`'s account and partition), lists in a stable order, host ports filled in.

    API defaults stay as they are: `diff` knows them (from the model) and only a
    member the desired document writes is compared with them.
    """
    added = model.added_by_ecs()
    body = {k: v for k, v in doc.items()
            if k not in added and k != TAGS and not k.startswith("$")}
    body = registration.registered(body, where)
    network_mode = body.get("networkMode") or model.defaults(TASKDEF)["networkMode"]
    for key in ("cpu", "memory"):
        if key in body and body[key] is not None:
            body[key] = str(body[key])  # the API's type is a string; documents may write 1024
    if "containerDefinitions" in body:
        body["containerDefinitions"] = [_normalise_container(c, network_mode)
                                        for c in body["containerDefinitions"]]
    return _prune(body)


def _normalise_container(container: dict[str, Any], network_mode: str) -> dict[str, Any]:
    c = dict(container)
    if "portMappings" in c:
        c["portMappings"] = [_normalise_port(p, network_mode) for p in c["portMappings"]]
    return c


def _normalise_port(mapping: dict[str, Any], network_mode: str) -> dict[str, Any]:
    """PortMapping.hostPort's default depends on the network mode (ECS API reference): "If you
    use containers in a task with the awsvpc or host network mode, the hostPort can either be
    left blank or set to the same value as the containerPort"; in bridge mode "you can omit the
    hostPort (or set it to 0)" for a dynamic port."""
    m = dict(mapping)
    if "hostPort" not in m:
        m["hostPort"] = 0 if network_mode == "bridge" else m.get("containerPort")
    return m


def _prune(value: Any, key: str = "") -> Any:
    """Drop empty lists/objects/None (ECS echoes them back), order named lists by name."""
    if isinstance(value, dict):
        pruned = {k: _prune(v, k) for k, v in value.items()}
        return {k: v for k, v in pruned.items() if v not in (None, [], {})}
    if isinstance(value, list):
        items = [_prune(v) for v in value]
        items = [v for v in items if v not in (None, [], {})]
        if key in NAMED_LISTS and all(isinstance(v, dict) and "name" in v for v in items):
            return sorted(items, key=lambda v: str(v["name"]))
        if key in SORTED_STRING_LISTS and all(isinstance(v, str) for v in items):
            return sorted(items)
        return items
    return value


# ----------------------------------------------------------------------------- diffing


@dataclass(frozen=True)
class Change:
    """One difference: where (a readable path), what is live, what git wants."""

    path: str
    live: Any
    desired: Any

    @property
    def kind(self) -> str:
        if self.live is None:
            return "add"
        if self.desired is None:
            return "remove"
        return "change"

    def as_dict(self) -> dict[str, Any]:
        return {"path": self.path, "kind": self.kind, "live": self.shown(self.live),
                "desired": self.shown(self.desired)}

    def shown(self, value: Any) -> Any:
        """A side as it may be printed: a credential (by its shape, or the value of a variable
        or tag named like a secret) masked. Git's side passed validation, but the live side
        is whatever was registered, by anyone (core/redact.py)."""
        named = _NAMED.search(self.path)
        return redact.mask_value(value, named.group(1) if named else "")

    def one_line(self) -> str:
        if self.kind == "add":
            return f"+ {self.path} = {_show(self.shown(self.desired))}"
        if self.kind == "remove":
            return f"- {self.path} (was {_show(self.shown(self.live))})"
        return f"~ {self.path}: {_show(self.shown(self.live))} → {_show(self.shown(self.desired))}"


# `…environment[DB_PASSWORD].value`, `tags[api-token]`: the name a changed value goes by
_NAMED = re.compile(r"\[([^\]]+)\](?:\.value)?$")


def _show(value: Any, limit: int = 120) -> str:
    text = json.dumps(value, sort_keys=True, default=str)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def diff(live: Any, desired: Any, path: str = "", shape: str | None = None) -> list[Change]:
    """Differences between two normalised documents; named list items are matched by name.

    `shape` (an ECS model structure) brings in the API defaults: a member only live has is
    no change when it is empty or at its default; a member desired writes is compared with
    live's value, or with the default when live omits it.
    """
    if isinstance(live, dict) and isinstance(desired, dict):
        return _member_changes(live, desired, path, shape)
    if (isinstance(live, list) and isinstance(desired, list) and _named(live) and _named(desired)):
        by_live = {v["name"]: v for v in live}
        by_desired = {v["name"]: v for v in desired}
        changes: list[Change] = []
        for name in sorted(set(by_live) | set(by_desired), key=str):
            changes += diff(by_live.get(name), by_desired.get(name), f"{path}[{name}]", shape)
        return changes
    if (isinstance(live, list) and isinstance(desired, list) and len(live) == len(desired)
            and all(isinstance(v, dict) for v in live + desired)):
        changes = []
        for i, (a, b) in enumerate(zip(live, desired, strict=True)):
            changes += diff(a, b, f"{path}[{i}]", shape)
        return changes
    if model.same(live, desired):
        return []
    return [Change(path, live, desired)]


def _member_changes(live: dict[str, Any], desired: dict[str, Any], path: str,
                    shape: str | None) -> list[Change]:
    known = model.defaults(shape)
    changes: list[Change] = []
    for key in sorted(set(live) | set(desired), key=str):
        where = f"{path}.{key}" if path else key
        if key not in desired:
            if not model.is_unwritten(shape, key, live[key]):
                changes.append(Change(where, live[key], None))
            continue
        inner = model.structure(shape, key)
        if key in live:
            theirs = live[key]
        elif key in known:
            theirs = known[key]
        else:
            theirs = {} if inner is not None and isinstance(desired[key], dict) else None
        changes += diff(theirs, desired[key], where, inner)
    return changes


def _named(items: list[Any]) -> bool:
    return bool(items) and all(isinstance(v, dict) and "name" in v for v in items)


def taskdef_changes(live: dict[str, Any] | None, desired: dict[str, Any],
                    live_tags: Mapping[str, str] | None = None,
                    where: registration.Where | None = None) -> list[Change]:
    """What registering `desired` would change compared with the live revision and its tags
    (DescribeTaskDefinition's, read with include=["TAGS"]).

    `where` is the account and region the environment registers in (role names become ARNs
    there); without it, those of the live revision's ARN.
    """
    if live is None:
        return [Change("taskDefinition", None, desired.get("family"))]
    where = where or registration.Where.of_arn(live.get("taskDefinitionArn"))
    return (diff(normalise_taskdef(live, where), normalise_taskdef(desired, where),
                 shape=TASKDEF)
            + tag_changes(live_tags, desired.get(TAGS)))


def tag_changes(live_tags: Mapping[str, str] | None, desired: list[dict[str, str]] | None
                ) -> list[Change]:
    """The file's tags against the live revision's, the record's and AWS's left out
    (registration.file_tags)."""
    theirs = registration.file_tags(live_tags or {})
    ours = registration.file_tags({t["key"]: t.get("value", "") for t in desired or []})
    return [Change(f"{TAGS}[{key}]", theirs.get(key), ours.get(key))
            for key in sorted(set(theirs) | set(ours)) if theirs.get(key) != ours.get(key)]


def _role_matches(live_arn: str | None, role: str | None) -> bool:
    if not role:
        return True
    if not live_arn:
        return False
    return live_arn == role or live_arn.endswith("/" + role.split("/")[-1])


def _normal_lbs(lbs: list[dict[str, Any]] | None) -> list[dict[str, Any]]:
    return sorted(({k: v for k, v in lb.items() if v is not None} for lb in lbs or []),
                  key=lambda lb: sorted(lb.items()))


def _subset_changes(live: Any, desired: Any, path: str, shape: str | None) -> list[Change]:
    """Compare only what the spec states: settings it leaves out stay as they are, and a
    setting live omits counts as the API default."""
    if isinstance(desired, dict):
        live = live if isinstance(live, dict) else {}
        known = model.defaults(shape)
        changes: list[Change] = []
        for key, value in desired.items():
            theirs = live[key] if live.get(key) is not None else known.get(key)
            changes += _subset_changes(theirs, value, f"{path}.{key}",
                                       model.structure(shape, key))
        return changes
    if (isinstance(desired, list) and isinstance(live, list) and len(live) == len(desired)
            and all(isinstance(d, dict) for d in desired)):
        # a list of structures (capacity providers, registries, aliases): item by item, each
        # compared as the spec states it, so members ECS fills in (`base: 0`) are not changes
        found = [c for theirs, mine in zip(live, desired, strict=True)
                 for c in _subset_changes(theirs, mine, path, shape)]
        return [Change(path, live, desired)] if found else []
    if model.same(live, desired) or (live is None and desired in ([], "")):
        return []
    return [Change(path, live, desired)]


def service_changes(spec: ServiceSpec, live: dict[str, Any],
                    count: autoscaling.Count | None = None
                    ) -> tuple[list[Change], list[Change]]:
    """(settings update_service can change, settings that need the service re-created).

    Only what the spec states is compared (core/service_settings.py says which members
    change in place); live is read as a spec would state it (the PRIMARY deployment's
    Service Connect, EBS and VPC Lattice settings included). With `count`
    (core/autoscaling.py) desiredCount is the release's, not the spec's."""
    wanted = count.applied(spec.service) if count is not None else spec.service
    live = settings_model.live_settings(live)
    in_place = {k: wanted[k] for k in UPDATABLE_SETTINGS if k in wanted and k != "loadBalancers"}
    updatable = _subset_changes(live, in_place, "service", SERVICE)
    recreate: list[Change] = []
    if "loadBalancers" in wanted and (
            _normal_lbs(live.get("loadBalancers")) != _normal_lbs(wanted["loadBalancers"])):
        change = Change("service.loadBalancers", live.get("loadBalancers"),
                        wanted["loadBalancers"])
        in_place_lbs = settings_model.load_balancers_in_place(live.get("loadBalancers"),
                                                              wanted["loadBalancers"])
        (updatable if in_place_lbs else recreate).append(change)
    if "role" in wanted and not _role_matches(live.get("roleArn"), wanted["role"]):
        recreate.append(Change("service.role", live.get("roleArn"), wanted["role"]))
    if not settings_model.launch_change_in_place(live, wanted):
        recreate.append(Change("service.launchType", live.get("launchType"),
                               wanted["launchType"]))
    if "schedulingStrategy" in wanted and live.get("schedulingStrategy") not in (
            None, wanted["schedulingStrategy"]):
        recreate.append(Change("service.schedulingStrategy", live.get("schedulingStrategy"),
                               wanted["schedulingStrategy"]))
    return updatable, recreate


@dataclass(frozen=True)
class Drift:
    """How git differs from live: the task definition, the settings update_service changes,
    and the settings only a re-created service can change."""

    taskdef: list[Change]
    settings: list[Change]
    recreate: list[Change]

    @property
    def changes(self) -> list[Change]:
        return self.taskdef + self.settings + self.recreate


def drift(spec: ServiceSpec, desired: dict[str, Any], live: Live,
          where: registration.Where | None = None,
          count: autoscaling.Count | None = None) -> Drift:
    """The one comparison of git with live, for `plan`, `deploy`, `apply` and `status` alike.

    `spec` must have its names resolved to what ECS holds (target group ARNs, subnet and
    security group ids: engine/desired.py) and `desired` be the rendered task definition;
    a service that does not exist yet has no settings to differ. `where` is the
    environment's account and region (taskdef_changes). desiredCount is compared as
    `count` decides it (core/autoscaling.py; by default from `live.scaling`): a count
    Application Auto Scaling owns is no drift.
    """
    if count is None:
        count = autoscaling.decide(spec, live.service, live.scaling)
    settings, recreate = service_changes(spec, live.service, count) \
        if live.service is not None else ([], [])
    if spec.revision:  # a revision registered elsewhere: run it as it is, register nothing
        switch = [] if live.revision_arn == spec.revision else [
            Change("service.taskDefinition", live.revision_arn, spec.revision)]
        return Drift(switch, settings, recreate)
    return Drift(taskdef_changes(live.taskdef, desired, live.taskdef_tags, where), settings,
                 recreate)


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
class Live:
    """What AWS has now for one service (fetched by release/adapters/live.py)."""

    service: dict[str, Any] | None  # DescribeServices Service, None when missing/INACTIVE
    taskdef: dict[str, Any] | None  # DescribeTaskDefinition of the live revision
    taskdef_tags: dict[str, str] = field(default_factory=dict)
    scaling: autoscaling.Scaling | None = None  # the scalable target; None: not read

    @property
    def revision_arn(self) -> str | None:
        if self.service is not None:
            return self.service.get("taskDefinition")
        return None


@dataclass(frozen=True)
class ReleasePlan:
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
    after_stable: list[ApiCall] = field(default_factory=list)  # once the wait says stable
    canary: CanaryPlan | None = None  # release.canary's calls around the update (core/canary.py)
    count: autoscaling.Count | None = None  # the desiredCount it waits for, and who owns it
    suspension: autoscaling.Suspension | None = None  # release.autoscaling.suspendScaleIn

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
            "after_stable": [c.as_dict() for c in self.after_stable],
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
            why.append(f"revision {_rev(spec.revision)}, registered elsewhere" if spec.revision
                       else "new revision")
        if settings:
            why.append("settings: " + ", ".join(sorted({c.path.split('.')[1] for c in settings})))
        calls.append(ApiCall("ecs", "update_service", params, "; ".join(why),
                             target=f"{cluster}/{name}"))
    return ReleasePlan(
        env=env.name, service=name, cluster=cluster, family=desired.get("family", spec.family),
        desired_taskdef=desired, live_revision=live.revision_arn, service_exists=exists,
        taskdef_changes=td_changes, setting_changes=settings, recreate_changes=recreate,
        calls=calls, budget=budget_for(env, spec, desired, timeout, count.effective).baked(
            bake_of(spec)), count=count,
        suspension=autoscaling.suspension(env, spec, live.scaling))


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
                f"roll back from {_rev(live.revision_arn)} to {_rev(to_revision)}",
                target=target)]
    after = [ApiCall("ecs", "tag_resource", {"resourceArn": to_revision, "tags": restored_tags},
                     "record on the restored revision that it was restored",
                     target=_rev(to_revision), best_effort=True)] if restored_tags else []
    change = Change("service.taskDefinition", live.revision_arn, to_revision)
    taskdef = to_taskdef if to_taskdef is not None else live.taskdef or {}
    count = autoscaling.kept(live.service, spec)  # a rollback leaves the count as it is
    return ReleasePlan(
        env=env.name, service=spec.service_name, cluster=env.cluster, family=spec.family,
        desired_taskdef=taskdef, live_revision=live.revision_arn,
        service_exists=live.service is not None, taskdef_changes=[change], setting_changes=[],
        recreate_changes=[], calls=calls,
        budget=budget_for(env, spec, taskdef, timeout, count.effective),
        after_stable=after, count=count)


def _rev(arn: str | None) -> str:
    return str(arn or "none").rsplit("/", 1)[-1]
