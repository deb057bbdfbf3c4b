"""ECS-native strategies released through the CLI against the sandbox, on a virtual clock.

The service runs on ALB target groups (tests/engine/native_stage.py) with
BLUE_GREEN, LINEAR or a PAUSE hook; the wait follows the service deployment
(DescribeServiceDeployments) and ends as ECS's deployment ends.
"""

from __future__ import annotations

from typing import Any

import pytest
from engine_sandbox import Stage
from native_stage import go_native

ALARM = "akka-firehose-5xx"


def deployment(stage: Stage) -> dict[str, Any]:
    ecs = stage.ecs()
    arn = ecs.list_service_deployments(cluster="AkkaCluster", service="akka-firehose-service")[
        "serviceDeployments"][0]["serviceDeploymentArn"]
    return ecs.describe_service_deployments(serviceDeploymentArns=[arn])["serviceDeployments"][0]


def progress(run: Any) -> list[str]:
    return [e["summary"] for e in run.events if e["event"] == "wait.progress"]


def alarm_fires_in_bake(stage: Stage) -> None:
    """The alarm goes into ALARM 45 s into the bake (as SetAlarmState would put it).

    Set on moto's backend from a clock tick: a tick runs inside the sandbox's lock, where
    a call through the HTTP API would wait for itself.
    """
    from moto.backends import get_backend

    sandbox = stage.sandbox
    native = sandbox.emulator.scheduler.native
    fired: list[bool] = []

    def tick(now: float) -> None:
        record = sandbox.emulator.world.services.get("AkkaCluster:akka-firehose-service")
        current = native.current(record) if record is not None else None
        if fired or current is None or current.stage != "BAKE_TIME" \
                or current.green[2].rsplit(":", 1)[-1] != "2" or now - current.stage_since < 45:
            return
        fired.append(True)
        get_backend("cloudwatch")[sandbox.account][sandbox.region].set_alarm_state(
            ALARM, "akka-firehose answers 5xx", None, "ALARM")

    sandbox.clock.on_tick(tick)


@pytest.mark.instances(4)
def test_blue_green_with_bake_rolled_back_by_a_failing_alarm_exits_3(stage: Stage) -> None:
    stage.sandbox.client("cloudwatch").put_metric_alarm(
        AlarmName=ALARM, MetricName="HTTPCode_Target_5XX_Count", Namespace="AWS/ApplicationELB",
        Statistic="Sum", Period=60, EvaluationPeriods=1, Threshold=1,
        ComparisonOperator="GreaterThanThreshold")
    go_native(stage, {"strategy": "BLUE_GREEN", "bakeTimeInMinutes": 2, "alarms": {
        "alarmNames": [ALARM], "enable": True, "rollback": True}})
    stage.pin("v1")
    assert stage.cli("deploy").exit_code == 0
    alarm_fires_in_bake(stage)
    stage.pin("v2")
    run = stage.cli("deploy")
    assert run.exit_code == 3, run.output
    summaries = progress(run)
    assert any("BAKE_TIME" in s and "bake time 2 min" in s for s in summaries), summaries
    assert summaries[-1].startswith("rollback successful, BAKE_TIME"), summaries
    rolled = run.first("release.rolled_back")
    assert "rolled back by ECS to akka-demo:1" in rolled["message"]
    assert ALARM in run.summary["outcomes"][0]["message"]
    assert stage.live_revision() == "akka-demo:1"
    assert deployment(stage)["status"] == "ROLLBACK_SUCCESSFUL"
    assert stage.tags("akka-demo:2")["release:outcome"] == "rolled-back"


