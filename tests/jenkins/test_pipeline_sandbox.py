"""The Jenkinsfile's rollback path, its recorded commands run in order against the sandbox.

staging and production both live in the sandbox (own cluster, ELB and ECR
repository each). A first build released v1 everywhere, a promotion commit then
released v2 in production; the rollback build puts production back on the revision
it ran before. (The release path, from a code change to production, is
test_pipeline_promotion.py.)
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from pipeline_run import run_build
from sandbox_git import application, init_git, live_revision, move_into_sandbox
from typer.testing import CliRunner

from release.cli import app
from release.engine.promote import promote_pin
from release_sandbox.testing import running_sandbox

PROJECT = Path(__file__).resolve().parents[2]
SERVICE = "akka-firehose-service"
ENVIRONMENTS = ("staging", "production")


@pytest.fixture()
def workspace(tmp_path, monkeypatch):
    """A sandbox where staging and production were released at v1 by an earlier build."""
    with running_sandbox(PROJECT, tmp_path) as sandbox, application() as app_url:
        for env in ENVIRONMENTS:
            move_into_sandbox(sandbox, env)
        repo = init_git(sandbox.repo)
        for env in ENVIRONMENTS:
            digest = sandbox.put_image("000000000001", env)
            promote_pin(sandbox.repo, env, SERVICE, f"000000000001@{digest}", commit=True)
        first = CliRunner().invoke(app, ["apply", "--since", "", "--env", "staging", "--env",
                                         "production", "--approved", "--repo", str(sandbox.repo)])
        assert first.exit_code == 0, first.output
        monkeypatch.chdir(sandbox.repo)
        yield sandbox, repo, app_url


def jenkins(sandbox, repo, app_url, previous: str, **params: str) -> dict[str, str]:
    return {"WORKSPACE": str(sandbox.repo), "JOB_NAME": "akka-firehose-release",
            "BUILD_NUMBER": "42", "BUILD_TAG": "jenkins-akka-firehose-release-42",
            "BUILD_URL": "https://jenkins.example.invalid/job/akka-firehose-release/42/",
            "PATH": os.environ["PATH"],
            "GIT_COMMIT": repo.head.commit.hexsha, "GIT_PREVIOUS_SUCCESSFUL_COMMIT": previous,
            "RELEASE_VERIFY_URL": app_url, **params}


def test_the_rollback_build_puts_production_back_on_the_named_revision(pipeline, workspace):
    sandbox, repo, app_url = workspace
    before = live_revision(sandbox, "production")
    previous = repo.head.commit.hexsha
    digest = sandbox.put_image("000000000002", "production")
    promote_pin(sandbox.repo, "production", SERVICE, f"000000000002@{digest}", commit=True)
    released = CliRunner().invoke(app, ["apply", "--since", previous, "--approved"])
    assert released.exit_code == 0, released.output
    assert live_revision(sandbox, "production") != before

    build = jenkins(sandbox, repo, app_url, repo.head.commit.hexsha,
                    TO_REVISION=before.rsplit(":", 1)[1])
    ran = run_build(pipeline["rollback"], build)

    assert [step.stage for step in ran] == ["Validate", "Rollback", "Verify"]
    assert live_revision(sandbox, "production") == before
