"""Right account, right role, against the sandbox: STS is asked before anything else.

The sandbox's moto answers GetCallerIdentity with its account (123456789012,
the sandbox document's) and, for credentials from AssumeRole, with the account
of the assumed role's ARN — as STS does.
"""

from __future__ import annotations

import pytest
from engine_sandbox import ENV_DOC, Stage

from release.adapters.aws import connect
from release.core.errors import Unreachable

OTHER_ACCOUNT = "210987654321"


def test_deploy_with_another_account_in_the_document_is_exit_5_and_registers_nothing(
        stage: Stage) -> None:
    stage.pin("0123456789ab")  # a change that a release would register
    stage.edit(ENV_DOC, lambda doc: doc.update(account=OTHER_ACCOUNT))
    stage.commit("the sandbox document names another account")
    before = stage.revisions()

    run = stage.cli("deploy")

    assert run.exit_code == 5, run.output
    error = run.first("error")
    assert "credentials are account 123456789012" in error["message"]
    assert f"is account {OTHER_ACCOUNT}" in error["message"]
    assert "no role to assume" in error["message"]
    assert "/aws/roleArn" in error["hint"]
    assert stage.revisions() == before
    assert not run.has("register")


def test_plan_checks_the_account_too(stage: Stage) -> None:
    stage.edit(ENV_DOC, lambda doc: doc.update(account=OTHER_ACCOUNT))
    run = stage.cli("plan")
    assert run.exit_code == 5, run.output
    assert not run.has("plan")


def test_the_role_is_assumed_with_the_build_tag_as_session_name(stage: Stage,
                                                                 monkeypatch) -> None:
    role = "arn:aws:iam::123456789012:role/release-deployer"
    stage.edit(ENV_DOC, lambda doc: doc.update(aws={"roleArn": role, "externalId": "akka-42"}))
    monkeypatch.setenv("BUILD_TAG", "jenkins-akka firehose/release-42")

    aws = connect(stage.sandbox.environment())

    identity = aws.identity()
    assert identity.arn == ("arn:aws:sts::123456789012:assumed-role/release-deployer/"
                            "jenkins-akka-firehose-release-42")
    clusters = aws.ecs.describe_clusters(clusters=["AkkaCluster"])["clusters"]
    assert [c["status"] for c in clusters] == ["ACTIVE"]  # the assumed keys reach the account


def test_a_role_in_another_account_is_refused_naming_the_role(stage: Stage, monkeypatch) -> None:
    role = f"arn:aws:iam::{OTHER_ACCOUNT}:role/release-deployer"
    stage.edit(ENV_DOC, lambda doc: doc.update(aws={"roleArn": role}))
    with pytest.raises(Unreachable) as refused:
        connect(stage.sandbox.environment())
    assert f"credentials are account {OTHER_ACCOUNT}" in refused.value.message
    assert f"assuming role {role}" in refused.value.message
    assert "must be in account 123456789012" in refused.value.hint
    assert refused.value.exit_code == 5

    run = stage.cli("plan")
    assert run.exit_code == 5, run.output
