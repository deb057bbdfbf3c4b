"""The canary's calls and what it reads of their answers, in the shapes real ECS uses.

botocore's Stubber checks each request the canary makes (CreateService with its tags and
deployment configuration, UpdateService, DeleteService) against the ECS model, and each
answer queued here against the output model. DescribeServices answers a service that
does not exist with a MISSING failure and no service (ECS API reference, Failure.reason),
and a deleted one as DRAINING until its tasks stopped (DeleteService: "the service status
moves from ACTIVE to DRAINING ... After all tasks have transitioned to either STOPPING or
STOPPED status, the service status moves from DRAINING to INACTIVE").
"""

from __future__ import annotations

import copy
import dataclasses
import io
from typing import Any

import pytest
from shapes_taskdef import (
    ACCOUNT,
    REGION,
    described_service,
    stubbed,
)
from shapes_taskdef import taskdef_arn as family_arn

from release.core import canary as canaries
from release.core import plan as planning
from release.core.deployments import deployment_for
from release.core.instructions import calls_in
from release.engine import canary
from release.engine.executor import Executor
from release.output.events import OutputFormat, Reporter


def taskdef_arn(revision: int) -> str:
    return family_arn("akka-demo", revision)


@pytest.fixture
def world(replay_world: Any) -> dict[str, Any]:
    world = replay_world()
    doc = copy.deepcopy(world["spec"].doc)
    doc["release"]["canary"] = {"count": 1, "bakeMinutes": 5}
    return {"env": world["env"], "spec": dataclasses.replace(world["spec"], doc=doc),
            "aws": world["aws"], "reporter": Reporter(OutputFormat.json, io.StringIO())}


def _describe(world: dict[str, Any], answer: dict[str, Any]) -> Any:
    env, spec = world["env"], world["spec"]
    return stubbed(world["aws"].ecs, [("describe_services", answer, {
        "cluster": env.cluster, "services": [canaries.canary_name(spec)],
        "include": ["TAGS"]})])


def _missing(world: dict[str, Any]) -> dict[str, Any]:
    name = canaries.canary_name(world["spec"])
    return {"services": [], "failures": [{
        "arn": f"arn:aws:ecs:{REGION}:{ACCOUNT}:service/{world['env'].cluster}/{name}",
        "reason": "MISSING"}]}


def _canary_service(world: dict[str, Any], revision: int, status: str = "ACTIVE",
                    tagged: bool = True) -> dict[str, Any]:
    """The canary as DescribeServices with `include: ["TAGS"]` returns it: with the tags
    its CreateService gave it (`tagged`), or a service of that name someone else made."""
    spec = world["spec"]
    definition = canaries.service_definition(spec, canaries.Canary(count=1, bake_minutes=5))
    tags = definition.pop("tags")
    (service,) = described_service(definition, taskdef_arn(revision))["services"]
    service.update(status=status, serviceName=definition["serviceName"],
                   serviceArn=service["serviceArn"] + "-canary")
    if tagged:
        service["tags"] = tags
    return service


def _plan(world: dict[str, Any]) -> planning.ReleasePlan:
    env, spec = world["env"], world["spec"]
    live = planning.Live(described_service(spec.service, taskdef_arn(41))["services"][0],
                         {"family": "akka-demo", "containerDefinitions": []})
    desired = {"family": "akka-demo", "containerDefinitions": [{"name": "akka-firehose"}]}
    return planning.make_plan(env, spec, desired, live)


def test_no_canary_yet_plans_a_create_service_that_ecs_accepts(world) -> None:
    env, spec = world["env"], world["spec"]
    with _describe(world, _missing(world)) as stub:
        planned = canary.with_canary(_plan(world), env, spec, world["aws"])
    stub.assert_no_pending_responses()
    assert planned.canary is not None and planned.canary.left_over is None
    assert [c.operation for c in calls_in(planned.instructions)] == [
        "register_task_definition", "create_service", "update_service", "update_service",
        "delete_service"]
    revision = taskdef_arn(42)
    (call,) = canaries.start_calls(env, spec, planned.canary.canary, revision, None)
    answer = {"service": _canary_service(world, 42)}
    with stubbed(world["aws"].ecs, [("create_service", answer, call.params)]) as stub:
        executed = Executor(world["aws"], world["reporter"], env, kind="canary").execute([call])
    stub.assert_no_pending_responses()
    service = executed.responses[-1][2]["service"]
    assert service["serviceName"] == f"{spec.service_name}-canary"
    assert deployment_for(service, revision) == service["deployments"][0]["id"]
    assert call.params["tags"] == [{"key": "release:canary-of", "value": spec.service_name}]


def test_a_canary_left_over_is_reused_with_update_service(world) -> None:
    env, spec = world["env"], world["spec"]
    with _describe(world, {"services": [_canary_service(world, 40)], "failures": []}):
        planned = canary.with_canary(_plan(world), env, spec, world["aws"])
    (call,) = planned.canary.start
    assert call.operation == "update_service" and "akka-demo:40" in call.reason
    params = {**call.params, "taskDefinition": taskdef_arn(42)}
    answer = {"service": _canary_service(world, 42)}
    with stubbed(world["aws"].ecs, [("update_service", answer, params)]) as stub:
        Executor(world["aws"], world["reporter"], env).execute(
            [dataclasses.replace(call, params=params)])
    stub.assert_no_pending_responses()


