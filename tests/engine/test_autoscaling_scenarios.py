"""An autoscaled service through `release deploy` on the sandbox, on a virtual clock.

A scaling policy (the sandbox's scale fault) raised the service from 2 to 3 tasks; the
release of a changed spec that still says 2 keeps the 3. With
release.autoscaling.suspendScaleIn the scalable target's scale-in is suspended while the
release runs and restored after it: released, rolled back, or interrupted (Ctrl-C, and
the SIGTERM of a Jenkins abort).
"""

from __future__ import annotations

import os
import signal
from typing import Any

import pytest
from engine_sandbox import CLUSTER, ENV_DOC, SERVICE, SPEC, Stage

from release.adapters import ledger
from release.core import plan
from release.core.config import load_repo
from release.core.render import render_service

RESOURCE = f"service/{CLUSTER}/{SERVICE}"
DIMENSION = "ecs:service:DesiredCount"


def register_target(stage: Stage, low: int = 2, high: int = 6) -> None:
    """What a team's Terraform does once the service exists: a scalable target for it."""
    stage.sandbox.client("application-autoscaling").register_scalable_target(
        ServiceNamespace="ecs", ResourceId=RESOURCE, ScalableDimension=DIMENSION,
        MinCapacity=low, MaxCapacity=high)


def scale_in_suspended(stage: Stage) -> bool:
    found = stage.sandbox.client("application-autoscaling").describe_scalable_targets(
        ServiceNamespace="ecs", ResourceIds=[RESOURCE], ScalableDimension=DIMENSION)
    state = found["ScalableTargets"][0].get("SuspendedState") or {}
    return bool(state.get("DynamicScalingInSuspended"))


def running_of(stage: Stage) -> tuple[int, int]:
    service = stage.service()
    return int(service["desiredCount"]), int(service["runningCount"])


@pytest.fixture
def scaled(stage: Stage) -> Stage:
    """akka-demo:1 released with 2 tasks (the spec's), then scaled to 3 by a scaling policy."""
    stage.edit(ENV_DOC, lambda d: d["instances"].update(count=3))
    stage.pin("v1", fault="scale:to=3,after=30")  # under load once it has served 30 s
    run = stage.cli("deploy")
    assert run.exit_code == 0, run.output
    stage.sandbox.advance(120)
    assert running_of(stage) == (2, 2)  # no scalable target yet: nothing scales it
    register_target(stage)
    waited = 0
    while running_of(stage) != (3, 3) or len(stage.service()["deployments"]) != 1:
        assert waited < 600, running_of(stage)
        stage.sandbox.advance(5)
        waited += 5
    return stage


def watch_suspension(stage: Stage) -> list[bool]:
    """Scale-in's suspended state at each moment a deployment of the release is running."""
    seen: list[bool] = []

    def look(_now: float) -> None:
        if len(stage.service()["deployments"]) == 2:
            seen.append(scale_in_suspended(stage))

    stage.sandbox.clock.on_tick(look)
    return seen


def suspend_option(doc: dict[str, Any]) -> None:
    doc["release"]["autoscaling"] = {"suspendScaleIn": True}


def waves_of(stage: Stage, tasks: int) -> int:
    """The waves of a rolling update of `tasks` tasks, as core/plan.budget_for counts them."""
    repo = load_repo(stage.repo)
    spec = repo.services_of("sandbox")[0]
    return plan.budget_for(repo.environment("sandbox"), spec, render_service(repo, spec),
                           "auto", tasks).waves


def newest_entry(stage: Stage) -> Any:
    """The ledger entry of the newest release (a rollback's restore has its own)."""
    store = ledger.Ledger(stage.sandbox.environment(), stage.sandbox.client("dynamodb"))
    return next(e for e in store.entries(SERVICE) if e.kind == "release")


