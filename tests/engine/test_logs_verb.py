"""`release logs` against the sandbox, whose awslogs stand-in writes what the example
service prints (its listening line, one line per ELB health check) on the virtual clock."""

from __future__ import annotations

import pytest
from engine_sandbox import Stage

from release.core.clock import default_clock

LISTENING = "akka-firehose stand-in listening on port 8080 (revision "


def _lines(run, task: str | None = None) -> list[str]:
    return [e["line"] for e in run.events
            if e["event"] == "logs.line" and (task is None or e["task"].endswith(task))]


def test_logs_tails_each_running_task_then_since_then_one_task_then_follows(
        released: Stage, monkeypatch: pytest.MonkeyPatch) -> None:
    stage = released
    stage.sandbox.advance(30)  # a few more health checks
    run = stage.cli("logs", "--service", "akka-firehose", "--lines", "3")
    assert run.exit_code == 0, run.output
    tasks = [e for e in run.events if e["event"] == "logs.task"]
    assert len(tasks) == 2 and all(e["group"] == "/ecs/akka-firehose" for e in tasks)
    for event in tasks:
        ident = event["task"].rsplit("/", 1)[-1]
        assert event["stream"] == f"ecs/akka-firehose/{ident}"
        assert _lines(run, ident) == ["GET /api/healthcheck 200"] * 3

    everything = stage.cli("logs", "--service", "akka-firehose", "--since", "1h")
    assert everything.exit_code == 0, everything.output
    first = tasks[0]["task"].rsplit("/", 1)[-1]
    assert _lines(everything, first)[0].startswith(LISTENING)
    stamps = [e["timestamp"] for e in everything.events if e["event"] == "logs.line"]
    assert stamps == sorted(stamps)  # one group, interleaved by time

    stage.sandbox.advance(400)
    recent = stage.cli("logs", "--service", "akka-firehose", "--since", "2m", "--task", first)
    assert recent.exit_code == 0, recent.output
    lines = _lines(recent)
    # 2 minutes of 5 s health checks, none of the listening line 400 s ago, one task only
    assert 20 <= len(lines) <= 25 and set(lines) == {"GET /api/healthcheck 200"}
    assert {e["task"] for e in recent.events if e["event"] == "logs.line"} == {
        tasks[0]["task"]}
    unknown = stage.cli("logs", "--service", "akka-firehose", "--task", "0" * 32)
    assert unknown.exit_code == 1 and "no task" in unknown.first("error")["message"]

    # --follow: the last line of each, then new ones as they come, until Ctrl-C (exit 130)
    clock = default_clock()
    sleeps: list[float] = []
    real_sleep = clock.sleep

    def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        if len(sleeps) > 5:
            raise KeyboardInterrupt
        real_sleep(seconds)

    monkeypatch.setattr(clock, "sleep", sleep)
    before = _iso(clock.now())
    run = stage.cli("logs", "--service", "akka-firehose", "--lines", "1", "--follow")
    assert run.exit_code == 130, run.output
    assert run.has("logs.following") and "stopped following" in run.output
    new = [e for e in run.events if e["event"] == "logs.line" and e["timestamp"] > before]
    assert len(new) >= 2, run.output  # 10 s of health checks on two tasks
    assert len({(e["task"], e["timestamp"]) for e in new}) == len(new)  # nothing twice


def _iso(seconds: float) -> str:
    from release.core.records import iso

    return iso(seconds)


def test_a_since_before_1970_is_a_usage_error_and_an_unknown_container_is_named(
        released: Stage) -> None:
    too_far = released.cli("logs", "--service", "akka-firehose", "--since", "99999d")
    assert too_far.exit_code == 2, too_far.output
    assert "before 1970" in too_far.output and "network" not in too_far.output
    nope = released.cli("logs", "--service", "akka-firehose", "--container", "nope")
    assert nope.exit_code == 1, nope.output
    error = nope.first("error")
    assert "no container 'nope' (its containers: akka-firehose)" in error["message"]
    assert error["hint"] == "name one of the service's containers: --container akka-firehose"


def test_follow_retries_a_lost_connection_under_the_one_outage_policy(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Before the one poll loop a dropped connection ended `logs --follow` with exit 5."""
    from pathlib import Path
    from types import SimpleNamespace

    import botocore.exceptions as bx

    from release.core.clock import VirtualClock
    from release.core.config import load_repo
    from release.engine import logs as logs_engine
    from release.output.events import Reporter

    repo = load_repo(Path(__file__).resolve().parents[2])
    env, spec = repo.environment("staging"), repo.services_of("staging")[0]
    lost = bx.EndpointConnectionError(endpoint_url="https://ecs.us-east-1.amazonaws.com")
    outage = [lost, lost]

    def pick_tasks(*_: object) -> list[dict[str, str]]:
        if outage:
            raise outage.pop(0)
        return []

    monkeypatch.setattr(logs_engine, "pick_tasks", pick_tasks)
    clock = VirtualClock(start=0.0)
    asked: list[float] = []

    def since(_start: int, strict: bool = True) -> None:
        asked.append(clock.now())
        if len(asked) == 3:
            raise KeyboardInterrupt

    view = SimpleNamespace(reporter=Reporter("json"), streams={}, newest=0, since=since,
                           logs=None)
    with pytest.raises(logs_engine.StoppedFollowing):
        logs_engine._follow(view, SimpleNamespace(ecs=None), env, spec,
                            logs_engine.Options(follow=True), clock)
    kinds = [e.kind for e in view.reporter.events]
    assert kinds == ["logs.following", "logs.retry", "logs.reconnected"]
    assert asked == [5.0, 7.0, 9.0]  # 2 s, the retries after 1 and 2 s, then every 2 s