def test_a_deleted_canary_still_draining_is_no_canary(world) -> None:
    env, spec = world["env"], world["spec"]
    with _describe(world, {"services": [_canary_service(world, 40, "DRAINING")],
                           "failures": []}):
        assert canary.explain(env, spec, world["aws"]) is None
    with _describe(world, _missing(world)):
        assert canary.explain(env, spec, world["aws"]) is None
    with _describe(world, {"services": [_canary_service(world, 40)], "failures": []}):
        found = canary.explain(env, spec, world["aws"])
    assert found is not None and found["revision"] == taskdef_arn(40) and found["running"] == 1


def test_the_removal_calls_are_what_ecs_takes(world) -> None:
    env, spec = world["env"], world["spec"]
    name = canaries.canary_name(spec)
    scale, delete = canaries.scale_down_call(env, name), canaries.delete_call(env, name)
    drained = _canary_service(world, 42)
    drained.update(desiredCount=0, runningCount=0)
    gone = {**drained, "status": "DRAINING"}
    with stubbed(world["aws"].ecs, [("update_service", {"service": drained}, scale.params),
                                    ("delete_service", {"service": gone}, delete.params)]) as stub:
        Executor(world["aws"], world["reporter"], env).execute([scale, delete])
    stub.assert_no_pending_responses()


def test_a_canary_left_over_after_the_spec_dropped_it_is_planned_away(world) -> None:
    env, spec = world["env"], world["spec"]
    doc = copy.deepcopy(spec.doc)
    del doc["release"]["canary"]
    plain = dataclasses.replace(spec, doc=doc)
    with _describe(world, {"services": [_canary_service(world, 40)], "failures": []}) as stub:
        planned = canary.with_canary(_plan(world), env, plain, world["aws"])
    stub.assert_no_pending_responses()
    assert planned.canary is not None and not planned.canary.runs
    assert planned.canary.left_over["tags"] == [{"key": "release:canary-of",
                                                 "value": spec.service_name}]
    assert [(c.operation, c.target) for c in calls_in(planned.instructions)][1:] == [
        ("update_service", f"{env.cluster}/{spec.service_name}"),
        ("update_service", f"{env.cluster}/{spec.service_name}-canary"),
        ("delete_service", f"{env.cluster}/{spec.service_name}-canary")]
    with _describe(world, {"services": [_canary_service(world, 40)], "failures": []}):
        found = canary.explain(env, plain, world["aws"])
    assert found is not None and "no longer in the spec" in found["note"]


def test_a_service_of_the_canary_name_without_the_tag_is_left_alone(world) -> None:
    env, spec = world["env"], world["spec"]
    someone = {"services": [_canary_service(world, 40, tagged=False)], "failures": []}
    with _describe(world, someone):
        assert canary.live_canary(env, spec, world["aws"]) is None
    with _describe(world, someone):  # never taken over: CreateService, which ECS refuses
        planned = canary.with_canary(_plan(world), env, spec, world["aws"])
    assert planned.canary is not None and planned.canary.left_over is None
    assert [c.operation for c in planned.canary.start] == ["create_service"]
    doc = copy.deepcopy(spec.doc)
    del doc["release"]["canary"]
    with _describe(world, someone):  # nor removed once the spec asks for no canary
        planned = canary.with_canary(_plan(world), env, dataclasses.replace(spec, doc=doc),
                                     world["aws"])
    assert planned.canary is None


def test_the_release_lists_before_deploy_and_the_canary_right_before_the_update(world
                                                                                ) -> None:
    """The whole release in one list, in the order it runs: beforeDeploy (a migration runs
    before new code takes traffic), the canary's start, the update, the wait, the record,
    the canary's removal; the canary's steps carry the calls ECS is sent."""
    env, spec = world["env"], world["spec"]
    doc = copy.deepcopy(spec.doc)
    doc["release"]["beforeDeploy"] = {"command": ["migrate", "--up"]}
    spec = dataclasses.replace(spec, doc=doc)
    world["spec"] = spec
    with _describe(world, _missing(world)) as stub:
        planned = canary.with_canary(_plan(world), env, spec, world["aws"])
    stub.assert_no_pending_responses()
    kinds = [(i["instruction"], i.get("operation")) for i in planned.as_dict()["instructions"]]
    assert kinds == [("call", "register_task_definition"), ("run_before_deploy", None),
                     ("canary_start", None), ("call", "update_service"), ("wait", None),
                     ("tag_record", None), ("canary_removal", None)]
    wait = planned.instructions[4]
    assert (wait.strategy, wait.seconds) == ("rolling", planned.budget.seconds)
    assert planned.instructions[1].command == ("migrate", "--up")
    assert calls_in(planned.instructions) == [
        *planned.calls[:1], *planned.canary.start, *planned.calls[1:], *planned.canary.remove]