@pytest.mark.instances(3)
def test_a_release_keeps_the_count_a_scaling_policy_gave(scaled: Stage) -> None:
    stage = scaled
    stage.pin("v2")  # a changed spec; it still says desiredCount 2
    run = stage.cli("deploy")
    assert run.exit_code == 0, run.output
    note = run.first("release.plan.count")
    assert note["message"].strip() == ("desiredCount: 3 kept (Application Auto Scaling owns "
                                       "it: min 2, max 6; the spec says 2)")
    update = next(e for e in run.events if e["event"] == "release.call"
                  and e["operation"] == "update_service")
    assert "desiredCount" not in update["params"]
    budget = run.first("release.plan")["budget"]
    assert budget["waves"] == waves_of(stage, 3) != waves_of(stage, 2)  # the tasks it has
    assert run.first("wait.start")["message"].endswith(f"budget {budget['seconds']} s)")
    assert stage.live_revision() == "akka-demo:2"
    assert running_of(stage) == (3, 3)
    stage.sandbox.advance(120)
    assert running_of(stage) == (3, 3)  # and nothing took it back later


@pytest.mark.instances(3)
def test_the_plan_says_who_owns_the_count(scaled: Stage) -> None:
    stage = scaled
    stage.pin("v2")
    run = stage.cli("plan")
    assert run.exit_code == 0, run.output
    shown = run.first("plan")
    assert shown["count"]["owner"] == "autoscaling" and shown["count"]["effective"] == 3
    assert shown["count"]["scalable_target"]["min"] == 2
    assert shown["budget"]["waves"] >= 2  # three tasks on three instances, one a wave


@pytest.mark.instances(3)
def test_scale_in_is_suspended_during_the_release_and_restored_after(scaled: Stage) -> None:
    stage = scaled
    stage.edit(SPEC, suspend_option)
    stage.pin("v2")
    seen = watch_suspension(stage)
    run = stage.cli("deploy")
    assert run.exit_code == 0, run.output
    assert seen and all(seen)  # suspended for every moment the rollout ran
    assert not scale_in_suspended(stage)  # and restored
    kinds = run.kinds()
    assert kinds.index("autoscaling.suspended") < kinds.index("wait.start")
    assert kinds.index("release.released") < kinds.index("autoscaling.restored")
    assert newest_entry(stage).autoscaling == ("scale-in suspended during the release, then "
                                               "restored")
    assert running_of(stage) == (3, 3)


@pytest.mark.instances(3)
def test_a_rolled_back_release_restores_the_suspended_state(scaled: Stage) -> None:
    stage = scaled
    stage.edit(SPEC, suspend_option)
    stage.edit(SPEC, lambda d: d["service"]["deploymentConfiguration"].update(
        deploymentCircuitBreaker={"enable": False, "rollback": False}))
    stage.pin("v2", fault="crash:exit=3")
    seen = watch_suspension(stage)
    run = stage.cli("deploy")
    assert run.exit_code == 3, run.output
    assert run.has("release.rolled_back")
    assert seen and all(seen)
    assert not scale_in_suspended(stage)
    kinds = run.kinds()
    assert kinds.index("release.rolled_back") < kinds.index("autoscaling.restored")
    assert newest_entry(stage).outcome == "rolled-back"
    assert newest_entry(stage).autoscaling.endswith("then restored")
    assert stage.live_revision() == "akka-demo:1"


@pytest.mark.instances(3)
@pytest.mark.parametrize("how", ["ctrl-c", "sigterm"])
def test_an_interrupted_release_restores_the_suspended_state(scaled: Stage, how: str) -> None:
    stage = scaled
    stage.edit(SPEC, suspend_option)
    stage.pin("v2")
    fired: list[bool] = []

    def interrupt(_now: float) -> None:
        if not fired and len(stage.service()["deployments"]) == 2:
            fired.append(scale_in_suspended(stage))
            if how == "sigterm":
                os.kill(os.getpid(), signal.SIGTERM)
            else:
                raise KeyboardInterrupt

    stage.sandbox.clock.on_tick(interrupt)
    run = stage.cli("deploy")
    assert run.exit_code == 130, run.output
    assert fired == [True]  # suspended when it was interrupted
    assert not scale_in_suspended(stage)
    assert run.has("release.interrupted") and run.has("autoscaling.restored")
    entry = newest_entry(stage)
    assert (entry.outcome, entry.autoscaling) == (
        "interrupted", "scale-in suspended during the release, then restored")
    assert len(stage.service()["deployments"]) == 2  # the service itself left as it was
