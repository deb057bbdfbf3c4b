"""Preflight on the sandbox: a release that cannot succeed is refused before any change.

Each scenario breaks what ECS would only find when starting the new tasks — the execution
role, a secret's parameter, the role's permission to read it, room on the instances, the
log group a rollback target writes to — and holds `plan`, `deploy`, `rollback` and
`release preflight` to: exit 1, every problem named with its document, JSON pointer and
fix, no revision registered, no service updated (the sandbox's call log says so).
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from engine_sandbox import ENV_DOC, SPEC, Stage

from release.core.policies import trust_policy

TASKDEF = "taskdefs/akka-firehose.json"
ROLE = "akkaTaskExecution"
ROLE_ARN = f"arn:aws:iam::123456789012:role/{ROLE}"
PARAMETER = "/akka/db-password"
PARAMETER_ARN = "arn:aws:ssm:us-east-1:123456789012:parameter/akka/db-password"
CHANGES = {"RegisterTaskDefinition", "UpdateService", "CreateService", "TagResource",
           "RunTask"}


def with_secret(stage: Stage) -> None:
    """The task definition gains an execution role and a secret from SSM."""
    def change(doc: dict[str, Any]) -> None:
        doc["executionRoleArn"] = ROLE_ARN
        doc["containerDefinitions"][0]["secrets"] = [{"name": "DB_PASSWORD",
                                                      "valueFrom": PARAMETER}]
    stage.edit(TASKDEF, change)
    stage.commit("the service reads its database password from SSM")


def create_role(stage: Stage, resource: str) -> None:
    iam = stage.sandbox.client("iam")
    iam.create_role(RoleName=ROLE, AssumeRolePolicyDocument=json.dumps(
        trust_policy("ecs-tasks.amazonaws.com")))
    iam.put_role_policy(RoleName=ROLE, PolicyName="read-secrets", PolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Action": "ssm:GetParameters", "Resource": resource}]}))


def changed(stage: Stage) -> set[str]:
    """The calls that change AWS since the call log was last reset."""
    return set(stage.sandbox.calls.of()) & CHANGES


def test_a_missing_role_and_parameter_refuse_plan_and_deploy_then_pass_once_created(
        released: Stage) -> None:
    stage = released
    stage.pin("v2")
    with_secret(stage)
    for verb in ("plan", "deploy"):
        stage.sandbox.calls.reset()
        run = stage.cli(verb)
        assert run.exit_code == 1, run.output
        error = run.first("error")["message"]
        assert "preflight found 2 problems; nothing was changed" in error
        assert (f"roles: execution role {ROLE} does not exist in account 123456789012 "
                f"({TASKDEF}#/executionRoleArn)") in error
        assert (f"secrets: parameter {PARAMETER} does not exist in us-east-1"
                in error) and f"({TASKDEF}#/containerDefinitions/0/secrets/0/valueFrom)" in error
        hint = run.first("error")["hint"]
        assert "1. create role akkaTaskExecution trusting ecs-tasks.amazonaws.com" in hint
        assert f"2. create it (`aws ssm put-parameter --name {PARAMETER}" in hint
        assert changed(stage) == set(), verb
        assert stage.revisions() == ["akka-demo:1"] and stage.live_revision() == "akka-demo:1"
    assert not run.has("release.plan") and not run.has("release.registered")

    create_role(stage, PARAMETER_ARN)
    stage.sandbox.client("ssm").put_parameter(Name=PARAMETER, Value="s3cret",
                                              Type="SecureString")
    plan = stage.cli("plan")
    assert plan.exit_code == 0, plan.output
    report = plan.first("plan.preflight")
    assert report["passed"] and report["counts"]["problem"] == 0
    secrets = [r for r in report["results"] if r["check"] == "secrets"]
    assert [(r["status"], r["message"]) for r in secrets] == [
        ("ok", f"may read all 1 (parameter {PARAMETER})")]
    run = stage.cli("deploy")
    assert run.exit_code == 0, run.output
    assert stage.live_revision() == "akka-demo:2"


def test_a_role_that_may_not_read_the_secret_is_named_with_the_action_and_the_secret(
        released: Stage) -> None:
    stage = released
    stage.pin("v2")
    with_secret(stage)
    create_role(stage, "arn:aws:ssm:us-east-1:123456789012:parameter/other/*")
    stage.sandbox.client("ssm").put_parameter(Name=PARAMETER, Value="s3cret",
                                              Type="SecureString")
    stage.sandbox.calls.reset()
    for verb in ("plan", "deploy"):
        run = stage.cli(verb)
        assert run.exit_code == 1, run.output
        error = run.first("error")
        assert error["message"].startswith(
            f"sandbox/akka-firehose-service: preflight: secrets: execution role {ROLE} may "
            f"not ssm:GetParameters on {PARAMETER_ARN} (parameter {PARAMETER}): the policy "
            "simulator answers implicitDeny")
        assert error["hint"] == f"allow ssm:GetParameters on {PARAMETER_ARN} in a policy of " \
                                f"role {ROLE}"
    assert stage.sandbox.calls.of()["SimulatePrincipalPolicy"] == 2  # one a verb
    assert changed(stage) == set() and stage.revisions() == ["akka-demo:1"]


@pytest.mark.instances(2)
def test_every_instances_port_taken_refuses_the_release_before_the_wait(released: Stage
                                                                          ) -> None:
    stage = released
    # the documents count a spare instance (validation passes), the cluster has none left
    stage.edit(ENV_DOC, lambda d: d["instances"].update(count=3))
    stage.edit(SPEC, lambda d: d["service"]["deploymentConfiguration"].update(
        minimumHealthyPercent=100, maximumPercent=200))
    stage.commit("keep every task serving during a release")
    stage.pin("v2")
    stage.sandbox.calls.reset()
    started = stage.sandbox.clock.now()
    run = stage.cli("deploy")
    assert run.exit_code == 1, run.output
    error = run.first("error")
    assert error["message"].startswith("sandbox/akka-firehose-service: preflight: capacity: "
                                       "no new task can be placed: each task needs 1024 CPU "
                                       "units, 1024 MiB, host port(s) 80;")
    assert "lacks PORTS" in error["message"]
    assert f"({SPEC}#/service/deploymentConfiguration)" in error["message"]
    assert "lower minimumHealthyPercent" in error["hint"]
    assert not any(kind.startswith("wait") for kind in run.kinds())  # refused, not waited
    assert stage.sandbox.clock.now() - started < 5
    assert changed(stage) == set() and stage.revisions() == ["akka-demo:1"]


def test_more_memory_than_the_instances_have_free_is_refused_at_the_override(
        released: Stage) -> None:
    stage = released
    ecs = stage.ecs()
    filler = ecs.register_task_definition(family="batch", containerDefinitions=[{
        "name": "batch", "image": "batch:1", "memory": 2500, "essential": True}])
    ecs.run_task(cluster="AkkaCluster", taskDefinition="batch:1", count=2, overrides={
        "containerOverrides": [{"name": "batch", "command": ["sleep", "86400"]}]})
    free = [r["integerValue"] for ci in ecs.describe_container_instances(
        cluster="AkkaCluster", containerInstances=ecs.list_container_instances(
            cluster="AkkaCluster")["containerInstanceArns"])["containerInstances"]
        for r in ci["remainingResources"] if r["name"] == "MEMORY"]
    assert free == [419, 419], free  # 3943 registered − 1024 (the service) − 2500 (batch)
    assert filler["taskDefinition"]["revision"] == 1
    stage.pin("v2", commit=False)
    stage.edit(SPEC, lambda d: d["overrides"]["containers"]["akka-firehose"].update(
        memory=1500))
    stage.commit("more memory")
    plan = stage.cli("plan")
    assert plan.exit_code == 1, plan.output
    error = plan.first("error")
    assert "lacks MEMORY" in error["message"]
    assert (f"({SPEC}#/overrides/containers/akka-firehose/memory)") in error["message"]
    assert error["hint"].startswith("no instance has 1500 MiB free (the most: 1443 MiB")
    assert stage.revisions() == ["akka-demo:1"]


def test_a_rollback_to_a_revision_whose_log_group_is_gone_is_refused(released: Stage) -> None:
    stage = released
    stage.pin("v2")
    assert stage.cli("deploy").exit_code == 0
    stage.sandbox.client("logs").delete_log_group(logGroupName="/ecs/akka-firehose")
    stage.sandbox.calls.reset()
    run = stage.cli("rollback", "--yes")
    assert run.exit_code == 1, run.output
    error = run.first("error")
    assert error["message"].startswith(
        "sandbox/akka-firehose-service: preflight: logs: log group /ecs/akka-firehose does "
        "not exist in us-east-1")
    assert ("akka-demo:1 (registered in ECS)#/containerDefinitions/0/logConfiguration/"
            "options/awslogs-group") in error["message"]
    assert "release bootstrap --env sandbox" in error["hint"]
    assert changed(stage) == set() and stage.live_revision() == "akka-demo:2"
    check = stage.cli("preflight", "--service", "akka-firehose", "--revision", "1")
    assert check.exit_code == 1 and check.first("preflight")["subject"] == "akka-demo:1"


def test_preflight_on_its_own_and_what_it_costs(released: Stage) -> None:
    stage = released
    stage.pin("v2")
    stage.sandbox.calls.reset("preflight")
    run = stage.cli("preflight")
    assert run.exit_code == 0, run.output
    report = run.first("preflight")
    assert report["passed"] and report["counts"]["ok"] == 9
    # its own reads: the service role, the image, the log group, the ELB, the instances
    # and the old tasks (none of secrets, alarms, scan gate: the seed has none)
    assert report["calls"] == {"GetRole": 1, "DescribeImages": 1, "DescribeLogGroups": 1,
                               "DescribeLoadBalancers": 1, "ListContainerInstances": 1,
                               "DescribeContainerInstances": 1, "ListTasks": 1,
                               "DescribeTasks": 1}
    assert changed(stage) == set()
    # a release that changes nothing needs none of them
    stage.git.git.checkout("HEAD~1", "--", SPEC)
    stage.commit("back to v1")
    stage.sandbox.calls.reset("unchanged")
    again = stage.cli("deploy")
    assert again.has("release.unchanged"), again.output
    assert again.first("preflight")["calls"] == {}
    assert again.first("preflight")["skipped"] == [
        "roles", "secrets", "images", "logs", "load-balancer", "capacity", "alarms",
        "scan-gate"]
