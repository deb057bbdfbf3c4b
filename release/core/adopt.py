"""A live service → the three documents that describe it (`release init`).

Pure: the caller reads DescribeServices, DescribeTaskDefinition (with tags) and
the classic ELB (release/engine/init.py) and hands the answers here. The
documents are normalised with plan's own model-driven rules (plan.normalise_taskdef
and the ECS model's API defaults), so `release plan` on them reports no change:
what ECS adds is dropped, members at their API default are left out (nobody
wrote them), the revision's own tags are kept (not the release record's), and the image
moves from the task definition into the pin (by digest when the live
revision names it by digest; by tag, with the digest ECR resolves as a decision,
when it names a tag: a digest there would be a change).

Which containers are pinned: those whose image is in the environment's ECR registry
(the images the team builds). One is the single `/image` pin; several become
`/images/<container>`, each with its repository. Any other container (a third-party
sidecar) keeps the image its task definition names. With no image in ECR, the load
balancer's container (else the first) is pinned, as before.

A plain-text environment value that looks like a secret is never copied: it is
written as PLACEHOLDER, and the validation rule `placeholder_values` points at
it until someone moves it to `secrets` (valueFrom) or writes the value.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from release.core import ecs_model as model
from release.core import plan, registration
from release.core import service_settings as settings_model
from release.core.placeholders import PLACEHOLDER

SECRET_NAME = re.compile(r"(SECRET|PASSWORD|PASSWD|TOKEN|API_?KEY|PRIVATE_?KEY|ACCESS_?KEY|"
                         r"CREDENTIAL)", re.IGNORECASE)
SECRET_VALUE = re.compile(r"^(AKIA|ASIA)[A-Z0-9]{16}$|-----BEGIN [A-Z ]*PRIVATE KEY-----")
# Every setting a spec can state (core/service_settings.py), `role` apart: it is read from
# roleArn, and never when it is the service-linked role ECS uses by itself.
SERVICE_SETTINGS = tuple(k for k in (*settings_model.IN_PLACE, *settings_model.CREATE_ONLY)
                         if k != "role")
TOOL_LAUNCH_TYPE = "EC2"  # what plan's create_service sets when a spec names none


@dataclass(frozen=True)
class LiveImage:
    """A container whose image is in the environment's ECR registry, as ECR resolved it."""

    container: str
    repository: str
    tag: str | None
    digest: str | None


@dataclass(frozen=True)
class LiveService:
    """What AWS answered about one service (read by release/engine/init.py)."""

    env: str
    account: str
    region: str
    cluster: str
    service: dict[str, Any]  # DescribeServices Service
    taskdef: dict[str, Any]  # DescribeTaskDefinition taskDefinition
    taskdef_tags: list[dict[str, str]] = field(default_factory=list)
    load_balancer: dict[str, Any] | None = None  # DescribeLoadBalancers LoadBalancerDescription
    lb_attributes: dict[str, Any] | None = None  # DescribeLoadBalancerAttributes
    digest: str | None = None  # the image's digest when ECR resolved it
    image_tag: str | None = None
    instance_type: str | None = None
    instance_count: int = 0
    endpoint: str | None = None  # the sandbox's endpoint, written into environment.json
    images: tuple[LiveImage, ...] = ()  # the containers whose image is in the ECR registry
    env_repository: str | None = None  # ecr.repository of an environment.json that is kept


@dataclass(frozen=True)
class Adopted:
    """The documents (path relative to the repository → content) and what a person must decide."""

    documents: dict[str, dict[str, Any]]
    decisions: list[str]


def strip_unwritten(value: Any, shape: str | None) -> Any:
    """Leave out every member the ECS model says is at its API default or empty."""
    if isinstance(value, list):
        return [strip_unwritten(v, shape) for v in value]
    if not isinstance(value, dict):
        return value
    kept = {}
    for key, member in value.items():
        if model.is_unwritten(shape, key, member):
            continue
        kept[key] = strip_unwritten(member, model.structure(shape, key))
    return kept


def image_parts(image: str) -> tuple[str, str, str | None, str | None]:
    """`registry/repo@sha256:…` or `registry/repo:tag` → (registry, repository, tag, digest)."""
    location, _, digest = image.partition("@")
    registry, _, path = location.partition("/")
    repository, _, tag = path.rpartition(":") if ":" in path else (path, "", "")
    return registry, repository, tag or None, digest or None


