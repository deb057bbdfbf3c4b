"""environment.json's /aws (the role to assume) and /iam/createJenkinsRole: parsed and checked."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from release.core import config, validate

ROOT = Path(__file__).resolve().parents[2]
STAGING = "environments/staging/environment.json"
ROLE = "arn:aws:iam::123456789012:role/deploy/release-staging"


@pytest.fixture()
def repo(tmp_path: Path) -> Path:
    for name in ("taskdefs", "environments", "schemas"):
        shutil.copytree(ROOT / name, tmp_path / name)
    return tmp_path


def _edit_staging(repo: Path, change) -> None:
    path = repo / STAGING
    doc = json.loads(path.read_text())
    change(doc)
    path.write_text(json.dumps(doc, indent=2))


def _errors(repo: Path) -> list[tuple[str, str]]:
    return [(f.rule, f.pointer) for f in validate.validate_repo(repo, ["staging"]).errors]


def test_the_role_and_external_id_are_parsed(repo: Path) -> None:
    def add_role(doc):
        doc["aws"] = {"roleArn": ROLE, "externalId": "akka-firehose:staging"}
        doc["iam"]["createJenkinsRole"] = True

    _edit_staging(repo, add_role)
    assert _errors(repo) == []
    env = config.load_repo(repo, ["staging"]).environment("staging")
    assert (env.role_arn, env.external_id) == (ROLE, "akka-firehose:staging")
    assert env.create_jenkins_role
    assert "createJenkinsRole" not in env.iam  # iam holds names only


def test_without_them_no_role_is_assumed_and_bootstrap_creates_no_jenkins_role() -> None:
    env = config.load_repo(ROOT, ["staging"]).environment("staging")
    assert (env.role_arn, env.external_id, env.create_jenkins_role) == (None, None, False)


@pytest.mark.parametrize(("access", "pointer"), [
    ({"roleArn": "arn:aws:iam::123456789012:user/jenkins"}, "/aws/roleArn"),
    ({"roleArn": "arn:aws:iam::12345:role/release"}, "/aws/roleArn"),
    ({"roleArn": ROLE, "externalId": "has spaces"}, "/aws/externalId"),
    ({"externalId": "akka-firehose"}, "/aws"),
    ({"roleArn": ROLE, "sessionName": "x"}, "/aws/sessionName"),
], ids=["a-user-not-a-role", "short-account", "external-id-pattern", "no-role",
        "unknown-key"])
def test_a_bad_aws_block_is_a_schema_error_at_its_pointer(repo: Path, access, pointer) -> None:
    _edit_staging(repo, lambda doc: doc.update(aws=access))
    assert [p for _, p in _errors(repo) if p.startswith("/aws")] == [pointer]
