"""Right account, right role, real credential errors: replayed in the shapes AWS uses.

STS and ECR answers are replayed with botocore's Stubber on real clients (it
checks every response against the service's output model and every request
against `expected_params`); the credential errors are botocore's own, raised
by real sessions from real (broken) configuration files. Nothing here reaches
the network.
"""

from __future__ import annotations

import dataclasses
import datetime
import io
import json
import os
import subprocess
import sys
import uuid
from pathlib import Path
from types import SimpleNamespace

import pytest
from botocore.stub import Stubber
from preflight_support import context

from release.adapters import ecr_images
from release.adapters.aws import Aws, aws_errors, connect
from release.core.calls import ApiCall
from release.core.clock import VirtualClock
from release.core.config import load_repo
from release.core.errors import InvalidInput, Unreachable
from release.engine import bootstrap
from release.engine.executor import RETRY_BUDGET_SECONDS, retry_delays
from release.engine.preflight import images
from release.output.events import OutputFormat, Reporter

PROJECT = Path(__file__).resolve().parents[2]
OTHER_ACCOUNT = "210987654321"
# STS GetCallerIdentity, as in the API reference's examples (user, and AssumeRole credentials).
USER_IDENTITY = {"UserId": "AIDAI44QH8DHBEXAMPLE", "Account": "123456789012",
                 "Arn": "arn:aws:iam::123456789012:user/Alice"}
ROLE_IDENTITY = {"UserId": "AROAI44QH8DHBEXAMPLE:jenkins-akka-42",
                 "Account": OTHER_ACCOUNT,
                 "Arn": f"arn:aws:sts::{OTHER_ACCOUNT}:assumed-role/release/jenkins-akka-42"}
PRINCIPAL_NOT_FOUND = ("Invalid parameter at 'PolicyText' failed to satisfy constraint: "
                       "'Principal not found'")


