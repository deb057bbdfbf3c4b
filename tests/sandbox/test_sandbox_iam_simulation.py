"""The sandbox's SimulatePrincipalPolicy (moto has none), on its own: a role's inline and
attached managed policies decide each action on each resource as IAM's evaluation logic
says — an allow, an explicit deny over it, an implicit deny when nothing allows, a
condition not matched without its context — and an unknown role is NoSuchEntity."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from release.core.policies import trust_policy
from release_sandbox.testing import running_sandbox

REPO_ROOT = Path(__file__).resolve().parents[2]
PARAMETER = "arn:aws:ssm:us-east-1:123456789012:parameter/akka/"


@pytest.fixture
def iam(tmp_path: Path) -> Iterator[Any]:
    with running_sandbox(REPO_ROOT, tmp_path) as sandbox:
        yield sandbox.client("iam")


def role(iam: Any, name: str, *inline: dict[str, Any]) -> str:
    arn = iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(
        trust_policy("ecs-tasks.amazonaws.com")))["Role"]["Arn"]
    for n, document in enumerate(inline):
        iam.put_role_policy(RoleName=name, PolicyName=f"p{n}",
                            PolicyDocument=json.dumps(document))
    return arn


def decisions(iam: Any, arn: str, action: str, resources: list[str]) -> dict[str, str]:
    answer = iam.simulate_principal_policy(PolicySourceArn=arn, ActionNames=[action],
                                           ResourceArns=resources)
    assert answer["IsTruncated"] is False
    return {r["EvalResourceName"]: r["EvalDecision"] for r in answer["EvaluationResults"]}


def test_allowed_implicit_and_explicit_deny_per_resource(iam) -> None:
    arn = role(iam, "exec", {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "ssm:GetParameters", "Resource": PARAMETER + "*"},
        {"Effect": "Deny", "Action": "ssm:*", "Resource": PARAMETER + "root"}]})
    assert decisions(iam, arn, "ssm:GetParameters", [
        PARAMETER + "db", PARAMETER + "root", "arn:aws:ssm:us-east-1:123456789012:parameter/x"
    ]) == {PARAMETER + "db": "allowed", PARAMETER + "root": "explicitDeny",
           "arn:aws:ssm:us-east-1:123456789012:parameter/x": "implicitDeny"}


def test_an_attached_managed_policy_counts_and_names_its_statement(iam) -> None:
    arn = role(iam, "exec")
    policy = iam.create_policy(PolicyName="read-secrets", PolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Action": "secretsmanager:GetSecretValue", "Resource": "*"}]})
    )["Policy"]["Arn"]
    iam.attach_role_policy(RoleName="exec", PolicyArn=policy)
    answer = iam.simulate_principal_policy(PolicySourceArn=arn,
                                           ActionNames=["secretsmanager:GetSecretValue"])
    [result] = answer["EvaluationResults"]
    assert (result["EvalResourceName"], result["EvalDecision"]) == ("*", "allowed")
    assert result["MatchedStatements"][0]["SourcePolicyId"] == policy
    assert result["MatchedStatements"][0]["SourcePolicyType"] == "user-managed"
    assert result["ResourceSpecificResults"][0]["EvalResourceDecision"] == "allowed"


def test_a_statement_with_a_condition_is_not_matched_and_its_key_is_missing(iam) -> None:
    arn = role(iam, "exec", {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Action": "kms:Decrypt", "Resource": "*",
        "Condition": {"StringEquals": {"kms:ViaService": "ssm.us-east-1.amazonaws.com"}}}]})
    answer = iam.simulate_principal_policy(PolicySourceArn=arn, ActionNames=["kms:Decrypt"])
    [result] = answer["EvaluationResults"]
    assert result["EvalDecision"] == "implicitDeny"
    assert result["MissingContextValues"] == ["kms:ViaService"]


def test_an_unknown_role_is_no_such_entity(iam) -> None:
    with pytest.raises(ClientError) as refused:
        iam.simulate_principal_policy(
            PolicySourceArn="arn:aws:iam::123456789012:role/nobody", ActionNames=["s3:GetObject"])
    assert refused.value.response["Error"]["Code"] == "NoSuchEntity"
