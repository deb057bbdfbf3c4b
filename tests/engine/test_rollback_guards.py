"""Rollback refuses before any change: no terminal to confirm on, a foreign ARN, a lost image;
and a nonsensical --timeout is a usage error."""

from __future__ import annotations

import pytest
from engine_sandbox import Stage


def test_rollback_without_a_terminal_and_without_yes_is_a_usage_error(released: Stage) -> None:
    stage = released
    stage.pin("v2")
    assert stage.cli("deploy").exit_code == 0
    run = stage.cli("rollback")  # CliRunner's stdin is not a terminal, as under `| tee log`
    assert run.exit_code == 2, run.output
    assert "--yes" in run.first("error")["hint"]
    assert stage.live_revision() == "akka-demo:2"


@pytest.mark.parametrize("arn", [
    "arn:aws:ecs:us-east-1:210987654321:task-definition/akka-demo:1",  # another account
    "arn:aws:ecs:eu-west-1:123456789012:task-definition/akka-demo:1",  # another region
    "arn:aws:ecs:us-east-1:123456789012:task-definition/other-family:1",
])
def test_rollback_to_an_arn_outside_the_environment_is_refused(released: Stage, arn) -> None:
    stage = released
    stage.pin("v2")
    assert stage.cli("deploy").exit_code == 0
    run = stage.cli("rollback", "--to", arn, "--yes")
    assert run.exit_code == 1, run.output
    assert "is not a revision of this service" in run.first("error")["message"]
    assert stage.live_revision() == "akka-demo:2"


def test_rollback_to_the_environments_own_arn_works(released: Stage) -> None:
    stage = released
    stage.pin("v2")
    assert stage.cli("deploy").exit_code == 0
    arn = "arn:aws:ecs:us-east-1:123456789012:task-definition/akka-demo:1"
    run = stage.cli("rollback", "--to", arn, "--yes")
    assert run.exit_code == 0, run.output
    assert stage.live_revision() == "akka-demo:1"


def test_rollback_refuses_a_target_whose_image_is_gone_from_ecr(released: Stage) -> None:
    stage = released
    v1 = stage.tags("akka-demo:1")["release:image"]
    stage.pin("v2")
    assert stage.cli("deploy").exit_code == 0
    repository = stage.sandbox.environment().ecr_repository
    deleted = stage.sandbox.client("ecr").batch_delete_image(
        repositoryName=repository, imageIds=[{"imageDigest": v1}])
    assert deleted["imageIds"], deleted
    run = stage.cli("rollback", "--yes")
    assert run.exit_code == 1, run.output
    error = run.first("error")
    assert "missing image" in error["message"] and "--to" in error["hint"]
    assert stage.live_revision() == "akka-demo:2"


@pytest.mark.parametrize("value", ["-5", "0", "1e9", "soon"])
def test_a_timeout_that_is_not_a_budget_is_a_usage_error(released: Stage, value: str) -> None:
    stage = released
    stage.pin("v2")
    for verb in ("deploy", "rollback", "plan"):
        run = stage.cli(verb, f"--timeout={value}", "--yes") if verb == "rollback" else \
            stage.cli(verb, f"--timeout={value}")
        assert run.exit_code == 2, (verb, run.output)
    assert stage.revisions() == ["akka-demo:1"]
    assert stage.live_revision() == "akka-demo:1"