def image_container(service: dict[str, Any], taskdef: dict[str, Any]) -> str:
    for lb in service.get("loadBalancers") or []:
        if lb.get("containerName"):
            return str(lb["containerName"])
    return str(taskdef["containerDefinitions"][0]["name"])


def pinned_containers(live: LiveService) -> list[str]:
    """The containers the documents pin, the primary (the load balancer's, when it is one of
    them) first: those in the ECR registry, else the load balancer's (or first) one."""
    primary = image_container(live.service, live.taskdef)
    names = [i.container for i in live.images] or [primary]
    return sorted(names, key=lambda name: name != primary)


def _hide_secrets(container: dict[str, Any], pointer: str, decisions: list[str]) -> None:
    for i, item in enumerate(container.get("environment") or []):
        name, value = str(item.get("name", "")), str(item.get("value", ""))
        if SECRET_NAME.search(name) or SECRET_VALUE.search(value):
            item["value"] = PLACEHOLDER
            decisions.append(f"{pointer}/environment/{i}/value ({name}): looks like a secret, "
                             "not copied; move it to `secrets` (valueFrom) or write the value")


def taskdef_document(live: LiveService, decisions: list[str]) -> tuple[dict[str, Any], str]:
    """The task definition file's content and the name of the primary pinned container."""
    body = strip_unwritten(plan.normalise_taskdef(live.taskdef), model.TASK_DEFINITION)
    targets = pinned_containers(live)
    file = f"taskdefs/{body['family']}.json"
    for i, container in enumerate(body.get("containerDefinitions", [])):
        if container.get("name") in targets:
            container.pop("image", None)
        _hide_secrets(container, f"{file}#/containerDefinitions/{i}", decisions)
    first = {k: body.pop(k) for k in ("family", "networkMode") if k in body}
    # the revision's own tags (a release compares them); the release record's and AWS's are
    # not the file's to write
    own = registration.file_tags({t["key"]: t.get("value") for t in live.taskdef_tags})
    tags = {"tags": [{"key": k, "value": v} for k, v in own.items()]} if own else {}
    return {"$schema": "../schemas/taskdef.schema.json", **first, **body, **tags}, targets[0]


def service_document(live: LiveService, container: str, file: str) -> dict[str, Any]:
    service = settings_model.live_settings(live.service)
    settings: dict[str, Any] = {"serviceName": service["serviceName"]}
    for key in SERVICE_SETTINGS:
        value = service.get(key)
        if key == "launchType" and (value == TOOL_LAUNCH_TYPE
                                    or service.get("capacityProviderStrategy")):
            continue  # plan's default, or not a launch type: a capacity provider strategy
        if key == "loadBalancers" and value:
            settings[key] = [{k: v for k, v in lb.items() if v is not None} for lb in value]
        elif key == "desiredCount" and value is not None:
            settings[key] = value
        elif not model.is_unwritten(model.SERVICE, key, value):
            settings[key] = strip_unwritten(value, model.structure(model.SERVICE, key))
    if service.get("roleArn") and not settings_model.is_service_linked(service["roleArn"]):
        settings["role"] = str(service["roleArn"]).rsplit("/", 1)[-1]
    doc: dict[str, Any] = {"$schema": "../../../schemas/service.schema.json",
                           "taskDefinition": {"file": file, "family": live.taskdef["family"]},
                           "service": settings}
    names = pinned_containers(live)
    if len(names) == 1:
        pin = _pin_of(live, container, live.image_tag)
        doc["image"] = {"container": container, **pin}
    else:
        known = {i.container: i for i in live.images}
        doc["images"] = {name: {"repository": known[name].repository,
                                **_pin_of(live, name, known[name].tag)} for name in names}
    return doc


def _pin_of(live: LiveService, container: str, known_tag: str | None) -> dict[str, str]:
    """{tag, digest} as the live revision names the image (a tag-only image stays tag-only)."""
    image = next(c.get("image", "") for c in live.taskdef["containerDefinitions"]
                 if c.get("name") == container)
    _, _, tag, digest = image_parts(str(image))
    pin: dict[str, str] = {}
    if tag or known_tag:
        pin["tag"] = str(known_tag or tag)
    if digest:
        pin["digest"] = digest
    return pin


