"""The native strategies' service-deployment API in the shapes ECS returns, through Stubber.

ListServiceDeployments, DescribeServiceDeployments, StopServiceDeployment and
ContinueServiceDeployment are answered by botocore's Stubber (which validates
parameters and responses against the ECS model); what the tool reads from them is
checked through the adapter (adapters/service_deployments.py) and the judgement
(core/service_deployments.py), including answers without the fields real ECS
leaves out (no lifecycleStage yet, no traffic weights, no hooks, no rollback).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from botocore.stub import Stubber
from stub_clients import stubbed_client

from release.adapters import service_deployments as api
from release.core import service_deployments as native

T0 = 1_760_000_000.0
PREFIX = "arn:aws:ecs:us-east-1:123456789012:"
DEPLOYMENT = PREFIX + "service-deployment/AkkaCluster/akka-firehose-service/r8Lq3ZbPHnE5jO8kQxJ2h"
GREEN = PREFIX + "service-revision/AkkaCluster/akka-firehose-service/4980306466373577095"
BLUE = PREFIX + "service-revision/AkkaCluster/akka-firehose-service/9250306466373577011"


def at(seconds: float) -> datetime:
    return datetime.fromtimestamp(T0 + seconds, tz=UTC)


@pytest.fixture
def ecs() -> Iterator[tuple[Any, Stubber]]:
    yield from stubbed_client("ecs")


def brief(arn: str, created: float, status: str = "IN_PROGRESS") -> dict[str, Any]:
    return {"serviceDeploymentArn": arn, "serviceArn": PREFIX + "service/AkkaCluster/akka",
            "clusterArn": PREFIX + "cluster/AkkaCluster", "createdAt": at(created),
            "startedAt": at(created), "targetServiceRevisionArn": GREEN, "status": status}


def full(status: str = "IN_PROGRESS", stage: str | None = "PRODUCTION_TRAFFIC_SHIFT",
         **extra: Any) -> dict[str, Any]:
    found: dict[str, Any] = {
        "serviceDeploymentArn": DEPLOYMENT, "serviceArn": PREFIX + "service/AkkaCluster/akka",
        "clusterArn": PREFIX + "cluster/AkkaCluster", "createdAt": at(0), "startedAt": at(1),
        "updatedAt": at(30), "status": status,
        "sourceServiceRevisions": [{"arn": BLUE, "requestedTaskCount": 2,
                                    "runningTaskCount": 2, "pendingTaskCount": 0}],
        "targetServiceRevision": {"arn": GREEN, "requestedTaskCount": 2,
                                  "runningTaskCount": 2, "pendingTaskCount": 0},
        "deploymentConfiguration": {"strategy": "BLUE_GREEN", "bakeTimeInMinutes": 5,
                                    "maximumPercent": 200, "minimumHealthyPercent": 100},
        **extra}
    if stage is not None:
        found["lifecycleStage"] = stage
    return found


def test_find_takes_the_newest_deployment_across_pages_since_the_update(ecs) -> None:
    client, stub = ecs
    older, newer = DEPLOYMENT + "a", DEPLOYMENT + "b"
    asked = {"cluster": "AkkaCluster", "service": "akka", "createdAt": {"after": at(99)}}
    stub.add_response("list_service_deployments",
                      {"serviceDeployments": [brief(older, 100, "SUCCESSFUL")],
                       "nextToken": "page-2"}, asked)
    stub.add_response("list_service_deployments",
                      {"serviceDeployments": [brief(newer, 160)]},
                      {**asked, "nextToken": "page-2"})
    found = api.find(client, "AkkaCluster", "akka", after=T0 + 100)
    assert found is not None and found["serviceDeploymentArn"] == newer


def test_find_with_nothing_listed_is_none(ecs) -> None:
    client, stub = ecs
    stub.add_response("list_service_deployments", {"serviceDeployments": []},
                      {"cluster": "AkkaCluster", "service": "akka",
                       "status": api.ACTIVE_STATUSES})
    assert api.find(client, "AkkaCluster", "akka", active_only=True) is None


def test_traffic_shift_and_bake_time_as_they_progress(ecs) -> None:
    client, stub = ecs
    shifting = full(targetServiceRevision={"arn": GREEN, "requestedTaskCount": 2,
                                           "runningTaskCount": 2, "pendingTaskCount": 0,
                                           "requestedProductionTrafficWeight": 30.0,
                                           "requestedTestTrafficWeight": 100.0})
    baking = full(stage="BAKE_TIME")
    for answer in (shifting, baking, baking):
        stub.add_response("describe_service_deployments", {"serviceDeployments": [answer]},
                          {"serviceDeploymentArns": [DEPLOYMENT]})
    watch = native.NativeWatch()
    first = watch.observe(api.describe(client, DEPLOYMENT), T0 + 30)
    assert first.state == native.PROGRESSING and first.traffic == 30.0
    assert "30% of production traffic on the new revision" in first.summary
    assert "2/2 new tasks running" in first.summary
    bake = watch.observe(api.describe(client, DEPLOYMENT), T0 + 60)
    assert "bake time 5 min (300 s left)" in bake.summary
    later = watch.observe(api.describe(client, DEPLOYMENT), T0 + 180)
    assert "(180 s left)" in later.summary and later.changed


def test_an_answer_without_stage_weights_or_hooks_still_judges(ecs) -> None:
    client, stub = ecs
    bare = full(stage=None, status="PENDING")
    del bare["targetServiceRevision"], bare["sourceServiceRevisions"]
    stub.add_response("describe_service_deployments", {"serviceDeployments": [bare]},
                      {"serviceDeploymentArns": [DEPLOYMENT]})
    verdict = native.NativeWatch().observe(api.describe(client, DEPLOYMENT), T0)
    assert (verdict.state, verdict.summary, verdict.traffic) == (native.PROGRESSING,
                                                                 "pending", None)


def test_rolled_back_by_an_alarm_names_it(ecs) -> None:
    client, stub = ecs
    answer = full(status="ROLLBACK_SUCCESSFUL", stage="BAKE_TIME", finishedAt=at(400),
                  rollback={"reason": "CloudWatch alarm akka-5xx in ALARM state",
                            "startedAt": at(200), "serviceRevisionArn": BLUE},
                  alarms={"status": "TRIGGERED", "alarmNames": ["akka-5xx"],
                          "triggeredAlarmNames": ["akka-5xx"]})
    stub.add_response("describe_service_deployments", {"serviceDeployments": [answer]},
                      {"serviceDeploymentArns": [DEPLOYMENT]})
    verdict = native.NativeWatch().observe(api.describe(client, DEPLOYMENT), T0 + 400)
    assert verdict.state == native.ROLLED_BACK and verdict.done
    assert verdict.reason == "CloudWatch alarm akka-5xx in ALARM state; alarm(s) akka-5xx"


@pytest.mark.parametrize("status, state", [("SUCCESSFUL", native.RELEASED),
                                           ("ROLLBACK_IN_PROGRESS", native.ROLLING_BACK),
                                           ("ROLLBACK_FAILED", native.NOT_RESTORED),
                                           ("STOPPED", native.STOPPED)])
def test_each_end_status(ecs, status: str, state: str) -> None:
    client, stub = ecs
    stub.add_response("describe_service_deployments",
                      {"serviceDeployments": [full(status=status, stage="CLEAN_UP")]},
                      {"serviceDeploymentArns": [DEPLOYMENT]})
    assert native.NativeWatch().observe(api.describe(client, DEPLOYMENT), T0).state == state


def test_a_missing_deployment_is_reported_in_failures(ecs) -> None:
    client, stub = ecs
    stub.add_response("describe_service_deployments",
                      {"serviceDeployments": [], "failures": [{"arn": DEPLOYMENT,
                                                               "reason": "MISSING"}]},
                      {"serviceDeploymentArns": [DEPLOYMENT]})
    assert api.describe(client, DEPLOYMENT) is None


def test_a_paused_hook_then_continue(ecs) -> None:
    client, stub = ecs
    hook = {"hookId": "b2d1f0c4", "targetType": "PAUSE", "status": "AWAITING_ACTION",
            "expiresAt": at(86400), "timeoutAction": "ROLLBACK"}
    stub.add_response("describe_service_deployments", {"serviceDeployments": [
        full(stage="POST_TEST_TRAFFIC_SHIFT", lifecycleHookDetails=[hook])]},
        {"serviceDeploymentArns": [DEPLOYMENT]})
    stub.add_response("continue_service_deployment", {"serviceDeploymentArn": DEPLOYMENT},
                      {"serviceDeploymentArn": DEPLOYMENT, "hookId": "b2d1f0c4",
                       "action": "CONTINUE"})
    verdict = native.NativeWatch().observe(api.describe(client, DEPLOYMENT), T0)
    assert (verdict.state, verdict.hook_id) == (native.PAUSED, "b2d1f0c4")
    assert "waiting for `release continue`" in verdict.summary
    api.continue_hook(client, DEPLOYMENT, "b2d1f0c4")


def test_stop_asks_for_a_rollback_not_an_abort(ecs) -> None:
    client, stub = ecs
    stub.add_response("stop_service_deployment", {"serviceDeploymentArn": DEPLOYMENT},
                      {"serviceDeploymentArn": DEPLOYMENT, "stopType": "ROLLBACK"})
    api.stop_with_rollback(client, DEPLOYMENT)


def test_budget_and_traffic_steps_of_each_strategy() -> None:
    linear = {"strategy": "LINEAR", "bakeTimeInMinutes": 2,
              "linearConfiguration": {"stepPercent": 30.0, "stepBakeTimeInMinutes": 1}}
    assert native.shift_steps(linear) == [(30.0, 1), (60.0, 1), (90.0, 1), (100.0, 0)]
    assert native.native_seconds(linear) == 60 * (3 + 2)
    assert native.shift_steps({"strategy": "CANARY"}) == [(5.0, 10), (100.0, 0)]
    assert native.shift_steps({"strategy": "LINEAR"})[0] == (10.0, 6)
    assert native.native_seconds({"strategy": "BLUE_GREEN", "bakeTimeInMinutes": 5}) == 300
    assert native.is_native({"deploymentConfiguration": {"strategy": "CANARY"}})
    assert not native.is_native({"deploymentConfiguration": {}})
