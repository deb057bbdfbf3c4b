"""DescribeTaskDefinition / DescribeServices / DescribeImages answers in the shapes AWS returns.

Each document is written as real AWS sends it, not as moto does: the members
ECS adds to a registered task definition (ARN, revision, status,
requiresAttributes, compatibilities, registeredAt/By) and the members it reports
at their API defaults although nobody set them (`enableFaultInjection: false`,
`versionConsistency: "enabled"`, empty lists); a service behind a classic ELB
without `rolloutState` ("The rolloutState of a service is only returned for
services that use the rolling update (ECS) deployment type that aren't behind a
Classic Load Balancer", ECS API reference, Deployment) and with the
deploymentConfiguration members the spec never wrote (`strategy`,
`bakeTimeInMinutes`). `stubbed` queues them on botocore's Stubber, which checks
every one against the botocore output model before the tool reads it.
"""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from typing import Any

from botocore.loaders import Loader
from botocore.stub import Stubber

ACCOUNT = "123456789012"
REGION = "us-east-1"
CLUSTER = "AkkaCluster"
SERVICE = "akka-firehose-service"
REGISTERED_AT = datetime(2026, 11, 30, 9, 15, 2, 517000, tzinfo=UTC)


def no_canary(cluster: str = CLUSTER, service: str = SERVICE
              ) -> tuple[str, dict[str, Any], dict[str, Any]]:
    """The stubbed DescribeServices of the canary a release looks for whatever the spec says
    (engine/canary.live_canary): there is none, a MISSING failure (ECS API reference,
    Failure.reason)."""
    name = f"{service}-canary"
    return ("describe_services", {"services": [], "failures": [{
        "arn": f"arn:aws:ecs:{REGION}:{ACCOUNT}:service/{cluster}/{name}",
        "reason": "MISSING"}]}, {"cluster": cluster, "services": [name], "include": ["TAGS"]})
JENKINS = f"arn:aws:sts::{ACCOUNT}:assumed-role/jenkins-release/jenkins-akka-firehose-41"


def taskdef_arn(family: str, revision: int) -> str:
    return f"arn:aws:ecs:{REGION}:{ACCOUNT}:task-definition/{family}:{revision}"


def api_reference_example(operation: str) -> dict[str, Any]:
    """The example answer the ECS API reference gives for `operation` (botocore ships it)."""
    examples = Loader().load_service_model("ecs", "examples-1")["examples"][operation]
    return copy.deepcopy(examples[0]["output"])


def described_task_definition(registered: dict[str, Any], revision: int,
                              tags: dict[str, str] | None = None) -> dict[str, Any]:
    """DescribeTaskDefinition(include=[TAGS]) of `registered` (a RegisterTaskDefinition input)
    as real ECS answers it."""
    body = copy.deepcopy(registered)
    body.pop("tags", None)
    for container in body["containerDefinitions"]:
        container.setdefault("cpu", 0)
        container.setdefault("essential", True)
        for mapping in container.get("portMappings", []):
            mapping.setdefault("protocol", "tcp")
        container.setdefault("environment", [])
        container["environment"] = list(reversed(container["environment"]))  # order not kept
        container.update(mountPoints=container.get("mountPoints", []),
                         volumesFrom=container.get("volumesFrom", []),
                         systemControls=container.get("systemControls", []),
                         versionConsistency=container.get("versionConsistency", "enabled"))
    body.setdefault("networkMode", "bridge")
    body.setdefault("volumes", [])
    body.setdefault("placementConstraints", [])
    body.setdefault("enableFaultInjection", False)
    body.update(
        taskDefinitionArn=taskdef_arn(body["family"], revision), revision=revision,
        status="ACTIVE",
        requiresAttributes=[{"name": "com.amazonaws.ecs.capability.ecr-auth"},
                            {"name": "com.amazonaws.ecs.capability.docker-remote-api.1.25"},
                            {"name": "com.amazonaws.ecs.capability.docker-remote-api.1.21"}],
        compatibilities=["EXTERNAL", "EC2"], registeredAt=REGISTERED_AT, registeredBy=JENKINS)
    return {"taskDefinition": body,
            "tags": [{"key": k, "value": v} for k, v in (tags or {}).items()]}


