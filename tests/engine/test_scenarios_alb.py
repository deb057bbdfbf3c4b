"""Release scenarios behind an ALB (environments/sandbox-alb), on a virtual clock.

The same promise as behind the classic ELB: `release` says stable only when every
new task's target is healthy in DescribeTargetHealth, no target is draining and
no old task is left. Every `wait.stable` is checked against the emulator's own
world at that moment, as the classic scenarios are (engine_sandbox.py).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import git
import pytest
from engine_sandbox import PROJECT, Run, Stage

from release.output.events import Reporter
from release_sandbox.testing import running_sandbox, total_resources

ENV = "sandbox-alb"
ENV_DOC = f"environments/{ENV}/environment.json"
SPEC = f"environments/{ENV}/services/akka-firehose.json"
TASKDEF = "taskdefs/akka-firehose-fargate.json"
CLUSTER = "AkkaFargate"
SERVICE = "akka-firehose-service"
CONTAINER = "akka-firehose"
TG = "akka-firehose-tg"


class AlbStage(Stage):
    """The classic scenarios' stage, on the ALB environment."""

    arns: dict[str, str]

    def cli(self, *args: str) -> Run:
        return super().cli(*args, "--env", ENV)

    def pin_alb(self, tag: str) -> None:
        digest = self.sandbox.put_image(tag, ENV)
        self.edit(SPEC, lambda d: d["image"].update(tag=tag, digest=digest))
        self.commit(f"pin {tag}")

    def tasks(self) -> list[dict[str, Any]]:
        ecs = self.ecs()
        arns = [a for status in ("RUNNING", "STOPPED") for a in ecs.list_tasks(
            cluster=CLUSTER, serviceName=SERVICE, desiredStatus=status)["taskArns"]]
        return ecs.describe_tasks(cluster=CLUSTER, tasks=arns)["tasks"] if arns else []

    def alb_revision(self) -> str:
        service = self.ecs().describe_services(cluster=CLUSTER, services=[SERVICE])
        return service["services"][0]["taskDefinition"].rsplit("/", 1)[-1]

    def check_alb_stable_claim(self, revision: str) -> None:
        """At `wait.stable`: no old task left, no target draining, every target healthy."""
        from moto.backends import get_backend

        self.stable_checks += 1
        backend = get_backend("ecs")[self.sandbox.account][self.sandbox.region]
        for t in backend.tasks.get(CLUSTER, {}).values():
            if t.task_definition_arn != revision and t.last_status != "STOPPED":
                self.early_stable.append(f"old task {t.id} is {t.last_status}")
        for target in self.sandbox.emulator.target_health(self.arns[TG], []):
            if target["TargetHealth"]["State"] != "healthy":
                self.early_stable.append(f"{target['Target']} is "
                                         f"{target['TargetHealth']['State']}")


