"""End to end on the sandbox: a release whose new revision ECS cannot start fails as on ECS.

The sandbox's agent stops the new tasks with ECS's words (sandbox/release_sandbox/startup.py); the
tool's own failure detection (core/stability.py) sees the stops, rolls back and names the
remedy — with no preflight check in between, as when one is skipped or not allowed (here:
the credentials may not describe the parameters, so preflight says "not checked")."""

from __future__ import annotations

import json
from typing import Any

import pytest
from engine_sandbox import CONTAINER, SPEC, Stage

TASKDEF = "taskdefs/akka-firehose.json"
ROLE_ARN = "arn:aws:iam::123456789012:role/ecsTaskExecutionRole"
PARAMETER = "/akka-firehose/sandbox/db-password"
ECS_WORDS = ("Fetching secret data from SSM Parameter Store in us-east-1: invalid parameters: "
             f"{PARAMETER}")


def may_not_describe_parameters(monkeypatch: pytest.MonkeyPatch) -> None:
    """The release's credentials may not ssm:DescribeParameters: preflight cannot see the
    parameter is missing ("not checked") and the release goes on, as ECS will find out."""
    from moto.core.exceptions import JsonRESTError
    from moto.ssm.responses import SimpleSystemManagerResponse

    def denied(self: Any) -> Any:
        raise JsonRESTError("AccessDeniedException", "User: arn:aws:sts::123456789012:"
                            "assumed-role/jenkins/build is not authorized to perform: "
                            "ssm:DescribeParameters")

    monkeypatch.setattr(SimpleSystemManagerResponse, "describe_parameters", denied)


def test_a_release_naming_a_missing_parameter_fails_with_exit_3_and_rolls_back(
        released: Stage, monkeypatch: pytest.MonkeyPatch) -> None:
    stage = released
    may_not_describe_parameters(monkeypatch)
    stage.sandbox.client("iam").create_role(
        RoleName="ecsTaskExecutionRole", AssumeRolePolicyDocument=json.dumps({
            "Version": "2012-10-17", "Statement": [{
                "Effect": "Allow", "Principal": {"Service": "ecs-tasks.amazonaws.com"},
                "Action": "sts:AssumeRole"}]}))
    stage.edit(TASKDEF, lambda d: d.update(executionRoleArn=ROLE_ARN))
    stage.edit(SPEC, lambda d: d["overrides"]["containers"][CONTAINER].update(
        secrets={"DB_PASSWORD": PARAMETER}))  # never put into SSM
    stage.commit("read the database password from SSM Parameter Store")

    run = stage.cli("deploy")

    assert run.exit_code == 3, run.output
    (unknown,) = [r for r in run.first("preflight")["results"] if r["check"] == "secrets"]
    assert unknown["status"] == "not checked" and "ssm:DescribeParameters" in unknown["message"]
    failed = run.first("wait.failed")
    assert failed["cause"] == "tasks_stopping"
    assert failed["reason"] == f"3 new tasks stopped: {ECS_WORDS}"
    assert "SSM parameter" in failed["fix"] and "execution role" in failed["fix"]
    stops = [e for e in run.events if e["event"] == "task.stopped"]
    assert len(stops) >= 3 and all(e["reason"] == ECS_WORDS for e in stops)
    assert ECS_WORDS in run.output  # what an operator reads, ECS's own words
    error = run.first("error")
    assert error["exit_code"] == 3 and error["hint"] == failed["fix"]
    # a task that never started has no log lines to show
    assert not run.has("task.logs")
    assert run.has("release.rolled_back")
    assert stage.live_revision() == "akka-demo:1"
    assert stage.tags("akka-demo:2")["release:outcome"] == "rolled-back"
    # no new task ever ran: ECS gave up on each before its container started (and the
    # rollback stopped the last one while it was still starting)
    ecs = stage.ecs()
    arns = ecs.list_tasks(cluster="AkkaCluster", desiredStatus="STOPPED")["taskArns"]
    new = [t for t in ecs.describe_tasks(cluster="AkkaCluster", tasks=arns)["tasks"]
           if t["taskDefinitionArn"].endswith("akka-demo:2")]
    assert all("startedAt" not in t for t in new)
    assert sum(t["stopCode"] == "TaskFailedToStart" for t in new) >= 3
