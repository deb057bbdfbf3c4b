"""On the sandbox: broken documents elsewhere stop neither status nor rollback; own ones do.

The runbook promises that a rollback at 3 a.m. works although someone broke an
unrelated document; these run the real verbs against moto and the emulator.
"""

from __future__ import annotations

import os
import signal

from engine_sandbox import SERVICE, SPEC, Stage


def break_other_documents(stage: Stage) -> None:
    """A 100k-deep array in an unused task definition, a named pipe, a broken sibling spec."""
    (stage.repo / "taskdefs/deep.json").write_text("[" * 100_000)
    os.mkfifo(stage.repo / "taskdefs/pipe.json")
    (stage.repo / "environments/sandbox/services/other.json").write_text(
        '{"service": {"desiredCount": "two"}}')


def alarm(seconds: int):
    """Fail with an exception instead of hanging when a verb blocks on a document."""
    def expired(signum, frame):
        raise TimeoutError(f"a verb blocked for {seconds} s")

    previous = signal.signal(signal.SIGALRM, expired)
    signal.alarm(seconds)
    return previous


def test_status_and_rollback_go_on_past_unrelated_broken_documents(released: Stage) -> None:
    stage = released
    stage.pin("v2")
    run = stage.cli("deploy")
    assert run.exit_code == 0, run.output
    assert stage.live_revision() == "akka-demo:2"
    break_other_documents(stage)
    previous = alarm(120)
    try:
        status = stage.cli("status", "--service", SERVICE)
        assert status.exit_code == 0, status.output
        assert status.first("status")["revision"].endswith("akka-demo:2")
        rollback = stage.cli("rollback", "--service", SERVICE, "--yes")
        assert rollback.exit_code == 0, rollback.output
        history = stage.cli("history", "--service", SERVICE)
        assert history.exit_code == 0, history.output
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
    assert stage.live_revision() == "akka-demo:1"
    # the broken sibling spec is shown as a warning, with its file and pointer
    warned = [e for e in status.events if e["event"] == "validate.finding"]
    assert warned and all(e["level"] == "warn" for e in warned)
    assert "environments/sandbox/services/other.json" in {e["file"] for e in warned}


def test_status_and_rollback_refuse_when_the_service_s_own_spec_is_broken(released: Stage
                                                                          ) -> None:
    stage = released
    stage.edit(SPEC, lambda d: d["service"].pop("serviceName"))
    for verb in (["status"], ["rollback", "--yes"], ["history"]):
        run = stage.cli(*verb)
        assert run.exit_code == 1, run.output
        found = [(e["file"], e["pointer"], e["rule"]) for e in run.events
                 if e["event"] == "validate.finding"]
        assert found == [(SPEC, "/service", "schema-required")], run.output
    assert stage.live_revision() == "akka-demo:1"
