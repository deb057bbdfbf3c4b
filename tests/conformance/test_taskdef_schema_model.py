"""The task definition schema against botocore's ECS model, both ways, all the way down.

Why: the schema is what `release validate` refuses a task definition by. A member
the API has and the schema lacks is a false error on a document ECS accepts (the
schema closes every object); a member the schema has and the API lacks is a
document ECS refuses that we would let through. So RegisterTaskDefinition's input
is walked through every structure, list and map, and each object of the schema
must list exactly the model's members, with the model's scalar types and enums.
"""

from __future__ import annotations

import copy
from typing import Any

import jsonschema
import pytest
from botocore.loaders import Loader
from validate_helpers import PROJECT

from release.core.documents import read_json
from release.core.schemacheck import compile_schema

SCHEMA = read_json(PROJECT / "schemas/taskdef.schema.json")
MODEL = Loader().load_service_model("ecs", "service-2")["shapes"]

# Members the schema has that the API does not: editor-only keys (release drops them).
SCHEMA_ONLY: dict[str, str] = {
    "/$schema": "names the JSON Schema for editors; the release leaves `$` keys out of the "
                "register-task-definition input (TaskDefinition.body)",
}
# Members the API has that the schema leaves out on purpose (none: every member is written).
MODEL_ONLY: dict[str, str] = {}
# Keys the schema requires beyond the model's `required`, and why ECS or the rules need them.
EXTRA_REQUIRED: dict[str, str] = {
    "/containerDefinitions/[]/name": "ECS refuses a container without a name; every rule and "
                                     "the image pins address containers by name",
    "/containerDefinitions/[]/environment/[]/name": "an environment variable needs a name",
    "/containerDefinitions/[]/environment/[]/value": "the rules and overrides merge by name and "
                                                     "read the value (a variable without one is "
                                                     "left out, not written empty)",
    "/tags/[]/key": "a tag is its key (TagResource: the key is what ECS stores)",
}
SCALARS = {"string": "string", "integer": "integer", "long": "integer", "boolean": "boolean",
           "double": "number", "float": "number"}


