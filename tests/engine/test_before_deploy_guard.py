"""release.beforeDeploy: a task that never ran, and one still running from an interrupted deploy.

A beforeDeploy task ECS never placed (RunTask's `failures`) ends the release as a
failed one: exit 3 and a ledger entry `failed`, as docs/user-guide.md says — not
exit 1 and `unknown`. A slow one interrupted with Ctrl-C goes on running (it is
not ours to kill half-way through a migration); the next deploy must not start a
second migration beside it: it is refused, naming the task and how to stop it.
"""

from __future__ import annotations

from typing import Any

import pytest
from engine_sandbox import CLUSTER, SPEC, Stage
from typer.testing import CliRunner

from release.cli import app
from release.output.events import Reporter


def before_deploy(stage: Stage, *command: str) -> None:
    stage.edit(SPEC, lambda doc: doc["release"].update(beforeDeploy={"command": list(command)}))


def history(stage: Stage) -> list[dict[str, Any]]:
    return stage.cli("history", "--service", "akka-firehose").first("history")["entries"]


def migrations(stage: Stage) -> list[dict[str, Any]]:
    """Every beforeDeploy task the cluster knows, running or stopped."""
    ecs = stage.ecs()
    arns = [a for status in ("RUNNING", "STOPPED") for a in ecs.list_tasks(
        cluster=CLUSTER, desiredStatus=status)["taskArns"]]
    tasks = ecs.describe_tasks(cluster=CLUSTER, tasks=arns)["tasks"] if arns else []
    return [t for t in tasks if not str(t.get("group", "")).startswith("service:")]


def test_a_before_deploy_task_never_placed_is_a_failed_release_exit_3(released: Stage) -> None:
    """1536 CPU units fit on no instance beside an old task of 1024 (RESOURCE:CPU)."""
    stage = released
    before_deploy(stage, "sh", "-c", "migrate; exit 0")
    stage.edit("taskdefs/akka-firehose.json",
               lambda doc: doc["containerDefinitions"][0].update(cpu=1536))
    stage.pin("v2")
    run = stage.cli("deploy")
    assert run.exit_code == 3, run.output
    assert run.first("error")["exit_code"] == 3
    assert "beforeDeploy never ran" in run.first("error")["message"]
    newest = history(stage)[0]
    assert (newest["kind"], newest["outcome"]) == ("release", "failed"), newest
    assert newest["revision"].endswith("akka-demo:2")
    assert "beforeDeploy never ran" in newest["reason"]
    assert stage.tags("akka-demo:2")["release:outcome"] == "failed"
    assert stage.live_revision() == "akka-demo:1" and migrations(stage) == []


@pytest.mark.instances(3)
def test_the_next_deploy_refuses_while_an_interrupted_before_deploy_still_runs(
        released: Stage, monkeypatch: pytest.MonkeyPatch) -> None:
    stage = released
    before_deploy(stage, "sh", "-c", "migrate; sleep 900; exit 0")
    stage.pin("v2")
    emit = Reporter.emit

    def ctrl_c_once_running(self: Reporter, kind: str, message: str, level: str = "info",
                            **data: Any) -> Any:
        event = emit(self, kind, message, level, **data)
        if kind == "run.status" and data.get("status") == "RUNNING":
            raise KeyboardInterrupt
        return event

    monkeypatch.setattr(Reporter, "emit", ctrl_c_once_running)
    first = stage.cli("deploy")
    monkeypatch.setattr(Reporter, "emit", emit)
    assert first.exit_code == 130, first.output
    task = first.first("run.started")["task"]
    task_id = task.rsplit("/", 1)[-1]
    assert f"aws ecs stop-task --cluster AkkaCluster --task {task_id}" in first.output
    assert history(stage)[0]["outcome"] == "interrupted"

    stage.sandbox.advance(60)  # a minute later, someone deploys again
    second = stage.cli("deploy")
    assert second.exit_code == 1, second.output
    error = second.first("error")
    assert "beforeDeploy task is still running" in error["message"], error
    assert task_id in error["message"] and "nothing was changed" in error["message"]
    assert f"aws ecs stop-task --cluster AkkaCluster --task {task_id}" in error["hint"]
    assert not second.has("run.started") and not second.has("release.call")
    assert len(migrations(stage)) == 1  # no second migration beside the first
    assert stage.live_revision() == "akka-demo:1"

    stage.sandbox.advance(900)  # the first migration ends: the release goes ahead
    third = stage.cli("deploy")
    assert third.exit_code == 0, third.output
    assert third.has("run.started") and len(migrations(stage)) == 2
    assert stage.live_revision() != "akka-demo:1"


@pytest.mark.instances(3)
def test_a_one_off_task_of_release_run_still_running_does_not_block_a_deploy(
        released: Stage, monkeypatch: pytest.MonkeyPatch) -> None:
    """Only the service's beforeDeploy tasks count, not `release run`'s."""
    stage = released
    emit = Reporter.emit

    def ctrl_c_once_running(self: Reporter, kind: str, message: str, level: str = "info",
                            **data: Any) -> Any:
        event = emit(self, kind, message, level, **data)
        if kind == "run.status" and data.get("status") == "RUNNING":
            raise KeyboardInterrupt
        return event

    monkeypatch.setattr(Reporter, "emit", ctrl_c_once_running)
    argv = ["run", "--env", "sandbox", "--service", "akka-firehose", "--repo", str(stage.repo),
            "--format", "json", "--", "sh", "-c", "sleep 900; exit 0"]
    assert CliRunner().invoke(app, argv, catch_exceptions=False).exit_code == 130
    monkeypatch.setattr(Reporter, "emit", emit)
    assert [t["lastStatus"] for t in migrations(stage)] == ["RUNNING"]
    before_deploy(stage, "sh", "-c", "migrate; exit 0")
    stage.pin("v2")
    run = stage.cli("deploy")
    assert run.exit_code == 0, run.output
    assert stage.live_revision() == "akka-demo:2"
