"""Plan and the no-change path, replayed on answers in the shapes real AWS gives.

botocore's Stubber answers the tool's ECS and ECR calls with the documents of
shapes_taskdef.py (each validated against the botocore output model) and
refuses any call not queued: a `release deploy` that tried to register a
revision or update the service would fail on the spot.
"""

from __future__ import annotations

import copy
import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest
import registered
import shapes_preflight as aws_says
from shapes_autoscaling import queue_scaling
from shapes_taskdef import (
    api_reference_example,
    described_images,
    described_service,
    described_task_definition,
    no_canary,
    stubbed,
    taskdef_arn,
)
from typer.testing import CliRunner

from release.adapters import live
from release.cli import app
from release.core import plan
from release.engine import deploy

ROOT = Path(__file__).resolve().parents[2]
ENV = "staging"
LIVE_REVISION = 41


@pytest.fixture
def world(replay_world: Any) -> dict[str, Any]:
    """The staging documents, and clients whose answers the test queues (nothing is sent)."""
    return replay_world(caller="AROAEXAMPLEID:jenkins-akka-firehose-41", ledger=True,
                        connect=[deploy])


def queue_live(world: dict[str, Any], taskdef_response: dict[str, Any],
               canary_reads: int = 0) -> Any:
    """DescribeServices then DescribeTaskDefinition, as fetch_live asks for them; then the
    canary's DescribeServices `canary_reads` times (a plan looks for one, a deploy again
    when it ends): there is none."""
    arn = taskdef_response["taskDefinition"]["taskDefinitionArn"]
    spec = world["spec"]
    return stubbed(world["aws"].ecs, [
        ("describe_services", described_service(spec.service, arn),
         {"cluster": world["env"].cluster, "services": [spec.service_name]}),
        ("describe_task_definition", taskdef_response,
         {"taskDefinition": arn, "include": ["TAGS"]}),
        *[no_canary(world["env"].cluster, spec.service_name)] * canary_reads,
    ])


def queue_image(world: dict[str, Any]) -> Any:
    env, spec = world["env"], world["spec"]
    return stubbed(world["aws"].ecr, [
        ("describe_images", described_images(env.ecr_repository, spec.image.digest,
                                              spec.image.tag), None)])


def queue_preflight(world: dict[str, Any], ecs: Any) -> list[Any]:
    """What `plan`'s preflight reads of the staging service: its image, and the rest
    (shapes_preflight.queue_reads)."""
    return [queue_image(world), *aws_says.queue_reads(
        world["aws"], world["env"], ecs, taskdef_arn("akka-demo", LIVE_REVISION))]


def run(*args: str) -> tuple[int, list[dict[str, Any]], str]:
    result = CliRunner().invoke(app, [*args, "--env", ENV, "--repo", str(ROOT),
                                      "--format", "json"], catch_exceptions=False)
    events = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    return result.exit_code, events, result.output


def test_the_api_reference_example_plans_no_change_against_what_was_registered() -> None:
    example = api_reference_example("DescribeTaskDefinition")["taskDefinition"]
    registered = {"family": example["family"],
                  "containerDefinitions": copy.deepcopy(example["containerDefinitions"])}
    for container in registered["containerDefinitions"]:  # what its author would have written
        for empty in ("environment", "mountPoints", "volumesFrom", "portMappings"):
            if not container[empty]:
                del container[empty]
        del container["essential"]
    assert plan.taskdef_changes(example, registered) == []
    assert [c.path for c in plan.taskdef_changes(example, {**registered, "cpu": "256"})] == [
        "cpu"]


def test_a_live_revision_with_aws_defaults_plans_no_change(world) -> None:
    answer = described_task_definition(world["desired"], LIVE_REVISION)
    ecs = queue_live(world, answer)
    current = live.fetch_live(world["aws"].ecs, world["env"], world["spec"])
    ecs.assert_no_pending_responses()
    assert current.taskdef["enableFaultInjection"] is False
    assert current.taskdef["registeredAt"].year == 2026  # a datetime, as boto3 parses it
    the_plan = plan.make_plan(world["env"], world["spec"], world["desired"], current)
    assert the_plan.taskdef_changes == [] and the_plan.setting_changes == []
    assert the_plan.unchanged and not the_plan.registers