@pytest.mark.instances(4)
def test_linear_traffic_shift_shown_step_by_step_and_released(stage: Stage) -> None:
    go_native(stage, {"strategy": "LINEAR", "bakeTimeInMinutes": 0, "linearConfiguration": {
        "stepPercent": 50.0, "stepBakeTimeInMinutes": 1}})
    stage.pin("v1")
    assert stage.cli("deploy").exit_code == 0
    stage.pin("v2")
    run = stage.cli("deploy")
    assert run.exit_code == 0, run.output
    seen = [(e.get("stage"), e["traffic"]) for e in run.events if e["event"] == "wait.progress"]
    shifting = [traffic for stage, traffic in seen if stage == "PRODUCTION_TRAFFIC_SHIFT"]
    assert shifting[:1] == [50.0], seen  # the first step, baked a minute
    assert seen[-1][1] == 100.0, seen
    assert run.first("wait.stable")["revision"].endswith("akka-demo:2")
    assert stage.live_revision() == "akka-demo:2"
    assert stage.tags("akka-demo:2")["release:outcome"] == "completed"


@pytest.mark.instances(4)
def test_a_pause_hook_is_continued_with_release_continue(stage: Stage) -> None:
    go_native(stage, {"strategy": "BLUE_GREEN", "bakeTimeInMinutes": 0})
    stage.pin("v1")
    assert stage.cli("deploy").exit_code == 0
    assert stage.cli("continue", "--service", "akka-firehose").exit_code == 1  # none paused
    stage.edit("environments/sandbox/services/akka-firehose.json", lambda d: d["service"][
        "deploymentConfiguration"].update(lifecycleHooks=[
            {"targetType": "PAUSE", "lifecycleStages": ["POST_TEST_TRAFFIC_SHIFT"]}]))
    stage.pin("v2")
    run = stage.cli("deploy")
    assert run.exit_code == 0, run.output
    paused = run.first("release.paused")
    assert paused["resume"] == "release continue --env sandbox --service akka-firehose"
    assert run.summary["outcomes"][0]["status"] == "paused"
    stage.sandbox.advance(300)  # the approval takes its time; the deployment waits
    assert deployment(stage)["lifecycleStage"] == "POST_TEST_TRAFFIC_SHIFT"
    assert stage.live_revision() == "akka-demo:2"
    assert deployment(stage)["targetServiceRevision"]["requestedProductionTrafficWeight"] == 0
    resumed = stage.cli("continue", "--service", "akka-firehose")
    assert resumed.exit_code == 0, resumed.output
    assert resumed.has("continue.start") and resumed.has("release.released")
    assert deployment(stage)["status"] == "SUCCESSFUL"
    assert deployment(stage)["lifecycleHookDetails"][0]["status"] == "SUCCEEDED"
    history = stage.cli("history", "--service", "akka-firehose")
    entries = history.first("history")["entries"]
    assert [(e["command"], e["outcome"]) for e in entries[:2]] == [
        ("continue", "completed"), ("deploy", "paused")]


@pytest.mark.instances(4)
def test_continue_with_nothing_paused_answers_at_once_and_touches_no_record(
        stage: Stage) -> None:
    """Nothing to approve: no minute of polling under the lock, and a release another run
    left in progress is not closed by a command that does nothing."""
    from release.adapters.lease import LeaseTable
    from release.adapters.ledger import Ledger
    from release.core import records

    go_native(stage, {"strategy": "BLUE_GREEN", "bakeTimeInMinutes": 0})
    stage.pin("v1")
    assert stage.cli("deploy").exit_code == 0
    table = Ledger(stage.sandbox.environment("sandbox"), stage.sandbox.client("dynamodb"))
    left = records.Entry(id="2026-01-01T00:00:00.000Z-left", kind=records.RELEASE,
                         env="sandbox", service="akka-firehose-service",
                         revision="akka-demo:1", at="2026-01-01T00:00:00Z", command="deploy")
    table.add(left)
    started = stage.sandbox.clock.now()
    run = stage.cli("continue", "--service", "akka-firehose")
    assert run.exit_code == 1, run.output
    assert "no deployment is paused" in run.first("error")["message"]
    assert stage.sandbox.clock.now() - started < 5
    assert not run.has("ledger.closed") and not run.has("lock.takeover")
    entries = {e.id: e for e in table.entries("akka-firehose-service")}
    assert entries[left.id].outcome == records.IN_PROGRESS
    assert LeaseTable(table.env, table.client).read_lease("akka-firehose-service") is None


