"""When a failing task's log lines cannot be read, the wait says so and the release ends as
it would have (engine/task_logs.py). The lines themselves: test_scenarios.py, crash loop and
failing ELB health checks."""

from __future__ import annotations

from engine_sandbox import SPEC, Stage

GROUP = "/ecs/akka-firehose"


def test_a_missing_log_group_is_one_line_and_the_release_ends_as_it_would(
        released: Stage, monkeypatch) -> None:
    stage = released
    # The crashing tasks' lines never reach CloudWatch: no stream is made. (Deleting the group
    # would not do: ECS then fails the new tasks' start, with nothing to read at all.)
    monkeypatch.setattr("release_sandbox.awslogs.write", lambda *args, **kwargs: 0)
    stage.edit(SPEC, lambda d: d["service"]["deploymentConfiguration"].update(
        deploymentCircuitBreaker={"enable": False, "rollback": False}))
    stage.pin("v2", fault="crash:exit=3")
    run = stage.cli("deploy")
    assert run.exit_code == 3, run.output
    logs = [e for e in run.events if e["event"] == "task.logs"]
    assert logs and all(e["lines"] == [] and e["cause"] == "missing" for e in logs)
    assert "does not exist" in logs[0]["message"] and GROUP in logs[0]["message"]
    assert run.first("wait.failed")["cause"] == "tasks_stopping"
    assert run.has("release.rolled_back") and stage.live_revision() == "akka-demo:1"
    stage.sandbox.client("logs").delete_log_group(logGroupName=GROUP)  # gone since
    # on demand it is an error: there is nothing to show (exit 1, and how to fix it)
    asked = stage.cli("logs", "--service", "akka-firehose")
    assert asked.exit_code == 1, asked.output
    error = asked.first("error")
    assert "does not exist" in error["message"] and "release bootstrap" in error["hint"]