@pytest.fixture(autouse=True)
def aws_configuration(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Empty AWS configuration files, no instance metadata, and keys of this test only
    (the account check is asked once per process and credentials)."""
    config = tmp_path / "aws-config"
    config.write_text("")
    (tmp_path / "aws-credentials").write_text("")
    for name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN",
                 "RELEASE_AWS_ENDPOINT", "BUILD_TAG"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "aws-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", f"AKIA{uuid.uuid4().hex[:16].upper()}")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "replayed")
    return config


@pytest.fixture(scope="module")
def repo():
    return load_repo(PROJECT)


@pytest.fixture
def staging(repo):
    return repo.environment("staging")


# ------------------------------------------------------------------------- the account


def test_credentials_of_another_account_are_exit_5_naming_both_accounts(staging) -> None:
    aws = Aws(staging)
    with Stubber(aws.sts) as sts:
        sts.add_response("get_caller_identity",
                         {**USER_IDENTITY, "Account": OTHER_ACCOUNT,
                          "Arn": f"arn:aws:iam::{OTHER_ACCOUNT}:user/Alice"}, {})
        with pytest.raises(Unreachable) as refused:
            aws.check_account()
        sts.assert_no_pending_responses()
    message = refused.value.message
    assert f"credentials are account {OTHER_ACCOUNT} (arn:aws:iam::{OTHER_ACCOUNT}:user/Alice)" \
        in message
    assert "environment 'staging' is account 123456789012" in message
    assert "environments/staging/environment.json /account" in message
    assert "AWS_ACCESS_KEY_ID from the environment, no role to assume" in message
    assert "nothing was changed" in message
    assert "/aws/roleArn" in refused.value.hint
    assert refused.value.exit_code == 5


def test_an_assumed_role_of_another_account_is_named_in_the_refusal(staging) -> None:
    role = f"arn:aws:iam::{OTHER_ACCOUNT}:role/release"
    aws = Aws(dataclasses.replace(staging, role_arn=role))
    with Stubber(aws.sts) as sts:  # the stub answers before the role would be assumed
        sts.add_response("get_caller_identity", ROLE_IDENTITY, {})
        with pytest.raises(Unreachable) as refused:
            aws.check_account()
    assert "assumed-role/release/jenkins-akka-42), but environment 'staging'" in \
        refused.value.message
    assert f"assuming role {role} (/aws/roleArn)" in refused.value.message
    assert "must be in account 123456789012" in refused.value.hint


def test_the_right_account_passes_and_sts_is_asked_once(staging) -> None:
    first, second = Aws(staging), Aws(staging)
    with Stubber(first.sts) as sts, Stubber(second.sts) as unused:
        sts.add_response("get_caller_identity", USER_IDENTITY, {})
        assert first.check_account().arn == USER_IDENTITY["Arn"]
        assert second.check_account().account == "123456789012"  # no second STS call
        sts.assert_no_pending_responses()
        unused.assert_no_pending_responses()


def test_sts_refusing_the_credentials_is_exit_5(staging) -> None:
    aws = Aws(staging)
    with Stubber(aws.sts) as sts:
        sts.add_client_error("get_caller_identity", "ExpiredToken",
                             "The security token included in the request is expired", 403)
        with pytest.raises(Unreachable) as refused:
            aws.check_account()
    assert "ExpiredToken" in refused.value.message
    assert "refresh the credentials" in refused.value.hint


def test_a_refused_assume_role_names_the_role_and_its_trust_policy(staging) -> None:
    """What botocore's AssumeRole fetcher raises when the trust policy does not allow it."""
    role = "arn:aws:iam::123456789012:role/release"
    env = dataclasses.replace(staging, role_arn=role, external_id="akka-firehose")
    sts = Aws(staging).sts  # the fetcher's client: an STS client with the source credentials
    with Stubber(sts) as stub:
        stub.add_client_error(
            "assume_role", "AccessDenied", f"User: arn:aws:iam::{OTHER_ACCOUNT}:user/jenkins is "
            f"not authorized to perform: sts:AssumeRole on resource: {role}", 403)
        with pytest.raises(Unreachable) as refused, aws_errors(env, "asking STS"):
            sts.assume_role(RoleArn=role, RoleSessionName="jenkins-akka-42",
                            ExternalId="akka-firehose")
    assert f"AWS refused to let the credentials assume {role}" in refused.value.message
    assert "not authorized to perform: sts:AssumeRole" in refused.value.message
    assert "trust policy must allow these credentials with /aws/externalId" in \
        refused.value.hint


# ------------------------------------------------------------------------- credential errors


BROKEN_PROFILES = """\
[profile role-without-source]
role_arn = arn:aws:iam::123456789012:role/release
credential_source = Environment

[profile loop]
role_arn = arn:aws:iam::123456789012:role/release
source_profile = loop-back

[profile loop-back]
role_arn = arn:aws:iam::123456789012:role/release
source_profile = loop

[profile sso-logged-out]
sso_session = company
sso_account_id = 123456789012
sso_role_name = Release

[sso-session company]
sso_region = us-east-1
sso_start_url = https://company.awsapps.com/start
"""


@pytest.mark.parametrize(("variables", "error", "fix"), [
    ({"AWS_PROFILE": "nope"}, "The config profile (nope) could not be found",
     "aws configure list-profiles"),
    ({"AWS_SECRET_ACCESS_KEY": None}, "Partial credentials found in env",
     "set both AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"),
    ({"AWS_ACCESS_KEY_ID": None, "AWS_SECRET_ACCESS_KEY": None}, "Unable to locate credentials",
     "set AWS_PROFILE or AWS_ACCESS_KEY_ID"),
    ({"AWS_PROFILE": "role-without-source", "AWS_ACCESS_KEY_ID": None,
      "AWS_SECRET_ACCESS_KEY": None}, "Error when retrieving credentials from Environment",
     "credential source failed"),
    ({"AWS_PROFILE": "loop", "AWS_ACCESS_KEY_ID": None, "AWS_SECRET_ACCESS_KEY": None},
     "Infinite loop in credential configuration",
     "fix the AWS configuration"),
    ({"AWS_PROFILE": "sso-logged-out", "AWS_ACCESS_KEY_ID": None,
      "AWS_SECRET_ACCESS_KEY": None}, "Error loading SSO Token", "aws sso login"),
], ids=["ProfileNotFound", "PartialCredentialsError", "NoCredentialsError",
        "CredentialRetrievalError", "InvalidConfigError", "SSOTokenLoadError"])
def test_every_botocore_credential_error_is_exit_5_with_the_fix(
        staging, aws_configuration, monkeypatch, variables, error, fix) -> None:
    aws_configuration.write_text(BROKEN_PROFILES)
    for name, value in variables.items():
        if value is None:
            monkeypatch.delenv(name)
        else:
            monkeypatch.setenv(name, value)
    with pytest.raises(Unreachable) as refused:
        connect(staging)
    assert error in refused.value.message
    assert fix in refused.value.hint
    assert refused.value.exit_code == 5


def test_a_missing_profile_on_the_command_line_is_exit_5_without_a_traceback(
        tmp_path: Path) -> None:
    """`AWS_PROFILE=nope release plan --env staging`, as a user runs it."""
    variables = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    variables.update(AWS_PROFILE="nope", AWS_CONFIG_FILE=str(tmp_path / "none"),
                     AWS_SHARED_CREDENTIALS_FILE=str(tmp_path / "none"),
                     AWS_EC2_METADATA_DISABLED="true")
    variables.pop("RELEASE_AWS_ENDPOINT", None)
    run = subprocess.run([sys.executable, "-m", "release.cli", "plan", "--env", "staging",
                          "--repo", str(PROJECT)], capture_output=True, text=True,
                         env=variables, timeout=120)
    assert run.returncode == 5, run.stdout + run.stderr
    assert "Traceback" not in run.stdout + run.stderr
    assert "The config profile (nope) could not be found" in run.stderr
    assert "aws configure list-profiles" in run.stderr


# ------------------------------------------------------------------------- ECR names the registry


def _elsewhere(env):
    """The environment with an account that is not the credentials' default registry."""
    return dataclasses.replace(env, account=OTHER_ACCOUNT)


def _image_detail(env, digest: str, tag: str) -> dict:
    """One DescribeImages imageDetail in the ECR model's shape."""
    return {"registryId": env.account, "repositoryName": env.ecr_repository,
            "imageDigest": digest, "imageTags": [tag], "imageSizeInBytes": 52_428_800,
            "imagePushedAt": datetime.datetime(2026, 11, 30, 9, 0, tzinfo=datetime.UTC),
            "imageManifestMediaType": "application/vnd.docker.distribution.manifest.v2+json"}


def test_the_image_check_before_a_release_names_the_environments_registry(repo, staging):
    env = _elsewhere(staging)
    spec = repo.services_of("staging")[0]
    ecr = Aws(env).ecr
    with Stubber(ecr) as stub:
        stub.add_response(
            "describe_images",
            {"imageDetails": [_image_detail(env, spec.image.digest, spec.image.tag)]},
            {"registryId": OTHER_ACCOUNT, "repositoryName": "akka-firehose",
             "imageIds": [{"imageDigest": spec.image.digest}]})
        [result] = images.check(context(env, spec, SimpleNamespace(ecr=ecr)))
        stub.assert_no_pending_responses()
    assert result.status == "ok" and result.pointer == "/image"


def test_the_build_looks_its_tag_up_in_the_environments_registry(staging):
    env = _elsewhere(staging)
    aws = Aws(env)
    digest = "sha256:" + "ab" * 32
    with Stubber(aws.ecr) as stub:
        stub.add_response("describe_images", {"imageDetails": [_image_detail(env, digest,
                                                                              "0123456789ab")]},
                          {"registryId": OTHER_ACCOUNT, "repositoryName": "akka-firehose",
                           "imageIds": [{"imageTag": "0123456789ab"}]})
        assert ecr_images.existing_digest(aws, env, "0123456789ab") == digest


def test_bootstrap_reads_and_writes_the_repository_in_the_environments_registry(staging):
    env = _elsewhere(staging)
    aws = Aws(env)
    repository = {"repositoryArn": f"arn:aws:ecr:us-east-1:{OTHER_ACCOUNT}:repository/"
                  "akka-firehose", "registryId": OTHER_ACCOUNT, "repositoryName": "akka-firehose",
                  "repositoryUri": f"{OTHER_ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com/akka-firehose",
                  "createdAt": datetime.datetime(2026, 1, 5, tzinfo=datetime.UTC),
                  "imageTagMutability": "IMMUTABLE",
                  "imageScanningConfiguration": {"scanOnPush": True}}
    with Stubber(aws.ecr) as stub:
        stub.add_response("describe_repositories", {"repositories": [repository]},
                          {"registryId": OTHER_ACCOUNT, "repositoryNames": ["akka-firehose"]})
        stub.add_client_error("get_repository_policy", "RepositoryPolicyNotFoundException",
                              "Repository policy does not exist for the repository with name "
                              f"'akka-firehose' in the registry with id '{OTHER_ACCOUNT}'", 400,
                              expected_params={"registryId": OTHER_ACCOUNT,
                                               "repositoryName": "akka-firehose"})
        planner = bootstrap.Planner(aws, env)
        planner._repository()  # the ECR part of the plan; the rest reads IAM, ELB, ECS, EC2
        stub.assert_no_pending_responses()
    [call] = planner.plan.calls
    assert call.operation == "set_repository_policy"
    assert call.params["registryId"] == OTHER_ACCOUNT
    assert bootstrap.PRINCIPAL_NOT_FOUND in call.retry_on
    assert "retried for up to 60 s" in call.reason


def _policy_call(env) -> ApiCall:
    params = {"registryId": env.account, "repositoryName": env.ecr_repository,
              "policyText": json.dumps(bootstrap.repository_policy(env))}
    return ApiCall("ecr", "set_repository_policy", params, "test", f"{env.ecr_repository} policy",
                   retry_on=(bootstrap.PRINCIPAL_NOT_FOUND,))


def test_principal_not_found_is_retried_with_backoff_and_said(staging):
    env = _elsewhere(staging)
    aws = Aws(env)
    call = _policy_call(env)
    clock = VirtualClock()
    start = clock.now()
    out = io.StringIO()
    with Stubber(aws.ecr) as stub:
        for _ in range(3):  # a just-created Jenkins role, not yet visible to ECR
            stub.add_client_error("set_repository_policy", "InvalidParameterException",
                                  PRINCIPAL_NOT_FOUND, 400, expected_params=call.params)
        stub.add_response("set_repository_policy",
                          {"registryId": OTHER_ACCOUNT, "repositoryName": "akka-firehose",
                           "policyText": call.params["policyText"]}, call.params)
        bootstrap.executor(aws, env, Reporter(OutputFormat.json, stream=out), clock).execute([call])
        stub.assert_no_pending_responses()
    notices = [(e["error"], e["delay"]) for e in map(json.loads, out.getvalue().splitlines())
               if e["event"] == "bootstrap.retry"]
    assert [delay for _, delay in notices] == [1.0, 2.0, 4.0]
    assert all("Principal not found" in error for error, _ in notices)
    assert clock.now() - start == 7.0


def test_principal_not_found_for_a_minute_fails_the_step(staging):
    env = _elsewhere(staging)
    aws = Aws(env)
    call = _policy_call(env)
    clock = VirtualClock()
    start = clock.now()
    with Stubber(aws.ecr) as stub:
        for _ in range(len(retry_delays()) + 1):
            stub.add_client_error("set_repository_policy", "InvalidParameterException",
                                  PRINCIPAL_NOT_FOUND, 400, expected_params=call.params)
        with pytest.raises(InvalidInput) as failed:
            bootstrap.executor(aws, env, Reporter(OutputFormat.json, stream=io.StringIO()),
                               clock).execute([call])
        stub.assert_no_pending_responses()
    assert clock.now() - start == RETRY_BUDGET_SECONDS
    assert "Principal not found" in failed.value.message
    assert "nothing was applied" in failed.value.hint


def test_another_invalid_parameter_is_not_retried(staging):
    env = _elsewhere(staging)
    aws = Aws(env)
    call = _policy_call(env)
    clock = VirtualClock()
    with Stubber(aws.ecr) as stub:
        stub.add_client_error("set_repository_policy", "InvalidParameterException",
                              "Invalid parameter at 'PolicyText' failed to satisfy constraint: "
                              "'Invalid repository policy provided'", 400,
                              expected_params=call.params)
        with pytest.raises(InvalidInput):
            bootstrap.executor(aws, env, Reporter(OutputFormat.json, stream=io.StringIO()),
                               clock).execute([call])
    assert clock.now() == VirtualClock().now()


# ------------------------------------------------------------------ the sandbox's keys


def test_the_tool_brings_no_keys_for_a_local_sandbox(repo, monkeypatch) -> None:
    # The sandbox package hands out its keys (`release sandbox up`, the test harness).
    sandbox = repo.environment("sandbox")
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    assert Aws(sandbox).session.get_credentials() is None
    with pytest.raises(Unreachable) as refused:
        connect(sandbox)
    assert "Unable to locate credentials" in refused.value.message
    assert "the default credential chain" in refused.value.message
    assert ("export AWS_ACCESS_KEY_ID=release-sandbox-key "
            "AWS_SECRET_ACCESS_KEY=release-sandbox-secret") in refused.value.hint
    assert refused.value.exit_code == 5


def test_only_a_local_endpoint_is_told_the_sandbox_keys(staging, monkeypatch) -> None:
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    with pytest.raises(Unreachable) as refused:
        connect(staging)
    assert "set AWS_PROFILE or AWS_ACCESS_KEY_ID" in refused.value.hint
    assert "sandbox" not in refused.value.hint


def test_a_local_sandbox_signs_with_the_environments_keys(repo) -> None:
    credentials = Aws(repo.environment("sandbox")).session.get_credentials()
    assert credentials.access_key == os.environ["AWS_ACCESS_KEY_ID"]
    assert credentials.secret_key == "replayed"
