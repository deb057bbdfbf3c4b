"""Bootstrap's ALB step (engine/balancers/target_groups.py, chosen by the environment's
load-balancer kind) on environments/sandbox-alb: the load
balancer, its target group (health check, deregistration delay) and the listener are
created once; a second plan holds only what the document changed since.

The step runs on a Planner whose network is resolved, without the IAM part of bootstrap
(the whole command is what `make demo` runs for this environment).
"""

from __future__ import annotations

from pathlib import Path

from bootstrap_helpers import apply_plan, edit_environment, environment

from release.adapters.aws import Aws
from release.engine import balancers, bootstrap

ENV = "sandbox-alb"


def planned(repo: Path) -> tuple[Aws, bootstrap.Plan]:
    aws = Aws(environment(repo, ENV))
    planner = bootstrap.Planner(aws, aws.env)
    planner._network()
    balancers.of_environment(aws.env).plan_bootstrap(planner)
    return aws, planner.plan


def test_the_alb_step_creates_load_balancer_target_group_and_listener_once(
        repo: Path, aws_url: str) -> None:
    edit_environment(repo, ENV, lambda doc: doc["endpoints"].update(aws=aws_url))
    aws, plan = planned(repo)
    assert [c.operation for c in plan.calls if c.service == "elbv2"] == [
        "create_load_balancer", "create_target_group", "modify_target_group_attributes",
        "create_listener"]
    apply_plan(aws, plan)
    elbv2 = aws.elbv2
    (alb,) = elbv2.describe_load_balancers(Names=["akka-alb"])["LoadBalancers"]
    assert alb["Type"] == "application" and alb["Scheme"] == "internet-facing"
    (group,) = elbv2.describe_target_groups(Names=["akka-firehose-tg"])["TargetGroups"]
    assert (group["TargetType"], group["Port"], group["HealthCheckPath"]) == (
        "ip", 8080, "/api/healthcheck")
    assert (group["HealthCheckIntervalSeconds"], int(group["HealthyThresholdCount"])) == (5, 2)
    assert group["VpcId"] == alb["VpcId"]
    attributes = elbv2.describe_target_group_attributes(
        TargetGroupArn=group["TargetGroupArn"])["Attributes"]
    assert {"Key": "deregistration_delay.timeout_seconds", "Value": "5"} in attributes
    (listener,) = elbv2.describe_listeners(LoadBalancerArn=alb["LoadBalancerArn"])["Listeners"]
    assert listener["Port"] == 80 and listener["DefaultActions"][0]["TargetGroupArn"] == \
        group["TargetGroupArn"]

    _, again = planned(repo)
    assert [c for c in again.calls if c.service == "elbv2"] == []

    edit_environment(repo, ENV, lambda doc: doc["loadBalancer"]["targetGroups"][0][
        "attributes"].update({"deregistration_delay.timeout_seconds": 30}))
    _, changed = planned(repo)
    assert [(c.operation, c.reason) for c in changed.calls if c.service == "elbv2"] == [
        ("modify_target_group_attributes", "deregistration delay 5 s instead of 30 s")]
