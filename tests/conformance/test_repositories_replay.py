"""A repository per service, replayed in the shapes real ECR answers with.

Every answer goes through botocore's Stubber on a real ECR client (each response checked
against the ECR output model, each request against `expected_params`): bootstrap reads
and plans each repository the environment's pins name, the image check before a release
and rollback's check look each image up in its own repository by its own digest, and the
scan gate reads each image's findings there.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.stub import Stubber
from botocore.validate import validate_parameters
from preflight_support import Clients, context
from stub_clients import stubbed_client

from release.core import preflight as pf
from release.core.config import load_repo
from release.core.pin import ImagePin
from release.engine import bootstrap, bootstrap_ecr
from release.engine import scan_gate as gate_engine
from release.engine.preflight import images
from release.engine.preflight.context import PLAN, ROLLBACK

PROJECT = Path(__file__).resolve().parents[2]
APP_DIGEST = "sha256:" + "a" * 64
SIDECAR_DIGEST = "sha256:" + "b" * 64
WHEN = dt.datetime(2026, 11, 30, 12, 0, tzinfo=dt.UTC)


@pytest.fixture
def ecr() -> Iterator[tuple[Any, Stubber]]:
    yield from stubbed_client("ecr")


@pytest.fixture(scope="module")
def repo() -> Any:
    return load_repo(PROJECT, ["staging", "production"])


def _with_sidecar(spec: Any) -> Any:
    """The service with a second pin: the sidecar's image in a repository of its own."""
    return dataclasses.replace(spec, images=(
        ImagePin("akka-firehose", "v7", APP_DIGEST, None, None, "/images/akka-firehose"),
        ImagePin("firehose-sidecar", "v3", SIDECAR_DIGEST, "firehose-sidecar", None,
                 "/images/firehose-sidecar")))


def _repository(env: Any, name: str, mutability: str = "IMMUTABLE",
                scan: bool = True) -> dict[str, Any]:
    """One DescribeRepositories entry in the ECR model's shape."""
    return {"repositoryArn": f"arn:aws:ecr:{env.region}:{env.account}:repository/{name}",
            "registryId": env.account, "repositoryName": name,
            "repositoryUri": f"{env.account}.dkr.ecr.{env.region}.amazonaws.com/{name}",
            "createdAt": WHEN, "imageTagMutability": mutability,
            "imageScanningConfiguration": {"scanOnPush": scan},
            "encryptionConfiguration": {"encryptionType": "AES256"}}


def _detail(env: Any, repository: str, digest: str, tag: str) -> dict[str, Any]:
    return {"registryId": env.account, "repositoryName": repository, "imageDigest": digest,
            "imageTags": [tag], "imageSizeInBytes": 1_048_576, "imagePushedAt": WHEN,
            "imageManifestMediaType": "application/vnd.docker.distribution.manifest.v2+json"}


# ------------------------------------------------------------------------- bootstrap


def test_bootstrap_plans_each_named_repository_with_the_seeds_two_statements(ecr, repo):
    env = repo.environment("staging")
    client, stub = ecr
    policy = json.dumps(bootstrap.repository_policy(env))
    # the environment's repository is as the document wants it: nothing to plan there
    stub.add_response("describe_repositories", {"repositories": [_repository(env,
                                                                            "akka-firehose")]},
                      {"registryId": env.account, "repositoryNames": ["akka-firehose"]})
    stub.add_response("get_repository_policy",
                      {"registryId": env.account, "repositoryName": "akka-firehose",
                       "policyText": policy},
                      {"registryId": env.account, "repositoryName": "akka-firehose"})
    # the sidecar's repository was never made
    stub.add_client_error("describe_repositories", "RepositoryNotFoundException",
                          "The repository with name 'firehose-sidecar' does not exist in the "
                          f"registry with id '{env.account}'", 400,
                          expected_params={"registryId": env.account,
                                           "repositoryNames": ["firehose-sidecar"]})
    # the worker's was made by hand: mutable tags, no scan on push, no policy
    stub.add_response("describe_repositories",
                      {"repositories": [_repository(env, "audit-worker", "MUTABLE", False)]},
                      {"registryId": env.account, "repositoryNames": ["audit-worker"]})
    stub.add_client_error("get_repository_policy", "RepositoryPolicyNotFoundException",
                          "Repository policy does not exist", 400,
                          expected_params={"registryId": env.account,
                                           "repositoryName": "audit-worker"})
    calls = bootstrap_ecr.plan_repositories(
        client, env, {"akka-firehose": ["akka-firehose"],
                      "firehose-sidecar": ["akka-firehose/firehose-sidecar"],
                      "audit-worker": ["audit-worker"]},
        bootstrap._absent_on, 60)
    assert [(c.operation, c.target) for c in calls] == [
        ("create_repository", "firehose-sidecar"),
        ("set_repository_policy", "firehose-sidecar policy"),
        ("put_image_tag_mutability", "audit-worker"),
        ("put_image_scanning_configuration", "audit-worker"),
        ("set_repository_policy", "audit-worker policy")]
    create = calls[0]
    assert create.params == {"registryId": env.account, "repositoryName": "firehose-sidecar",
                             "imageTagMutability": "IMMUTABLE",
                             "imageScanningConfiguration": {"scanOnPush": True}}
    assert "pinned by akka-firehose/firehose-sidecar" in create.reason
    for call in (calls[1], calls[4]):  # both statements in one document, in each repository
        sids = [s["Sid"] for s in json.loads(call.params["policyText"])["Statement"]]
        assert sids == ["jenkins_push_pull", "ecs_instance_pull"]
        assert bootstrap.PRINCIPAL_NOT_FOUND in call.retry_on
    for call in calls:  # every planned call is valid input for the ECR model
        model = client.meta.service_model.operation_model(
            client.meta.method_to_api_mapping[call.operation])
        validate_parameters(call.params, model.input_shape)