def described_service(spec_service: dict[str, Any], taskdef: str) -> dict[str, Any]:
    """DescribeServices of a settled classic-ELB service created from `spec_service` (the
    spec's CreateService settings), running `taskdef`."""
    deployment_config = copy.deepcopy(spec_service.get("deploymentConfiguration", {}))
    deployment_config.setdefault("deploymentCircuitBreaker", {"enable": False, "rollback": False})
    deployment_config.setdefault("maximumPercent", 200)
    deployment_config.setdefault("minimumHealthyPercent", 100)
    deployment_config.update(strategy="ROLLING", bakeTimeInMinutes=0)
    count = spec_service["desiredCount"]
    service = {
        "serviceArn": f"arn:aws:ecs:{REGION}:{ACCOUNT}:service/{CLUSTER}/{SERVICE}",
        "serviceName": spec_service["serviceName"],
        "clusterArn": f"arn:aws:ecs:{REGION}:{ACCOUNT}:cluster/{CLUSTER}",
        "loadBalancers": copy.deepcopy(spec_service.get("loadBalancers", [])),
        "serviceRegistries": [], "status": "ACTIVE", "desiredCount": count,
        "runningCount": count, "pendingCount": 0, "launchType": "EC2",
        "taskDefinition": taskdef, "deploymentConfiguration": deployment_config,
        "deployments": [{
            "id": "ecs-svc/4962123851234567890", "status": "PRIMARY", "taskDefinition": taskdef,
            "desiredCount": count, "pendingCount": 0, "runningCount": count, "failedTasks": 0,
            "createdAt": REGISTERED_AT, "updatedAt": REGISTERED_AT, "launchType": "EC2"}],
        "roleArn": f"arn:aws:iam::{ACCOUNT}:role/{spec_service.get('role', 'ecsServiceRole')}",
        "events": [{"id": "9a1b3c5d-7e9f-4a2b-8c4d-6e8f0a2b4c6d", "createdAt": REGISTERED_AT,
                    "message": f"(service {SERVICE}) has reached a steady state."}],
        "createdAt": REGISTERED_AT, "placementConstraints": [], "placementStrategy": [],
        "healthCheckGracePeriodSeconds": spec_service.get("healthCheckGracePeriodSeconds", 0),
        "schedulingStrategy": "REPLICA", "deploymentController": {"type": "ECS"},
        "createdBy": f"arn:aws:iam::{ACCOUNT}:role/jenkins-release",
        "enableECSManagedTags": False, "propagateTags": "NONE", "enableExecuteCommand": False,
        "availabilityZoneRebalancing": "DISABLED",
    }
    return {"services": [service], "failures": []}


def described_images(repository: str, digest: str, tag: str) -> dict[str, Any]:
    return {"imageDetails": [{
        "registryId": ACCOUNT, "repositoryName": repository, "imageDigest": digest,
        "imageTags": [tag], "imageSizeInBytes": 48213411, "imagePushedAt": REGISTERED_AT,
        "imageManifestMediaType": "application/vnd.docker.distribution.manifest.v2+json",
        "artifactMediaType": "application/vnd.docker.container.image.v1+json"}]}


def offline_credentials(monkeypatch: Any) -> None:
    """Credentials that reach nothing: every answer of a replay comes from its Stubbers."""
    for name, value in {"AWS_ACCESS_KEY_ID": "replay", "AWS_SECRET_ACCESS_KEY": "replay",
                        "AWS_EC2_METADATA_DISABLED": "true"}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    monkeypatch.delenv("RELEASE_AWS_ENDPOINT", raising=False)


def stubbed(client: Any, answers: list[tuple[str, dict[str, Any], dict[str, Any] | None]]
            ) -> Stubber:
    """Activate a Stubber on `client` with (operation, response, expected params or None)
    queued in order; add_response validates each response against the output model."""
    stubber = Stubber(client)
    for operation, response, params in answers:
        stubber.add_response(operation, response, params)
    stubber.activate()
    return stubber
