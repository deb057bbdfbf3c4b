"""A RegisterTaskDefinition input → what DescribeTaskDefinition answers for it on AWS.

ECS keeps a registered task definition with more in it than was sent, and some values in
another form (ECS API reference, RegisterTaskDefinition, TaskDefinition, ContainerDefinition,
HealthCheck, EFSVolumeConfiguration, EFSAuthorizationConfig):

- what it adds: taskDefinitionArn, revision, status ACTIVE, compatibilities,
  requiresAttributes, registeredAt/By;
- members reported at their documented default when nobody wrote them: networkMode
  bridge, enableFaultInjection false, a container's cpu 0 and essential true, a port
  mapping's protocol tcp (and, in awsvpc or host mode, hostPort = containerPort),
  versionConsistency enabled, a health check's interval 30 / timeout 5 / retries 3,
  EFS transitEncryption and authorizationConfig.iam DISABLED, empty lists;
- what it converts: task cpu "1 vCPU" → "1024" and memory "2 GB" → "2048" ("String
  values are converted to an integer indicating the CPU units / the MiB when the task
  definition is registered"), a role written by name → its ARN in the account and
  partition registered in, an EFS rootDirectory left out → "/";
- the tags, beside `taskDefinition`, only with include=["TAGS"].

Written from that documentation, apart from release/core/registration.py on purpose: this
is the oracle the plan's normalisation is tested against, so it shares no code with it.
`validated` puts an answer through botocore's Stubber, which checks it against the
output model, and returns it as boto3 hands it to the tool.
"""

from __future__ import annotations

import copy
import re
from datetime import UTC, datetime
from functools import cache
from typing import Any

import boto3
from botocore.stub import Stubber
from botocore.validate import ParamValidator

ACCOUNT = "123456789012"
REGION = "us-east-1"
REGISTERED_AT = datetime(2026, 11, 30, 9, 15, 2, 517000, tzinfo=UTC)
DIGEST_IMAGE = ("123456789012.dkr.ecr.us-east-1.amazonaws.com/sidecar@sha256:"
                + "5" * 64)

_VCPU = re.compile(r"^\s*(\d+(?:\.\d+)?|\.\d+)\s*vcpu\s*$", re.IGNORECASE)
_GB = re.compile(r"^\s*(\d+(?:\.\d+)?|\.\d+)\s*GB\s*$")
# ARN partitions: botocore's endpoints data (aws-cn for cn-*, aws-us-gov for us-gov-*)
_PARTITIONS = {"cn-": "aws-cn", "us-gov-": "aws-us-gov"}


def arn_partition(region: str) -> str:
    return next((p for prefix, p in _PARTITIONS.items() if region.startswith(prefix)), "aws")


def _units(value: Any, pattern: re.Pattern[str]) -> str:
    match = pattern.match(str(value))
    return str(int(float(match.group(1)) * 1024)) if match else str(value)


def _container(container: dict[str, Any], network_mode: str) -> dict[str, Any]:
    c = copy.deepcopy(container)
    c.setdefault("cpu", 0)
    c.setdefault("essential", True)
    for mapping in c.get("portMappings", []):
        mapping.setdefault("protocol", "tcp")
        if network_mode in ("awsvpc", "host") and "containerPort" in mapping:
            mapping.setdefault("hostPort", mapping["containerPort"])
        elif "containerPort" in mapping:
            mapping.setdefault("hostPort", 0)  # "omit the hostPort (or set it to 0)"
    for empty in ("portMappings", "environment", "mountPoints", "volumesFrom",
                  "systemControls"):
        c.setdefault(empty, [])
    c.setdefault("versionConsistency", "enabled")
    if "healthCheck" in c:
        for member, default in (("interval", 30), ("timeout", 5), ("retries", 3)):
            c["healthCheck"].setdefault(member, default)
    return c


def _volume(volume: dict[str, Any]) -> dict[str, Any]:
    v = copy.deepcopy(volume)
    efs = v.get("efsVolumeConfiguration")
    if efs is not None:
        efs.setdefault("rootDirectory", "/")
        efs.setdefault("transitEncryption", "DISABLED")
        if "authorizationConfig" in efs:
            efs["authorizationConfig"].setdefault("iam", "DISABLED")
    return v


def described(register_input: dict[str, Any], revision: int = 1, *, account: str = ACCOUNT,
              region: str = REGION, tags: list[dict[str, str]] | None = None,
              ) -> dict[str, Any]:
    """DescribeTaskDefinition(include=["TAGS"])'s answer for a revision registered from
    `register_input` (its own `tags` unless `tags` is given)."""
    body = copy.deepcopy(register_input)
    written_tags = body.pop("tags", [])
    partition = arn_partition(region)
    if "cpu" in body:
        body["cpu"] = _units(body["cpu"], _VCPU)
    if "memory" in body:
        body["memory"] = _units(body["memory"], _GB)
    for role in ("taskRoleArn", "executionRoleArn"):
        if role in body and not str(body[role]).startswith("arn:"):
            body[role] = f"arn:{partition}:iam::{account}:role/{body[role]}"
    body.setdefault("networkMode", "bridge")
    body["containerDefinitions"] = [_container(c, body["networkMode"])
                                    for c in body["containerDefinitions"]]
    body["volumes"] = [_volume(v) for v in body.get("volumes", [])]
    body.setdefault("placementConstraints", [])
    body.setdefault("enableFaultInjection", False)
    required = body.get("requiresCompatibilities", [])
    body.update(
        taskDefinitionArn=(f"arn:{partition}:ecs:{region}:{account}:task-definition/"
                           f"{body['family']}:{revision}"),
        revision=revision, status="ACTIVE",
        compatibilities=["EXTERNAL", "EC2"] + (["FARGATE"] if "FARGATE" in required else []),
        requiresAttributes=[{"name": "com.amazonaws.ecs.capability.docker-remote-api.1.21"}],
        registeredAt=REGISTERED_AT,
        registeredBy=f"arn:{partition}:sts::{account}:assumed-role/jenkins-release/build-41")
    return {"taskDefinition": body, "tags": copy.deepcopy(written_tags if tags is None else tags)}


@cache
def _client(region: str) -> Any:
    return boto3.client("ecs", region_name=region, aws_access_key_id="x",
                        aws_secret_access_key="x")


def validated(answer: dict[str, Any], region: str = REGION) -> dict[str, Any]:
    """`answer` as boto3 returns it, after botocore's Stubber checked it against the
    DescribeTaskDefinition output model (a member AWS does not return fails here)."""
    client = _client(region)
    with Stubber(client) as stub:
        stub.add_response("describe_task_definition", copy.deepcopy(answer))
        response = client.describe_task_definition(taskDefinition="any", include=["TAGS"])
        stub.assert_no_pending_responses()
    response.pop("ResponseMetadata", None)
    return response


def input_problems(register_input: dict[str, Any]) -> str:
    """botocore's own validation of a RegisterTaskDefinition input ("" when it is valid)."""
    shape = _client(REGION).meta.service_model.operation_model(
        "RegisterTaskDefinition").input_shape
    report = ParamValidator().validate(register_input, shape)
    return report.generate_report() if report.has_errors() else ""


def with_images(register_input: dict[str, Any], image: str = DIGEST_IMAGE) -> dict[str, Any]:
    """Every container keeps its image; one without gets a digest-pinned image."""
    body = copy.deepcopy(register_input)
    for container in body.get("containerDefinitions", []):
        container.setdefault("image", image)
    return body