# ------------------------------------------------------------------------- before a release


def _revision(env: Any, sidecar: str = "firehose-sidecar") -> dict[str, Any]:
    """A revision whose application and sidecar images live in repositories of their own,
    beside a third-party sidecar (not ECR's to answer for)."""
    return {"family": "akka-demo", "revision": 4, "containerDefinitions": [
        {"name": "akka-firehose", "image": f"{env.registry}/akka-firehose@{APP_DIGEST}"},
        {"name": "firehose-sidecar", "image": f"{env.registry}/{sidecar}@{SIDECAR_DIGEST}"}]}


def _preflight(env: Any, spec: Any, client: Any, taskdef: dict[str, Any],
               mode: str = PLAN) -> list[Any]:
    return images.check(context(env, spec, Clients(ecr=client), taskdef=taskdef, mode=mode))


def test_the_image_check_looks_each_image_up_in_its_own_repository_by_its_digest(ecr, repo):
    env = repo.environment("staging")
    spec = repo.services_of("staging")[0]
    client, stub = ecr
    stub.add_response("describe_images", {"imageDetails": [
        _detail(env, "akka-firehose", APP_DIGEST, "v7")]},
        {"registryId": env.account, "repositoryName": "akka-firehose",
         "imageIds": [{"imageDigest": APP_DIGEST}]})
    stub.add_response("describe_images", {"imageDetails": [
        _detail(env, "firehose-sidecar", SIDECAR_DIGEST, "v3")]},
        {"registryId": env.account, "repositoryName": "firehose-sidecar",
         "imageIds": [{"imageDigest": SIDECAR_DIGEST}]})
    results = _preflight(env, spec, client, _revision(env))
    assert [r.status for r in results] == [pf.OK, pf.OK]


def test_a_sidecar_image_missing_from_its_repository_stops_the_release(ecr, repo):
    env = repo.environment("staging")
    spec = repo.services_of("staging")[0]
    client, stub = ecr
    stub.add_response("describe_images", {"imageDetails": [
        _detail(env, "akka-firehose", APP_DIGEST, "v7")]},
        {"registryId": env.account, "repositoryName": "akka-firehose",
         "imageIds": [{"imageDigest": APP_DIGEST}]})
    stub.add_client_error("describe_images", "ImageNotFoundException",
                          f"The image with imageId {{imageDigest:'{SIDECAR_DIGEST}'}} does not "
                          "exist within the repository with name 'firehose-sidecar'", 400,
                          expected_params={"registryId": env.account,
                                           "repositoryName": "firehose-sidecar",
                                           "imageIds": [{"imageDigest": SIDECAR_DIGEST}]})
    ok, missing = _preflight(env, spec, client, _revision(env))
    assert ok.status == pf.OK and missing.status == pf.PROBLEM
    assert (f"missing image: firehose-sidecar@{SIDECAR_DIGEST} (container firehose-sidecar)"
            in missing.message)
    assert "ImageNotFoundException" in missing.message


