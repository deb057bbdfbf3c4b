"""What an interrupted run leaves behind never keeps serving, and its record is finished.

Through the CLI against the sandbox, Ctrl-C being a KeyboardInterrupt raised on a tick
of the virtual clock (where the release sleeps), as in test_canary.py and
test_scenarios.py:

- a canary (`<service>-canary`) left by Ctrl-C, after `release.canary` was taken out of
  the spec: `status` shows it, `plan` plans its removal, `deploy` and `rollback` remove it;
- a release interrupted during its bake, or during its canary's removal, is finished by
  the next `deploy` (wait, the whole bake again, the canary removed) and closed completed,
  so `promote --from` takes it;
- a release whose bake failed and whose automatic rollback was interrupted keeps its
  failure and cause in the ledger and on its revision, beside the rollback's interruption.
"""

from __future__ import annotations

from typing import Any

import pytest
from engine_sandbox import CLUSTER, ENV_DOC, SERVICE, SPEC, Stage

from release.adapters import ledger
from release.core import records
from release.core.config import load_repo
from release.core.errors import InvalidInput
from release.output.events import Reporter

CANARY = f"{SERVICE}-canary"
ALARM = "akka-sandbox-5xx"
DEFINITION = {"metricName": "HTTPCode_Backend_5XX", "statistic": "Sum",
              "comparisonOperator": "GreaterThanOrEqualToThreshold", "threshold": 5,
              "period": 60, "evaluationPeriods": 1}


# ----------------------------------------------------------------------------- helpers


def ctrl_c_once(stage: Stage, monkeypatch: pytest.MonkeyPatch, kind: str,
                when: Any = lambda data: True) -> list[float]:
    """Ctrl-C at the first tick of the clock after the first event `kind` (that `when`
    accepts): the times it fired (one at most)."""
    armed: list[bool] = []
    fired: list[float] = []
    emit = Reporter.emit

    def watching(self: Reporter, event: str, message: str, level: str = "info",
                 **data: Any) -> Any:
        if event == kind and when(data):
            armed.append(True)
        return emit(self, event, message, level, **data)

    def ctrl_c(now: float) -> None:
        if armed and not fired:
            fired.append(now)
            raise KeyboardInterrupt

    monkeypatch.setattr(Reporter, "emit", watching)
    stage.sandbox.clock.on_tick(ctrl_c)
    return fired


def canary_service(stage: Stage) -> dict[str, Any] | None:
    found = stage.ecs().describe_services(cluster=CLUSTER, services=[CANARY])["services"]
    return next((s for s in found if s["status"] == "ACTIVE"), None)


def with_canary(stage: Stage) -> None:
    """The service live on akka-demo:1 (v1), three instances, a canary of one configured."""
    stage.edit(ENV_DOC, lambda d: d["instances"].update(count=3))
    stage.edit(SPEC, lambda d: d["release"].update(canary={"count": 1, "bakeMinutes": 2}))
    stage.pin("v1")
    run = stage.cli("deploy")
    assert run.exit_code == 0, run.output


def without_canary(stage: Stage) -> None:
    stage.edit(SPEC, lambda d: d["release"].pop("canary"))
    stage.commit("no canary any more")


def with_bake(stage: Stage, minutes: float = 5) -> None:
    stage.edit(ENV_DOC, lambda d: d.setdefault("alarms", {}).update({ALARM: DEFINITION}))
    stage.edit(SPEC, lambda d: d["release"].update(bake={"minutes": minutes,
                                                         "alarms": [ALARM]}))
    stage.commit("bake")
    run = stage.cli("bootstrap", "--yes")
    assert run.exit_code == 0, run.output


def calls(run: Any, kind: str) -> list[tuple[str, str]]:
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


def entries(stage: Stage) -> list[records.Entry]:
    """The service's ledger, newest first."""
    return ledger.Ledger(stage.sandbox.environment(),
                         stage.sandbox.client("dynamodb")).entries(SERVICE)


def removal(run: Any, kind: str) -> list[tuple[str, str]]:
    return [(op, target) for op, target in calls(run, kind) if target.endswith(CANARY)]


# ------------------------------------------------- a canary left behind, then not asked for


