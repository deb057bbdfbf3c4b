"""ECS-native strategies in the emulator: lifecycle stages, traffic steps, bake time, PAUSE
hooks, alarms and StopServiceDeployment's rollback, read back through the service-deployment
API that moto lacks (sandbox/release_sandbox/native.py)."""

from __future__ import annotations

from typing import Any

import pytest
from sandbox_world import CLUSTER, CONTAINER, SERVICE, World

RULE = ("arn:aws:elasticloadbalancing:us-east-1:123456789012:listener-rule/app/akka/"
        "0123456789abcdef/0123456789abcdef/0123456789abcdef")


def taskdef(world: World, note: str) -> str:
    answer = world.ecs.register_task_definition(
        family="akka-demo", networkMode="bridge", containerDefinitions=[{
            "name": CONTAINER, "image": "akka-firehose@sha256:" + "1" * 64, "cpu": 1024,
            "memory": 1024, "essential": True, "environment": [{"name": "N", "value": note}],
            "portMappings": [{"containerPort": 8080, "hostPort": 0}]}])
    return answer["taskDefinition"]["taskDefinitionArn"]


def target_group(world: World, name: str) -> str:
    """An ALB target group (instance targets, 2 checks 5 s apart, 5 s deregistration delay)."""
    vpc = world.sb.client("ec2").describe_vpcs()["Vpcs"][0]["VpcId"]
    elbv2 = world.sb.client("elbv2")
    arn = elbv2.create_target_group(
        Name=name, Protocol="HTTP", Port=8080, VpcId=vpc, TargetType="instance",
        HealthCheckPath="/api/healthcheck", HealthCheckIntervalSeconds=5,
        HealthCheckTimeoutSeconds=3, HealthyThresholdCount=2,
        UnhealthyThresholdCount=2)["TargetGroups"][0]["TargetGroupArn"]
    elbv2.modify_target_group_attributes(TargetGroupArn=arn, Attributes=[
        {"Key": "deregistration_delay.timeout_seconds", "Value": "5"}])
    return arn


def native_service(world: World, **configuration: Any) -> tuple[str, str]:
    """A service on target groups with `configuration`, released once; (blue, green) arns."""
    blue, green = taskdef(world, "1"), taskdef(world, "2")
    tg, alt = target_group(world, "blue"), target_group(world, "green")
    world.ecs.create_service(
        cluster=CLUSTER, serviceName=SERVICE, taskDefinition=blue, desiredCount=2,
        launchType="EC2", deploymentConfiguration={
            "maximumPercent": 200, "minimumHealthyPercent": 100, **configuration},
        loadBalancers=[{"targetGroupArn": tg, "containerName": CONTAINER, "containerPort": 8080,
                        "advancedConfiguration": {
                            "alternateTargetGroupArn": alt, "productionListenerRule": RULE,
                            "roleArn": "arn:aws:iam::123456789012:role/ecsInfrastructure"}}])
    world.run_until(lambda: latest(world)["status"] == "SUCCESSFUL", limit=3600, step=5)
    return blue, green


def latest(world: World) -> dict[str, Any]:
    briefs = world.ecs.list_service_deployments(cluster=CLUSTER, service=SERVICE)
    arn = briefs["serviceDeployments"][0]["serviceDeploymentArn"]
    return world.ecs.describe_service_deployments(serviceDeploymentArns=[arn])[
        "serviceDeployments"][0]


def follow(world: World, until: Any, limit: float = 3600, step: float = 1.0
           ) -> list[dict[str, Any]]:
    """Every distinct (status, stage, traffic) the deployment passes through, until `until`."""
    seen: list[dict[str, Any]] = []

    def done() -> bool:
        d = latest(world)
        key = (d["status"], d["lifecycleStage"],
               d["targetServiceRevision"]["requestedProductionTrafficWeight"])
        if not seen or seen[-1]["key"] != key:
            seen.append({"key": key, "at": world.sb.clock.now(), "d": d})
        return until(d)

    world.run_until(done, limit=limit, step=step)
    return seen


def running_revisions(world: World) -> list[str]:
    return sorted(t["taskDefinitionArn"].rsplit("/", 1)[-1] for t in world.tasks())


