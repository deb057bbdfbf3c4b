"""Real service definitions, created and then described: `release init` writes them back
and `plan` on them says no change.

Three documents of tests/corpus/services (Service Connect beside an ALB target group; an
EBS volume configured at launch; EC2 with a placement strategy and deployment alarms) are
made into the DescribeServices answer ECS gives after CreateService took them, in the
shape botocore's Stubber checks: the defaults ECS fills in, the service-linked role, the
capacity provider strategy with its `base`, and Service Connect and EBS settings on the
PRIMARY deployment only, the Service Connect namespace as its ARN and the discovery name
ECS derives from the port name. Two things are held: `release init`'s service document
(core/adopt.service_document) plans no change against that answer, and so does the
published document itself once its namespace name is resolved to the ARN ECS reports
(adapters/namespaces.py, on Cloud Map's ListNamespaces as the Stubber checks it).
"""

from __future__ import annotations

import copy
import dataclasses
import sys
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from shapes_taskdef import REGISTERED_AT
from stub_clients import stubbed_client

from release.adapters import namespaces
from release.adapters.apicheck import api_problems
from release.core import adopt, plan
from release.core.config import load_repo
from release.core.errors import InvalidInput

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "validate"))
from service_corpus import convert, references, taskdef_for  # noqa: E402

ACCOUNT, REGION, CLUSTER = "123456789012", "us-east-1", "apps"
SERVICE_LINKED = (f"arn:aws:iam::{ACCOUNT}:role/aws-service-role/ecs.amazonaws.com/"
                  "AWSServiceRoleForECS")
NAMESPACE_ID = "ns-abcdefghijklmnop"
CORPUS_SERVICES = ("cruddur-backend-flask.json", "awscli-create-service-ebs.json",
                   "ecspresso-celeron1ghz-nano-instance.json")


def namespace_arn(name: str) -> str:
    """The ARN ECS reports for a Service Connect namespace a request named (its id, not
    its name: arn:aws:servicediscovery:REGION:ACCOUNT:namespace/ns-...)."""
    return f"arn:aws:servicediscovery:{REGION}:{ACCOUNT}:namespace/{NAMESPACE_ID}"


