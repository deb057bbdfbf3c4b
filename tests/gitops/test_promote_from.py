"""`release promote --from staging --env production` on the sandbox: only a release that is
live, completed and what git pins is promoted; anything else is refused, nothing changed.

(The promotion that succeeds is tests/jenkins/test_pipeline_promotion.py, in the pipeline;
the reading of records and ledger in real AWS shapes is tests/conformance.)"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sandbox_git import commit_all, edit_json, init_git, move_into_sandbox
from typer.testing import CliRunner

from release.cli import app
from release.engine.promote import promote_pin
from release_sandbox.testing import running_sandbox

PROJECT = Path(__file__).resolve().parents[2]
SERVICE = "akka-firehose-service"
STAGING = "environments/staging/services/akka-firehose.json"
PRODUCTION = "environments/production/services/akka-firehose.json"


def run(repo: Path, *args: str):
    return CliRunner().invoke(app, [*args, "--repo", str(repo)])


def promote_from_staging(repo: Path):
    return run(repo, "promote", "--from", "staging", "--env", "production", "--commit",
               "--format", "json")


@pytest.fixture()
def staging(tmp_path):
    """staging and production in the sandbox, one shared repository; git initialised."""
    with running_sandbox(PROJECT, tmp_path) as sandbox:
        for env in ("staging", "production"):
            move_into_sandbox(sandbox, env)
        edit_json(sandbox.repo / "environments/production/environment.json",
                  lambda d: d["ecr"].update(repository="akka-firehose-staging"))
        repo = init_git(sandbox.repo)
        yield sandbox, repo


def release_staging(sandbox, tag: str, since: str = "") -> str:
    digest = sandbox.put_image(tag, "staging")
    promote_pin(sandbox.repo, "staging", SERVICE, f"{tag}@{digest}", commit=True)
    out = run(sandbox.repo, "apply", "--since", since, "--env", "staging")
    return digest if out.exit_code == 0 else f"exit {out.exit_code}: {out.output[-2000:]}"


def refusal(out) -> str:
    assert out.exit_code == 1, out.output
    [error] = [json.loads(line) for line in out.stdout.splitlines()
               if line.startswith("{") and json.loads(line)["event"] == "error"]
    assert "nothing was changed" in error["hint"]
    return error["message"]


def test_refused_when_stagings_live_revision_is_a_failed_release(staging):
    sandbox, repo = staging
    edit_json(sandbox.repo / STAGING, lambda d: (
        d["release"].update(rollbackOnFailure=False),
        d["overrides"]["containers"]["akka-firehose"]["environment"].update(
            RELEASE_SANDBOX_FAULT="crash")))
    commit_all(repo, "staging: a crashing build, not rolled back")
    assert release_staging(sandbox, "000000000008").startswith("exit 4")
    head = repo.head.commit.hexsha
    before = (sandbox.repo / PRODUCTION).read_bytes()

    message = refusal(promote_from_staging(sandbox.repo))

    assert "staging/akka-firehose-service" in message and "ended failed" in message
    assert repo.head.commit.hexsha == head and (sandbox.repo / PRODUCTION).read_bytes() == before


def test_refused_when_staging_drifts_from_its_git_pin(staging):
    sandbox, repo = staging
    released = release_staging(sandbox, "000000000007")
    assert released.startswith("sha256:"), released
    newer = sandbox.put_image("000000000009", "staging")
    promote_pin(sandbox.repo, "staging", SERVICE, f"000000000009@{newer}", commit=True)
    head = repo.head.commit.hexsha

    message = refusal(promote_from_staging(sandbox.repo))

    assert "staging/akka-firehose-service drifts from git" in message
    assert released[:19] in message and newer[:19] in message
    assert repo.head.commit.hexsha == head
