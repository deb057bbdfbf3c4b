"""The emulator's ALB target groups: ECS registers each task's target, health checks turn it
healthy after HealthyThresholdCount × interval, a deregistered target drains for the
target group's deregistration delay, and the old task stops only after it."""

from __future__ import annotations

from typing import Any

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
    world.run_until(lambda: len(health(world, arn)) == 2)
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
    assert world.run_until(world.steady, limit=60) >= 0

    world.update(dynamic_task_definition(world, note="v2"))
    world.run_until(lambda: any(d["TargetHealth"]["State"] == "draining"
                                for d in health(world, arn)), limit=120)
    draining = [d for d in health(world, arn) if d["TargetHealth"]["State"] == "draining"]
    assert draining[0]["TargetHealth"]["Reason"] == "Target.DeregistrationInProgress"
    old = {(d["Target"]["Id"], d["Target"]["Port"]) for d in first}
    assert {(d["Target"]["Id"], d["Target"]["Port"]) for d in draining} <= old
    # the old task keeps running (DEACTIVATING) until the delay is over
    assert any(t["lastStatus"] == "DEACTIVATING" for t in world.all_tasks())
    world.run_until(world.steady, limit=200)
    states = health(world, arn, Targets=[{"Id": i, "Port": p} for i, p in sorted(old)])
    assert {d["TargetHealth"]["State"] for d in states} == {"unused"}
    assert any("registered 1 targets in (target-group" in m for m in world.messages())
    assert any("deregistered 1 targets in (target-group" in m for m in world.messages())