def described(request: dict[str, Any], family: str) -> dict[str, Any]:
    """DescribeServices of the service CreateService made from `request`: what the request
    states, the defaults ECS fills in, and the deployment-only settings on PRIMARY."""
    stated = copy.deepcopy(request)
    revision = f"arn:aws:ecs:{REGION}:{ACCOUNT}:task-definition/{family}:1"
    strategy = [{"base": 0, **item} for item in stated.get("capacityProviderStrategy") or []]
    launch = {} if strategy else {"launchType": stated.get("launchType", "EC2")}
    fargate = launch.get("launchType") == "FARGATE" or any(
        i["capacityProvider"].startswith("FARGATE") for i in strategy)
    network = copy.deepcopy(stated.get("networkConfiguration"))
    if network:
        network["awsvpcConfiguration"].setdefault("assignPublicIp", "DISABLED")
    deployment_config = {"deploymentCircuitBreaker": {"enable": False, "rollback": False},
                         "maximumPercent": 200, "minimumHealthyPercent": 100,
                         "strategy": "ROLLING", "bakeTimeInMinutes": 0,
                         **(stated.get("deploymentConfiguration") or {})}
    platform = ({"platformVersion": stated.get("platformVersion", "LATEST"),
                 "platformFamily": "Linux"} if fargate else {})
    deployment: dict[str, Any] = {
        "id": "ecs-svc/1234567890123456789", "status": "PRIMARY", "taskDefinition": revision,
        "desiredCount": stated.get("desiredCount", 0), "pendingCount": 0,
        "runningCount": stated.get("desiredCount", 0), "failedTasks": 0,
        "createdAt": REGISTERED_AT, "updatedAt": REGISTERED_AT, **launch, **platform,
        "rolloutState": "COMPLETED", "rolloutStateReason": "ECS deployment completed."}
    if strategy:
        deployment["capacityProviderStrategy"] = strategy
    if network:
        deployment["networkConfiguration"] = network
    connect = copy.deepcopy(stated.get("serviceConnectConfiguration"))
    if connect:
        connect["namespace"] = namespace_arn(connect.get("namespace", "default"))
        for item in connect.get("services") or []:
            item.setdefault("discoveryName", item["portName"])
        deployment["serviceConnectConfiguration"] = connect
        deployment["serviceConnectResources"] = [
            {"discoveryName": s["discoveryName"],
             "discoveryArn": f"arn:aws:servicediscovery:{REGION}:{ACCOUNT}:service/srv-{i}"}
            for i, s in enumerate(connect.get("services") or [])]
    if stated.get("volumeConfigurations"):
        deployment["volumeConfigurations"] = copy.deepcopy(stated["volumeConfigurations"])
    service = {
        "serviceArn": f"arn:aws:ecs:{REGION}:{ACCOUNT}:service/{CLUSTER}/{stated['serviceName']}",
        "serviceName": stated["serviceName"],
        "clusterArn": f"arn:aws:ecs:{REGION}:{ACCOUNT}:cluster/{CLUSTER}",
        "loadBalancers": stated.get("loadBalancers", []),
        "serviceRegistries": stated.get("serviceRegistries", []), "status": "ACTIVE",
        "desiredCount": stated.get("desiredCount", 0), "runningCount": 0, "pendingCount": 0,
        **launch, **platform, "taskDefinition": revision,
        "deploymentConfiguration": deployment_config, "deployments": [deployment],
        "roleArn": SERVICE_LINKED, "events": [], "createdAt": REGISTERED_AT,
        "placementConstraints": stated.get("placementConstraints", []),
        "placementStrategy": stated.get("placementStrategy", []),
        "healthCheckGracePeriodSeconds": stated.get("healthCheckGracePeriodSeconds", 0),
        "schedulingStrategy": stated.get("schedulingStrategy", "REPLICA"),
        "deploymentController": stated.get("deploymentController", {"type": "ECS"}),
        "createdBy": f"arn:aws:iam::{ACCOUNT}:role/deployer",
        "enableECSManagedTags": stated.get("enableECSManagedTags", False),
        "propagateTags": stated.get("propagateTags", "NONE"),
        "enableExecuteCommand": stated.get("enableExecuteCommand", False),
        # CreateService, availabilityZoneRebalancing: "For create service requests, when no
        # value is specified for AvailabilityZoneRebalancing, Amazon ECS defaults the value
        # to ENABLED."
        "availabilityZoneRebalancing": stated.get("availabilityZoneRebalancing", "ENABLED"),
    }
    if strategy:
        service["capacityProviderStrategy"] = strategy
    if network:
        service["networkConfiguration"] = network
    return {"services": [service], "failures": []}


@pytest.fixture
def ecs() -> Iterator[tuple[Any, Any]]:
    yield from stubbed_client("ecs")


def live_service(ecs: tuple[Any, Any], request: dict[str, Any], family: str) -> dict[str, Any]:
    client, stub = ecs
    stub.add_response("describe_services", described(request, family))
    return client.describe_services(cluster=CLUSTER,
                                    services=[request["serviceName"]])["services"][0]


def spec_with(service: dict[str, Any]) -> Any:
    spec = load_repo(ROOT).services_of("sandbox-alb")[0]
    return dataclasses.replace(spec, service=service)


