"""A native deployment still going on, read in the shapes ECS returns (botocore's Stubber).

`native_wait.going_on` lists the active service deployments, describes them and asks
DescribeServiceRevisions which task definition each service revision uses; `deploy`
refuses a changed spec with it and `continue` names the revision it continues: the
paused deployment's target, without asking DescribeServices (the stub would fail on
a call nobody queued).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from botocore.stub import Stubber
from stub_clients import stubbed_client
from test_service_deployments import BLUE, DEPLOYMENT, GREEN, PREFIX, at, brief, full

from release.adapters import service_deployments as api
from release.core.config import load_repo
from release.engine import continue_, native_wait

PROJECT = Path(__file__).resolve().parents[2]
TD = PREFIX + "task-definition/akka-demo:{}"
HOOK = {"hookId": "b2d1f0c4", "targetType": "PAUSE", "status": "AWAITING_ACTION",
        "expiresAt": at(86400), "timeoutAction": "ROLLBACK"}


@pytest.fixture
def ecs() -> Iterator[tuple[Any, Stubber]]:
    yield from stubbed_client("ecs")


def production() -> tuple[Any, Any]:
    repo = load_repo(PROJECT)
    return repo.environment("production"), repo.services_of("production")[0]


def revision(arn: str, taskdef: str) -> dict[str, Any]:
    return {"serviceRevisionArn": arn, "serviceArn": PREFIX + "service/AkkaCluster/akka",
            "clusterArn": PREFIX + "cluster/AkkaCluster", "taskDefinition": taskdef,
            "createdAt": at(0)}


def queue_paused(stub: Stubber, env: Any, spec: Any) -> None:
    stub.add_response("list_service_deployments", {"serviceDeployments": [brief(DEPLOYMENT, 0)]},
                      {"cluster": env.cluster, "service": spec.service_name,
                       "status": api.ACTIVE_STATUSES})
    stub.add_response("describe_service_deployments", {"serviceDeployments": [
        full(stage="POST_TEST_TRAFFIC_SHIFT", lifecycleHookDetails=[HOOK])]},
        {"serviceDeploymentArns": [DEPLOYMENT]})
    stub.add_response("describe_service_revisions", {
        "serviceRevisions": [revision(GREEN, TD.format(7))],
        "failures": [{"arn": BLUE, "reason": "MISSING"}]},
        {"serviceRevisionArns": [GREEN, BLUE]})


def test_a_paused_deployment_is_read_with_its_target_task_definition(ecs) -> None:
    client, stub = ecs
    env, spec = production()
    queue_paused(stub, env, spec)
    going = native_wait.going_on(env, spec, SimpleNamespace(ecs=client))
    assert len(going) == 1
    paused = going[0]
    assert (paused.arn, paused.revision, paused.previous) == (DEPLOYMENT, TD.format(7), "")
    assert paused.hook is not None and paused.hook["hookId"] == "b2d1f0c4"
    message, hint = native_wait.refusal(env, spec, paused)
    assert "paused at a lifecycle hook" in message and "akka-demo:7" in message
    assert "POST_TEST_TRAFFIC_SHIFT" in message and "nothing was changed" in message
    assert f"release continue --env production --service {spec.name}" in hint
    assert "--rollback" in hint


def test_nothing_going_on_is_one_call(ecs) -> None:
    client, stub = ecs
    env, spec = production()
    stub.add_response("list_service_deployments", {"serviceDeployments": []},
                      {"cluster": env.cluster, "service": spec.service_name,
                       "status": api.ACTIVE_STATUSES})
    assert native_wait.going_on(env, spec, SimpleNamespace(ecs=client)) == []


def test_continue_names_the_paused_deployments_revision_not_describe_services(ecs) -> None:
    client, stub = ecs
    env, spec = production()
    queue_paused(stub, env, spec)
    paused = native_wait.going_on(env, spec, SimpleNamespace(ecs=client))[0]
    stub.add_response("describe_task_definition", {
        "taskDefinition": {"taskDefinitionArn": TD.format(7), "family": "akka-demo",
                           "revision": 7, "containerDefinitions": []},
        "tags": [{"key": "release:previous", "value": TD.format(6)},
                 {"key": "release:env", "value": "production"}]},
        {"taskDefinition": TD.format(7), "include": ["TAGS"]})
    revision_, previous, record = continue_._revisions(SimpleNamespace(ecs=client),
                                                       env.cluster, spec, paused)
    assert (revision_, previous) == (TD.format(7), TD.format(6))
    assert record.revision == TD.format(7)