@pytest.fixture
def built(world: World) -> World:
    return world.build(instances=2, cpu=2048)


def test_blue_green_passes_the_stages_in_order_keeps_blue_through_the_bake(built) -> None:
    world = built
    _blue, green = native_service(world, strategy="BLUE_GREEN", bakeTimeInMinutes=1)
    world.ecs.update_service(cluster=CLUSTER, service=SERVICE, taskDefinition=green)
    seen = follow(world, lambda d: d["status"] == "SUCCESSFUL")
    stages = [s["key"][1] for s in seen]
    assert [s for i, s in enumerate(stages) if s not in stages[:i]] == [
        "PRE_SCALE_UP", "SCALE_UP", "POST_SCALE_UP", "TEST_TRAFFIC_SHIFT",
        "POST_TEST_TRAFFIC_SHIFT", "PRODUCTION_TRAFFIC_SHIFT",
        "POST_PRODUCTION_TRAFFIC_SHIFT", "BAKE_TIME", "CLEAN_UP"]
    bake = next(s for s in seen if s["key"][1] == "BAKE_TIME")
    clean = next(s for s in seen if s["key"][1] == "CLEAN_UP")
    assert clean["at"] - bake["at"] >= 60
    assert bake["d"]["sourceServiceRevisions"][0]["runningTaskCount"] == 2  # blue still runs
    assert bake["d"]["targetServiceRevision"]["requestedProductionTrafficWeight"] == 100.0
    assert running_revisions(world) == ["akka-demo:2", "akka-demo:2"]
    assert world.service()["taskDefinition"].endswith("akka-demo:2")


def test_linear_shifts_production_traffic_in_steps_with_a_bake_between(built) -> None:
    world = built
    native_service(world, strategy="LINEAR",
                   linearConfiguration={"stepPercent": 25.0, "stepBakeTimeInMinutes": 1},
                   bakeTimeInMinutes=0)
    world.ecs.update_service(cluster=CLUSTER, service=SERVICE,
                             taskDefinition=taskdef(world, "3"))
    seen = follow(world, lambda d: d["status"] == "SUCCESSFUL", step=5)
    steps = [s for s in seen if s["key"][1] == "PRODUCTION_TRAFFIC_SHIFT"]
    # the last step has no bake after it ("not applied after reaching 100 percent traffic")
    assert [s["key"][2] for s in steps][:3] == [25.0, 50.0, 75.0]
    assert seen[-1]["key"][2] == 100.0
    assert all(b["at"] - a["at"] >= 60 for a, b in zip(steps, steps[1:], strict=False))
    blue = steps[1]["d"]["sourceServiceRevisions"][0]
    assert blue["requestedProductionTrafficWeight"] == 50.0


def test_a_pause_hook_waits_for_continue_service_deployment(built) -> None:
    world = built
    hook = {"targetType": "PAUSE", "lifecycleStages": ["POST_TEST_TRAFFIC_SHIFT"]}
    native_service(world, strategy="BLUE_GREEN", bakeTimeInMinutes=0)
    world.ecs.update_service(cluster=CLUSTER, service=SERVICE, taskDefinition=taskdef(world, "3"),
                             deploymentConfiguration={"strategy": "BLUE_GREEN",
                                                      "bakeTimeInMinutes": 0,
                                                      "lifecycleHooks": [hook]})
    world.run_until(lambda: any(h["status"] == "AWAITING_ACTION"
                                for h in latest(world)["lifecycleHookDetails"]), step=5)
    world.sb.advance(600)
    paused = latest(world)
    assert (paused["status"], paused["lifecycleStage"]) == ("IN_PROGRESS",
                                                           "POST_TEST_TRAFFIC_SHIFT")
    assert paused["targetServiceRevision"]["requestedProductionTrafficWeight"] == 0.0
    hook_id = paused["lifecycleHookDetails"][0]["hookId"]
    world.ecs.continue_service_deployment(serviceDeploymentArn=paused["serviceDeploymentArn"],
                                          hookId=hook_id, action="CONTINUE")
    world.run_until(lambda: latest(world)["status"] == "SUCCESSFUL", step=5)
    assert latest(world)["lifecycleHookDetails"][0]["status"] == "SUCCEEDED"
    with pytest.raises(world.ecs.exceptions.InvalidParameterException):
        world.ecs.continue_service_deployment(
            serviceDeploymentArn=paused["serviceDeploymentArn"], hookId=hook_id)


