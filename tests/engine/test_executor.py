"""The one executor and the one display: what is shown is what is run, field for field."""

from __future__ import annotations

import types
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from engine_sandbox import PROJECT
from engine_shapes import CLUSTER_ARN, NEW_TD, OLD_TD, SERVICE

from release.core import plan as planning
from release.core.calls import ApiCall
from release.core.config import load_repo
from release.core.instructions import TagRecord
from release.engine.executor import DisplayOnlyExecutor, Executor, display
from release.output.events import Reporter


def _ecs() -> Any:
    return boto3.client("ecs", region_name="us-east-1", aws_access_key_id="testing",
                        aws_secret_access_key="testing")


def _service(td: str) -> dict[str, Any]:
    return {"serviceArn": f"arn:aws:ecs:us-east-1:123456789012:service/AkkaCluster/{SERVICE}",
            "serviceName": SERVICE, "clusterArn": CLUSTER_ARN, "taskDefinition": td,
            "deployments": [{"id": "ecs-svc/3", "status": "PRIMARY", "taskDefinition": td}]}


@pytest.fixture
def staging() -> tuple[Any, Any]:
    repo = load_repo(PROJECT)
    spec = repo.services_of("staging")[0]
    return repo.environment("staging"), spec


def _fields(reporter: Reporter, kind: str) -> list[dict[str, Any]]:
    return [e.data for e in reporter.events if e.kind == kind]


def test_the_rollback_plan_shown_is_the_plan_run(staging) -> None:
    env, spec = staging
    live = planning.Live(_service(NEW_TD), None)
    tags = [{"key": "release:restored-from", "value": NEW_TD}]
    plan = planning.rollback_plan(env, spec, live, OLD_TD, to_taskdef={}, restored_tags=tags)
    shown = Reporter("json")
    display([*plan.calls, *plan.after_stable], shown)
    ecs = _ecs()
    ran = Reporter("json")
    with Stubber(ecs) as stub:
        stub.add_response("update_service", {"service": _service(OLD_TD)},
                          {"cluster": env.cluster, "service": spec.service_name,
                           "taskDefinition": OLD_TD})
        stub.add_response("tag_resource", {}, {"resourceArn": OLD_TD, "tags": tags})
        executor = Executor(types.SimpleNamespace(ecs=ecs), ran, env, kind="rollback")
        executor.execute(plan.calls)
        executor.execute(plan.after_stable)
        stub.assert_no_pending_responses()
    run_steps = [(e.kind.split(".")[1], {k: v for k, v in e.data.items()
                                          if k not in ("step", "total")})
                 for e in ran.events if e.kind in ("rollback.call", "rollback.step")]
    assert run_steps == [(e.kind.split(".")[1], {k: v for k, v in e.data.items()
                                                  if k not in ("step", "total")})
                         for e in shown.events if e.kind in ("plan.call", "plan.step")]
    assert [(f["instruction"], f.get("operation")) for _, f in run_steps] == [
        ("call", "update_service"), ("tag_record", None)]
    [record] = [f for _, f in run_steps if f["instruction"] == "tag_record"]
    assert (record["revision"], record["tags"]) == (OLD_TD, tags)


def test_when_ecs_already_rolls_back_the_plan_has_no_update_call(staging) -> None:
    env, spec = staging
    plan = planning.rollback_plan(env, spec, planning.Live(_service(NEW_TD), None), OLD_TD,
                                  ecs_rolls_back=True, restored_tags=[])
    assert plan.calls == [] and plan.after_stable == []


def test_a_hook_runs_after_its_call_and_a_best_effort_failure_is_said_and_passed(staging
                                                                                ) -> None:
    env, _ = staging
    ecs = _ecs()
    reporter = Reporter("json")
    seen: list[str] = []
    listed = [TagRecord(OLD_TD, "completed", "stable"),
              ApiCall("ecs", "update_service", {"cluster": "AkkaCluster", "service": SERVICE,
                                                "taskDefinition": OLD_TD}, "test")]
    with Stubber(ecs) as stub:
        stub.add_client_error("tag_resource", "AccessDeniedException", "no", 400)
        stub.add_response("update_service", {"service": _service(OLD_TD)}, listed[1].params)
        executed = Executor(types.SimpleNamespace(ecs=ecs), reporter, env, after={
            "update_service": lambda call, params, response: seen.append(
                response["service"]["taskDefinition"])}).execute(listed)
    assert seen == [OLD_TD]
    assert [c.operation for c, _, _ in executed.responses] == ["update_service"]
    assert "could not update the release record" in next(
        e.message for e in reporter.events if e.kind == "record.warning")


def test_the_display_runs_nothing() -> None:
    reporter = Reporter("json")
    executed = DisplayOnlyExecutor(reporter).execute(
        [ApiCall("ecs", "delete_cluster", {"cluster": "x"}, "would be bad", "x")])
    assert executed.responses == [] and executed.results == {}
    [shown] = _fields(reporter, "plan.call")
    assert (shown["step"], shown["total"], shown["target"]) == (1, 1, "x")