def environment_document(live: LiveService, repository: str) -> dict[str, Any]:
    """environment.json from the cluster, the ELB and the container instances."""
    lb = live.load_balancer or {}
    listener = ((lb.get("ListenerDescriptions") or [{}])[0]).get("Listener", {})
    check = lb.get("HealthCheck", {})
    draining = (live.lb_attributes or {}).get("ConnectionDraining") or {}
    doc: dict[str, Any] = {
        "$schema": "../../schemas/environment.schema.json", "name": live.env,
        "account": live.account, "region": live.region, "cluster": live.cluster,
        "ecr": {"repository": repository},
        "loadBalancer": {
            "name": lb.get("LoadBalancerName", ""),
            "listener": {"protocol": listener.get("Protocol", "HTTP"),
                         "loadBalancerPort": listener.get("LoadBalancerPort", 80),
                         "instanceProtocol": listener.get("InstanceProtocol", "HTTP"),
                         "instancePort": listener.get("InstancePort", 80)},
            "healthCheck": {"target": check.get("Target", ""),
                            "interval": check.get("Interval", 30),
                            "unhealthyThreshold": check.get("UnhealthyThreshold", 2),
                            "healthyThreshold": check.get("HealthyThreshold", 10),
                            "timeout": check.get("Timeout", 5)},
            "connectionDraining": {"enabled": bool(draining.get("Enabled")),
                                   "timeout": int(draining.get("Timeout", 300))}},
        "instances": {"type": live.instance_type or "t2.medium",
                      "count": live.instance_count},
    }
    for key in ("Subnets", "SecurityGroups"):
        if lb.get(key):
            doc["loadBalancer"][key[0].lower() + key[1:]] = sorted(lb[key])
    if live.service.get("roleArn"):
        doc["iam"] = {"serviceRole": str(live.service["roleArn"]).rsplit("/", 1)[-1]}
    if live.endpoint:
        doc["endpoints"] = {"aws": live.endpoint}
    return doc


def _digest_decision(spec_file: str, resolved: str | None, pointer: str = "/image") -> str:
    """The live revision names its image by tag: the pin keeps the tag, so plan reports no
    change (a digest would register a new revision and replace every task for the same
    image); pinning it immutably is the person's call."""
    if resolved:
        return (f"{spec_file}#{pointer}: the live revision names the image by tag; ECR "
                f"resolves it to {resolved}: add \"digest\": \"{resolved}\" to pin it "
                "immutably (the next release then registers a revision by digest and replaces "
                "the tasks)")
    return (f"{spec_file}#{pointer}: the live revision names the image by tag and ECR could "
            "not resolve it to a digest; push it to the environment's ECR or pin one with "
            "`release promote`")


def adopt(live: LiveService) -> Adopted:
    """The three documents; environment.json is the caller's to skip when it exists."""
    decisions: list[str] = []
    taskdef, container = taskdef_document(live, decisions)
    file = f"taskdefs/{taskdef['family']}.json"
    service = service_document(live, container, file)
    image = next(c.get("image", "") for c in live.taskdef["containerDefinitions"]
                 if c.get("name") == container)
    _, repository, _, _ = image_parts(str(image))
    spec_file = f"environments/{live.env}/services/{live.service['serviceName']}.json"
    if "image" in service and live.images and live.env_repository not in (None, repository):
        pin = service["image"]  # in another repository than the kept environment.json's
        service["image"] = {"container": pin.pop("container"), "repository": repository, **pin}
    if "image" in service and "digest" not in service["image"]:
        decisions.append(_digest_decision(spec_file, live.digest))
    resolved = {i.container: i.digest for i in live.images}
    for name, pin in service.get("images", {}).items():
        if "digest" not in pin:
            decisions.append(_digest_decision(spec_file, resolved.get(name),
                                              f"/images/{name}"))
    name = live.service["serviceName"]
    return Adopted({
        file: taskdef,
        f"environments/{live.env}/services/{name}.json": service,
        f"environments/{live.env}/environment.json": environment_document(live, repository),
    }, decisions)