def corpus_service(name: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """The document as the spec states it, and the task definition the service runs."""
    service, _ = convert(name)
    taskdef = taskdef_for(Path(name).stem, service, references(service))
    for container in taskdef["containerDefinitions"]:
        container["image"] = f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/app:1"
    return service, taskdef


@pytest.mark.parametrize("name", CORPUS_SERVICES)
def test_init_of_a_live_corpus_service_plans_no_change(ecs, name: str) -> None:
    service, taskdef = corpus_service(name)
    live = live_service(ecs, service, taskdef["family"])
    adopted = adopt.LiveService(env="apps", account=ACCOUNT, region=REGION, cluster=CLUSTER,
                                service=live, taskdef=taskdef)
    container = adopt.image_container(live, taskdef)
    written = adopt.service_document(adopted, container,
                                     f"taskdefs/{taskdef['family']}.json")["service"]
    assert plan.service_changes(spec_with(written), live) == ([], [])
    # and what init writes is a request CreateService takes
    assert api_problems("CreateService", {**written, "taskDefinition": "corpus:1"}) == []
    assert "role" not in written  # the service-linked role is ECS's own


@pytest.fixture
def cloud_map() -> Iterator[tuple[Any, Any]]:
    yield from stubbed_client("servicediscovery")


def listed(name: str, *, arn: str | None = None) -> dict[str, Any]:
    """A ListNamespaces page holding the namespace `name`."""
    return {"Namespaces": [{
        "Id": NAMESPACE_ID, "Arn": arn or namespace_arn(name), "Name": name,
        "Type": "DNS_PRIVATE", "ServiceCount": 1, "CreateDate": REGISTERED_AT,
        "Properties": {"DnsProperties": {"HostedZoneId": "Z0123456789ABCDEFGHIJ"}}}]}


def by_name(name: str, token: str | None = None) -> dict[str, Any]:
    params: dict[str, Any] = {"Filters": [{"Name": "NAME", "Values": [name], "Condition": "EQ"}]}
    return {**params, "NextToken": token} if token else params


def resolved(cloud_map: tuple[Any, Any], spec: Any) -> Any:
    """engine/desired.resolve_names' namespace step on a stubbed Cloud Map."""
    client, _ = cloud_map
    env = load_repo(ROOT).environment("sandbox-alb")
    return namespaces.resolve(SimpleNamespace(servicediscovery=client), env, spec)


@pytest.mark.parametrize("name", CORPUS_SERVICES)
def test_the_published_document_plans_no_change_once_its_namespace_is_resolved(
        ecs, cloud_map, name: str) -> None:
    service, taskdef = corpus_service(name)
    live = live_service(ecs, service, taskdef["family"])
    connect = service.get("serviceConnectConfiguration")
    if connect and connect.get("namespace"):
        # ListNamespaces "gets MaxResults namespaces and then filters them": a first page
        # may hold none of them and a token
        cloud_map[1].add_response("list_namespaces", {"Namespaces": [], "NextToken": "t1"},
                                  by_name(connect["namespace"]))
        cloud_map[1].add_response("list_namespaces", listed(connect["namespace"]),
                                  by_name(connect["namespace"], "t1"))
    spec = resolved(cloud_map, spec_with(service))
    assert plan.service_changes(spec, live) == ([], [])


def test_a_namespace_by_name_against_the_arn_ecs_reports_is_a_change_unresolved(ecs) -> None:
    """Why the namespace is resolved before plan compares: compared as written, the name
    the document gives and the ARN ECS answers with differ."""
    service, taskdef = corpus_service("cruddur-backend-flask.json")
    live = live_service(ecs, service, taskdef["family"])
    updatable, recreate = plan.service_changes(spec_with(service), live)
    assert [c.path for c in updatable] == ["service.serviceConnectConfiguration.namespace"]
    assert recreate == []


def test_a_namespace_arn_is_kept_and_an_unknown_or_ambiguous_name_is_refused(
        cloud_map) -> None:
    service, _ = corpus_service("cruddur-backend-flask.json")
    arn = namespace_arn("cruddur")
    as_arn = {**service, "serviceConnectConfiguration": {
        **service["serviceConnectConfiguration"], "namespace": arn}}
    assert resolved(cloud_map, spec_with(as_arn)).service == as_arn  # no call
    cloud_map[1].add_response("list_namespaces", {"Namespaces": []}, by_name("cruddur"))
    with pytest.raises(InvalidInput) as missing:
        resolved(cloud_map, spec_with(service))
    assert "'cruddur'" in missing.value.message and "does not exist" in missing.value.message
    other = arn.replace(ACCOUNT, "210987654321")
    cloud_map[1].add_response("list_namespaces", {"Namespaces": [
        *listed("cruddur")["Namespaces"], *listed("cruddur", arn=other)["Namespaces"]]},
        by_name("cruddur"))
    with pytest.raises(InvalidInput) as ambiguous:
        resolved(cloud_map, spec_with(service))
    assert "2 Cloud Map namespaces" in ambiguous.value.message
    assert "/service/serviceConnectConfiguration/namespace" in ambiguous.value.hint