def test_second_deploy_registers_nothing_and_says_nothing_to_change(world) -> None:
    answer = described_task_definition(world["desired"], LIVE_REVISION,
                                       tags={"release:outcome": "completed"})
    ecs, ecr = queue_live(world, answer, canary_reads=2), stubbed(world["aws"].ecr, [])
    scaling = queue_scaling(world["aws"].application_autoscaling)  # no scalable target
    code, events, output = run("deploy")
    assert code == 0, output
    unchanged = next(e for e in events if e["event"] == "release.unchanged")
    assert "nothing to change" in unchanged["message"]
    assert f"akka-demo:{LIVE_REVISION}" in unchanged["message"]
    assert not any(e["event"] == "release.call" for e in events)
    ecs.assert_no_pending_responses()  # read the service, its revision, a canary: no more
    ecr.assert_no_pending_responses()  # a release that starts no task needs no image check
    (preflight,) = [e for e in events if e["event"] == "preflight"]
    assert preflight["skipped"] == ["roles", "secrets", "images", "logs", "load-balancer",
                                    "capacity", "alarms", "scan-gate"]
    assert preflight["calls"] == {}
    scaling.assert_no_pending_responses()


def test_a_real_change_is_still_detected(world) -> None:
    previous = copy.deepcopy(world["desired"])
    container = previous["containerDefinitions"][0]
    container["image"] = container["image"][:-1] + "0"
    ecs = queue_live(world, described_task_definition(previous, LIVE_REVISION), canary_reads=1)
    others = queue_preflight(world, ecs)
    queue_scaling(world["aws"].application_autoscaling)
    code, events, output = run("plan")
    assert code == 0, output
    (shown,) = [e for e in events if e["event"] == "plan"]
    assert [c["path"] for c in shown["taskdef_changes"]] == [
        "containerDefinitions[akka-firehose].image"]
    assert [c["operation"] for c in shown["calls"]] == ["register_task_definition",
                                                        "update_service"]
    (preflight,) = [e for e in events if e["event"] == "plan.preflight"]
    assert preflight["passed"] and preflight["counts"]["ok"] == 9, preflight
    assert preflight["calls"] == {"GetRole": 1, "DescribeImages": 1, "DescribeLogGroups": 1,
                                  "DescribeLoadBalancers": 1, "ListContainerInstances": 1,
                                  "DescribeContainerInstances": 1, "ListTasks": 1,
                                  "DescribeTasks": 1}
    (table,) = [e for e in events if e["event"] == "plan.preflight.table"]
    assert [row["check"] for row in table["rows"]] == [
        "account", "roles", "secrets", "images", "logs", "load-balancer", "capacity",
        "alarms", "scan-gate"]
    for stub in (ecs, *others):
        stub.assert_no_pending_responses()


@pytest.mark.parametrize(("written", "expected"), [
    ({"enableFaultInjection": False}, []),  # written at the default live reports: same
    ({"enableFaultInjection": True}, [("enableFaultInjection", False, True)]),
])
def test_a_member_the_document_writes_is_compared(world, written, expected) -> None:
    queue_live(world, described_task_definition(world["desired"], LIVE_REVISION))
    current = live.fetch_live(world["aws"].ecs, world["env"], world["spec"])
    desired = {**world["desired"], **written}
    changes = plan.taskdef_changes(current.taskdef, desired)
    assert [(c.path, c.live, c.desired) for c in changes] == expected


def test_a_member_removed_from_the_document_is_a_change(world) -> None:
    queue_live(world, described_task_definition(world["desired"], LIVE_REVISION))
    current = live.fetch_live(world["aws"].ecs, world["env"], world["spec"])
    desired = copy.deepcopy(world["desired"])
    del desired["containerDefinitions"][0]["stopTimeout"]
    changes = plan.taskdef_changes(current.taskdef, desired)
    assert [c.one_line() for c in changes] == [
        "- containerDefinitions[akka-firehose].stopTimeout (was 30)"]