@pytest.mark.instances(3)
def test_a_canary_left_by_ctrl_c_then_dropped_from_the_spec_is_shown_planned_away_and_removed(
        stage: Stage, monkeypatch: pytest.MonkeyPatch) -> None:
    with_canary(stage)
    stage.pin("v2")
    fired = ctrl_c_once(stage, monkeypatch, "bake.start", lambda d: d["label"] == "canary")
    run = stage.cli("deploy")
    assert fired and run.exit_code == 130, run.output
    assert canary_service(stage)["runningCount"] == 1  # a third of the traffic on v2
    assert stage.live_revision() == "akka-demo:1"
    without_canary(stage)

    status = stage.cli("status")
    shown = status.first("status")["canary"]
    assert shown is not None and shown["service"] == CANARY, status.output
    assert shown["revision"].endswith("akka-demo:2") and status.has("status.canary")
    assert "removes it" in shown["note"] and "release.canary" in shown["note"]

    planned = stage.cli("plan")
    assert planned.exit_code == 0, planned.output
    assert removal(planned, "plan.call") == [("update_service", f"{CLUSTER}/{CANARY}"),
                                             ("delete_service", f"{CLUSTER}/{CANARY}")]
    assert planned.first("plan")["canary"]["left_over"].endswith("akka-demo:2")

    run = stage.cli("deploy")
    assert run.exit_code == 0, run.output
    assert not run.has("canary.start")  # no canary asked for: the release runs none
    assert removal(run, "canary.call") == [("update_service", f"{CLUSTER}/{CANARY}"),
                                           ("delete_service", f"{CLUSTER}/{CANARY}")]
    assert run.has("canary.removed")
    assert canary_service(stage) is None
    assert stage.live_revision() == "akka-demo:3"  # registered again: :2 was never released
    assert stage.cli("status").first("status")["canary"] is None
    assert removal(stage.cli("plan"), "plan.call") == []


@pytest.mark.instances(3)
def test_a_canary_of_the_bad_revision_is_removed_by_rollback_which_says_so(
        stage: Stage, monkeypatch: pytest.MonkeyPatch) -> None:
    with_canary(stage)
    stage.pin("v2")
    # Ctrl-C once the canary passed and the service itself is being updated to v2
    fired = ctrl_c_once(stage, monkeypatch, "wait.start", lambda d: d["service"] == SERVICE)
    run = stage.cli("deploy")
    assert fired and run.exit_code == 130, run.output
    assert run.has("canary.passed") and canary_service(stage) is not None
    without_canary(stage)

    run = stage.cli("rollback", "--yes")
    assert run.exit_code == 0, run.output
    assert removal(run, "plan.call") == [("update_service", f"{CLUSTER}/{CANARY}"),
                                         ("delete_service", f"{CLUSTER}/{CANARY}")]
    assert removal(run, "canary.call") == [("update_service", f"{CLUSTER}/{CANARY}"),
                                           ("delete_service", f"{CLUSTER}/{CANARY}")]
    done = run.first("rollback.done")
    assert "rolled back to akka-demo:1" in done["message"]
    assert f"the canary {CANARY}" in done["message"] and "removed" in done["message"]
    assert canary_service(stage) is None
    assert stage.live_revision() == "akka-demo:1"


@pytest.mark.instances(3)
def test_rollback_on_the_revision_already_live_still_removes_the_canary(
        stage: Stage, monkeypatch: pytest.MonkeyPatch) -> None:
    with_canary(stage)
    stage.pin("v2")
    fired = ctrl_c_once(stage, monkeypatch, "bake.start", lambda d: d["label"] == "canary")
    assert stage.cli("deploy").exit_code == 130 and fired
    run = stage.cli("rollback", "--to", "1", "--yes")  # the service runs akka-demo:1 already
    assert run.exit_code == 0, run.output
    assert removal(run, "canary.call") == [("update_service", f"{CLUSTER}/{CANARY}"),
                                           ("delete_service", f"{CLUSTER}/{CANARY}")]
    assert "already on akka-demo:1" in run.first("rollback.done")["message"]
    assert canary_service(stage) is None


# ------------------------------------------------------- an interrupted release is finished


def test_a_release_interrupted_during_its_bake_is_finished_by_the_next_deploy(
        released: Stage, monkeypatch: pytest.MonkeyPatch) -> None:
    from release.engine.promote_from import source_release

    stage = released
    with_bake(stage, minutes=5)
    stage.pin("v2")
    fired = ctrl_c_once(stage, monkeypatch, "bake.start", lambda d: d["label"] == "release")
    run = stage.cli("deploy")
    assert fired and run.exit_code == 130, run.output
    assert stage.live_revision() == "akka-demo:2"
    assert (entries(stage)[0].revision.rsplit("/", 1)[-1], entries(stage)[0].outcome) == (
        "akka-demo:2", records.INTERRUPTED)
    repo = load_repo(stage.repo, ["sandbox"])
    with pytest.raises(InvalidInput, match="ended interrupted"):
        source_release(repo, repo.services_of("sandbox")[0])

    run = stage.cli("deploy")
    assert run.exit_code == 0, run.output
    finishing = run.first("release.finish")
    assert "interrupted" in finishing["message"] and "bake" in finishing["message"]
    assert finishing["revision"].endswith("akka-demo:2")
    kinds = run.kinds()
    assert kinds.index("release.finish") < kinds.index("bake.start") < \
        kinds.index("bake.done") < kinds.index("release.released")
    assert run.first("bake.start")["minutes"] == 5  # the whole bake again
    assert not run.has("release.call")  # nothing registered, nothing updated
    newest = entries(stage)[0]
    assert (newest.kind, newest.outcome) == (records.RELEASE, records.COMPLETED)
    assert newest.revision.endswith("akka-demo:2") and "interrupted" in newest.reason
    assert stage.tags("akka-demo:2")["release:outcome"] == records.COMPLETED
    assert source_release(repo, repo.services_of("sandbox")[0]).revision.endswith(
        "akka-demo:2")
    # finished: the deploy after it has nothing to do
    again = stage.cli("deploy")
    assert again.exit_code == 0 and again.has("release.unchanged")
    assert not again.has("release.finish")


