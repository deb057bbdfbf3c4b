"""Bootstrap's log-group step (engine/bootstrap_logs.py): the groups the environment's task
definitions name, created when missing; a group in another region is left alone, with a
note. The whole run (created once, a second run plans nothing): test_bootstrap_apply.py."""

from __future__ import annotations

from bootstrap_helpers import environment

from release.core import awslogs, config
from release.engine.bootstrap_logs import plan_log_groups


def test_only_the_missing_groups_of_this_region_are_planned(repo, sandbox_aws):
    assert awslogs.environment_log_groups(config.load_repo(repo, ["sandbox"]), "sandbox") == [
        ("/ecs/akka-firehose", "us-east-1"), ("/ecs/audit-worker", "us-east-1")]
    # a group whose name only starts like the wanted one does not count as it
    sandbox_aws.logs.create_log_group(logGroupName="/ecs/akka-firehose-old")
    sandbox_aws.logs.create_log_group(logGroupName="/ecs/there")
    calls, notes = plan_log_groups(sandbox_aws.logs, environment(repo), [
        ("/ecs/akka-firehose", None), ("/ecs/there", "us-east-1"), ("/ecs/other", "eu-west-1")])
    assert [(c.service, c.operation, c.params) for c in calls] == [
        ("logs", "create_log_group", {"logGroupName": "/ecs/akka-firehose"})]
    assert len(notes) == 1 and "/ecs/other is in eu-west-1" in notes[0]
