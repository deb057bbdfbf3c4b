"""The service corpus as specs: each real service definition (tests/corpus/services) made
into the `service` block of a spec in a one-service config repository.

Shared by tests/validate/test_service_corpus.py (validation) and
tests/conformance/test_service_corpus_replay.py (`release init` → `plan`). What the test
does to a document, and nothing more:

- ecspresso service definitions are DescribeServices-shaped (ecspresso reads them into
  the SDK's Service type and sends the CreateService/UpdateService members of it):
  member names are matched case-insensitively (Go's encoding/json), `null`s and empty
  enum strings (`"launchType": ""`) are left out (nil and the zero enum, which the Go SDK
  does not send), members DescribeServices reports but CreateService does not take
  (pendingCount, runningCount, platformFamily, resourceManagementType, ...) are left out,
  and serviceName comes from ecspresso's config (`service:`), recorded in the manifest;
- a CreateService request leaves out `taskDefinition` (the release registers the revision
  and names it) and takes serviceName from the manifest when the document has none (a
  page that shows part of a request, a file whose name is given on the command line).

`convert` returns the conversions it made, and the manifest lists them per document (a
test holds the two equal). The task definition is synthetic: the containers, container
ports, port-mapping names and volumes the service refers to (the manifest lists them
too), awsvpc when the service is (or runs on Fargate), bridge otherwise. The environment
is a copy of sandbox-alb (target groups, awsvpc) or sandbox (classic ELB, bridge) holding
what the service names: its cluster, its classic ELB, its target groups (by the name in
their ARNs; one a template names stays unnamed), its role, instances enough for an EC2
service's rolling update, and the Terraform state the ecspresso config reads (`values`).
"""

from __future__ import annotations

import copy
import json
import re
from functools import cache
from pathlib import Path
from typing import Any

from corpus_helpers import DIGEST, one_service_repo
from validate_helpers import PROJECT

CORPUS = PROJECT / "tests/corpus/services"
SOURCES: dict[str, dict[str, Any]] = json.loads((CORPUS / "sources.json").read_text())
ECSPRESSO = "ecspresso (DescribeServices-shaped)"
CREATE_SERVICE = "CreateService"
TG_NAME = re.compile(r":targetgroup/([^/]+)/")


@cache
def _model() -> Any:
    from botocore.loaders import Loader
    from botocore.model import ServiceModel

    return ServiceModel(Loader().load_service_model("ecs", "service-2"), "ecs")


def _members(shape: Any) -> dict[str, Any]:
    return dict(shape.members) if shape is not None and shape.type_name == "structure" else {}


def _inner(shape: Any) -> Any:
    return shape.member if shape is not None and shape.type_name == "list" else shape


def _go_decode(value: Any, shape: Any, where: str, applied: list[str]) -> Any:
    """What ecspresso holds after reading the JSON into the SDK's Go types: member names
    matched case-insensitively, nil (null) and empty enums left out."""
    if isinstance(value, list):
        return [_go_decode(v, _inner(shape), f"{where}/{i}", applied)
                for i, v in enumerate(value)]
    if not isinstance(value, dict) or shape is None or shape.type_name != "structure":
        return value
    members = _members(shape)
    by_folded = {name.lower(): name for name in members}
    kept: dict[str, Any] = {}
    for key, item in value.items():
        name = key if key in members else by_folded.get(key.lower(), key)
        if name != key:
            applied.append(f"member name matched case-insensitively: {where}/{key} → {name}")
        if item is None:
            applied.append(f"null left out: {where}/{key}")
            continue
        member = members.get(name)
        if item == "" and member is not None and member.enum:
            applied.append(f"empty enum left out: {where}/{key}")
            continue
        kept[name] = _go_decode(item, _inner(member), f"{where}/{name}", applied)
    return kept


