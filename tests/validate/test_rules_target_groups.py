"""The target-group, awsvpc and Fargate rules on the ALB + Fargate example environment:
one change that makes each fire, one near miss that keeps it quiet."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from validate_helpers import edit

from release.core.validate import validate_repo

ALB_ENV = "environments/sandbox-alb/environment.json"
ALB_SERVICE = "environments/sandbox-alb/services/akka-firehose.json"
FARGATE_TASKDEF = "taskdefs/akka-firehose-fargate.json"
TG_ARN = ("arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/akka-firehose-tg/"
          "0123456789abcdef")

Change = Callable[[Path], None]


def env(change) -> Change:
    return lambda repo: edit(repo, ALB_ENV, change)


def service(change) -> Change:
    return lambda repo: edit(repo, ALB_SERVICE, change)


def taskdef(change) -> Change:
    return lambda repo: edit(repo, FARGATE_TASKDEF, change)


def both(*changes: Change) -> Change:
    def apply(repo: Path) -> None:
        for change in changes:
            change(repo)
    return apply


def tg0(doc):
    return doc["loadBalancer"]["targetGroups"][0]


def lb0(doc):
    return doc["service"]["loadBalancers"][0]


# rule id, change that fires it, file and pointer it names, near miss that stays quiet
ALB_CASES: list[tuple[str, Change, str, str, Change]] = [
    ("tg-reference", service(lambda d: lb0(d).update(targetGroupArn="akka-tg")),
     ALB_SERVICE, "/service/loadBalancers/0/targetGroupArn",
     service(lambda d: lb0(d).update(targetGroupArn=TG_ARN))),
    ("tg-reference", service(lambda d: lb0(d).update(loadBalancerName=lb0(d).pop(
        "targetGroupArn"))), ALB_SERVICE, "/service/loadBalancers/0",
     service(lambda d: lb0(d).update(containerPort=8080))),
    # a blue/green entry's green target group, named like targetGroupArn (by name or ARN)
    ("tg-reference", service(lambda d: lb0(d).update(advancedConfiguration={
        "alternateTargetGroupArn": "akka-green"})), ALB_SERVICE,
     "/service/loadBalancers/0/advancedConfiguration/alternateTargetGroupArn",
     both(env(lambda d: d["loadBalancer"]["targetGroups"].append(
         {**tg0(d), "name": "akka-green"})),
         service(lambda d: lb0(d).update(advancedConfiguration={
             "alternateTargetGroupArn": "akka-green"})))),
    ("tg-target-type", env(lambda d: tg0(d).update(targetType="instance")),
     ALB_ENV, "/loadBalancer/targetGroups/0/targetType",
     env(lambda d: tg0(d).update(targetType="ip", port=9090))),
    ("tg-health-check", env(lambda d: tg0(d)["healthCheck"].update(timeoutSeconds=5)),
     ALB_ENV, "/loadBalancer/targetGroups/0/healthCheck/timeoutSeconds",
     env(lambda d: tg0(d)["healthCheck"].update(timeoutSeconds=4))),
    ("awsvpc-network-configuration", service(lambda d: d["service"].pop("networkConfiguration")),
     ALB_SERVICE, "/service", service(lambda d: d["service"]["networkConfiguration"][
         "awsvpcConfiguration"].update(subnets=["subnet-b"]))),
    ("fargate-network-mode", taskdef(lambda d: d.update(networkMode="bridge")),
     FARGATE_TASKDEF, "/networkMode", taskdef(lambda d: d.update(networkMode="awsvpc"))),
    ("fargate-task-size", taskdef(lambda d: d.update(memory="512")),
     FARGATE_TASKDEF, "/memory", taskdef(lambda d: d.update(memory="4GB"))),
    ("fargate-task-size", taskdef(lambda d: d.update(cpu="384")),
     FARGATE_TASKDEF, "/cpu", taskdef(lambda d: d.update(cpu="0.5 vCPU"))),
]


def _id(case) -> str:
    return f"{case[0]}:{case[3]}"


def findings_of(repo: Path, rule: str):
    report = validate_repo(repo, envs=["sandbox-alb"])
    assert not [f for f in report.findings if f.rule == "internal-error"], report.findings
    return report, [f for f in report.findings if f.rule == rule]


def test_the_alb_fargate_environment_validates_clean(repo: Path) -> None:
    report = validate_repo(repo, envs=["sandbox-alb"])
    assert report.findings == []


@pytest.mark.parametrize("case", ALB_CASES, ids=[_id(c) for c in ALB_CASES])
def test_alb_rule_fires_with_file_and_pointer(repo: Path, case) -> None:
    rule, fire, file, pointer, _ = case
    fire(repo)
    report, found = findings_of(repo, rule)
    assert (file, pointer) in {(f.file, f.pointer) for f in found}, report.findings
    assert all(f.severity == "error" and f.message and f.fix for f in found)


@pytest.mark.parametrize("case", ALB_CASES, ids=[_id(c) for c in ALB_CASES])
def test_alb_rule_stays_quiet_on_a_near_miss(repo: Path, case) -> None:
    rule, _, _, _, quiet = case
    quiet(repo)
    _, found = findings_of(repo, rule)
    assert found == []


def test_dynamic_host_ports_are_allowed_behind_an_alb(repo: Path) -> None:
    """A bridge task with hostPort 0 behind an instance target group: no port rule fires."""
    env(lambda d: tg0(d).update(targetType="instance"))(repo)
    taskdef(lambda d: (d.update(networkMode="bridge", requiresCompatibilities=["EC2"]),
                       d["containerDefinitions"][0]["portMappings"][0].update(hostPort=0)))(repo)
    service(lambda d: (d["service"].pop("networkConfiguration"),
                       d["service"].update(launchType="EC2")))(repo)
    env(lambda d: d["instances"].update(count=2))(repo)
    report = validate_repo(repo, envs=["sandbox-alb"])
    assert report.findings == []


def test_a_classic_environment_still_refuses_a_target_group(repo: Path) -> None:
    edit(repo, "environments/staging/services/akka-firehose.json",
         lambda d: lb0(d).update(targetGroupArn=lb0(d).pop("loadBalancerName")))
    report = validate_repo(repo, envs=["staging"])
    assert "ref-load-balancer" in {f.rule for f in report.findings}


def test_a_mistyped_load_balancer_type_names_the_kinds(repo: Path) -> None:
    env(lambda d: d["loadBalancer"].update(type="applicaton"))(repo)
    report = validate_repo(repo, envs=["sandbox-alb"])
    assert any("application" in f.fix or "application" in f.message for f in report.findings
               if f.pointer.startswith("/loadBalancer")), report.findings


def test_an_nlb_environment_validates_and_loads(repo: Path) -> None:
    from release.core.config import load_repo

    def nlb(doc):
        lb = doc["loadBalancer"]
        lb.update(type="network", listener={"protocol": "TCP", "port": 80})
        lb.pop("securityGroups")
        tg0(doc).update(protocol="TCP")
        tg0(doc)["healthCheck"] = {"protocol": "TCP", "intervalSeconds": 10,
                                   "timeoutSeconds": 5, "healthyThresholdCount": 3,
                                   "unhealthyThresholdCount": 3}
    env(nlb)(repo)
    service(lambda d: d["service"].update(healthCheckGracePeriodSeconds=30))(repo)
    assert validate_repo(repo, envs=["sandbox-alb"]).findings == []
    lb = load_repo(repo, ["sandbox-alb"]).environment("sandbox-alb").load_balancer
    assert (lb.kind, lb.classic, lb.health_check.healthy_after, lb.effective_draining) == (
        "network", False, 30, 5)
    assert lb.target_group("akka-firehose-tg").health_check.target == "TCP:traffic-port"