def test_what_ecs_rewrites_on_register_plans_no_change_as_fetch_live_reads_it(world) -> None:
    env = world["env"]
    desired = {**world["desired"], "cpu": "1 vCPU", "memory": "2 GB", "taskRoleArn": "akka-task",
               "executionRoleArn": "ecsTaskExecutionRole", "volumes": [
                   {"name": "shared", "efsVolumeConfiguration": {"fileSystemId": "fs-1"}}],
               "tags": [{"key": "team", "value": "payments"}]}
    record = [{"key": "release:outcome", "value": "completed"}]
    answer = registered.described(desired, LIVE_REVISION, account=env.account,
                                  region=env.region, tags=[*desired["tags"], *record])
    ecs = queue_live(world, answer)
    current = live.fetch_live(world["aws"].ecs, env, world["spec"])
    ecs.assert_no_pending_responses()
    assert current.taskdef["cpu"] == "1024" and current.taskdef_tags["team"] == "payments"
    the_plan = plan.make_plan(env, world["spec"], desired, current, tags=record)
    assert the_plan.taskdef_changes == [] and the_plan.unchanged


def test_the_files_tags_are_registered_with_the_release_records(world) -> None:
    queue_live(world, described_task_definition(world["desired"], LIVE_REVISION))
    current = live.fetch_live(world["aws"].ecs, world["env"], world["spec"])
    desired = {**world["desired"], "tags": [{"key": "team", "value": "payments"}]}
    record = [{"key": "release:env", "value": ENV}]
    the_plan = plan.make_plan(world["env"], world["spec"], desired, current, tags=record)
    assert [c.one_line() for c in the_plan.taskdef_changes] == ['+ tags[team] = "payments"']
    register = the_plan.calls[0]
    assert register.operation == "register_task_definition"
    assert register.params["tags"] == [{"key": "team", "value": "payments"}, *record]


def test_a_service_setting_changed_in_the_spec_is_detected_against_real_shapes(world) -> None:
    arn = taskdef_arn("akka-demo", LIVE_REVISION)
    live_service = described_service(world["spec"].service, arn)["services"][0]
    spec = world["spec"]
    wanted = copy.deepcopy(spec.service)
    wanted["deploymentConfiguration"]["minimumHealthyPercent"] = 100
    updatable, recreate = plan.service_changes(dataclasses.replace(spec, service=wanted),
                                               live_service)
    assert [(c.path, c.live, c.desired) for c in updatable] == [
        ("service.deploymentConfiguration.minimumHealthyPercent", 50, 100)]
    assert recreate == []
    assert plan.service_changes(spec, live_service) == ([], [])


def test_the_api_reference_service_example_with_its_defaults_stated_plans_no_change(
        world) -> None:
    example = api_reference_example("DescribeServices")
    queue = stubbed(world["aws"].ecs, [("describe_services", example, None)])
    (service,) = world["aws"].ecs.describe_services(services=["ecs-simple-service"])["services"]
    queue.assert_no_pending_responses()
    stated = {"serviceName": "ecs-simple-service", "desiredCount": 1,
              "deploymentConfiguration": {
                  "maximumPercent": 200, "minimumHealthyPercent": 100,
                  "deploymentCircuitBreaker": {"enable": False, "rollback": False}},
              "healthCheckGracePeriodSeconds": 0, "propagateTags": "NONE",
              "enableECSManagedTags": False, "enableExecuteCommand": False,
              "deploymentController": {"type": "ECS"}, "placementConstraints": []}
    spec = dataclasses.replace(world["spec"], service=stated)
    assert plan.service_changes(spec, service) == ([], [])
    stated["deploymentConfiguration"]["deploymentCircuitBreaker"]["enable"] = True
    updatable, _ = plan.service_changes(spec, service)
    assert [(c.path, c.live, c.desired) for c in updatable] == [
        ("service.deploymentConfiguration.deploymentCircuitBreaker.enable", False, True)]
