"""`release init` and `release run` on answers in the shapes real AWS gives (botocore Stubber).

Each answer is checked by Stubber against the botocore output model before the tool
reads it: DescribeServices, DescribeTaskDefinition with tags (with the members ECS
adds and reports at their defaults, shapes_taskdef.py), DescribeLoadBalancers,
DescribeLoadBalancerAttributes, ListContainerInstances, DescribeContainerInstances,
DescribeImages, ListTaskDefinitions, ListTagsForResource, RegisterTaskDefinition (the run
variant, its input checked against the input model as botocore checks every request),
RunTask (its tasks, its `failures` and its InvalidParameterException), DescribeTasks and
GetLogEvents.
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
    REGISTERED_AT,
    described_images,
    described_service,
    described_task_definition,
    stubbed,
    taskdef_arn,
)

from release.core import oneoff, placeholders, plan
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
def world(replay_world: Any) -> dict[str, Any]:
    world = replay_world(caller="AROAEXAMPLEID:jenkins",
                         connect=[init_engine.aws_adapter, run_engine.aws_adapter])
    spec = world["spec"]
    return {**world,
            "taskdef": described_task_definition(world["desired"], 41, {"release:by": "jenkins"}),
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
    pointers = placeholders.placeholder_values(written)
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


def _task(arn: str, last: str, exit_code: int | None = None,
          revision: str = taskdef_arn("akka-demo", 41)) -> dict[str, Any]:
    container = {"containerArn": arn.replace(":task/", ":container/") + "/c1", "taskArn": arn,
                 "name": "akka-firehose", "lastStatus": last}
    family = revision.rsplit("/", 1)[-1].rsplit(":", 1)[0]
    task = {"taskArn": arn, "clusterArn": f"arn:aws:ecs:us-east-1:{ACCOUNT}:cluster/x",
            "taskDefinitionArn": revision, "lastStatus": last,
            "desiredStatus": "STOPPED" if last == "STOPPED" else "RUNNING",
            "launchType": "EC2", "group": f"family:{family}", "startedBy": "release-run",
            "containers": [container], "createdAt": REGISTERED_AT, "version": 3,
            "overrides": {"containerOverrides": [{"name": "akka-firehose",
                                                  "command": ["migrate"]}]}}
    if last == "STOPPED":
        container["exitCode"] = exit_code
        task.update(stopCode="EssentialContainerExited", stoppedAt=REGISTERED_AT,
                    stoppedReason="Essential container in task exited")
    return task


VARIANT_LOOKUP = {"familyPrefix": "akka-demo-run", "status": "ACTIVE", "sort": "DESC",
                  "maxResults": 10}


def _variant(world: dict[str, Any]) -> oneoff.Variant:
    """The run variant of the live revision, which binds host port 80 (taskdefs/)."""
    variant = oneoff.variant_of(world["taskdef"]["taskDefinition"])
    assert variant is not None and variant.ports == [80]
    return variant


def _find_variant(world: dict[str, Any], found: bool) -> list[tuple[str, Any, Any]]:
    """ListTaskDefinitions of the variant family (newest first, as ECS sorts on DESC) and
    the tags of its revisions: revision 3 holds the same content when `found`, 2 older."""
    content = _variant(world).content if found else "sha256:" + "0" * 64
    return [
        ("list_task_definitions", {"taskDefinitionArns": [taskdef_arn("akka-demo-run", 3),
                                                          taskdef_arn("akka-demo-run", 2)]},
         VARIANT_LOOKUP),
        ("list_tags_for_resource", {"tags": [
            {"key": "release-run:variant-of", "value": "akka-demo:40"},
            {"key": "release-run:content", "value": content}]},
         {"resourceArn": taskdef_arn("akka-demo-run", 3)}),
        *([] if found else [("list_tags_for_resource", {"tags": [
            {"key": "release-run:variant-of", "value": "akka-demo:39"},
            {"key": "release-run:content", "value": "sha256:" + "1" * 64}]},
            {"resourceArn": taskdef_arn("akka-demo-run", 2)})])]


def _register_variant(world: dict[str, Any], revision: int) -> tuple[str, Any, Any]:
    """RegisterTaskDefinition of the variant, answered as ECS answers it."""
    variant = _variant(world)
    answer = described_task_definition(variant.register, revision,
                                       {t["key"]: t["value"] for t in variant.tags})
    return ("register_task_definition", answer, {**variant.register, "tags": variant.tags})


def _run_task_params(world: dict[str, Any], revision: str) -> dict[str, Any]:
    return {"cluster": world["env"].cluster, "taskDefinition": revision, "count": 1,
            "startedBy": "release-run", "launchType": "EC2",
            "overrides": {"containerOverrides": [{"name": "akka-firehose",
                                                  "command": ["migrate"]}]},
            "tags": run_engine.record_tags(world["repo"], world["spec"], 1_700_000_000.0)}


def _queue_run(world: dict[str, Any], exit_code: int, found: bool = True, throttled: int = 0
               ) -> tuple[Any, str]:
    """The run's calls; `throttled`: that many ThrottlingExceptions after the first
    DescribeTasks (the follow retries them, core/poll.py's outage policy)."""
    aws, env = world["aws"], world["env"]
    world["taskdef"]["taskDefinition"]["containerDefinitions"][0]["logConfiguration"] = AWSLOGS
    arn = f"arn:aws:ecs:us-east-1:{ACCOUNT}:task/{env.cluster}/0f9e8d7c6b5a49382716aa"
    variant = taskdef_arn("akka-demo-run", 3 if found else 4)
    ecs = stubbed(aws.ecs, [
        ("describe_services", world["service"], None),
        ("describe_task_definition", world["taskdef"], None),
        *_find_variant(world, found),
        *([] if found else [_register_variant(world, 4)]),
        ("run_task", {"tasks": [_task(arn, "PROVISIONING", revision=variant)], "failures": []},
         _run_task_params(world, variant)),
        ("describe_tasks", {"tasks": [_task(arn, "PENDING", revision=variant)], "failures": []},
         None)])
    for _ in range(throttled):
        ecs.add_client_error("describe_tasks", "ThrottlingException", "Rate exceeded", 400)
    ecs.add_response("describe_tasks", {"tasks": [_task(arn, "RUNNING", revision=variant)],
                                        "failures": []})
    ecs.add_response("describe_tasks", {"tasks": [_task(arn, "STOPPED", exit_code, variant)],
                                        "failures": []})
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
    assert code == 6  # the command failed; the container's 3 is reported, not passed on
    assert events[-1]["event"] == "run.summary" and events[-1]["container_exit_code"] == 3
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


def test_run_follows_its_task_through_throttling_and_says_so_once(world, capsys) -> None:
    from release.core.clock import VirtualClock, use_clock

    ecs, _ = _queue_run(world, 0, throttled=2)
    logs = stubbed(world["aws"].client("logs"), [])
    world["aws"].client = lambda name, _logs=logs.client: _logs
    logs.add_client_error("get_log_events", "ResourceNotFoundException",
                          "The specified log stream does not exist.", 400)
    clock = VirtualClock()
    previous = use_clock(clock)
    start = clock.now()
    try:
        code = run_engine.run(world["repo"], world["spec"], ["migrate"],
                              Reporter(OutputFormat.json))
    finally:
        use_clock(previous)
    ecs.assert_no_pending_responses()
    events = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert code == 0
    assert [e["event"] for e in events].count("run.retry") == 1
    assert [e["event"] for e in events].count("run.reconnected") == 1
    assert [e["status"] for e in events if e["event"] == "run.status"] == [
        "PENDING", "RUNNING", "STOPPED"]
    assert clock.now() - start == 2 + 1 + 2 + 2  # a poll, two retries, a poll


def _run_quietly(world: dict[str, Any]) -> int:
    from release.core.clock import VirtualClock, use_clock

    logs = stubbed(world["aws"].client("logs"), [])
    world["aws"].client = lambda name, _logs=logs.client: _logs
    for _ in range(3):  # the stream appears only once the container ran
        logs.add_client_error("get_log_events", "ResourceNotFoundException",
                              "The specified log stream does not exist.", 400)
    logs.add_response("get_log_events", {"events": [], "nextForwardToken": "f/1",
                                         "nextBackwardToken": "b/1"})
    previous = use_clock(VirtualClock())
    try:
        return run_engine.run(world["repo"], world["spec"], ["migrate"],
                              Reporter(OutputFormat.json))
    finally:
        use_clock(previous)


def test_run_reuses_the_variant_whose_content_tag_matches(world, capsys) -> None:
    ecs, _ = _queue_run(world, 3, found=True)
    assert _run_quietly(world) == 6  # the command failed (its own exit 3)
    ecs.assert_no_pending_responses()
    events = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    variant = next(e for e in events if e["event"] == "run.variant")
    assert variant["registered"] is False
    assert variant["revision"] == taskdef_arn("akka-demo-run", 3)
    assert variant["source"] == taskdef_arn("akka-demo", 41)


def test_run_registers_the_variant_when_no_revision_has_its_content(world, capsys) -> None:
    """RegisterTaskDefinition's input is the revision's own as ECS described it (the members
    ECS adds left out), in akka-demo-run, without the mapping of host port 80."""
    ecs, _ = _queue_run(world, 0, found=False)
    register = _variant(world).register
    assert register["family"] == "akka-demo-run"
    assert "portMappings" not in register["containerDefinitions"][0]
    assert not set(register) & {"taskDefinitionArn", "revision", "status", "registeredAt",
                                "registeredBy", "requiresAttributes", "compatibilities"}
    assert _run_quietly(world) == 0
    ecs.assert_no_pending_responses()
    events = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert next(e for e in events if e["event"] == "run.variant")["registered"] is True


def _queue_refused(world: dict[str, Any], run_task: tuple[str, Any, Any] | None) -> Any:
    variant = taskdef_arn("akka-demo-run", 3)
    ecs = stubbed(world["aws"].ecs, [
        ("describe_services", world["service"], None),
        ("describe_task_definition", world["taskdef"], None),
        *_find_variant(world, True),
        *([run_task] if run_task else [])])
    if run_task is None:
        ecs.add_client_error("run_task", "InvalidParameterException",
                             "No Container Instances were found in your cluster.", 400,
                             expected_params=_run_task_params(world, variant))
    return ecs


def test_run_task_failures_in_the_real_shape_become_each_reasons_meaning_and_fix(world) -> None:
    instances = [f"arn:aws:ecs:us-east-1:{ACCOUNT}:container-instance/AkkaCluster/"
                 f"{i}f3c2b1a0e9d8c7b6a5f4e3d2c1b0a9" for i in (1, 2, 3)]
    ecs = _queue_refused(world, ("run_task", {"tasks": [], "failures": [
        {"arn": instances[0], "reason": "RESOURCE:MEMORY"},
        {"arn": instances[1], "reason": "RESOURCE:MEMORY"},
        {"arn": instances[2], "reason": "AGENT"}]},
        _run_task_params(world, taskdef_arn("akka-demo-run", 3))))
    with pytest.raises(run_engine.NotStarted) as refused:
        _run_quietly(world)
    ecs.assert_no_pending_responses()
    message, hint = refused.value.message, refused.value.hint
    assert message.startswith("ECS did not start a task of akka-demo-run:3: RESOURCE:MEMORY on "
                              "1f3c2b1a0e9d8c7b6a5f4e3d2c1b0a9, 2f3c2b1a0e9d8c7b6a5f4e3d2c1b0a9: "
                              "no container instance has the memory the task reserves "
                              "(1024 MiB) free; AGENT on 3f3c"), message
    assert "agent is disconnected" in message
    assert "add container instances" in hint and "reconnect the agent" in hint
    assert hint.endswith("nothing ran") and refused.value.exit_code == 1


def test_run_on_a_cluster_without_instances_says_to_register_some(world) -> None:
    ecs = _queue_refused(world, None)
    with pytest.raises(run_engine.NotStarted) as refused:
        _run_quietly(world)
    ecs.assert_no_pending_responses()
    assert "No Container Instances were found in your cluster." in refused.value.message
    assert "register container instances with cluster AkkaCluster" in refused.value.hint