@pytest.mark.instances(4)
def test_a_pause_and_its_continue_are_notified(stage: Stage) -> None:
    from release_sandbox.webhook import WebhookReceiver

    go_native(stage, {"strategy": "BLUE_GREEN", "bakeTimeInMinutes": 0})
    stage.pin("v1")
    assert stage.cli("deploy").exit_code == 0
    stage.edit("environments/sandbox/services/akka-firehose.json", lambda d: d["service"][
        "deploymentConfiguration"].update(lifecycleHooks=[
            {"targetType": "PAUSE", "lifecycleStages": ["POST_TEST_TRAFFIC_SHIFT"]}]))
    stage.pin("v2")
    with WebhookReceiver() as hook:
        run = stage.cli("deploy", "--notify", hook.url)
        assert run.exit_code == 0, run.output
        paused = hook.bodies()
        assert [b["outcome"] for b in paused] == ["started", "paused"], paused
        assert "release continue --env sandbox --service akka-firehose" in paused[-1]["text"]
        assert paused[-1]["revision"].endswith("akka-demo:2")
        resumed = stage.cli("continue", "--service", "akka-firehose", "--notify", hook.url)
        assert resumed.exit_code == 0, resumed.output
        bodies = hook.bodies()[len(paused):]
    assert [(b["outcome"], b["action"]) for b in bodies] == [("released", "continue")], bodies
    assert bodies[0]["revision"].endswith("akka-demo:2")


@pytest.mark.instances(4)
def test_out_of_time_is_rolled_back_with_stop_service_deployment_not_a_new_one(
        stage: Stage) -> None:
    go_native(stage, {"strategy": "BLUE_GREEN", "bakeTimeInMinutes": 0})
    stage.pin("v1")
    assert stage.cli("deploy").exit_code == 0
    stage.edit("environments/sandbox/services/akka-firehose.json", lambda d: d["service"][
        "deploymentConfiguration"].update(bakeTimeInMinutes=30))
    stage.pin("v2")
    run = stage.cli("deploy", "--timeout", "300")
    assert run.exit_code == 3, run.output
    assert "StopServiceDeployment ROLLBACK" in run.first("wait.failed")["message"]
    assert "rolled back by release to akka-demo:1" in run.first("release.rolled_back")["message"]
    assert stage.live_revision() == "akka-demo:1"
    assert deployment(stage)["rollback"]["reason"] == "rolled back by StopServiceDeployment"
    # one deployment for v1, one for v2 and its rollback: no second deployment was started
    listed = stage.ecs().list_service_deployments(cluster="AkkaCluster",
                                                  service="akka-firehose-service")
    assert len(listed["serviceDeployments"]) == 2


@pytest.mark.instances(4)
def test_connections_dropped_while_following_a_native_deployment_are_retried(
        stage: Stage) -> None:
    """The native wait's outage policy is the rolling wait's (core/poll.py): before the one
    poll loop it stopped at the first lost connection with exit 5."""
    go_native(stage, {"strategy": "BLUE_GREEN", "bakeTimeInMinutes": 1})
    stage.pin("v1")
    assert stage.cli("deploy").exit_code == 0
    sandbox = stage.sandbox
    native = sandbox.emulator.scheduler.native
    armed: list[float] = []

    def tick(now: float) -> None:
        record = sandbox.emulator.world.services.get("AkkaCluster:akka-firehose-service")
        current = native.current(record) if record is not None else None
        if armed or current is None or current.green[2].rsplit(":", 1)[-1] != "2":
            return
        armed.append(now)
        sandbox.faults.drop(25)  # more than botocore's own retries absorb

    sandbox.clock.on_tick(tick)
    stage.pin("v2")
    run = stage.cli("deploy")
    sandbox.faults.clear()
    assert armed, "the outage never started"
    assert run.exit_code == 0, run.output
    assert run.has("wait.retry") and run.has("wait.reconnected")
    assert "lost contact with AWS" in run.first("wait.retry")["message"]
    assert stage.live_revision() == "akka-demo:2"
    assert deployment(stage)["status"] == "SUCCESSFUL"
