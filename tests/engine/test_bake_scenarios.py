"""The bake after stable, through the CLI against the sandbox, on a virtual clock.

The alarm is made by `release bootstrap` from environment.json /alarms, and put
in ALARM by the sandbox's alarm fault on the new revision (release_sandbox/alarms.py).
"""

from __future__ import annotations

from engine_sandbox import ENV_DOC, SPEC, Stage

from release.core.clock import default_clock

ALARM = "akka-sandbox-5xx"
DEFINITION = {"metricName": "HTTPCode_Backend_5XX", "statistic": "Sum",
              "comparisonOperator": "GreaterThanOrEqualToThreshold", "threshold": 5,
              "period": 60, "evaluationPeriods": 1}


def with_bake(stage: Stage, minutes: float = 5, alarms: tuple[str, ...] = (ALARM,),
              bootstrap: bool = True) -> None:
    stage.edit(ENV_DOC, lambda d: d.setdefault("alarms", {}).update({ALARM: DEFINITION}))
    stage.edit(SPEC, lambda d: d["release"].update(bake={"minutes": minutes,
                                                         "alarms": list(alarms)}))
    stage.commit("bake")
    if bootstrap:
        run = stage.cli("bootstrap", "--yes")
        assert run.exit_code == 0, run.output
        assert any(c["operation"] == "put_metric_alarm" for e in run.events
                   if e["event"] == "bootstrap.plan" for c in e["calls"]), run.output


def test_an_alarm_in_alarm_during_the_bake_rolls_back_with_exit_3_naming_it(
        released: Stage) -> None:
    stage = released
    with_bake(stage)
    stage.pin("v2", fault=f"alarm:name={ALARM},after=20")
    run = stage.cli("deploy")
    assert run.exit_code == 3, run.output
    kinds = run.kinds()
    assert kinds.index("wait.stable") < kinds.index("bake.start") < kinds.index("bake.failed")
    failed = run.first("bake.failed")
    assert failed["alarm"] == ALARM and failed["reason"].startswith("Threshold Crossed")
    assert run.has("release.rolled_back")
    error = run.first("error")
    assert error["exit_code"] == 3
    assert f"alarm {ALARM} went into ALARM during the bake: Threshold Crossed" in \
        error["message"]
    assert stage.live_revision() == "akka-demo:1"
    tags = stage.tags("akka-demo:2")
    assert tags["release:outcome"] == "rolled-back"
    assert tags["release:reason"].startswith(f"alarm: alarm {ALARM} went into ALARM")
    history = stage.cli("history").first("history")["entries"]
    release = next(e for e in history if e["kind"] == "release" and e["revision"].endswith(":2"))
    assert release["outcome"] == "rolled-back"
    assert f"alarm {ALARM} went into ALARM during the bake" in release["reason"]


def test_a_missing_alarm_refuses_then_plan_shows_the_bake_and_a_clean_bake_releases(
        released: Stage) -> None:
    stage = released
    with_bake(stage, minutes=2.5, alarms=(ALARM, "no-such-alarm"))
    before = stage.revisions()
    stage.pin("v2")
    for verb in ("plan", "deploy"):  # refused before any change
        run = stage.cli(verb)
        assert run.exit_code == 1, run.output
        error = run.first("error")
        assert "CloudWatch alarm no-such-alarm does not exist" in error["message"]
        assert f"{SPEC}#/release/bake/alarms/1" in error["message"]
        assert "release bootstrap --env sandbox" in error["hint"]
    assert stage.revisions() == before and stage.live_revision() == "akka-demo:1"

    stage.edit(SPEC, lambda d: d["release"]["bake"].update(alarms=[ALARM]))
    plan = stage.cli("plan")
    assert plan.exit_code == 0, plan.output
    budget = plan.first("plan.budget")["message"]
    assert f"then bake 2.5 min, alarms {ALARM}:" in budget and "s in all" in budget
    assert plan.first("plan")["budget"]["bake"] == 150

    started = default_clock().now()
    run = stage.cli("deploy")
    assert run.exit_code == 0, run.output
    kinds = run.kinds()
    assert kinds.index("wait.stable") < kinds.index("bake.start") < kinds.index("bake.done")
    assert kinds.index("bake.done") < kinds.index("release.released")
    # the bake's 150 s come after stable ("seconds" is rounded to 0.1 s)
    assert default_clock().now() - started >= run.first("wait.stable")["seconds"] + 150 - 0.1
    states = [e["state"] for e in run.events if e["event"] == "bake.alarm"]
    assert states == ["OK"]  # printed once, as it never changed
    assert 1 <= kinds.count("bake.progress") <= 5  # a countdown, sparingly
    assert stage.live_revision() == "akka-demo:2"
    assert stage.tags("akka-demo:2")["release:outcome"] == "completed"
    budget = run.first("release.plan")["budget"]
    assert budget["total"] == budget["seconds"] + 150
