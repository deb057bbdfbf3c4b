"""`release init` and `release run` on answers in the shapes real AWS gives (botocore Stubber).

Each answer is checked by Stubber against the botocore output model before the tool
reads it: DescribeServices, DescribeTaskDefinition with tags (with the members ECS
adds and reports at their defaults, shapes_taskdef.py), DescribeLoadBalancers,
DescribeLoadBalancerAttributes, ListContainerInstances, DescribeContainerInstances,
DescribeImages, RunTask, DescribeTasks and GetLogEvents.
"""

from __future__ import annotations

import copy
import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from shapes_taskdef import (
    ACCOUNT,
    JENKINS,
    REGISTERED_AT,
    described_images,
    described_service,
    described_task_definition,
    offline_credentials,
    stubbed,
    taskdef_arn,
)

from release.adapters.aws import Aws
from release.core import plan
from release.core.config import load_repo
from release.core.render import render_service
from release.engine import init as init_engine
from release.engine import run as run_engine
from release.output.events import OutputFormat, Reporter

ROOT = Path(__file__).resolve().parents[2]
ENV = "staging"
AWSLOGS = {"logDriver": "awslogs", "options": {"awslogs-group": "/ecs/akka-firehose",
                                               "awslogs-region": "us-east-1",
                                               "awslogs-stream-prefix": "app"}}