def test_a_repository_never_made_says_to_bootstrap(ecr, repo):
    env = repo.environment("staging")
    spec = repo.services_of("staging")[0]
    client, stub = ecr
    stub.add_response("describe_images", {"imageDetails": [
        _detail(env, "akka-firehose", APP_DIGEST, "v7")]},
        {"registryId": env.account, "repositoryName": "akka-firehose",
         "imageIds": [{"imageDigest": APP_DIGEST}]})
    stub.add_client_error("describe_images", "RepositoryNotFoundException",
                          "The repository with name 'audit-worker' does not exist", 400,
                          expected_params={"registryId": env.account,
                                           "repositoryName": "audit-worker",
                                           "imageIds": [{"imageDigest": SIDECAR_DIGEST}]})
    _, missing = _preflight(env, spec, client, _revision(env, sidecar="audit-worker"))
    assert f"audit-worker@{SIDECAR_DIGEST} (container firehose-sidecar) is not in ECR" in (
        missing.message)
    assert "release bootstrap --env staging" in missing.fix


def test_rollbacks_check_reads_each_image_of_the_revision_in_its_repository(ecr, repo):
    env = repo.environment("staging")
    spec = repo.services_of("staging")[0]
    client, stub = ecr
    stub.add_response("describe_images", {"imageDetails": [
        _detail(env, "akka-firehose", APP_DIGEST, "v7")]},
        {"registryId": env.account, "repositoryName": "akka-firehose",
         "imageIds": [{"imageDigest": APP_DIGEST}]})
    stub.add_client_error("describe_images", "ImageNotFoundException", "gone", 400,
                          expected_params={"registryId": env.account,
                                           "repositoryName": "firehose-sidecar",
                                           "imageIds": [{"imageDigest": SIDECAR_DIGEST}]})
    _, missing = _preflight(env, spec, client, _revision(env), mode=ROLLBACK)
    assert "container firehose-sidecar" in missing.message
    assert "roll back to another revision with --to" in missing.fix


# ------------------------------------------------------------------------- the scan gate


def _findings(env: Any, repository: str, digest: str, tag: str,
              findings: list[dict[str, Any]]) -> dict[str, Any]:
    counts: dict[str, int] = {}
    for f in findings:
        counts[f["severity"]] = counts.get(f["severity"], 0) + 1
    return {"registryId": env.account, "repositoryName": repository,
            "imageId": {"imageDigest": digest, "imageTag": tag},
            "imageScanStatus": {"status": "COMPLETE",
                                "description": "The scan was completed successfully."},
            "imageScanFindings": {"imageScanCompletedAt": WHEN, "findingSeverityCounts": counts,
                                  **({"findings": findings} if findings else {})}}


def _asked(env: Any, repository: str, digest: str) -> dict[str, Any]:
    return {"registryId": env.account, "repositoryName": repository,
            "imageId": {"imageDigest": digest}, "maxResults": 1000}


def test_the_scan_gate_judges_each_image_in_its_own_repository(ecr, repo):
    env = repo.environment("production")
    spec = _with_sidecar(repo.services_of("production")[0])
    client, stub = ecr
    stub.add_response("describe_image_scan_findings",
                      _findings(env, "akka-firehose", APP_DIGEST, "v7", []),
                      _asked(env, "akka-firehose", APP_DIGEST))
    stub.add_response("describe_image_scan_findings", _findings(
        env, "firehose-sidecar", SIDECAR_DIGEST, "v3",
        [{"name": "CVE-2026-4242", "severity": "CRITICAL",
          "attributes": [{"key": "package_name", "value": "busybox"}]}]),
        _asked(env, "firehose-sidecar", SIDECAR_DIGEST))
    answer = gate_engine.for_plan(env, spec, type("Aws", (), {"ecr": client})())
    assert answer is not None and answer.state == "refuse"
    assert f"firehose-sidecar@{SIDECAR_DIGEST} has 1 CRITICAL finding(s)" in answer.message
    assert "akka-firehose@" not in answer.message  # the clean image is not blamed
    assert [f.id for f in answer.blocking] == ["CVE-2026-4242"]


def test_the_scan_gate_passes_when_every_image_is_clean(ecr, repo):
    env = repo.environment("production")
    spec = _with_sidecar(repo.services_of("production")[0])
    client, stub = ecr
    for repository, digest, tag in (("akka-firehose", APP_DIGEST, "v7"),
                                    ("firehose-sidecar", SIDECAR_DIGEST, "v3")):
        stub.add_response("describe_image_scan_findings",
                          _findings(env, repository, digest, tag, []),
                          _asked(env, repository, digest))
    answer = gate_engine.for_plan(env, spec, type("Aws", (), {"ecr": client})())
    assert answer is not None and answer.state == "pass"
    assert "akka-firehose@" in answer.message and "firehose-sidecar@" in answer.message
