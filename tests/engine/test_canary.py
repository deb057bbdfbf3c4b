"""A canary behind the classic ELB (`release.canary`), through the CLI against the sandbox.

Three instances: the service's two tasks and the canary's one each hold host port 80 on
their own instance, all three registered with the same ELB. The `stage` fixture checks
every stable claim (the canary's too) against the emulator at that moment.
"""

from __future__ import annotations

from typing import Any

import pytest
from engine_sandbox import CLUSTER, ENV_DOC, SERVICE, SPEC, Stage

CANARY = f"{SERVICE}-canary"


def _with_canary(stage: Stage, bake_minutes: float = 2) -> str:
    """The service live on akka-demo:1 (v1, its digest returned) with a canary configured."""
    stage.edit(ENV_DOC, lambda d: d["instances"].update(count=3))
    stage.edit(SPEC, lambda d: d["release"].update(
        canary={"count": 1, "bakeMinutes": bake_minutes}))
    digest = stage.pin("v1")
    run = stage.cli("deploy")
    assert run.exit_code == 0, run.output
    assert not run.has("canary.start")  # a first release has no traffic to protect
    return digest


def _canary_service(stage: Stage) -> dict[str, Any] | None:
    found = stage.ecs().describe_services(cluster=CLUSTER, services=[CANARY])["services"]
    return next((s for s in found if s["status"] != "INACTIVE"), None)


def _calls(run: Any, kind: str) -> list[tuple[str, str]]:
    """The calls of `kind` events in order, a canary step's calls (`plan.step`: one line for
    the canary's start or removal) in its place."""
    step = kind.removesuffix(".call") + ".step"
    found: list[tuple[str, str]] = []
    for e in run.events:
        if e["event"] == kind:
            found.append((e["operation"], e["target"]))
        elif e["event"] == step:
            found += [(c["operation"], c["target"]) for c in e.get("calls", [])]
    return found


@pytest.mark.instances(3)
def test_canary_serves_bakes_then_the_service_is_released_and_the_canary_removed(
        stage: Stage) -> None:
    _with_canary(stage)
    stage.pin("v2")
    planned = stage.cli("plan")
    assert [op for op, _ in _calls(planned, "plan.call")] == [
        "register_task_definition", "create_service", "update_service", "update_service",
        "delete_service"], planned.output
    budget = planned.first("plan.budget")["message"]
    assert "before it the canary: up to 135 s to serve, bake 2 min" in budget, budget
    run = stage.cli("deploy")
    assert run.exit_code == 0, run.output
    kinds = run.kinds()
    # the canary served and baked before the main service was touched, and went at the end
    stable = [e["service"] for e in run.events if e["event"] == "wait.stable"]
    assert stable == [CANARY, SERVICE, CANARY], stable
    main_update = next(i for i, e in enumerate(run.events) if e["event"] == "release.call"
                       and e["operation"] == "update_service")
    assert kinds.index("canary.passed") < main_update < kinds.index("canary.removed")
    assert _calls(run, "canary.call") == [
        ("create_service", f"{CLUSTER}/{CANARY}"), ("update_service", f"{CLUSTER}/{CANARY}"),
        ("delete_service", f"{CLUSTER}/{CANARY}")]
    bake = next(e for e in run.events if e["event"] == "bake.start")
    assert bake["label"] == "canary" and bake["minutes"] == 2
    # the canary's removal waited for its instance to drain (the ELB's 5 s)
    removal = [e for e in run.events if e["event"] == "wait.start"][-1]
    assert "canary removal" in removal["message"]
    assert stage.live_revision() == "akka-demo:2"
    assert _canary_service(stage) is None
    assert stage.tags("akka-demo:2")["release:outcome"] == "completed"


@pytest.mark.instances(3)
def test_a_crashing_canary_is_removed_and_the_service_is_left_untouched(stage: Stage) -> None:
    _with_canary(stage)
    before = stage.service()
    stage.pin("v2", fault="crash:exit=3")
    run = stage.cli("deploy")
    assert run.exit_code == 3, run.output
    failed = run.first("canary.failed")
    assert "did not serve" in failed["reason"] and "exit code 3" in failed["reason"]
    assert not any(e["event"] == "release.call" and e["operation"] == "update_service"
                   for e in run.events)
    assert run.has("canary.removed")
    assert _canary_service(stage) is None
    after = stage.service()
    assert stage.live_revision() == "akka-demo:1"
    assert [d["id"] for d in after["deployments"]] == [d["id"] for d in before["deployments"]]
    assert stage.tags("akka-demo:2")["release:outcome"] == "rolled-back"
    error = run.first("error")
    assert error["exit_code"] == 3 and "not updated" in error["message"]