def convert(name: str) -> tuple[dict[str, Any], list[str]]:
    """The document as the `service` block of a spec, and the conversions made."""
    entry = SOURCES[name]
    doc = json.loads((CORPUS / name).read_text())
    applied: list[str] = []
    if entry["shape"] == ECSPRESSO:
        service_shape = _model().shape_for("Service")
        doc = _go_decode(doc, service_shape, "", applied)
        takes = set(_model().operation_model("CreateService").input_shape.members)
        output_only = sorted(k for k in doc if k not in takes or k == "taskDefinition")
        if output_only:
            applied.append(f"DescribeServices-only members left out: {', '.join(output_only)}")
        service = {k: v for k, v in doc.items() if k not in output_only}
        service["serviceName"] = entry["serviceName"]
        applied.append(f"serviceName supplied: {entry['serviceName']} ({entry['serviceNameFrom']})"
                       if "serviceNameFrom" in entry else
                       f"serviceName from ecspresso's config: {entry['serviceName']}")
        return service, applied
    service = {k: v for k, v in doc.items() if k not in ("taskDefinition", "clientToken")}
    if "taskDefinition" in doc:
        applied.append("taskDefinition left out: the release registers the revision and "
                       "names it")
    if "serviceName" not in doc:
        service["serviceName"] = entry["serviceName"]
        applied.append(f"serviceName supplied: {entry['serviceName']} "
                       f"({entry['serviceNameFrom']})")
    return service, applied


def references(service: dict[str, Any]) -> dict[str, Any]:
    """The containers (and their ports), port-mapping names and volumes the service names."""
    containers: dict[str, list[int]] = {}
    for item in (service.get("loadBalancers") or []) + (service.get("serviceRegistries") or []):
        if item.get("containerName"):
            ports = containers.setdefault(item["containerName"], [])
            if item.get("containerPort") is not None and item["containerPort"] not in ports:
                ports.append(item["containerPort"])
    names = [s.get("portName") for s in
             (service.get("serviceConnectConfiguration") or {}).get("services") or []]
    names += [item.get("portName") for key in ("vpcLatticeConfigurations", "gatewayConnectors")
              for item in service.get(key) or []]
    return {"containers": containers, "portNames": [n for n in names if n],
            "volumes": [v.get("name") for v in service.get("volumeConfigurations") or []]}


def _providers(service: dict[str, Any]) -> list[str]:
    return [str(p.get("capacityProvider")) for p in service.get("capacityProviderStrategy") or []]


def on_fargate(service: dict[str, Any]) -> bool:
    return service.get("launchType") == "FARGATE" or any(
        p.startswith("FARGATE") for p in _providers(service))


def awsvpc(service: dict[str, Any]) -> bool:
    return on_fargate(service) or bool(
        (service.get("networkConfiguration") or {}).get("awsvpcConfiguration"))


def classic(service: dict[str, Any]) -> bool:
    return any(lb.get("loadBalancerName") for lb in service.get("loadBalancers") or [])


def taskdef_for(family: str, service: dict[str, Any], refs: dict[str, Any]) -> dict[str, Any]:
    """A task definition with exactly what the service refers to."""
    mode = "awsvpc" if awsvpc(service) else "bridge"
    named = refs["containers"] or {"app": []}
    containers = []
    for name, ports in named.items():
        mappings = [{"containerPort": p, "hostPort": p if mode == "awsvpc" or classic(service)
                     else 0, "protocol": "tcp"} for p in ports]
        containers.append({"name": name, "essential": True, "memory": 128,
                           "portMappings": mappings})
    for index, port_name in enumerate(refs["portNames"]):
        port = 10000 + index
        containers[0]["portMappings"].append({"name": port_name, "containerPort": port,
                                              "hostPort": port if mode == "awsvpc" else 0,
                                              "protocol": "tcp", "appProtocol": "http"})
    doc: dict[str, Any] = {"family": family, "networkMode": mode,
                           "containerDefinitions": containers}
    if on_fargate(service):
        doc.update(requiresCompatibilities=["FARGATE"], cpu="256", memory="512")
    elif service.get("launchType") == "EXTERNAL":
        doc["requiresCompatibilities"] = ["EXTERNAL"]
    if refs["volumes"]:
        doc["volumes"] = [{"name": v, "configuredAtLaunch": True} for v in refs["volumes"]]
        containers[0]["mountPoints"] = [{"sourceVolume": v, "containerPath": f"/mnt/{v}"}
                                        for v in refs["volumes"]]
    return doc


