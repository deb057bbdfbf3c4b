"""The sandbox service on ALB target groups with an ECS-native strategy, for the scenarios.

The ALB, its listener and rule and the two target groups (blue, green) are made
through moto's ELBv2 API; environment.json describes them (loadBalancer.type
application) and the service spec names them in its loadBalancers entry with
the advancedConfiguration ECS shifts traffic with.
"""

from __future__ import annotations

from typing import Any

from engine_sandbox import CONTAINER, ENV_DOC, SPEC, Stage

ROLE = "arn:aws:iam::123456789012:role/ecsInfrastructureRoleForLoadBalancers"


def target_groups(stage: Stage) -> dict[str, str]:
    """ALB + listener + rule + blue and green target groups; their ARNs."""
    ec2, elbv2 = stage.sandbox.client("ec2"), stage.sandbox.client("elbv2")
    vpc = ec2.describe_vpcs()["Vpcs"][0]["VpcId"]
    subnets = [s["SubnetId"] for s in ec2.describe_subnets(
        Filters=[{"Name": "vpc-id", "Values": [vpc]}])["Subnets"]][:2]
    alb = elbv2.create_load_balancer(Name="akka-alb", Subnets=subnets)["LoadBalancers"][0]
    groups = {}
    for name in ("akka-blue", "akka-green"):
        groups[name] = elbv2.create_target_group(
            Name=name, Protocol="HTTP", Port=80, VpcId=vpc, TargetType="instance",
            HealthCheckPath="/api/healthcheck", HealthCheckIntervalSeconds=5,
            HealthCheckTimeoutSeconds=3, HealthyThresholdCount=2,
            UnhealthyThresholdCount=2)["TargetGroups"][0]["TargetGroupArn"]
        elbv2.modify_target_group_attributes(TargetGroupArn=groups[name], Attributes=[
            {"Key": "deregistration_delay.timeout_seconds", "Value": "5"}])
    listener = elbv2.create_listener(
        LoadBalancerArn=alb["LoadBalancerArn"], Protocol="HTTP", Port=80,
        DefaultActions=[{"Type": "forward", "TargetGroupArn": groups["akka-blue"]}])
    rule = elbv2.create_rule(
        ListenerArn=listener["Listeners"][0]["ListenerArn"], Priority=1,
        Conditions=[{"Field": "path-pattern", "Values": ["/*"]}],
        Actions=[{"Type": "forward", "TargetGroupArn": groups["akka-blue"]}])
    return {"blue": groups["akka-blue"], "green": groups["akka-green"],
            "rule": rule["Rules"][0]["RuleArn"]}


def alb_environment(doc: dict[str, Any]) -> None:
    """The sandbox environment's load balancer as an ALB with the blue and green groups."""
    check = {"protocol": "HTTP", "path": "/api/healthcheck", "intervalSeconds": 5,
             "timeoutSeconds": 3, "healthyThresholdCount": 2, "unhealthyThresholdCount": 2}
    doc["instances"]["count"] = 4  # blue and green side by side, static host port 80
    doc["loadBalancer"] = {
        "type": "application", "name": "akka-alb", "listener": {"protocol": "HTTP", "port": 80},
        "targetGroups": [{"name": name, "protocol": "HTTP", "port": 80, "targetType": "instance",
                          "healthCheck": check,
                          "attributes": {"deregistration_delay.timeout_seconds": 5}}
                         for name in ("akka-blue", "akka-green")]}


def go_native(stage: Stage, configuration: dict[str, Any]) -> dict[str, str]:
    """Put the service on the target groups with `configuration` (a deploymentConfiguration)."""
    arns = target_groups(stage)
    stage.edit(ENV_DOC, alb_environment)

    def change(doc: dict[str, Any]) -> None:
        service = doc["service"]
        service.pop("role", None)
        service["loadBalancers"] = [{
            "targetGroupArn": arns["blue"], "containerName": CONTAINER, "containerPort": 8080,
            "advancedConfiguration": {"alternateTargetGroupArn": arns["green"],
                                      "productionListenerRule": arns["rule"],
                                      "roleArn": ROLE}}]
        service["deploymentConfiguration"] = {"maximumPercent": 200,
                                              "minimumHealthyPercent": 100, **configuration}

    stage.edit(SPEC, change)
    return arns
