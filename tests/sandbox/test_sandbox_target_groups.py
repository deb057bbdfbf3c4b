"""The emulator's ALB target groups: ECS registers each task's target, health checks turn it
healthy after HealthyThresholdCount × interval, a deregistered target drains for the
target group's deregistration delay, and the old task stops only after it."""

from __future__ import annotations

from typing import Any

import botocore.exceptions
import pytest
from sandbox_world import CLUSTER, CONTAINER, SERVICE, World

TG = "akka-tg"


def build_alb(world: World, delay: int = 20, interval: int = 5, healthy: int = 2) -> str:
    """An ALB target group (instance targets) beside the classic world's instances."""
    ec2 = world.sb.client("ec2")
    vpc = ec2.describe_vpcs()["Vpcs"][0]["VpcId"]
    elbv2 = world.sb.client("elbv2")
    arn = elbv2.create_target_group(
        Name=TG, Protocol="HTTP", Port=8080, VpcId=vpc, TargetType="instance",
        HealthCheckPath="/api/healthcheck", HealthCheckIntervalSeconds=interval,
        HealthCheckTimeoutSeconds=3, HealthyThresholdCount=healthy,
        UnhealthyThresholdCount=2)["TargetGroups"][0]["TargetGroupArn"]
    elbv2.modify_target_group_attributes(TargetGroupArn=arn, Attributes=[
        {"Key": "deregistration_delay.timeout_seconds", "Value": str(delay)}])
    return arn


def dynamic_task_definition(world: World, note: str = "") -> str:
    return world.ecs.register_task_definition(
        family="akka-demo", networkMode="bridge", requiresCompatibilities=["EC2"],
        containerDefinitions=[{
            "name": CONTAINER, "image": "akka@sha256:" + "1" * 64, "cpu": 256, "memory": 256,
            "essential": True, "environment": [{"name": "NOTE", "value": note}],
            "portMappings": [{"containerPort": 8080, "hostPort": 0, "protocol": "tcp"}]}],
    )["taskDefinition"]["taskDefinitionArn"]


def create_service(world: World, arn: str, taskdef: str, desired: int = 2) -> None:
    world.ecs.create_service(
        cluster=CLUSTER, serviceName=SERVICE, taskDefinition=taskdef, desiredCount=desired,
        launchType="EC2", healthCheckGracePeriodSeconds=10,
        loadBalancers=[{"targetGroupArn": arn, "containerName": CONTAINER,
                        "containerPort": 8080}],
        deploymentConfiguration={"minimumHealthyPercent": 100, "maximumPercent": 200})


def health(world: World, arn: str, **named: Any) -> list[dict[str, Any]]:
    elbv2 = world.sb.client("elbv2")
    return elbv2.describe_target_health(TargetGroupArn=arn, **named)["TargetHealthDescriptions"]


def test_targets_turn_healthy_after_the_threshold_and_drain_for_the_delay(world: World) -> None:
    world.build(instances=1)
    arn = build_alb(world)
    create_service(world, arn, dynamic_task_definition(world))
    world.run_until(lambda: len(health(world, arn)) == 2, step=0.5)
    first = health(world, arn)
    assert {d["TargetHealth"]["State"] for d in first} == {"initial"}
    assert first[0]["TargetHealth"]["Reason"] == "Elb.RegistrationInProgress"
    # two tasks on one instance: one target each, on distinct ephemeral host ports
    assert {d["Target"]["Id"] for d in first} == set(world.instance_ids)
    ports = {d["Target"]["Port"] for d in first}
    assert len(ports) == 2 and all(p >= 49153 for p in ports)
    took = world.run_until(lambda: all(d["TargetHealth"]["State"] == "healthy"
                                       for d in health(world, arn)))
    assert 5 <= took <= 11  # HealthyThresholdCount 2 × interval 5 s after registration
    assert world.run_until(world.steady, limit=60, step=2) >= 0

    world.update(dynamic_task_definition(world, note="v2"))
    world.run_until(lambda: any(d["TargetHealth"]["State"] == "draining"
                                for d in health(world, arn)), limit=120, step=2)
    draining = [d for d in health(world, arn) if d["TargetHealth"]["State"] == "draining"]
    assert draining[0]["TargetHealth"]["Reason"] == "Target.DeregistrationInProgress"
    old = {(d["Target"]["Id"], d["Target"]["Port"]) for d in first}
    assert {(d["Target"]["Id"], d["Target"]["Port"]) for d in draining} <= old
    # the old task keeps running (DEACTIVATING) until the delay is over
    assert any(t["lastStatus"] == "DEACTIVATING" for t in world.all_tasks())
    world.run_until(world.steady, limit=200, step=2)
    states = health(world, arn, Targets=[{"Id": i, "Port": p} for i, p in sorted(old)])
    assert {d["TargetHealth"]["State"] for d in states} == {"unused"}
    assert any("registered 1 targets in (target-group" in m for m in world.messages())
    assert any("deregistered 1 targets in (target-group" in m for m in world.messages())


def fargate_world(world: World, delay: int = 10) -> tuple[str, dict[str, Any]]:
    """A cluster without instances, a subnet and security group, an `ip` target group."""
    ec2, elbv2 = world.sb.client("ec2"), world.sb.client("elbv2")
    world.ecs.create_cluster(clusterName=CLUSTER)
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.0.1.0/24")["Subnet"]["SubnetId"]
    group = ec2.create_security_group(GroupName="tasks", Description="tasks",
                                      VpcId=vpc)["GroupId"]
    arn = elbv2.create_target_group(
        Name=TG, Protocol="HTTP", Port=8080, VpcId=vpc, TargetType="ip",
        HealthCheckIntervalSeconds=5, HealthyThresholdCount=2,
        UnhealthyThresholdCount=2)["TargetGroups"][0]["TargetGroupArn"]
    elbv2.modify_target_group_attributes(TargetGroupArn=arn, Attributes=[
        {"Key": "deregistration_delay.timeout_seconds", "Value": str(delay)}])
    return arn, {"awsvpcConfiguration": {"subnets": [subnet], "securityGroups": [group]}}


