"""Every CreateService member a spec may state, against DescribeServices in the shape AWS gives.

A Fargate service on a capacity provider strategy, with Cloud Map, Service Connect and an
EBS volume configured at launch: DescribeServices reports the strategy and the registries on
the service and Service Connect and the volume on the PRIMARY deployment, with the members
nobody wrote at their defaults. Stated in a spec, none of it is a change; changed, each is
planned in place or refused as the UpdateService reference says.
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from shapes_taskdef import REGISTERED_AT
from stub_clients import stubbed_client

from release.core import plan
from release.core.config import load_repo

ROOT = Path(__file__).resolve().parents[2]
ACCOUNT, REGION = "123456789012", "us-east-1"
TASKDEF = f"arn:aws:ecs:{REGION}:{ACCOUNT}:task-definition/orders:7"
NAMESPACE = f"arn:aws:servicediscovery:{REGION}:{ACCOUNT}:namespace/ns-abcdefghijklmnop"
REGISTRY = f"arn:aws:servicediscovery:{REGION}:{ACCOUNT}:service/srv-abcdefghijklmnop"
TARGET_GROUP = (f"arn:aws:elasticloadbalancing:{REGION}:{ACCOUNT}:targetgroup/orders/"
                "0123456789abcdef")
EBS_ROLE = f"arn:aws:iam::{ACCOUNT}:role/ecsInfrastructureRole"

STATED: dict[str, Any] = {
    "serviceName": "orders",
    "desiredCount": 2,
    "capacityProviderStrategy": [{"capacityProvider": "FARGATE_SPOT", "weight": 3},
                                 {"capacityProvider": "FARGATE", "base": 1, "weight": 1}],
    "loadBalancers": [{"targetGroupArn": TARGET_GROUP, "containerName": "orders",
                       "containerPort": 8080}],
    "networkConfiguration": {"awsvpcConfiguration": {"subnets": ["subnet-0a1b2c3d"],
                                                     "securityGroups": ["sg-0a1b2c3d"]}},
    "serviceRegistries": [{"registryArn": REGISTRY}],
    "serviceConnectConfiguration": {
        "enabled": True, "namespace": NAMESPACE,
        "services": [{"portName": "http", "clientAliases": [{"port": 80, "dnsName": "orders"}]}]},
    "volumeConfigurations": [{"name": "data", "managedEBSVolume": {
        "roleArn": EBS_ROLE, "sizeInGiB": 20, "volumeType": "gp3", "filesystemType": "xfs"}}],
    "availabilityZoneRebalancing": "ENABLED",
}


def described(stated: dict[str, Any]) -> dict[str, Any]:
    """DescribeServices of that service as ECS keeps it: defaults filled in, the Service
    Connect and EBS settings on the PRIMARY deployment only."""
    network = copy.deepcopy(stated["networkConfiguration"])
    network["awsvpcConfiguration"]["assignPublicIp"] = "DISABLED"
    strategy = [{"base": 0, **item} for item in stated["capacityProviderStrategy"]]
    deployment = {
        "id": "ecs-svc/1234567890123456789", "status": "PRIMARY", "taskDefinition": TASKDEF,
        "desiredCount": 2, "pendingCount": 0, "runningCount": 2, "failedTasks": 0,
        "createdAt": REGISTERED_AT, "updatedAt": REGISTERED_AT,
        "capacityProviderStrategy": strategy, "platformVersion": "1.4.0",
        "platformFamily": "Linux", "networkConfiguration": network,
        "rolloutState": "COMPLETED", "rolloutStateReason": "ECS deployment completed.",
        "serviceConnectConfiguration": copy.deepcopy(stated["serviceConnectConfiguration"]),
        "serviceConnectResources": [{"discoveryName": "http", "discoveryArn": REGISTRY}],
        "volumeConfigurations": copy.deepcopy(stated["volumeConfigurations"]),
    }
    service = {
        "serviceArn": f"arn:aws:ecs:{REGION}:{ACCOUNT}:service/apps/orders",
        "serviceName": "orders", "clusterArn": f"arn:aws:ecs:{REGION}:{ACCOUNT}:cluster/apps",
        "loadBalancers": copy.deepcopy(stated["loadBalancers"]),
        "serviceRegistries": copy.deepcopy(stated["serviceRegistries"]), "status": "ACTIVE",
        "desiredCount": 2, "runningCount": 2, "pendingCount": 0,
        "capacityProviderStrategy": strategy, "platformVersion": "LATEST",
        "platformFamily": "Linux", "taskDefinition": TASKDEF,
        "deploymentConfiguration": {
            "deploymentCircuitBreaker": {"enable": False, "rollback": False},
            "maximumPercent": 200, "minimumHealthyPercent": 100, "strategy": "ROLLING",
            "bakeTimeInMinutes": 0},
        "deployments": [deployment], "events": [], "createdAt": REGISTERED_AT,
        "placementConstraints": [], "placementStrategy": [], "networkConfiguration": network,
        "healthCheckGracePeriodSeconds": 0, "schedulingStrategy": "REPLICA",
        "deploymentController": {"type": "ECS"}, "enableECSManagedTags": False,
        "propagateTags": "NONE", "enableExecuteCommand": False,
        "availabilityZoneRebalancing": "ENABLED",
        "roleArn": f"arn:aws:iam::{ACCOUNT}:role/aws-service-role/ecs.amazonaws.com/"
                   "AWSServiceRoleForECS",
    }
    return {"services": [service], "failures": []}


@pytest.fixture
def ecs() -> Iterator[tuple[Any, Any]]:
    yield from stubbed_client("ecs")


def live_service(ecs: tuple[Any, Any], stated: dict[str, Any]) -> dict[str, Any]:
    client, stub = ecs
    stub.add_response("describe_services", described(stated))
    return client.describe_services(cluster="apps", services=["orders"])["services"][0]


def spec_with(service: dict[str, Any]) -> Any:
    spec = load_repo(ROOT).services_of("sandbox-alb")[0]
    return dataclasses.replace(spec, service=service)


def test_every_member_stated_plans_no_change_against_what_ecs_keeps(ecs) -> None:
    live = live_service(ecs, STATED)
    assert plan.service_changes(spec_with(STATED), live) == ([], [])


def test_a_new_target_group_is_changed_in_place(ecs) -> None:
    live = live_service(ecs, STATED)
    wanted = copy.deepcopy(STATED)
    wanted["loadBalancers"][0]["targetGroupArn"] = TARGET_GROUP.replace("orders/", "orders2/")
    updatable, recreate = plan.service_changes(spec_with(wanted), live)
    assert [c.path for c in updatable] == ["service.loadBalancers"] and recreate == []


def test_a_changed_service_connect_alias_and_strategy_weight_are_in_place(ecs) -> None:
    live = live_service(ecs, STATED)
    wanted = copy.deepcopy(STATED)
    wanted["capacityProviderStrategy"][0]["weight"] = 1
    wanted["serviceConnectConfiguration"]["services"][0]["clientAliases"][0]["port"] = 8080
    updatable, recreate = plan.service_changes(spec_with(wanted), live)
    assert sorted(c.path for c in updatable) == [
        "service.capacityProviderStrategy", "service.serviceConnectConfiguration.services"]
    assert recreate == []


def test_a_launch_type_in_place_of_the_strategy_is_in_place_another_launch_type_is_not(
        ecs) -> None:
    live = live_service(ecs, STATED)
    to_launch_type = {k: v for k, v in STATED.items() if k != "capacityProviderStrategy"}
    _, recreate = plan.service_changes(spec_with({**to_launch_type, "launchType": "FARGATE"}),
                                       live)
    assert recreate == []
    on_ec2 = {**live, "launchType": "EC2"}
    del on_ec2["capacityProviderStrategy"]
    _, recreate = plan.service_changes(spec_with({**to_launch_type, "launchType": "FARGATE"}),
                                       on_ec2)
    assert [c.path for c in recreate] == ["service.launchType"]


def test_init_keeps_every_member_and_not_the_service_linked_role(ecs) -> None:
    from release.core import adopt

    live = live_service(ecs, STATED)
    adopted = adopt.LiveService(env="apps", account=ACCOUNT, region=REGION, cluster="apps",
                                service=live, taskdef={"family": "orders", "containerDefinitions": [
                                    {"name": "orders", "image": "orders:1"}]})
    written = adopt.service_document(adopted, "orders", "taskdefs/orders.json")["service"]
    for key in ("capacityProviderStrategy", "serviceRegistries", "serviceConnectConfiguration",
                "volumeConfigurations", "availabilityZoneRebalancing"):
        assert key in written, key
    assert "role" not in written and "launchType" not in written
    assert plan.service_changes(spec_with(written), live) == ([], [])


def test_a_strategy_naming_a_provider_the_cluster_lacks_is_refused_before_any_change(
        ecs) -> None:
    from release.adapters import live as live_state
    from release.core.errors import InvalidInput

    client, stub = ecs
    cluster = {"clusterArn": f"arn:aws:ecs:{REGION}:{ACCOUNT}:cluster/apps", "clusterName": "apps",
               "status": "ACTIVE", "capacityProviders": ["FARGATE", "FARGATE_SPOT"],
               "defaultCapacityProviderStrategy": [], "registeredContainerInstancesCount": 0,
               "runningTasksCount": 2, "pendingTasksCount": 0, "activeServicesCount": 1}
    stub.add_response("describe_clusters", {"clusters": [cluster], "failures": []},
                      {"clusters": ["AkkaCluster"]})
    stub.add_response("describe_clusters", {"clusters": [cluster], "failures": []},
                      {"clusters": ["AkkaCluster"]})
    spec = spec_with(STATED)
    env = load_repo(ROOT).environment("sandbox-alb")
    env = dataclasses.replace(env, cluster="AkkaCluster")
    live_state.check_capacity_providers(client, env, spec)
    wanted = copy.deepcopy(STATED)
    wanted["capacityProviderStrategy"].append({"capacityProvider": "asg-spot", "weight": 1})
    with pytest.raises(InvalidInput) as refused:
        live_state.check_capacity_providers(client, env, spec_with(wanted))
    assert "asg-spot" in refused.value.message
    assert "/service/capacityProviderStrategy/2/capacityProvider" in refused.value.message


def test_gateway_connectors_are_read_from_the_service_revision(ecs) -> None:
    from release.adapters import live as live_state

    client, stub = ecs
    revision_arn = f"arn:aws:ecs:{REGION}:{ACCOUNT}:service-revision/apps/orders/1234567890"
    connectors = [{"portName": "http", "deregistrationDelay": {"timeoutSeconds": 30}}]
    service = {**described(STATED)["services"][0],
               "currentServiceRevisions": [{"arn": revision_arn, "requestedTaskCount": 2,
                                            "runningTaskCount": 2, "pendingTaskCount": 0}]}
    stub.add_response("describe_service_revisions", {"serviceRevisions": [{
        "serviceRevisionArn": revision_arn, "taskDefinition": TASKDEF,
        "gatewayConnectors": connectors, "createdAt": REGISTERED_AT}], "failures": []},
        {"serviceRevisionArns": [revision_arn]})
    wanted = {**STATED, "gatewayConnectors": connectors}
    merged = live_state.with_revision_settings(client, service, spec_with(wanted))
    assert plan.service_changes(spec_with(wanted), merged) == ([], [])
    assert live_state.with_revision_settings(client, service, spec_with(STATED)) is service