def _templated(value: Any) -> bool:
    return isinstance(value, str) and "{{" in value


def environment_for(service: dict[str, Any], entry: dict[str, Any]
                    ) -> tuple[str, dict[str, Any]]:
    """Which of the project's environments to copy, and what it must hold for this service
    (with where its ecspresso config reads Terraform state, for {{ tfstate }} values)."""
    changes: dict[str, Any] = {}
    if entry.get("tfstate"):
        changes["values"] = {"tfstate": entry["tfstate"]}
    lbs = service.get("loadBalancers") or []
    if classic(service):
        name, env = "sandbox", json.loads(
            (PROJECT / "environments/sandbox/environment.json").read_text())
        changes["loadBalancer"] = {"name": next(lb["loadBalancerName"] for lb in lbs
                                                if lb.get("loadBalancerName"))}
    elif awsvpc(service) or any(lb.get("targetGroupArn") for lb in lbs):
        name, env = "sandbox-alb", json.loads(
            (PROJECT / "environments/sandbox-alb/environment.json").read_text())
        template = env["loadBalancer"]["targetGroups"][0]
        groups, seen = [], set()
        for lb in lbs:
            match = TG_NAME.search(lb.get("targetGroupArn") or "")
            group = match.group(1) if match else lb.get("targetGroupArn")
            if not group or _templated(group):
                continue  # a template: the environment cannot name its group before it is read
            if group not in seen:
                seen.add(group)
                groups.append({**template, "name": group, "port": lb.get("containerPort", 80),
                               "targetType": "ip" if awsvpc(service) else "instance"})
        if groups:
            changes["loadBalancer"] = {"targetGroups": groups}
    else:
        name = "sandbox"
    cluster = service.get("cluster")
    if cluster and not _templated(cluster):
        changes["cluster"] = str(cluster).rsplit("/", 1)[-1]
    if service.get("role") and not _templated(service["role"]):
        changes["iam"] = {"serviceRole": str(service["role"]).rsplit("/", 1)[-1]}
    if not on_fargate(service) and service.get("launchType") != "EXTERNAL":
        count = service.get("desiredCount", 1)
        changes["instances"] = {"count": (count if isinstance(count, int) else 1) + 1}
    return name, changes


def corpus_repo(root: Path, name: str, *, as_found: bool = False
                ) -> tuple[Path, str, dict[str, Any]]:
    """The config repository for one document; returns it, the spec's path and the spec.
    `as_found`: the document itself is the service block (with the manifest's serviceName
    when it has none); the task definition and environment are the converted one's."""
    service, _ = convert(name)
    stem = Path(name).stem
    taskdef = taskdef_for(stem, service, references(service))
    if as_found:
        found = json.loads((CORPUS / name).read_text())
        service = {"serviceName": service["serviceName"], **found}
    rel = f"taskdefs/{stem}.json"
    spec = {"taskDefinition": {"file": rel, "family": stem}, "service": service,
            "images": {c["name"]: {"tag": "corpus", "digest": DIGEST}
                       for c in taskdef["containerDefinitions"]}}
    env_name, changes = environment_for(convert(name)[0], SOURCES[name])
    one_service_repo(root, env_name, changes, (rel, json.dumps(taskdef).encode()), stem,
                     copy.deepcopy(spec))
    return root, f"environments/{env_name}/services/{stem}.json", spec