def fargate_task_definition(world: World, note: str = "", fault: str = "") -> str:
    environment = [{"name": "NOTE", "value": note}]
    if fault:
        environment.append({"name": "RELEASE_SANDBOX_FAULT", "value": fault})
    return world.ecs.register_task_definition(
        family="akka-demo-fargate", networkMode="awsvpc", requiresCompatibilities=["FARGATE"],
        cpu="256", memory="512",
        containerDefinitions=[{
            "name": CONTAINER, "image": "akka@sha256:" + "1" * 64, "essential": True,
            "environment": environment,
            "portMappings": [{"containerPort": 8080, "protocol": "tcp"}]}],
    )["taskDefinition"]["taskDefinitionArn"]


def test_fargate_tasks_get_a_network_interface_and_register_by_ip(world: World) -> None:
    arn, network = fargate_world(world)
    world.ecs.create_service(
        cluster=CLUSTER, serviceName=SERVICE, taskDefinition=fargate_task_definition(world),
        desiredCount=2, launchType="FARGATE", networkConfiguration=network,
        healthCheckGracePeriodSeconds=10,
        loadBalancers=[{"targetGroupArn": arn, "containerName": CONTAINER,
                        "containerPort": 8080}],
        deploymentConfiguration={"minimumHealthyPercent": 100, "maximumPercent": 200,
                                 "deploymentCircuitBreaker": {"enable": True,
                                                              "rollback": True}})
    world.run_until(world.steady, limit=60, step=2)
    tasks = world.tasks()
    assert len(tasks) == 2
    addresses = set()
    for task in tasks:
        assert task["launchType"] == "FARGATE" and "containerInstanceArn" not in task
        (eni,) = [a for a in task["attachments"] if a["type"] == "ElasticNetworkInterface"]
        details = {d["name"]: d["value"] for d in eni["details"]}
        assert details["subnetId"] == network["awsvpcConfiguration"]["subnets"][0]
        assert task["containers"][0]["networkInterfaces"] == [
            {"attachmentId": eni["id"], "privateIpv4Address": details["privateIPv4Address"]}]
        assert not task["containers"][0].get("networkBindings")
        addresses.add(details["privateIPv4Address"])
    healthy = health(world, arn)
    assert {(d["Target"]["Id"], d["Target"]["Port"]) for d in healthy} == {
        (a, 8080) for a in addresses}
    assert {d["TargetHealth"]["State"] for d in healthy} == {"healthy"}
    # behind a target group ECS reports rolloutState (not so behind a classic ELB)
    assert world.service()["deployments"][0]["rolloutState"] == "COMPLETED"

    world.update(fargate_task_definition(world, note="v2"))
    world.run_until(lambda: any(d["TargetHealth"]["State"] == "draining"
                                for d in health(world, arn)), limit=60, step=2)
    world.run_until(world.steady, limit=120, step=2)
    new = {d["Target"]["Id"] for d in health(world, arn)}
    assert len(new) == 2 and not new & addresses


def test_failing_targets_are_replaced_and_api_callers_targets_are_followed(world: World) -> None:
    arn, network = fargate_world(world)
    world.ecs.create_service(
        cluster=CLUSTER, serviceName=SERVICE, launchType="FARGATE", desiredCount=1,
        taskDefinition=fargate_task_definition(world, fault="unhealthy"),
        networkConfiguration=network, healthCheckGracePeriodSeconds=0,
        loadBalancers=[{"targetGroupArn": arn, "containerName": CONTAINER,
                        "containerPort": 8080}])
    world.run_until(lambda: world.tasks("STOPPED"), limit=60, step=2)
    (stopped,) = world.tasks("STOPPED")[:1]
    assert stopped["stoppedReason"] == f"Task failed ELB health checks in (target-group {arn})"
    assert any("is unhealthy in (target-group" in m for m in world.messages())

    elbv2 = world.sb.client("elbv2")
    with pytest.raises(botocore.exceptions.ClientError) as missing:
        elbv2.describe_target_health(TargetGroupArn=arn.replace("akka-tg", "nope-tg"))
    assert missing.value.response["Error"]["Code"] == "TargetGroupNotFound"
    # a target an API caller registers: initial, then unhealthy (no task answers there)
    elbv2.register_targets(TargetGroupArn=arn, Targets=[{"Id": "10.0.9.9", "Port": 8080}])
    named = {"Targets": [{"Id": "10.0.9.9", "Port": 8080}]}
    assert health(world, arn, **named)[0]["TargetHealth"]["State"] == "initial"
    world.sb.advance(12)
    assert health(world, arn, **named)[0]["TargetHealth"] == {
        "State": "unhealthy", "Reason": "Target.FailedHealthChecks",
        "Description": "Health checks failed"}
    elbv2.deregister_targets(TargetGroupArn=arn, Targets=[{"Id": "10.0.9.8", "Port": 8080}])
    elbv2.deregister_targets(TargetGroupArn=arn, Targets=[{"Id": "10.0.9.9", "Port": 8080}])
    assert health(world, arn, **named)[0]["TargetHealth"]["State"] == "unused"