def resolve(root: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    """The schema node with `$ref`s followed (our schema keeps its definitions in $defs)."""
    while "$ref" in node:
        target: Any = root
        for part in node["$ref"].lstrip("#/").split("/"):
            target = target[part]
        node = {**target, **{k: v for k, v in node.items() if k != "$ref"}}
    return node


def walk(root: dict[str, Any], shape_name: str, node: dict[str, Any], path: str,
         problems: list[str]) -> None:
    """Compare one model shape with one schema node; recurse into members, items and values."""
    shape, node = MODEL[shape_name], resolve(root, node)
    kind = shape["type"]
    if kind == "structure":
        members, props = set(shape["members"]), set(node.get("properties", {}))
        if node.get("type") != "object" or node.get("additionalProperties") is not False:
            problems.append(f"{path or '/'}: not a closed object (type object, "
                            "additionalProperties false)")
        for name in sorted(members - props):
            if f"{path}/{name}" not in MODEL_ONLY:
                problems.append(f"{path}/{name}: in the model ({shape_name}), not in the schema")
        for name in sorted(props - members):
            if f"{path}/{name}" not in SCHEMA_ONLY:
                problems.append(f"{path}/{name}: in the schema, not in the model ({shape_name})")
        extra = set(node.get("required", [])) - set(shape.get("required", []))
        for name in sorted(extra):
            if f"{path}/{name}" not in EXTRA_REQUIRED:
                problems.append(f"{path}/{name}: required by the schema, not by the model")
        for name in sorted(members & props):
            walk(root, shape["members"][name]["shape"], node["properties"][name], f"{path}/{name}",
                 problems)
    elif kind == "list":
        if node.get("type") != "array" or "items" not in node:
            problems.append(f"{path}: the model has a list, the schema no array of items")
            return
        walk(root, shape["member"]["shape"], node["items"], f"{path}/[]", problems)
    elif kind == "map":
        values = node.get("additionalProperties")
        if node.get("type") != "object" or not isinstance(values, dict):
            problems.append(f"{path}: the model has a map, the schema no object of values")
            return
        walk(root, shape["value"]["shape"], values, f"{path}/{{}}", problems)
    else:
        want = SCALARS[kind]
        if "enum" in shape:
            if sorted(node.get("enum", [])) != sorted(shape["enum"]):
                problems.append(f"{path}: enum {node.get('enum')} is not the model's "
                                f"{shape['enum']}")
        elif node.get("type") != want:
            problems.append(f"{path}: type {node.get('type')!r}, the model's is {want!r}")


def problems_of(schema_root: dict[str, Any]) -> list[str]:
    problems: list[str] = []
    walk(schema_root, "RegisterTaskDefinitionRequest", schema_root, "", problems)
    return problems


def test_the_schema_has_every_member_of_the_model_and_no_other() -> None:
    assert problems_of(SCHEMA) == []


@pytest.mark.parametrize("break_it, expected", [
    (lambda s: s["$defs"]["portMapping"]["properties"].pop("appProtocol"),
     "/containerDefinitions/[]/portMappings/[]/appProtocol: in the model (PortMapping), "
     "not in the schema"),
    (lambda s: s["$defs"]["volume"]["properties"].update(nfs={"type": "object"}),
     "/volumes/[]/nfs: in the schema, not in the model (Volume)"),
    (lambda s: s["properties"]["networkMode"].update(enum=["bridge", "awsvpc"]),
     "/networkMode: enum ['bridge', 'awsvpc'] is not the model's "
     "['bridge', 'host', 'awsvpc', 'none']"),
    (lambda s: s["$defs"]["containerDefinition"]["properties"].update(
        linuxParameters={"type": "object"}),
     "/containerDefinitions/[]/linuxParameters: not a closed object"),
])
def test_the_walk_catches_each_kind_of_drift(break_it, expected) -> None:
    broken = copy.deepcopy(SCHEMA)
    break_it(broken)
    found = problems_of(broken)
    assert any(p.startswith(expected) for p in found), found


def container(**fields: Any) -> dict[str, Any]:
    return {"family": "f", "containerDefinitions": [{"name": "app", **fields}]}


def task(**fields: Any) -> dict[str, Any]:
    return {**container(), **fields}


ACCEPTED = {
    # PortMapping.name: "lowercase letters, numbers, underscores (_), and hyphens (-)"
    "port name with underscores": container(portMappings=[{"containerPort": 80,
                                                           "name": "web_80-tcp"}]),
    "trusted execution": task(trustedExecutionConfiguration={"isolationMode":
                                                             "ISOLATED_SANDBOX"}),
    "confidential sandbox with its policy": task(trustedExecutionConfiguration={
        "isolationMode": "CONFIDENTIAL_SANDBOX", "attestationPolicy": "ZXhhbXBsZQ=="}),
    "linux parameters": container(linuxParameters={
        "capabilities": {"add": ["SYS_PTRACE"], "drop": ["NET_RAW"]}, "initProcessEnabled": True,
        "devices": [{"hostPath": "/dev/fuse", "permissions": ["read", "write"]}],
        "tmpfs": [{"containerPath": "/tmp", "size": 64, "mountOptions": ["rw"]}],
        "sharedMemorySize": 128, "maxSwap": 0, "swappiness": 60}),
    "EFS with an access point": task(volumes=[{"name": "data", "efsVolumeConfiguration": {
        "fileSystemId": "fs-12345678", "transitEncryption": "ENABLED",
        "authorizationConfig": {"accessPointId": "fsap-1234", "iam": "ENABLED"}}}]),
    "App Mesh proxy": task(proxyConfiguration={"type": "APPMESH", "containerName": "envoy",
                                               "properties": [{"name": "AppPorts",
                                                               "value": "8080"}]}),
    "GPU": container(resourceRequirements=[{"type": "GPU", "value": "1"}]),
    "FireLens": container(firelensConfiguration={"type": "fluentbit", "options": {
        "enable-ecs-log-metadata": "true"}}),
    "Windows": task(runtimePlatform={"operatingSystemFamily": "WINDOWS_SERVER_2022_CORE",
                                     "cpuArchitecture": "X86_64"}),
}
REFUSED = {
    # ECS refuses an empty one: the agent has no secret to read the registry credentials from
    "empty credentialsParameter": container(repositoryCredentials={"credentialsParameter": ""}),
    "port name starting with a hyphen": container(portMappings=[{"containerPort": 80,
                                                                 "name": "-web"}]),
    "confidential sandbox without its policy": task(trustedExecutionConfiguration={
        "isolationMode": "CONFIDENTIAL_SANDBOX"}),
    "unknown FireLens type": container(firelensConfiguration={"type": "fluent"}),
    "swappiness over 100": container(linuxParameters={"maxSwap": 0, "swappiness": 101}),
    "EFS without a file system": task(volumes=[{"name": "d", "efsVolumeConfiguration": {}}]),
    "unknown operating system": task(runtimePlatform={"operatingSystemFamily": "WINDOWS"}),
    "misspelt linux parameter": container(linuxParameters={"initProcessEnable": True}),
}


@pytest.mark.parametrize("name", sorted(ACCEPTED))
def test_documents_ecs_accepts_pass_the_schema(name: str) -> None:
    assert jsonschema.Draft202012Validator(SCHEMA).is_valid(ACCEPTED[name])
    assert compile_schema(SCHEMA)(ACCEPTED[name])


@pytest.mark.parametrize("name", sorted(REFUSED))
def test_documents_ecs_refuses_fail_the_schema(name: str) -> None:
    assert not jsonschema.Draft202012Validator(SCHEMA).is_valid(REFUSED[name])
    assert not compile_schema(SCHEMA)(REFUSED[name])
