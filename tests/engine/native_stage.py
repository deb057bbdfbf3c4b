"""The sandbox service on ALB target groups with an ECS-native strategy, for the scenarios.

The ALB, its listener and rule and the two target groups (blue, green) are made
through moto's ELBv2 API; the service spec then names them in its loadBalancers
entry with the advancedConfiguration ECS shifts traffic with.
"""

from __future__ import annotations

from typing import Any

from engine_sandbox import CONTAINER, SPEC, Stage

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
            HealthCheckPath="/api/healthcheck")["TargetGroups"][0]["TargetGroupArn"]
    listener = elbv2.create_listener(
        LoadBalancerArn=alb["LoadBalancerArn"], Protocol="HTTP", Port=80,
        DefaultActions=[{"Type": "forward", "TargetGroupArn": groups["akka-blue"]}])
    rule = elbv2.create_rule(
        ListenerArn=listener["Listeners"][0]["ListenerArn"], Priority=1,
        Conditions=[{"Field": "path-pattern", "Values": ["/*"]}],
        Actions=[{"Type": "forward", "TargetGroupArn": groups["akka-blue"]}])
    return {"blue": groups["akka-blue"], "green": groups["akka-green"],
            "rule": rule["Rules"][0]["RuleArn"]}


def go_native(stage: Stage, configuration: dict[str, Any]) -> dict[str, str]:
    """Put the service on the target groups with `configuration` (a deploymentConfiguration)."""
    arns = target_groups(stage)

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