@pytest.mark.instances(3)
def test_a_release_interrupted_during_its_canary_removal_is_finished_by_the_next_deploy(
        stage: Stage, monkeypatch: pytest.MonkeyPatch) -> None:
    with_canary(stage)
    stage.pin("v2")
    fired = ctrl_c_once(stage, monkeypatch, "canary.remove")
    run = stage.cli("deploy")
    assert fired and run.exit_code == 130, run.output
    assert stage.live_revision() == "akka-demo:2"
    assert entries(stage)[0].outcome == records.INTERRUPTED
    assert canary_service(stage) is not None

    run = stage.cli("deploy")
    assert run.exit_code == 0, run.output
    assert run.has("release.finish") and run.has("canary.removed")
    assert canary_service(stage) is None
    newest = entries(stage)[0]
    assert (newest.outcome, newest.revision.rsplit("/", 1)[-1]) == (records.COMPLETED,
                                                                    "akka-demo:2")
    assert stage.tags("akka-demo:2")["release:outcome"] == records.COMPLETED


# ----------------------------------------- a failed release whose rollback was interrupted


def test_a_failed_bake_whose_rollback_is_interrupted_keeps_its_failure_and_cause(
        released: Stage, monkeypatch: pytest.MonkeyPatch) -> None:
    stage = released
    with_bake(stage, minutes=5)
    stage.pin("v2", fault=f"alarm:name={ALARM},after=20")
    fired = ctrl_c_once(stage, monkeypatch, "release.rollback")
    run = stage.cli("deploy")
    assert fired and run.exit_code == 130, run.output
    assert run.has("bake.failed")
    restore, release = entries(stage)[:2]
    assert (release.kind, release.outcome) == (records.RELEASE, records.FAILED)
    assert f"alarm {ALARM} went into ALARM during the bake" in release.reason
    assert "the rollback to akka-demo:1 did not finish: interrupted" in release.reason
    assert (restore.kind, restore.outcome) == (records.RESTORE, records.INTERRUPTED)
    tags = stage.tags("akka-demo:2")
    assert tags["release:outcome"] == records.FAILED
    assert tags["release:reason"].startswith(f"alarm: alarm {ALARM} went into ALARM")
    history = stage.cli("history").first("history")["entries"]
    assert [(e["kind"], e["outcome"]) for e in history[:2]] == [
        ("restore", "interrupted"), ("release", "failed")]


def test_a_run_that_died_rolling_back_a_failed_release_leaves_it_failed_with_its_cause(
        stage: Stage) -> None:
    # killed outright (no Ctrl-C handler ran) while rolling back: the next run closes the
    # entries it left open, and the failure noted before the rollback survives
    from release.core import lease as leases
    from release.core.clock import default_clock

    now = default_clock().now()
    from release.adapters.lease import LeaseTable
    from release.engine.hold import hold

    store = ledger.Ledger(stage.sandbox.environment(), stage.sandbox.client("dynamodb"))
    LeaseTable(store.env, store.client).put_lease(SERVICE, leases.Lease(
        owner="theirs", holder="jenkins@ci-7", host="ci-7", pid=4711, command="release deploy",
        build="", since=now - 600, expires=now - 1), None, now)
    failed = records.Entry(id=ledger.new_id(now - 600), kind=records.RELEASE, env="sandbox",
                           service=SERVICE, revision="akka-demo:7", at=records.iso(now - 600),
                           failure=f"alarm: alarm {ALARM} went into ALARM during the bake")
    restore = records.Entry(id=ledger.new_id(now - 60), kind=records.RESTORE, env="sandbox",
                            service=SERVICE, revision="akka-demo:6", at=records.iso(now - 60),
                            reason="release of akka-demo:7 failed (alarm)")
    store.add(failed)
    store.add(restore)
    with hold(stage.sandbox.environment(), SERVICE, Reporter("json"), "deploy"):
        pass
    closed = {e.id: e for e in entries(stage)}
    assert closed[restore.id].outcome == records.UNKNOWN
    assert closed[failed.id].outcome == records.FAILED
    assert closed[failed.id].reason.startswith(f"alarm: alarm {ALARM} went into ALARM")
    assert "left in progress by jenkins@ci-7" in closed[failed.id].reason