def test_an_alarm_in_alarm_rolls_back_to_blue_during_the_bake(built) -> None:
    world = built
    cloudwatch = world.sb.client("cloudwatch")
    cloudwatch.put_metric_alarm(AlarmName="akka-5xx", MetricName="HTTPCode_Target_5XX_Count",
                                Namespace="AWS/ApplicationELB", Statistic="Sum", Period=60,
                                EvaluationPeriods=1, Threshold=1,
                                ComparisonOperator="GreaterThanThreshold")
    _blue, green = native_service(world, strategy="BLUE_GREEN", bakeTimeInMinutes=5, alarms={
        "alarmNames": ["akka-5xx"], "enable": True, "rollback": True})
    world.update(green)
    world.run_until(lambda: latest(world)["lifecycleStage"] == "BAKE_TIME", step=5)
    cloudwatch.set_alarm_state(AlarmName="akka-5xx", StateValue="ALARM", StateReason="test")
    seen = follow(world, lambda d: d["status"] == "ROLLBACK_SUCCESSFUL")
    assert "ROLLBACK_IN_PROGRESS" in [s["key"][0] for s in seen]
    done = seen[-1]["d"]
    assert done["alarms"]["triggeredAlarmNames"] == ["akka-5xx"]
    assert done["rollback"]["serviceRevisionArn"] == done["sourceServiceRevisions"][0]["arn"]
    assert "akka-5xx" in done["rollback"]["reason"]
    assert running_revisions(world) == ["akka-demo:1", "akka-demo:1"]
    assert world.service()["taskDefinition"].endswith("akka-demo:1")


def test_stop_service_deployment_rolls_back_and_refuses_a_second_stop(built) -> None:
    world = built
    _blue, green = native_service(world, strategy="CANARY", bakeTimeInMinutes=0,
                                  canaryConfiguration={"canaryPercent": 10.0,
                                                       "canaryBakeTimeInMinutes": 5})
    world.update(green)
    world.run_until(lambda: latest(world)["lifecycleStage"] == "PRODUCTION_TRAFFIC_SHIFT",
                    step=5)
    arn = latest(world)["serviceDeploymentArn"]
    assert latest(world)["targetServiceRevision"]["requestedProductionTrafficWeight"] == 10.0
    world.ecs.stop_service_deployment(serviceDeploymentArn=arn, stopType="ROLLBACK")
    world.run_until(lambda: latest(world)["status"] == "ROLLBACK_SUCCESSFUL", step=5)
    assert running_revisions(world) == ["akka-demo:1", "akka-demo:1"]
    with pytest.raises(world.ecs.exceptions.ConflictException):
        world.ecs.stop_service_deployment(serviceDeploymentArn=arn, stopType="ROLLBACK")
    missing = world.ecs.describe_service_deployments(serviceDeploymentArns=[arn + "0"])
    assert missing["failures"][0]["reason"] == "MISSING"


def test_describe_service_revisions_names_each_revisions_task_definition(built) -> None:
    """ServiceRevision.taskDefinition ("The task definition the service revision uses") for
    the target and source of a deployment; an ARN no deployment made is a failure."""
    world = built
    blue, green = native_service(world, strategy="BLUE_GREEN", bakeTimeInMinutes=0)
    world.ecs.update_service(cluster=CLUSTER, service=SERVICE, taskDefinition=green)
    world.run_until(lambda: latest(world)["status"] == "SUCCESSFUL", step=5)
    deployment = latest(world)
    target = deployment["targetServiceRevision"]["arn"]
    source = deployment["sourceServiceRevisions"][0]["arn"]
    unknown = target.rsplit("/", 1)[0] + "/0000000000000000000"
    answer = world.ecs.describe_service_revisions(serviceRevisionArns=[target, source, unknown])
    assert {r["serviceRevisionArn"]: r["taskDefinition"]
            for r in answer["serviceRevisions"]} == {target: green, source: blue}
    assert answer["failures"] == [{"arn": unknown, "reason": "MISSING"}]
