"""A native deployment paused at a lifecycle hook blocks the next release, and `continue` names
the revision it continues.

The service is created with a PAUSE hook (blue/green on ALB target groups,
tests/engine/native_stage.py): its very first deployment pauses. DescribeServices
then need not show a rollout in progress (the sandbox reports the first
deployment COMPLETED), so only the service deployment (ListServiceDeployments)
tells that one is waiting. A second `deploy` of a changed spec must be refused
rather than start a deployment beside the paused one; `continue` approves the
paused deployment and reports *its* target revision, not git's.
"""

from __future__ import annotations

from typing import Any

import pytest
from engine_sandbox import CLUSTER, SERVICE, Stage
from native_stage import go_native

PAUSE = {"strategy": "BLUE_GREEN", "bakeTimeInMinutes": 0, "lifecycleHooks": [
    {"targetType": "PAUSE", "lifecycleStages": ["POST_TEST_TRAFFIC_SHIFT"]}]}


def deployments(stage: Stage) -> list[dict[str, Any]]:
    ecs = stage.ecs()
    arns = [b["serviceDeploymentArn"] for b in ecs.list_service_deployments(
        cluster=CLUSTER, service=SERVICE)["serviceDeployments"]]
    return ecs.describe_service_deployments(serviceDeploymentArns=arns)["serviceDeployments"]


@pytest.fixture
def paused(stage: Stage) -> Stage:
    """The first deploy of akka-demo:1 paused at its hook."""
    go_native(stage, PAUSE)
    stage.pin("v1")
    run = stage.cli("deploy")
    assert run.exit_code == 0, run.output
    assert run.summary["outcomes"][0]["status"] == "paused"
    return stage


@pytest.mark.instances(4)
def test_a_changed_spec_is_refused_while_the_first_deployment_is_paused(paused: Stage) -> None:
    stage = paused
    stage.pin("v2")
    run = stage.cli("deploy")
    assert run.exit_code == 1, run.output
    error = run.first("error")
    assert "paused at a lifecycle hook" in error["message"], error
    assert "akka-demo:1" in error["message"] and "POST_TEST_TRAFFIC_SHIFT" in error["message"]
    assert "nothing was changed" in error["message"]
    assert "release continue --env sandbox --service akka-firehose" in error["hint"]
    assert "--rollback" in error["hint"]
    assert stage.revisions() == ["akka-demo:1"]  # nothing registered
    assert len(deployments(stage)) == 1  # no second deployment beside the paused one

    resumed = stage.cli("continue", "--service", "akka-firehose")
    assert resumed.exit_code == 0, resumed.output
    start = resumed.first("continue.start")
    assert start["revision"].endswith("akka-demo:1") and "akka-demo:1" in start["message"]
    outcome = resumed.summary["outcomes"][0]
    assert outcome["status"] == "released" and outcome["revision"].endswith("akka-demo:1")
    assert [d["status"] for d in deployments(stage)] == ["SUCCESSFUL"]

    again = stage.cli("deploy")  # now git's akka-demo:2 goes out, and pauses in its turn
    assert again.exit_code == 0, again.output
    assert again.summary["outcomes"][0]["status"] == "paused"
    assert again.summary["outcomes"][0]["revision"].endswith("akka-demo:2")


@pytest.mark.instances(4)
def test_deploy_of_the_paused_revision_itself_resumes_and_says_it_is_paused(
        paused: Stage) -> None:
    """git still asks for akka-demo:1: not "nothing to change" while it waits at a hook."""
    run = paused.cli("deploy")
    assert run.exit_code == 0, run.output
    assert not run.has("release.unchanged")
    assert run.has("release.resume") and run.first("release.paused")["revision"].endswith(
        "akka-demo:1")
    assert paused.revisions() == ["akka-demo:1"] and len(deployments(paused)) == 1
