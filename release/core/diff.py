"""Desired (git) vs live (AWS) → what differs: the one comparison of plan, deploy and status.

Pure: the caller fetches the live service and task definition (release/adapters/live.py)
and renders the desired one (release/core/render.py); core/plan.py turns the
differences into the release's instructions.

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

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from release.core import autoscaling, redact, registration
from release.core import ecs_model as model
from release.core import service_settings as settings_model
from release.core.config import ServiceSpec

NAMED_LISTS = frozenset({"containerDefinitions", "environment", "secrets", "volumes",
                         "ulimits", "systemControls", "extraHosts"})
SORTED_STRING_LISTS = frozenset({"requiresCompatibilities", "links", "dnsServers",
                                 "dnsSearchDomains", "dockerSecurityOptions"})
# Service settings update_service can change in place (core/service_settings.py: the model's).
UPDATABLE_SETTINGS = settings_model.IN_PLACE
TASKDEF, SERVICE = model.TASK_DEFINITION, model.SERVICE
TAGS = "tags"


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
