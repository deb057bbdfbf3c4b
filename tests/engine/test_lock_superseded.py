"""A lock holder that was paused past its lease and resumes after another run took over.

A SIGSTOP, a frozen VM or a laptop lid stops a `release deploy` whole: its heartbeat
does not renew the lease either, so after 300 s another run takes the lock over,
as it should. When the first one resumes it must see that the lock is no longer
its own and change nothing more: no rollback, no tags, no second UpdateService;
it exits 130 ("interrupted": pages nobody) and says who took over and when.

The pause is played on the sandbox's virtual clock, in the paused run's own
thread: at a chosen event the clock moves 400 s on (the lease expires, ECS goes
on) and the other run takes the lock as `Hold.take` does, with a lease of its
own (jenkins@ci-agent-7).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from engine_sandbox import CLUSTER, SERVICE, Stage

from release.adapters import lease as leasing
from release.core import lease as leases
from release.core import records
from release.core.clock import default_clock
from release.output.events import Reporter

PAUSE_SECONDS = 400.0  # past the 300 s lease


def table(stage: Stage) -> leasing.LeaseTable:
    return leasing.LeaseTable(stage.sandbox.environment(), stage.sandbox.client("dynamodb"))


def taken_leases(monkeypatch: pytest.MonkeyPatch) -> list[leasing.ServiceLease]:
    """Every lease a run takes from now on, as the engine holds it (the object the engine
    passes to the wait and the changes)."""
    taken: list[leasing.ServiceLease] = []
    take = leasing.ServiceLease.take

    def recorded(self: leasing.ServiceLease) -> None:
        take(self)
        taken.append(self)

    monkeypatch.setattr(leasing.ServiceLease, "take", recorded)
    return taken


def other_run() -> leases.Lease:
    now = default_clock().now()
    return leases.Lease(owner="their-owner-id", holder="jenkins@ci-agent-7", host="ci-agent-7",
                        pid=4711, command="release deploy", build="jenkins-akka-43", since=now,
                        expires=now + leases.LEASE_SECONDS)


def paused_at(monkeypatch: pytest.MonkeyPatch, stage: Stage, kind: str,
              meanwhile: Callable[[], None] = lambda: None) -> list[leases.Lease]:
    """At the first `kind` event the run freezes PAUSE_SECONDS; another run takes its lock
    (its lease has expired) and does `meanwhile`. Returns [the taker's lease] once done."""
    emit = Reporter.emit
    taken: list[leases.Lease] = []

    def frozen(self: Reporter, event: str, *args: Any, **kwargs: Any) -> Any:
        result = emit(self, event, *args, **kwargs)
        if event == kind and not taken:
            stage.sandbox.advance(PAUSE_SECONDS)
            lease = other_run()
            table(stage).put_lease(SERVICE, lease, None, default_clock().now())
            taken.append(lease)
            meanwhile()
        return result

    monkeypatch.setattr(Reporter, "emit", frozen)
    return taken


def another_release(stage: Stage) -> None:
    """What the other run does: a revision of its own (akka-demo:3), UpdateService to it."""
    ecs = stage.ecs()
    current = ecs.describe_task_definition(taskDefinition="akka-demo:2")["taskDefinition"]
    keep = ("family", "containerDefinitions", "networkMode", "requiresCompatibilities")
    arn = ecs.register_task_definition(**{k: current[k] for k in keep if k in current})[
        "taskDefinition"]["taskDefinitionArn"]
    ecs.update_service(cluster=CLUSTER, service=SERVICE, taskDefinition=arn)


def assert_stopped_by_takeover(stage: Stage, run: Any, taken: list[leases.Lease]) -> None:
    assert taken, "the pause never happened"
    assert run.exit_code == 130, run.output
    error = run.first("error")
    message = error["message"]
    assert "another run of release deploy" in message and "jenkins@ci-agent-7" in message
    assert f"took over the lock at {records.iso(taken[0].since)}" in message
    assert "this run stopped without changing anything more" in message
    assert "no earlier revision" not in run.output and "scale the service down" not in run.output
    assert "release status --env sandbox --service akka-firehose-service" in error["hint"]
    assert not run.has("release.rollback") and not run.has("release.rolled_back")
    # the other run's lock is not this run's to release
    assert table(stage).read_lease(SERVICE).owner == "their-owner-id"


def test_a_run_paused_past_its_lease_while_another_releases_stops_without_a_word_of_exit_4(
        released: Stage, monkeypatch: pytest.MonkeyPatch) -> None:
    """The other run releases v3 while this one (v2) is frozen in its wait."""
    stage = released
    stage.pin("v2")
    taken = paused_at(monkeypatch, stage, "wait.start", lambda: another_release(stage))
    run = stage.cli("deploy")
    assert_stopped_by_takeover(stage, run, taken)
    assert stage.service()["taskDefinition"].endswith("akka-demo:3")  # the other run's


def test_a_paused_run_whose_release_then_fails_leaves_the_rollback_to_the_new_holder(
        released: Stage, monkeypatch: pytest.MonkeyPatch) -> None:
    """The other run took the lock and waits on the same deployment; this run's wait then
    sees v2 fail: rolling back now would be a second run acting on the service."""
    stage = released
    stage.pin("v2", fault="crash:exit=3")
    taken = paused_at(monkeypatch, stage, "wait.start")
    run = stage.cli("deploy")
    assert_stopped_by_takeover(stage, run, taken)
    assert stage.service()["taskDefinition"].endswith("akka-demo:2")  # nobody rolled back
    assert "release:outcome" not in stage.tags("akka-demo:2") or \
        stage.tags("akka-demo:2")["release:outcome"] != records.ROLLED_BACK


def test_a_run_paused_before_its_first_change_makes_none(
        released: Stage, monkeypatch: pytest.MonkeyPatch) -> None:
    stage = released
    stage.pin("v2")
    taken = paused_at(monkeypatch, stage, "release.plan")
    run = stage.cli("deploy")
    assert_stopped_by_takeover(stage, run, taken)
    assert stage.revisions() == ["akka-demo:1"]  # not even the registration
    assert not any(e.get("operation") for e in run.events if e["event"] == "release.call")


def test_a_lease_renewal_that_fails_is_seen_by_the_wait_before_its_next_poll(
        released: Stage, monkeypatch: pytest.MonkeyPatch) -> None:
    """The heartbeat finds the lock taken (its renewal is refused): the wait stops at once,
    without waiting for the release to end."""
    stage = released
    stage.pin("v2")
    emit = Reporter.emit
    polls: list[str] = []
    leases_taken = taken_leases(monkeypatch)

    def beat_then_count(self: Reporter, event: str, *args: Any, **kwargs: Any) -> Any:
        if event == "wait.start" and not polls:
            held = leases_taken[-1]
            assert held.mine is not None
            table(stage).put_lease(SERVICE, other_run(), held.mine, default_clock().now())
            assert held.renew() is False  # what the heartbeat does
        if event == "wait.progress":
            polls.append(event)
        return emit(self, event, *args, **kwargs)

    monkeypatch.setattr(Reporter, "emit", beat_then_count)
    run = stage.cli("deploy")
    assert run.exit_code == 130, run.output
    assert polls == [], "the wait went on polling after the lock was lost"
    assert "this run stopped without changing anything more" in run.first("error")["message"]


def test_a_deployment_by_someone_without_the_lock_is_not_called_a_first_release(
        released: Stage, monkeypatch: pytest.MonkeyPatch) -> None:
    """Still holding the lock, the wait sees another deployment take the service (the
    console, another tool): exit 4 as before, but without the false advice."""
    stage = released
    stage.pin("v2")
    emit = Reporter.emit
    done: list[bool] = []

    def console_deploy(self: Reporter, event: str, *args: Any, **kwargs: Any) -> Any:
        result = emit(self, event, *args, **kwargs)
        if event == "wait.start" and not done:
            done.append(True)
            another_release(stage)
        return result

    monkeypatch.setattr(Reporter, "emit", console_deploy)
    run = stage.cli("deploy")
    assert run.exit_code == 4, run.output
    assert "another deployment took over the service" in run.summary["outcomes"][0]["message"]
    outcome = run.summary["outcomes"][0]
    assert "first release" not in (outcome.get("hint") or "")
    assert "scale the service down" not in (outcome.get("hint") or "")
