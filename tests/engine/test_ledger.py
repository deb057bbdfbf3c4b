"""The service lock and the release ledger (DynamoDB in the sandbox); their pure model is
tests/core/test_lease_model.py.

The lock: a second taker is refused with who holds it and since when; a stale
lease (expired, or its holder's process gone on this host) is taken over with a
warning and the entries it left in progress are closed. The ledger: every
release, restore and rollback is its own entry and keeps its original outcome.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
from typing import Any

import pytest
from engine_sandbox import SERVICE, Stage

from release.adapters import lease as leasing
from release.adapters import ledger
from release.core import lease as leases
from release.core import records
from release.core.clock import default_clock
from release.core.errors import InvalidInput
from release.engine.hold import hold as hold_service
from release.output.events import OutputFormat, Reporter

HOST = socket.gethostname()


def dead_pid() -> int:
    """The pid of a process that has ended (and been reaped)."""
    done = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)
    return int(done.stdout)


def someone(host: str = "ci-agent-7", pid: int = 4711, expires_in: float = 300.0,
            command: str = "release deploy") -> leases.Lease:
    now = default_clock().now()
    return leases.Lease(owner="their-owner-id", holder=f"jenkins@{host}", host=host, pid=pid,
                        command=command, build="jenkins-akka-42", since=now - 60,
                        expires=now + expires_in)


def events(capsys: pytest.CaptureFixture[str]) -> list[dict[str, Any]]:
    return [json.loads(line) for line in capsys.readouterr().out.splitlines()
            if line.startswith("{")]


def table(stage: Stage) -> ledger.Ledger:
    return ledger.Ledger(stage.sandbox.environment(), stage.sandbox.client("dynamodb"))


def locks(stage: Stage) -> leasing.LeaseTable:
    return leasing.LeaseTable(stage.sandbox.environment(), stage.sandbox.client("dynamodb"))


def plant(stage: Stage, lease: leases.Lease, *open_entries: records.Entry) -> None:
    """What a run that died leaves behind: its lease and its in-progress entries."""
    locks(stage).put_lease(SERVICE, lease, None, default_clock().now())
    for entry in open_entries:
        table(stage).add(entry)


def open_release(revision: str = "akka-demo:7") -> records.Entry:
    return records.Entry(id=ledger.new_id(default_clock().now() - 30), kind=records.RELEASE,
                         env="sandbox", service=SERVICE, revision=revision,
                         at=records.iso(default_clock().now() - 30), by="jenkins")


def hold(stage: Stage, command: str = "deploy") -> Any:
    return hold_service(stage.sandbox.environment(), SERVICE, Reporter(OutputFormat.json),
                        command)


# ------------------------------------------------------------------------------ the lock


def test_a_second_taker_is_refused_with_the_holder_and_since_when(stage: Stage) -> None:
    with hold(stage) as first:
        with pytest.raises(InvalidInput) as refused, hold(stage, "rollback"):
            pytest.fail("the second hold was granted")
        assert refused.value.exit_code == 1
        message = refused.value.message
        assert f"operator1@{HOST}" in message and f"pid {os.getpid()}" in message
        assert "release deploy" in message and "since " + records.iso(first.lease.mine.since) \
            in message and "nothing was changed" in message
        assert "release unlock --env sandbox --service akka-firehose-service" in \
            refused.value.hint
        assert locks(stage).read_lease(SERVICE).owner == first.lease.mine.owner
    assert locks(stage).read_lease(SERVICE) is None, "the lock outlived its hold"


def test_a_live_lease_of_another_host_is_respected_whatever_its_pid(stage: Stage) -> None:
    plant(stage, someone(host="ci-agent-7", pid=dead_pid()))
    with pytest.raises(InvalidInput, match="locked by jenkins@ci-agent-7"), hold(stage):
        pass
    assert locks(stage).read_lease(SERVICE).owner == "their-owner-id"


def test_expired_lease_is_taken_over_with_a_warning_and_its_release_closed_as_unknown(
        stage: Stage, capsys: pytest.CaptureFixture[str]) -> None:
    left = open_release()
    plant(stage, someone(expires_in=-1), left)
    capsys.readouterr()
    with hold(stage) as mine:
        assert locks(stage).read_lease(SERVICE).owner == mine.lease.mine.owner
    seen = events(capsys)
    takeover = next(e for e in seen if e["event"] == "lock.takeover")
    assert takeover["level"] == "warn" and takeover["why"] == leases.EXPIRED
    assert "jenkins@ci-agent-7" in takeover["message"] and "expired" in takeover["message"]
    closed = next(e for e in table(stage).entries(SERVICE) if e.id == left.id)
    assert closed.outcome == records.UNKNOWN
    assert "left in progress by jenkins@ci-agent-7" in closed.reason


def test_lease_of_a_dead_process_on_this_host_is_taken_over_before_it_expires(
        stage: Stage, capsys: pytest.CaptureFixture[str]) -> None:
    left = open_release()
    plant(stage, someone(host=HOST, pid=dead_pid(), expires_in=250), left)
    capsys.readouterr()
    with hold(stage):
        pass
    takeover = next(e for e in events(capsys) if e["event"] == "lock.takeover")
    assert takeover["why"] == leases.OWNER_GONE and "is gone" in takeover["message"]
    closed = next(e for e in table(stage).entries(SERVICE) if e.id == left.id)
    assert closed.outcome == records.INTERRUPTED


def test_lease_of_a_running_process_on_this_host_is_respected(stage: Stage) -> None:
    sleeper = subprocess.Popen([sys.executable, "-c", "import sys; sys.stdin.read()"],
                               stdin=subprocess.PIPE)
    try:
        plant(stage, someone(host=HOST, pid=sleeper.pid))
        with pytest.raises(InvalidInput, match=f"pid {sleeper.pid}"), hold(stage):
            pass
    finally:
        sleeper.communicate(b"")


def test_the_heartbeat_renews_the_lease_and_a_lost_lease_is_said(
        stage: Stage, capsys: pytest.CaptureFixture[str]) -> None:
    with hold(stage) as mine:
        before = mine.lease.mine.expires
        stage.sandbox.advance(120)
        assert mine.lease.renew() is True
        assert locks(stage).read_lease(SERVICE).expires == pytest.approx(before + 120)
        # someone removes the lock (release unlock) and takes it: the next beat says so
        store = locks(stage)
        store.drop_lease(SERVICE, mine.lease.mine.owner)
        store.put_lease(SERVICE, someone(), None, default_clock().now())
        capsys.readouterr()
        assert mine.lease.renew() is False
        assert any(e["event"] == "lock.warning" and "taken over" in e["message"]
                   for e in events(capsys))
    # the other run's lease is not ours to release
    assert locks(stage).read_lease(SERVICE).owner == "their-owner-id"


def test_the_heartbeat_thread_beats_on_its_own(stage: Stage) -> None:
    beat = threading.Event()
    held = leasing.ServiceLease(leasing.connect(stage.sandbox.environment()), SERVICE,
                                Reporter(OutputFormat.json), "deploy", heartbeat_seconds=0.01)
    held.renew = lambda: bool(beat.set()) or True  # type: ignore[method-assign]
    held.take()
    try:
        assert beat.wait(10), "the heartbeat never renewed the lease"
    finally:
        held.give_back()
    assert locks(stage).read_lease(SERVICE) is None


def test_a_missing_table_is_an_input_error_that_names_bootstrap(stage: Stage) -> None:
    stage.sandbox.client("dynamodb").delete_table(TableName=ledger.DEFAULT_TABLE)
    run = stage.cli("deploy")
    assert run.exit_code == 1, run.output
    error = run.first("error")
    assert "release-ledger" in error["message"] and "does not exist" in error["message"]
    assert "release bootstrap --env sandbox" in error["hint"]
    assert stage.revisions() == []


def test_unlock_shows_the_holder_and_removes_the_lock_only_when_confirmed(stage: Stage) -> None:
    plant(stage, someone())
    refused = stage.cli("unlock", "--service", "akka-firehose")
    assert refused.exit_code == 2 and "--yes" in refused.first("error")["hint"]
    assert locks(stage).read_lease(SERVICE) is not None
    run = stage.cli("unlock", "--service", "akka-firehose", "--yes")
    assert run.exit_code == 0, run.output
    assert "jenkins@ci-agent-7" in run.first("unlock.lock")["message"]
    assert locks(stage).read_lease(SERVICE) is None
    assert stage.cli("unlock", "--service", "akka-firehose", "--yes").has("unlock.none")


def test_unlock_refuses_a_holder_alive_on_this_host_unless_its_pid_is_named_back(
        stage: Stage) -> None:
    """`unlock --yes` on the lock of a run that still runs here would let a second deploy
    start beside it: refused, and removed only with that pid named (`--live-pid`)."""
    sleeper = subprocess.Popen([sys.executable, "-c", "import sys; sys.stdin.read()"],
                               stdin=subprocess.PIPE)
    try:
        plant(stage, someone(host=HOST, pid=sleeper.pid))
        refused = stage.cli("unlock", "--service", "akka-firehose", "--yes")
        assert refused.exit_code == 1, refused.output
        error = refused.first("error")
        assert f"pid {sleeper.pid} (release deploy) runs on this host" in error["message"]
        assert "still alive" in error["message"] and "not removed" in error["message"]
        assert f"kill {sleeper.pid}" in error["hint"]
        assert f"--yes --live-pid {sleeper.pid}" in error["hint"]
        assert refused.has("unlock.alive")
        assert locks(stage).read_lease(SERVICE).owner == "their-owner-id"
        wrong = stage.cli("unlock", "--service", "akka-firehose", "--yes", "--live-pid",
                          str(sleeper.pid + 1))
        assert wrong.exit_code == 1 and "is not its pid" in wrong.first("error")["message"]
        assert locks(stage).read_lease(SERVICE) is not None
        named = stage.cli("unlock", "--service", "akka-firehose", "--yes", "--live-pid",
                          str(sleeper.pid))
        assert named.exit_code == 0, named.output
        assert locks(stage).read_lease(SERVICE) is None
    finally:
        sleeper.communicate(b"")


def test_unlock_of_a_dead_holder_on_this_host_needs_no_pid(stage: Stage) -> None:
    plant(stage, someone(host=HOST, pid=dead_pid()))
    run = stage.cli("unlock", "--service", "akka-firehose", "--yes")
    assert run.exit_code == 0, run.output
    assert not run.has("unlock.alive")
    assert locks(stage).read_lease(SERVICE) is None


def test_deploy_refused_by_a_held_lock_changes_nothing(stage: Stage) -> None:
    stage.pin("v1")
    plant(stage, someone())
    run = stage.cli("deploy")
    assert run.exit_code == 1, run.output
    assert "locked by jenkins@ci-agent-7" in run.first("error")["message"]
    assert stage.revisions() == []
    assert table(stage).entries(SERVICE) == []


# ---------------------------------------------------------------------------- the ledger


def outcomes(stage: Stage) -> list[tuple[str, str, str]]:
    """(kind, revision, outcome) of `release history`, oldest first."""
    rows = stage.cli("history").first("history")["entries"]
    return [(r["kind"], r["revision"].rsplit("/", 1)[-1], r["outcome"]) for r in reversed(rows)]


def test_history_after_two_restores_and_a_rollback_keeps_every_original_outcome(
        released: Stage) -> None:
    stage = released
    for tag in ("v2", "v3"):  # two failed releases, each restored to akka-demo:1
        stage.pin(tag, fault="crash:exit=3")
        assert stage.cli("deploy").exit_code == 3
    stage.pin("v4")
    assert stage.cli("deploy").exit_code == 0
    run = stage.cli("rollback", "--yes")
    assert run.exit_code == 0, run.output
    assert stage.live_revision() == "akka-demo:1"
    assert outcomes(stage) == [
        ("release", "akka-demo:1", "completed"),
        ("release", "akka-demo:2", "rolled-back"),
        ("restore", "akka-demo:1", "completed"),
        ("release", "akka-demo:3", "rolled-back"),
        ("restore", "akka-demo:1", "completed"),
        ("release", "akka-demo:4", "completed"),   # rolling back away from it keeps this
        ("rollback", "akka-demo:1", "completed"),
    ]
    entries = table(stage).entries(SERVICE)
    assert all(e.finished_at and e.outcome != records.IN_PROGRESS for e in entries)
    rollback = entries[0]
    assert rollback.previous.endswith("akka-demo:4") and rollback.command == "rollback"
    # akka-demo:4 completed, so it stays a rollback target: rolling back undoes the rollback
    live = stage.service()["taskDefinition"]
    assert records.rollback_target_of(live, entries).endswith("akka-demo:4")
    assert locks(stage).read_lease(SERVICE) is None


def test_output_closed_after_register_records_interrupted_and_frees_the_lock(
        released: Stage, monkeypatch: pytest.MonkeyPatch) -> None:
    # `release deploy | head -3`: the reader goes away, the next write raises BrokenPipeError
    stage = released
    stage.pin("v2")
    emit = Reporter.emit

    def closed_pipe(self: Reporter, kind: str, *args: Any, **kwargs: Any) -> Any:
        if kind == "release.registered":
            raise BrokenPipeError(32, "Broken pipe")
        return emit(self, kind, *args, **kwargs)

    monkeypatch.setattr(Reporter, "emit", closed_pipe)
    assert stage.cli("deploy").exit_code != 0  # which code is the command line's business
    monkeypatch.setattr(Reporter, "emit", emit)
    newest = table(stage).entries(SERVICE)[0]
    assert (newest.kind, newest.outcome) == (records.RELEASE, records.INTERRUPTED)
    assert newest.revision.endswith("akka-demo:2") and "broken pipe" in newest.reason
    assert stage.tags("akka-demo:2")["release:outcome"] == records.INTERRUPTED
    assert locks(stage).read_lease(SERVICE) is None


def test_sigterm_mid_wait_records_interrupted_frees_the_lock_and_resuming_adds_an_entry(
        released: Stage) -> None:
    # a Jenkins abort: SIGTERM while the release waits
    stage = released
    stage.pin("v2")
    fired: list[float] = []

    def abort(now: float) -> None:
        if not fired and len(stage.service()["deployments"]) == 2:
            fired.append(now)
            os.kill(os.getpid(), signal.SIGTERM)

    stage.sandbox.clock.on_tick(abort)
    assert stage.cli("deploy").exit_code == 130
    assert fired
    assert locks(stage).read_lease(SERVICE) is None
    interrupted = table(stage).entries(SERVICE)[0]
    assert (interrupted.revision.rsplit("/", 1)[-1], interrupted.outcome) == (
        "akka-demo:2", records.INTERRUPTED)
    assert stage.cli("deploy").exit_code == 0  # resumes waiting for the same deployment
    assert outcomes(stage)[-2:] == [("release", "akka-demo:2", "interrupted"),
                                    ("release", "akka-demo:2", "completed")]


def test_aws_gone_mid_wait_then_back_the_next_deploy_closes_what_was_left_open(
        released: Stage) -> None:
    # exit 5: the ledger is as unreachable as ECS, so the entry and the lease stay behind;
    # the next command takes the lease over (its holder ended) and closes the entry
    stage = released
    stage.pin("v2")
    armed: list[float] = []

    def outage(now: float) -> None:
        if not armed and stage.service()["deployments"][0]["taskDefinition"].endswith(":2"):
            armed.append(now)
            stage.sandbox.faults.drop(100_000)

    stage.sandbox.clock.on_tick(outage)
    assert stage.cli("deploy").exit_code == 5
    stage.sandbox.faults.clear()
    assert table(stage).entries(SERVICE)[0].outcome == records.IN_PROGRESS
    stage.sandbox.advance(60)
    run = stage.cli("deploy")
    assert run.exit_code == 0, run.output
    assert run.has("lock.takeover") and run.has("ledger.closed")
    finished, left = [e for e in table(stage).entries(SERVICE)
                      if e.revision.endswith("akka-demo:2")][:2]
    assert left.outcome == records.INTERRUPTED and left.finished_at
    # ECS finished the rollout meanwhile: this deploy finishes the release, in a new entry
    assert run.has("release.finish") and finished.outcome == records.COMPLETED
    assert locks(stage).read_lease(SERVICE) is None