@pytest.fixture
def world(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    offline_credentials(monkeypatch)
    repo = load_repo(ROOT)
    env = repo.environment(ENV)
    spec = repo.services_of(ENV)[0]
    aws = Aws(env)
    stubbed(aws.sts, [("get_caller_identity", {
        "UserId": "AROAEXAMPLEID:jenkins", "Account": env.account, "Arn": JENKINS}, None)])
    monkeypatch.setattr(init_engine.aws_adapter, "connect", lambda _env: aws)
    monkeypatch.setattr(run_engine.aws_adapter, "connect", lambda _env: aws)
    desired = render_service(repo, spec)
    return {"repo": repo, "env": env, "spec": spec, "aws": aws, "desired": desired,
            "taskdef": described_task_definition(desired, 41, {"release:by": "jenkins"}),
            "service": described_service(spec.service, taskdef_arn(spec.family, 41))}


def load_balancer(name: str) -> dict[str, Any]:
    """DescribeLoadBalancers' LoadBalancerDescription as the ELB API reference shows it."""
    return {"LoadBalancerDescriptions": [{
        "LoadBalancerName": name, "DNSName": f"{name}-1234567890.us-east-1.elb.amazonaws.com",
        "CanonicalHostedZoneName": f"{name}-1234567890.us-east-1.elb.amazonaws.com",
        "CanonicalHostedZoneNameID": "Z3DZXE0EXAMPLE",
        "ListenerDescriptions": [{"Listener": {
            "Protocol": "HTTP", "LoadBalancerPort": 80, "InstanceProtocol": "HTTP",
            "InstancePort": 80}, "PolicyNames": []}],
        "Policies": {"AppCookieStickinessPolicies": [], "LBCookieStickinessPolicies": [],
                     "OtherPolicies": []},
        "BackendServerDescriptions": [], "AvailabilityZones": ["us-east-1a", "us-east-1b"],
        "Subnets": ["subnet-0b1e2f3a", "subnet-0a1b2c3d"], "VPCId": "vpc-0a1b2c3d",
        "Instances": [{"InstanceId": "i-0a1b2c3d4e5f60001"}],
        "HealthCheck": {"Target": "HTTP:80/api/healthcheck", "Interval": 10, "Timeout": 5,
                        "UnhealthyThreshold": 2, "HealthyThreshold": 3},
        "SourceSecurityGroup": {"OwnerAlias": ACCOUNT, "GroupName": "akka-elb"},
        "SecurityGroups": ["sg-0a1b2c3d"], "CreatedTime": REGISTERED_AT,
        "Scheme": "internet-facing"}]}


def container_instances() -> dict[str, Any]:
    return {"containerInstances": [{
        "containerInstanceArn": f"arn:aws:ecs:us-east-1:{ACCOUNT}:container-instance/x/1",
        "ec2InstanceId": "i-0a1b2c3d4e5f60001", "status": "ACTIVE", "agentConnected": True,
        "attributes": [{"name": "ecs.instance-type", "value": "t3.medium"},
                       {"name": "ecs.os-type", "value": "linux"}],
        "registeredAt": REGISTERED_AT, "runningTasksCount": 1, "pendingTasksCount": 0}],
        "failures": []}


def test_init_on_real_shapes_writes_documents_that_plan_no_change(world, tmp_path: Path
                                                                    ) -> None:
    env, spec, aws = world["env"], world["spec"], world["aws"]
    shutil.copytree(ROOT / "environments" / ENV, tmp_path / "environments" / ENV,
                    ignore=shutil.ignore_patterns("services"))
    arn = taskdef_arn(spec.family, 41)
    ci_arn = container_instances()["containerInstances"][0]["containerInstanceArn"]
    ecs = stubbed(aws.ecs, [
        ("describe_services", world["service"], None),
        ("describe_task_definition", world["taskdef"], {"taskDefinition": arn,
                                                        "include": ["TAGS"]}),
        ("list_container_instances", {"containerInstanceArns": [ci_arn]}, None),
        ("describe_container_instances", container_instances(), None)])
    elb = stubbed(aws.elb, [
        ("describe_load_balancers", load_balancer(env.load_balancer.name), None),
        ("describe_load_balancer_attributes", {"LoadBalancerAttributes": {
            "ConnectionDraining": {"Enabled": True, "Timeout": 20},
            "CrossZoneLoadBalancing": {"Enabled": True},
            "ConnectionSettings": {"IdleTimeout": 60},
            "AccessLog": {"Enabled": False}}}, None)])
    ecr = stubbed(aws.ecr, [("describe_images", described_images(
        env.ecr_repository, spec.image.digest, spec.image.tag), None)])
    result = init_engine.init(tmp_path, ENV, env.cluster, spec.service_name)
    for stubber in (ecs, elb, ecr):
        stubber.assert_no_pending_responses()
    assert result.kept == [f"environments/{ENV}/environment.json"]
    taskdef = json.loads((tmp_path / f"taskdefs/{spec.family}.json").read_text())
    text = json.dumps(taskdef)
    for added in ("enableFaultInjection", "registeredAt", "requiresAttributes",
                  "compatibilities", "taskDefinitionArn", '"image"'):
        assert added not in text, added
    adopted = load_repo(tmp_path, [ENV])
    adopted_spec = adopted.services_of(ENV)[0]
    assert adopted_spec.image.digest == spec.image.digest
    assert adopted_spec.image.tag == spec.image.tag
    live = plan.Live(world["service"]["services"][0], world["taskdef"]["taskDefinition"])
    the_plan = plan.make_plan(env, adopted_spec, render_service(adopted, adopted_spec), live)
    assert the_plan.unchanged, [c.one_line() for c in the_plan.taskdef_changes
                                + the_plan.setting_changes]


def test_init_never_copies_a_plain_text_secret_and_validation_points_at_it(world) -> None:
    from release.core import adopt

    taskdef = copy.deepcopy(world["taskdef"]["taskDefinition"])
    taskdef["containerDefinitions"][0]["environment"].append(
        {"name": "DB_PASSWORD", "value": "hunter2"})
    live = adopt.LiveService(ENV, ACCOUNT, "us-east-1", "AkkaCluster",
                             world["service"]["services"][0], taskdef)
    adopted = adopt.adopt(live)
    written = adopted.documents[f"taskdefs/{world['spec'].family}.json"]
    assert "hunter2" not in json.dumps(adopted.documents)
    pointers = adopt.placeholder_values(written)
    assert [name for _, name in pointers] == ["DB_PASSWORD"]
    assert any(pointers[0][0] in d and "DB_PASSWORD" in d for d in adopted.decisions)


def test_init_keeps_the_revisions_own_tags_and_not_the_records(world) -> None:
    from release.core import adopt

    tags = [{"key": "team", "value": "payments"}, {"key": "release:outcome", "value": "completed"},
            {"key": "aws:cloudformation:stack-name", "value": "akka"}]
    live = adopt.LiveService(ENV, ACCOUNT, "us-east-1", "AkkaCluster",
                             world["service"]["services"][0],
                             world["taskdef"]["taskDefinition"], tags)
    written = adopt.adopt(live).documents[f"taskdefs/{world['spec'].family}.json"]
    assert written["tags"] == [{"key": "team", "value": "payments"}]
    assert plan.tag_changes({t["key"]: t["value"] for t in tags}, written["tags"]) == []


def _task(arn: str, last: str, exit_code: int | None = None) -> dict[str, Any]:
    container = {"containerArn": arn.replace(":task/", ":container/") + "/c1", "taskArn": arn,
                 "name": "akka-firehose", "lastStatus": last}
    task = {"taskArn": arn, "clusterArn": f"arn:aws:ecs:us-east-1:{ACCOUNT}:cluster/x",
            "taskDefinitionArn": taskdef_arn("akka-demo", 41), "lastStatus": last,
            "desiredStatus": "STOPPED" if last == "STOPPED" else "RUNNING",
            "launchType": "EC2", "group": "family:akka-demo", "startedBy": "release-run",
            "containers": [container], "createdAt": REGISTERED_AT, "version": 3,
            "overrides": {"containerOverrides": [{"name": "akka-firehose",
                                                  "command": ["migrate"]}]}}
    if last == "STOPPED":
        container["exitCode"] = exit_code
        task.update(stopCode="EssentialContainerExited", stoppedAt=REGISTERED_AT,
                    stoppedReason="Essential container in task exited")
    return task


def _queue_run(world: dict[str, Any], exit_code: int) -> tuple[Any, str]:
    aws, env, spec = world["aws"], world["env"], world["spec"]
    world["taskdef"]["taskDefinition"]["containerDefinitions"][0]["logConfiguration"] = AWSLOGS
    arn = f"arn:aws:ecs:us-east-1:{ACCOUNT}:task/{env.cluster}/0f9e8d7c6b5a49382716aa"
    ecs = stubbed(aws.ecs, [
        ("describe_services", world["service"], None),
        ("describe_task_definition", world["taskdef"], None),
        ("run_task", {"tasks": [_task(arn, "PROVISIONING")], "failures": []}, {
            "cluster": env.cluster, "taskDefinition": taskdef_arn(spec.family, 41),
            "count": 1, "startedBy": "release-run", "launchType": "EC2",
            "overrides": {"containerOverrides": [{"name": "akka-firehose",
                                                  "command": ["migrate"]}]},
            "tags": run_engine.record_tags(world["repo"], spec, 1_700_000_000.0)}),
        ("describe_tasks", {"tasks": [_task(arn, "PENDING")], "failures": []}, None),
        ("describe_tasks", {"tasks": [_task(arn, "RUNNING")], "failures": []}, None),
        ("describe_tasks", {"tasks": [_task(arn, "STOPPED", exit_code)], "failures": []},
         None)])
    return ecs, arn


def test_run_on_real_shapes_passes_the_exit_code_and_the_log_lines(world, capsys) -> None:
    from release.core.clock import VirtualClock, use_clock

    ecs, arn = _queue_run(world, 3)
    stream = f"app/akka-firehose/{arn.rsplit('/', 1)[-1]}"
    logs = stubbed(world["aws"].client("logs"), [])
    world["aws"].client = lambda name, _logs=logs.client: _logs  # the stubbed logs client
    logs.add_client_error("get_log_events", "ResourceNotFoundException",
                          "The specified log stream does not exist.", 400)
    logs.add_response("get_log_events", {"events": [
        {"timestamp": 1764580000000, "message": "migrating 3 tables\n",
         "ingestionTime": 1764580000100}], "nextForwardToken": "f/1", "nextBackwardToken": "b/1"},
        {"logGroupName": "/ecs/akka-firehose", "logStreamName": stream, "startFromHead": True})
    logs.add_response("get_log_events", {"events": [], "nextForwardToken": "f/1",
                                         "nextBackwardToken": "b/1"},
                      {"logGroupName": "/ecs/akka-firehose", "logStreamName": stream,
                       "startFromHead": True, "nextToken": "f/1"})
    previous = use_clock(VirtualClock())
    try:
        code = run_engine.run(world["repo"], world["spec"], ["migrate"],
                              Reporter(OutputFormat.json))
    finally:
        use_clock(previous)
    ecs.assert_no_pending_responses()
    logs.assert_no_pending_responses()
    events = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert code == 3
    assert [e["message"] for e in events if e["event"] == "run.log"] == ["migrating 3 tables"]
    assert not any(e["event"] == "logs.unavailable" for e in events)


def test_run_says_once_when_the_logs_cannot_be_read(world, capsys) -> None:
    from release.core.clock import VirtualClock, use_clock

    ecs, _ = _queue_run(world, 0)
    logs = stubbed(world["aws"].client("logs"), [])
    world["aws"].client = lambda name, _logs=logs.client: _logs
    logs.add_client_error("get_log_events", "AccessDeniedException",
                          "User is not authorized to perform: logs:GetLogEvents", 400)
    previous = use_clock(VirtualClock())
    try:
        code = run_engine.run(world["repo"], world["spec"], ["migrate"],
                              Reporter(OutputFormat.json))
    finally:
        use_clock(previous)
    events = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert code == 0
    notes = [e["message"] for e in events if e["event"] == "logs.unavailable"]
    assert len(notes) == 1 and "AccessDeniedException" in notes[0]