@pytest.mark.instances(3)
def test_a_canary_whose_alarm_goes_off_is_removed_and_the_service_is_left_untouched(
        stage: Stage) -> None:
    stage.sandbox.client("cloudwatch").put_metric_alarm(
        AlarmName="akka-firehose-5xx", Namespace="AWS/ELB", MetricName="HTTPCode_Backend_5XX",
        Dimensions=[{"Name": "LoadBalancerName", "Value": "akkaElb"}], Statistic="Sum",
        Period=60, EvaluationPeriods=1, Threshold=5, ComparisonOperator="GreaterThanThreshold")
    stage.edit(SPEC, lambda d: d["release"].update(
        bake={"minutes": 1, "alarms": ["akka-firehose-5xx"]}))
    _with_canary(stage, bake_minutes=5)
    stage.pin("v2", fault="alarm:name=akka-firehose-5xx,after=60")
    run = stage.cli("deploy")
    assert run.exit_code == 3, run.output
    assert run.first("bake.failed")["label"] == "canary"
    reason = run.first("canary.failed")["reason"]
    assert reason.startswith("alarm akka-firehose-5xx went into ALARM") and \
        "Threshold Crossed" in reason
    assert not any(e["event"] == "release.call" and e["operation"] == "update_service"
                   for e in run.events)
    assert _canary_service(stage) is None
    assert stage.live_revision() == "akka-demo:1"
    assert stage.tags("akka-demo:2")["release:outcome"] == "rolled-back"


def _interrupt_during_the_bake(stage: Stage, tag: str) -> Any:
    """`release deploy` of `tag`, Ctrl-C while the canary serves: the canary is left behind."""
    fired: list[float] = []

    def ctrl_c(now: float) -> None:
        canary = _canary_service(stage) if not fired else None
        if canary is not None and canary["runningCount"] == 1:
            fired.append(now)
            raise KeyboardInterrupt

    stage.sandbox.clock.on_tick(ctrl_c)
    stage.pin(tag)
    run = stage.cli("deploy")
    assert fired and run.exit_code == 130, run.output
    assert run.has("canary.interrupted")
    return run


@pytest.mark.instances(3)
def test_a_canary_left_by_an_interrupted_run_is_explained_then_removed_or_reused(
        stage: Stage) -> None:
    v1 = _with_canary(stage)
    _interrupt_during_the_bake(stage, "v2")
    assert stage.live_revision() == "akka-demo:1"  # the service was not touched
    status = stage.cli("status")
    canary = status.first("status")["canary"]
    assert canary["service"] == CANARY and canary["revision"].endswith("akka-demo:2")
    assert "reuses it" in canary["note"] and status.has("status.canary")

    # back to what the service runs: nothing to release, but the canary goes
    stage.edit(SPEC, lambda d: d["image"].update(tag="v1", digest=v1))
    stage.commit("back to v1")
    planned = stage.cli("plan")
    assert [op for op, _ in _calls(planned, "plan.call")] == ["update_service",
                                                              "delete_service"]
    run = stage.cli("deploy")
    assert run.exit_code == 0, run.output
    assert run.has("release.unchanged") and run.has("canary.removed")
    assert _canary_service(stage) is None
    assert stage.cli("status").first("status")["canary"] is None

    # left behind again, then a new revision: the next release reuses it
    _interrupt_during_the_bake(stage, "v3")
    run = stage.cli("deploy")
    assert run.exit_code == 0, run.output
    assert run.first("canary.start")["reused"] is True
    first = next(e for e in run.events if e["event"] == "canary.call")
    assert first["operation"] == "update_service" and "interrupted release" in first["reason"]
    assert _canary_service(stage) is None
    assert stage.live_revision() == "akka-demo:4"  # registered again: :3 was never released