@pytest.fixture
def alb(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[AlbStage]:
    monkeypatch.setenv("USER", "operator1")
    for name in ("BUILD_URL", "BUILD_TAG", "JOB_NAME", "BUILD_USER_ID"):
        monkeypatch.delenv(name, raising=False)
    with running_sandbox(PROJECT, tmp_path / "sandbox") as sandbox:
        repo = git.Repo.init(sandbox.repo, initial_branch="main")
        with repo.config_writer() as cfg:
            cfg.set_value("user", "name", "Release Tests")
            cfg.set_value("user", "email", "tests@example.invalid")
            cfg.set_value("commit", "gpgsign", "false")
        stage = AlbStage(sandbox, sandbox.repo, repo)
        original_emit = Reporter.emit

        def emit(self: Reporter, kind: str, message: str, level: str = "info", **data: Any):
            if kind == "wait.stable":
                stage.check_alb_stable_claim(data["revision"])
            return original_emit(self, kind, message, level, **data)

        monkeypatch.setattr(Reporter, "emit", emit)
        yield stage
        assert stage.early_stable == [], "stable was declared too early"


def seed(stage: AlbStage, delay: int) -> None:
    stage.edit(ENV_DOC, lambda d: d["loadBalancer"]["targetGroups"][0]["attributes"].update(
        {"deregistration_delay.timeout_seconds": delay}))
    stage.arns = stage.sandbox.seed_target_groups(ENV)
    stage.commit("the sandbox's documents")


def progress(run: Run) -> list[str]:
    return [e["summary"] for e in run.events if e["event"] == "wait.progress"]


def test_fargate_awsvpc_release_waits_for_the_old_targets_to_drain(alb: AlbStage) -> None:
    seed(alb, delay=30)
    alb.pin_alb("v1")
    first = alb.cli("deploy")
    assert first.exit_code == 0, first.output
    assert alb.alb_revision() == "akka-demo-fargate:1"
    tasks = [t for t in alb.tasks() if t["lastStatus"] == "RUNNING"]
    assert len(tasks) == 2 and {t["launchType"] for t in tasks} == {"FARGATE"}
    # the spec names its target group and subnets; the service got the ARN and the ids
    service = alb.ecs().describe_services(cluster=CLUSTER, services=[SERVICE])["services"][0]
    assert service["loadBalancers"][0]["targetGroupArn"] == alb.arns[TG]
    subnets = service["networkConfiguration"]["awsvpcConfiguration"]["subnets"]
    assert all(s.startswith("subnet-") and s not in ("subnet-a", "subnet-b") for s in subnets)
    verify = alb.cli("verify")  # the base URL is the ALB's DNS name
    dns = alb.sandbox.client("elbv2").describe_load_balancers(Names=["akka-alb"])[
        "LoadBalancers"][0]["DNSName"]
    assert f"http://{dns}" in verify.output, verify.output

    alb.pin_alb("v2")
    run = alb.cli("deploy")
    assert run.exit_code == 0, run.output
    assert alb.alb_revision() == "akka-demo-fargate:2"
    assert any("draining (" in p for p in progress(run)), progress(run)
    assert run.first("wait.stable")["seconds"] >= 30  # not before the 30 s delay was over
    assert alb.stable_checks == 2
    targets = alb.sandbox.emulator.target_health(alb.arns[TG], [])
    new = {t["attachments"][0]["details"][-1]["value"] for t in alb.tasks()
           if t["lastStatus"] == "RUNNING"}
    assert {t["Target"]["Id"] for t in targets} == new


def test_alb_rolling_update_on_dynamic_host_ports_drains_before_stable(alb: AlbStage) -> None:
    """EC2 bridge tasks with hostPort 0 behind an instance target group: two tasks share an
    instance, each its own (instance, port) target."""
    alb.edit(ENV_DOC, lambda d: (d["loadBalancer"]["targetGroups"][0].update(
        targetType="instance"), d["instances"].update(count=1, ami="ami-840e42ee")))
    alb.edit(TASKDEF, lambda d: (
        d.update(networkMode="bridge", requiresCompatibilities=["EC2"]),
        d["containerDefinitions"][0]["portMappings"][0].update(hostPort=0)))
    alb.edit(SPEC, lambda d: (d["service"].pop("networkConfiguration"),
                              d["service"].pop("platformVersion"),
                              d["service"].update(launchType="EC2")))
    seed(alb, delay=20)
    ec2 = alb.sandbox.client("ec2")
    instance = ec2.run_instances(ImageId="ami-840e42ee", InstanceType="t2.medium", MinCount=1,
                                 MaxCount=1)["Instances"][0]["InstanceId"]
    alb.ecs().register_container_instance(
        cluster=CLUSTER, instanceIdentityDocument=json.dumps({"instanceId": instance}),
        totalResources=total_resources(2048, 3943))
    alb.pin_alb("v1")
    assert alb.cli("deploy").exit_code == 0
    alb.pin_alb("v2")
    run = alb.cli("deploy")
    assert run.exit_code == 0, run.output
    assert alb.alb_revision() == "akka-demo-fargate:2"
    assert any(p.startswith("2/2 new tasks") and "draining" in p for p in progress(run)), \
        progress(run)
    assert run.first("wait.stable")["seconds"] >= 20
    targets = alb.sandbox.emulator.target_health(alb.arns[TG], [])
    assert {t["Target"]["Id"] for t in targets} == {instance}
    assert len({t["Target"]["Port"] for t in targets}) == 2


def test_status_right_after_a_release_shows_no_drift(alb: AlbStage) -> None:
    """The spec names its target group, subnets and security group; ECS holds the ARN and
    ids. status resolves the names as plan does, so a fresh release is in sync with git."""
    seed(alb, delay=5)
    alb.pin_alb("v1")
    assert alb.cli("deploy").exit_code == 0
    status = alb.cli("status")
    assert status.exit_code == 0, status.output
    event = status.first("status")
    assert event["drift"] == [], event["drift"]
    assert event["state"] == "stable"
    plan = alb.cli("plan")
    assert plan.first("plan")["unchanged"] is True, plan.output


ROLE = "arn:aws:iam::123456789012:role/ecsInfrastructureRoleForLoadBalancers"


def test_a_rolling_alb_service_moves_to_blue_green_in_place(alb: AlbStage) -> None:
    """Adding advancedConfiguration to the target-group entry and strategy BLUE_GREEN is an
    UpdateService (UpdateService: "you can add, update, or remove Elastic Load Balancing
    target groups"), not a re-created service; the release after it is ECS's blue/green."""
    alb.edit(ENV_DOC, lambda d: d["loadBalancer"]["targetGroups"].append(
        {**d["loadBalancer"]["targetGroups"][0], "name": "akka-firehose-green"}))
    seed(alb, delay=5)
    elbv2 = alb.sandbox.client("elbv2")
    listener = elbv2.describe_listeners(LoadBalancerArn=elbv2.describe_load_balancers(
        Names=["akka-alb"])["LoadBalancers"][0]["LoadBalancerArn"])["Listeners"][0]
    rule = elbv2.create_rule(
        ListenerArn=listener["ListenerArn"], Priority=1,
        Conditions=[{"Field": "path-pattern", "Values": ["/*"]}],
        Actions=[{"Type": "forward", "TargetGroupArn": alb.arns[TG]}])["Rules"][0]["RuleArn"]
    alb.pin_alb("v1")
    first = alb.cli("deploy")
    assert first.exit_code == 0, first.output

    def blue_green(doc: dict[str, Any]) -> None:
        doc["service"]["loadBalancers"][0]["advancedConfiguration"] = {
            "alternateTargetGroupArn": "akka-firehose-green", "productionListenerRule": rule,
            "roleArn": ROLE}
        doc["service"]["deploymentConfiguration"].update(strategy="BLUE_GREEN",
                                                         bakeTimeInMinutes=1)
    alb.edit(SPEC, blue_green)
    alb.commit("blue/green")
    plan = alb.cli("plan")
    assert plan.exit_code == 0, plan.output
    event = plan.first("plan")
    assert event["blockers"] == [], event["blockers"]
    changed = {c["path"] for c in event["service_changes"]}
    assert {"service.loadBalancers", "service.deploymentConfiguration.strategy"} <= changed, \
        changed
    update = next(c for c in event["calls"] if c["operation"] == "update_service")
    green = update["params"]["loadBalancers"][0]["advancedConfiguration"]
    assert green["alternateTargetGroupArn"] == alb.arns["akka-firehose-green"]
    alb.pin_alb("v2")
    run = alb.cli("deploy")
    assert run.exit_code == 0, run.output
    assert alb.alb_revision() == "akka-demo-fargate:2"
    assert run.first("wait.start")["deployment"], run.output
    assert alb.cli("plan").first("plan")["unchanged"] is True
