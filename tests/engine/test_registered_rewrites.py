"""What ECS rewrites on register is not a change, on the sandbox (which rewrites as ECS does).

A task definition written with "1 vCPU" / "2 GB", a role by name and an EFS volume without
rootDirectory deploys once; the second `plan` says nothing to change. Its own tags are
registered beside the release record's, and only a change of them is a change.
"""

from __future__ import annotations

import json

from engine_sandbox import Stage

TASKDEF = "taskdefs/akka-firehose.json"
ECS_TASKS_TRUST = {"Version": "2012-10-17", "Statement": [{
    "Effect": "Allow", "Principal": {"Service": "ecs-tasks.amazonaws.com"},
    "Action": "sts:AssumeRole"}]}


def with_task_role(stage: Stage) -> None:
    """The role the document names by name exists and trusts ECS tasks (the sandbox, as ECS,
    does not launch a task whose role it cannot assume)."""
    stage.sandbox.client("iam").create_role(
        RoleName="akka-firehose-task", AssumeRolePolicyDocument=json.dumps(ECS_TASKS_TRUST))


def written_with_units_names_and_tags(doc: dict) -> None:
    doc.update(cpu="1 vCPU", memory="2 GB", taskRoleArn="akka-firehose-task",
               volumes=[{"name": "shared",
                         "efsVolumeConfiguration": {"fileSystemId": "fs-0123456789abcdef0"}}],
               tags=[{"key": "team", "value": "payments"}])


def test_units_role_names_and_efs_root_deploy_once_then_plan_nothing(stage: Stage) -> None:
    with_task_role(stage)
    stage.edit(TASKDEF, written_with_units_names_and_tags)
    stage.pin("v1")
    first = stage.cli("deploy")
    assert first.exit_code == 0, first.output
    live = stage.ecs().describe_task_definition(taskDefinition="akka-demo:1")["taskDefinition"]
    assert (live["cpu"], live["memory"]) == ("1024", "2048")
    assert live["taskRoleArn"] == f"arn:aws:iam::{stage.sandbox.account}:role/akka-firehose-task"
    assert live["volumes"][0]["efsVolumeConfiguration"]["rootDirectory"] == "/"
    tags = stage.tags("akka-demo:1")
    assert tags["team"] == "payments" and tags["release:outcome"] == "completed"

    plan = stage.cli("plan")
    assert plan.exit_code == 0, plan.output
    shown = plan.first("plan")
    assert shown["unchanged"], (shown["taskdef_changes"], shown["service_changes"])
    assert "no change" in shown["message"]
    again = stage.cli("deploy")
    assert again.has("release.unchanged") and stage.revisions() == ["akka-demo:1"]
    assert stage.cli("status").first("status")["drift"] == []


def test_a_tag_changed_in_the_file_is_a_change_and_is_registered(stage: Stage) -> None:
    with_task_role(stage)
    stage.edit(TASKDEF, written_with_units_names_and_tags)
    stage.pin("v1")
    assert stage.cli("deploy").exit_code == 0
    stage.edit(TASKDEF, lambda d: d.update(tags=[{"key": "team", "value": "checkout"}]))
    stage.commit("the team changed")

    plan = stage.cli("plan").first("plan")
    assert [c["path"] for c in plan["taskdef_changes"]] == ["tags[team]"]
    assert [(c["live"], c["desired"]) for c in plan["taskdef_changes"]] == [
        ("payments", "checkout")]
    release = stage.cli("deploy")
    assert release.exit_code == 0, release.output
    assert stage.live_revision() == "akka-demo:2"
    tags = stage.tags("akka-demo:2")
    assert tags["team"] == "checkout" and tags["release:previous"].endswith("akka-demo:1")
