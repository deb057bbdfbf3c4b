"""`release bootstrap` as a command: dry run, confirmation, output formats, bad input."""

from __future__ import annotations

import json

import pytest
from bootstrap_helpers import edit_environment, run_bootstrap

from release.adapters.aws import Aws

READ_PREFIXES = ("Describe", "List", "Get")


@pytest.fixture
def recorded_operations(monkeypatch) -> list[str]:
    """Every AWS operation the command sends, via botocore's own `before-call` event."""
    operations: list[str] = []
    original = Aws.client

    def recording_client(self, name):
        client = original(self, name)
        client.meta.events.register(
            "before-call", lambda model, **_: operations.append(model.name))
        return client

    monkeypatch.setattr(Aws, "client", recording_client)
    return operations


def _roles(sandbox_aws) -> list[str]:
    return [r["RoleName"] for r in sandbox_aws.iam.list_roles()["Roles"]]


def test_dry_run_on_an_empty_account_shows_the_plan_and_makes_no_mutating_call(
        repo, sandbox_aws, recorded_operations):
    result = run_bootstrap(repo, "--env", "sandbox", "--dry-run", "--instances", "2")
    assert result.exit_code == 0, result.output
    assert "dry run" in result.output and "nothing was changed" in result.output
    for expected in ("create_role", "put_role_policy", "create_load_balancer",
                     "set_repository_policy", "run_instances"):
        assert expected in result.output
    assert "register_container_instance" not in result.output  # the agent's call, as on AWS
    assert recorded_operations, "the dry run must read the live state"
    assert [op for op in recorded_operations if not op.startswith(READ_PREFIXES)] == []
    assert _roles(sandbox_aws) == []
    assert sandbox_aws.ecs.list_clusters()["clusterArns"] == []


def test_dry_run_after_drift_plans_the_repair_without_making_it(repo, sandbox_aws,
                                                                recorded_operations):
    assert run_bootstrap(repo, "--env", "sandbox", "--yes").exit_code == 0
    sandbox_aws.ecr.put_image_tag_mutability(repositoryName="akka-firehose",
                                             imageTagMutability="MUTABLE")
    recorded_operations.clear()
    result = run_bootstrap(repo, "--env", "sandbox", "--dry-run")
    assert result.exit_code == 0, result.output
    assert "put_image_tag_mutability" in result.output
    assert [op for op in recorded_operations if not op.startswith(READ_PREFIXES)] == []
    repository = sandbox_aws.ecr.describe_repositories(repositoryNames=["akka-firehose"])
    assert repository["repositories"][0]["imageTagMutability"] == "MUTABLE"


def test_without_yes_and_without_a_terminal_it_refuses_with_exit_2(repo, sandbox_aws):
    result = run_bootstrap(repo, "--env", "sandbox")
    assert result.exit_code == 2
    assert "without confirmation" in result.stderr
    assert "--yes" in result.stderr
    assert _roles(sandbox_aws) == []


def test_on_a_terminal_it_asks_and_a_no_changes_nothing(repo, sandbox_aws, monkeypatch):
    monkeypatch.setattr("release.commands.bootstrap.interactive", lambda: True)
    declined = run_bootstrap(repo, "--env", "sandbox", input="n\n")
    assert declined.exit_code == 0, declined.output
    assert "not applied" in declined.output
    assert _roles(sandbox_aws) == []
    accepted = run_bootstrap(repo, "--env", "sandbox", input="y\n")
    assert accepted.exit_code == 0, accepted.output
    assert sorted(_roles(sandbox_aws)) == ["ecsInstanceRole", "ecsServiceRole", "jenkins"]


def test_json_output_carries_each_call_with_its_reason_and_parameters(repo):
    result = run_bootstrap(repo, "--env", "sandbox", "--dry-run", "--format", "json")
    assert result.exit_code == 0, result.output
    events = [json.loads(line) for line in result.stdout.splitlines() if line.strip()]
    plan = next(e for e in events if e["event"] == "bootstrap.plan")
    assert plan["changes"] == len(plan["calls"])
    shown = [e for e in events if e["event"] == "bootstrap.plan.call"]
    assert [(e["step"], e["operation"]) for e in shown] == [
        (n, c["operation"]) for n, c in enumerate(plan["calls"], 1)]
    firehose = next(c for c in plan["calls"] if c["target"] == "ecsInstanceRole/firehosePolicy")
    assert firehose["operation"] == "put_role_policy"
    assert firehose["reason"] == "inline policy missing"
    resource = json.loads(firehose["params"]["PolicyDocument"])["Statement"][0]["Resource"]
    assert resource == ["arn:aws:firehose:us-east-1:123456789012:deliverystream/"
                        "akka-firehose-sandbox"]
    assert events[-1]["event"] == "bootstrap.done" and events[-1]["dry_run"] is True


def test_an_unknown_environment_is_invalid_input(repo):
    result = run_bootstrap(repo, "--env", "nope", "--yes")
    assert result.exit_code == 1
    assert "unknown environment 'nope'" in result.stderr
    assert "sandbox" in result.stderr  # the hint lists the environments that exist


def test_an_environment_without_a_delivery_stream_is_refused_before_any_change(repo,
                                                                               sandbox_aws):
    edit_environment(repo, "sandbox", lambda doc: doc.pop("firehose"))
    result = run_bootstrap(repo, "--env", "sandbox", "--yes")
    assert result.exit_code == 1
    assert "Firehose delivery stream" in result.stderr
    assert "never granted on '*'" in result.stderr
    assert _roles(sandbox_aws) == []


def test_a_negative_instance_count_is_a_usage_error(repo):
    result = run_bootstrap(repo, "--env", "sandbox", "--instances", "-1")
    assert result.exit_code == 2


def test_outside_the_sandbox_unknown_subnets_are_named_and_nothing_is_created(
        repo, aws_url, monkeypatch):
    """Bootstrap makes no network: subnets it cannot find are an input error."""
    from moto import mock_aws

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.delenv("RELEASE_AWS_ENDPOINT", raising=False)
    with mock_aws():
        result = run_bootstrap(repo, "--env", "staging", "--yes")
        import boto3

        roles = boto3.client("iam", region_name="us-east-1").list_roles()["Roles"]
    assert result.exit_code == 1, result.output
    assert "subnet-a, subnet-b" in result.stderr and "not found" in result.stderr
    assert roles == []


def test_in_the_sandbox_too_unknown_subnets_are_named_and_nothing_is_created(repo, sandbox_aws):
    """No local-endpoint branch: the sandbox seeds the names its documents use, no others."""
    edit_environment(repo, "sandbox", lambda doc: doc["loadBalancer"].update(
        subnets=["subnet-a", "subnet-elsewhere"]))
    result = run_bootstrap(repo, "--env", "sandbox", "--yes")
    assert result.exit_code == 1, result.output
    assert "subnet(s) subnet-elsewhere of environment 'sandbox' not found" in result.stderr
    assert _roles(sandbox_aws) == []
    assert sandbox_aws.ec2.describe_subnets(Filters=[
        {"Name": "tag:Name", "Values": ["subnet-elsewhere"]}])["Subnets"] == []
