"""Task definition + environment overrides + image pins → register-task-definition input.

Containers the service pins get their pin's image; any other container keeps the image its
task definition names (a third-party sidecar, pinned there by digest).

Pure: the same documents always render to the same dict, which is what `plan`
compares with the live revision and what `changed` compares between commits.
"""

from __future__ import annotations

import copy
from typing import Any

from release.core.config import ConfigRepo, Environment, ServiceSpec, TaskDefinition
from release.core.pin import ImagePin


def image_container(spec: ServiceSpec, taskdef: TaskDefinition) -> str:
    """The container that runs the primary pin's image: named in the pin, else the LB's, else the
    first."""
    return pinned_container(spec, spec.image, taskdef)


def pinned_container(spec: ServiceSpec, pin: ImagePin, taskdef: TaskDefinition) -> str:
    """The container a pin fills: named in the pin, else the LB's, else the task's first."""
    if pin.container:
        return pin.container
    for lb in spec.service.get("loadBalancers", []):
        if lb.get("containerName"):
            return lb["containerName"]
    return taskdef.containers[0]["name"]


def pinned_images(env: Environment, spec: ServiceSpec, taskdef: TaskDefinition) -> dict[str, str]:
    """{container: image reference} for every container the service pins."""
    return {pinned_container(spec, pin, taskdef): pin.reference_in(env) for pin in spec.images}


def _merge_named(items: list[dict[str, Any]], updates: dict[str, str], value_key: str
                 ) -> list[dict[str, Any]]:
    """Merge {NAME: value} into an ECS name/value list, keeping order, sorted additions."""
    merged = [dict(i) for i in items]
    index = {i["name"]: i for i in merged}
    for name in sorted(updates):
        if name in index:
            index[name][value_key] = updates[name]
        else:
            merged.append({"name": name, value_key: updates[name]})
    return merged


_SCALARS = (str, int, float, bool, type(None))


def _copied(value: Any) -> Any:
    """A deep copy of parsed JSON: copy.deepcopy's answer at a fraction of its cost (validate
    merges every service's overrides); anything else (a dict subclass) still goes to deepcopy."""
    kind = type(value)
    if kind is dict:
        return {key: _copied(item) for key, item in value.items()}
    if kind is list:
        return [_copied(item) for item in value]
    if kind in _SCALARS:
        return value
    return copy.deepcopy(value)


def apply_overrides(spec: ServiceSpec, taskdef: TaskDefinition) -> dict[str, Any]:
    """The task definition with the service's overrides merged in (no image yet).

    The one override merge: the rules check what this returns, and
    `render_taskdef` registers it with the image filled in.
    """
    body = _copied(taskdef.body())
    overrides = spec.overrides
    for key in ("cpu", "memory"):
        if key in overrides:
            body[key] = str(overrides[key])
    per_container = overrides.get("containers", {})
    for container in body.get("containerDefinitions", []):
        extra = per_container.get(container.get("name"), {})
        for key in ("cpu", "memory", "memoryReservation"):
            if key in extra:
                container[key] = extra[key]
        if extra.get("environment"):
            container["environment"] = _merge_named(
                container.get("environment", []), extra["environment"], "value")
        if extra.get("secrets"):
            container["secrets"] = _merge_named(
                container.get("secrets", []), extra["secrets"], "valueFrom")
    return body


def render_taskdef(env: Environment, spec: ServiceSpec, taskdef: TaskDefinition) -> dict[str, Any]:
    """The register-task-definition input this service should run, with the file's own tags
    (plan adds the release record's: registration.merged_tags)."""
    body = apply_overrides(spec, taskdef)
    images = pinned_images(env, spec, taskdef)
    for container in body.get("containerDefinitions", []):
        if container.get("name") in images:
            container["image"] = images[container["name"]]
    return body


def render_service(repo: ConfigRepo, spec: ServiceSpec) -> dict[str, Any]:
    """Convenience: render a service's task definition from the loaded repository."""
    return render_taskdef(repo.environment(spec.env), spec, repo.taskdef_for(spec))
