"""The verdict on new tasks ECS cannot start (stopCode TaskFailedToStart) and on a revision
ECS cannot launch at all (its execution role): failed, with ECS's words and the remedy."""

from __future__ import annotations

from typing import Any

import pytest
from engine_shapes import (
    NEW_DEPLOYMENT,
    NEW_TD,
    OLD_DEPLOYMENT,
    OLD_TD,
    T0,
    assert_shape,
    deployment,
    event,
    service,
    task,
)

from release.core import rollout_watch
from release.core import stability as st
from release.core.start_failures import start_failure_fix

SSM_EC2 = ("Fetching secret data from SSM Parameter Store in us-east-1: invalid parameters: "
           "/akka/db-password")
SSM_FARGATE = ("ResourceInitializationError: unable to pull secrets or registry auth: "
               "execution resource retrieval failed: unable to retrieve secrets from ssm: "
               "service call has been retried 1 time(s): invalid ssm parameters: /akka/db")
ASM_EC2 = ("Fetching secret data from AWS Secrets Manager in region us-east-1: secret "
           "arn:aws:secretsmanager:us-east-1:123456789012:secret:db-AbCdEf: "
           "ResourceNotFoundException: Secrets Manager can't find the specified secret.")
LOGS_FARGATE = ("ResourceInitializationError: failed to validate logger args: create stream "
                "has been retried 1 times: failed to create Cloudwatch log stream: "
                "ResourceNotFoundException: The specified log group does not exist. : exit "
                "status 1")
LOGS_EC2 = ("CannotStartContainerError: Error response from daemon: failed to initialize "
            "logging driver: failed to create Cloudwatch log stream: ResourceNotFoundException: "
            "The specified log group does not exist.")
PULL = ("CannotPullContainerError: pull image manifest has been retried 1 time(s): failed to "
        "resolve ref 123456789012.dkr.ecr.us-east-1.amazonaws.com/akka:v9: not found")
NETWORK = ("ResourceInitializationError: unable to pull secrets or registry auth: execution "
           "resource retrieval failed: unable to retrieve ecr registry auth: service call has "
           "been retried 3 time(s): RequestError: send request failed")
ROLE_EVENT = ("(service akka-firehose-service) failed to launch a task with (error ECS was "
              "unable to assume the role 'arn:aws:iam::123456789012:role/missing' that was "
              "provided for this task. Please verify that the role being passed has the proper "
              "trust relationship and permissions and that your IAM user has permissions to "
              "pass this role.).")


def target(**overrides: Any) -> st.Target:
    args: dict[str, Any] = dict(
        task_definition_arn=NEW_TD, deployment_id=NEW_DEPLOYMENT, started_at=T0,
        deadline=T0 + 600, desired_count=2, previous_task_definition_arn=OLD_TD,
        cluster="AkkaCluster")
    args.update(overrides)
    return st.Target(**args)


def never_started(n: int, reason: str, container_reason: str | None = None) -> dict[str, Any]:
    """A new task ECS gave up on before its container ran: no startedAt, no exit code."""
    t = task(f"new{n}", NEW_TD, instance=1, last="STOPPED", desired="STOPPED",
             started_at=None, stopped_at=5 + n, stopped_reason=reason,
             stop_code="TaskFailedToStart")
    if container_reason:
        t["containers"][0]["reason"] = container_reason
    assert_shape(t, "ecs", "Task")
    return t


def rolling() -> dict[str, Any]:
    return service([deployment(NEW_DEPLOYMENT, NEW_TD, running=0),
                    deployment(OLD_DEPLOYMENT, OLD_TD, "ACTIVE", running=2)], running=2)


@pytest.mark.parametrize("reason, container_reason, fix_has", [
    (SSM_EC2, None, ["SSM parameter", "execution role", "ssm:GetParameters"]),
    (SSM_FARGATE, None, ["SSM parameter", "execution role"]),
    (ASM_EC2, None, ["Secrets Manager", "secretsmanager:GetSecretValue"]),
    (LOGS_FARGATE, None, ["log group", "release bootstrap", "awslogs-create-group"]),
    (LOGS_EC2, LOGS_EC2, ["log group", "awslogs-create-group"]),
    (PULL, PULL, ["pull the image", "image pin", "release build --push"]),
    ("Task failed to start", PULL, ["pull the image"]),  # ECS's reason on the container only
    (NETWORK, None, ["execution role", "ecs-tasks.amazonaws.com", "NAT gateway"]),
])
def test_tasks_that_fail_to_start_fail_the_release_with_the_remedy(reason, container_reason,
                                                                   fix_has) -> None:
    watch = rollout_watch.Watch(target())
    tasks = [never_started(n, reason, container_reason) for n in range(3)]
    verdict = watch.observe(st.Snapshot(T0 + 30, rolling(), tasks))
    assert verdict.state == st.FAILED and verdict.cause == st.TASKS_STOPPING
    assert verdict.reason.startswith("3 new tasks stopped: ")
    assert reason in verdict.reason and (container_reason or "") in verdict.reason
    assert all(words in verdict.fix for words in fix_has), verdict.fix
    assert "crashes on start" not in verdict.fix


def test_a_crash_keeps_the_crash_remedy() -> None:
    assert start_failure_fix("Essential container in task exited") is None
    watch = rollout_watch.Watch(target())
    tasks = [task(f"new{n}", NEW_TD, instance=1, last="STOPPED", desired="STOPPED",
                  stopped_at=5, stopped_reason="Essential container in task exited",
                  stop_code="EssentialContainerExited", exit_code=1) for n in range(3)]
    verdict = watch.observe(st.Snapshot(T0 + 30, rolling(), tasks))
    assert "crashes on start" in verdict.fix


def test_the_container_reason_is_told_once() -> None:
    assert st.describe_stop(never_started(1, PULL, PULL)) == PULL
    assert st.describe_stop(never_started(1, "Task failed to start", PULL)) == (
        f"Task failed to start (container akka-firehose: {PULL})")


def test_a_role_ecs_cannot_assume_fails_after_the_grace_naming_the_role() -> None:
    watch = rollout_watch.Watch(target())
    svc = service([deployment(NEW_DEPLOYMENT, NEW_TD, running=0),
                   deployment(OLD_DEPLOYMENT, OLD_TD, "ACTIVE", running=2)], running=2,
                  events=[event("e1", ROLE_EVENT, 3)])
    early = watch.observe(st.Snapshot(T0 + 5, svc, []))
    assert early.state == st.PROGRESSING  # IAM may still be propagating a new role
    assert "ECS cannot launch a task" in early.summary
    for seconds in (20, 40):
        watch.observe(st.Snapshot(T0 + seconds, svc, []))
    verdict = watch.observe(st.Snapshot(T0 + 70, svc, []))
    assert verdict.state == st.FAILED and verdict.cause == st.LAUNCH_FAILED
    assert verdict.reason == (
        "ECS cannot launch the new tasks: ECS was unable to assume the role "
        "'arn:aws:iam::123456789012:role/missing' that was provided for this task. Please "
        "verify that the role being passed has the proper trust relationship and permissions "
        "and that your IAM user has permissions to pass this role.")
    assert "executionRoleArn" in verdict.fix and "ecs-tasks.amazonaws.com" in verdict.fix
