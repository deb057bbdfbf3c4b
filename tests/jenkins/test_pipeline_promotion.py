"""A code change, end to end through the Jenkinsfile's recorded steps, against the sandbox.

The workspace is a clone of a bare remote repository (the job's origin). The build
compiles and pushes the example image to the sandbox's registry (a real Docker engine),
commits the staging pin and pushes that commit to the remote; staging is released with
the new digest; after the approval, `promote --from staging` commits production's pin
and production is released. A second build with nothing new builds and commits nothing.
A push rejected because the remote moved fails the stage and releases nothing.

staging and production share one ECR repository, as the real environments do (one
account, `akka-firehose`), so production can run the digest staging runs.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import git
import pytest
from pipeline_run import run_build
from sandbox_git import (
    application,
    commit_all,
    edit_json,
    init_git,
    live_image,
    live_revision,
    move_into_sandbox,
)
from typer.testing import CliRunner

from release.cli import app
from release.core.promotion import is_promotion
from release.engine.promote import promote_pin
from release_sandbox.testing import running_sandbox

PROJECT = Path(__file__).resolve().parents[2]
EXAMPLE = "examples/akka-firehose"
SERVICE = "akka-firehose-service"
ENVIRONMENTS = ("staging", "production")


def share_one_repository(sandbox) -> None:
    """Both environments push and pull through the sandbox's registry, one repository."""
    for env in ENVIRONMENTS:
        def point(doc, env=env):
            doc["endpoints"]["registry"] = sandbox.registry.address
            doc["ecr"]["repository"] = "akka-firehose-staging"
        edit_json(sandbox.repo / "environments" / env / "environment.json", point)


def add_application(repo_root: Path) -> None:
    """The example service's sources, and its binary compiled (bin/ is ignored by git)."""
    shutil.copytree(PROJECT / EXAMPLE, repo_root / EXAMPLE,
                    ignore=shutil.ignore_patterns("bin"))
    subprocess.run(["make", "-s", "-C", str(repo_root / EXAMPLE)], check=True)


def make_workspace(tmp_path, monkeypatch, released: bool):
    """v1 pinned (and released, if asked) in staging and production; the workspace pushed
    to its origin."""
    with running_sandbox(PROJECT, tmp_path, registry=True) as sandbox, \
            application() as app_url:
        for env in ENVIRONMENTS:
            move_into_sandbox(sandbox, env)
        share_one_repository(sandbox)
        add_application(sandbox.repo)
        repo = init_git(sandbox.repo)
        digest = sandbox.put_image("000000000001", "staging")
        for env in ENVIRONMENTS:
            promote_pin(sandbox.repo, env, SERVICE, f"000000000001@{digest}", commit=True)
        if released:
            first = CliRunner().invoke(app, ["apply", "--since", "", "--env", "staging", "--env",
                                             "production", "--approved",
                                             "--repo", str(sandbox.repo)])
            assert first.exit_code == 0, first.output
        origin = git.Repo.init(tmp_path / "origin.git", bare=True, initial_branch="main")
        repo.create_remote("origin", origin.working_dir)
        repo.git.push("-q", "origin", "main")
        monkeypatch.chdir(sandbox.repo)
        yield sandbox, repo, origin, app_url


@pytest.fixture()
def workspace(tmp_path, monkeypatch):
    yield from make_workspace(tmp_path, monkeypatch, released=True)


@pytest.fixture()
def unreleased_workspace(tmp_path, monkeypatch):
    yield from make_workspace(tmp_path, monkeypatch, released=False)


def jenkins(sandbox, repo, app_url: str, previous: str) -> dict[str, str]:
    """What Jenkins sets for a build of origin/main checked out at HEAD (detached)."""
    return {"WORKSPACE": str(sandbox.repo), "PATH": os.environ["PATH"],
            "JOB_NAME": "akka-firehose-release", "BUILD_NUMBER": "43",
            "BUILD_TAG": "jenkins-akka-firehose-release-43",
            "BUILD_URL": "https://jenkins.example.invalid/job/akka-firehose-release/43/",
            "GIT_BRANCH": "origin/main", "GIT_COMMIT": repo.head.commit.hexsha,
            "GIT_PREVIOUS_SUCCESSFUL_COMMIT": previous, "RELEASE_VERIFY_URL": app_url}


def change_the_code(repo: git.Repo) -> str:
    """A person's commit to the application, pushed; the job then checks it out detached."""
    readme = Path(repo.working_dir, EXAMPLE, "README.md")
    readme.write_text(readme.read_text(encoding="utf-8") + "\nFaster /api/user.\n",
                      encoding="utf-8")
    sha = commit_all(repo, "serve /api/user faster")
    repo.git.push("-q", "origin", "main")
    repo.git.checkout("-q", "--detach", sha)
    return sha


def built_reference(repo_root: Path) -> str:
    events = [json.loads(line) for line in
              (repo_root / "reports/build.json").read_text().splitlines() if line.startswith("{")]
    [result] = [e for e in events if e["event"] == "build.result"]
    assert result["built"] and result["pushed"]
    return result["reference"]


def test_a_code_change_is_built_promoted_released_in_staging_then_promoted_to_production(
        pipeline, workspace):
    sandbox, repo, origin, app_url = workspace
    previous = repo.head.commit.hexsha
    code = change_the_code(repo)
    before = {env: live_image(sandbox, env) for env in ENVIRONMENTS}

    ran = run_build(pipeline["code_to_production"], jenkins(sandbox, repo, app_url, previous))

    assert [s.stage for s in ran] == ["Validate", "Build & Push", "Promote staging", "Plan",
                                      "Deploy staging", "Promote production",
                                      "Deploy production", "Verify"]
    digest = built_reference(sandbox.repo).rsplit("@", 1)[1]
    pushed = list(origin.iter_commits("main", max_count=3))
    staging_pin, production_pin = pushed[1], pushed[0]
    assert pushed[2].hexsha == code
    assert staging_pin.message.startswith("promote akka-firehose-service to ")
    assert production_pin.message.startswith(
        "promote akka-firehose-service in production to staging's release akka-demo:")
    assert all(is_promotion(c.message) for c in (staging_pin, production_pin))
    assert f"digest: {digest}" in production_pin.message
    assert "Release-Promoted-From: staging akka-demo:" in production_pin.message
    assert production_pin.stats.files.keys() == {
        "environments/production/services/akka-firehose.json"}
    assert repo.head.commit.hexsha == production_pin.hexsha  # the workspace made them
    for env in ENVIRONMENTS:
        assert live_image(sandbox, env).endswith(digest) and before[env] != live_image(
            sandbox, env)
        summary = json.loads((sandbox.repo / f"reports/release-{env}.json").read_text())
        assert [s["status"] for s in summary["services"]] == ["released"]
        pin_commit = staging_pin if env == "staging" else production_pin
        assert summary["commits"][env][0]["commit"] == pin_commit.hexsha
        assert summary["ci"]["BUILD_URL"].endswith("/43/")
    assert (sandbox.repo / "reports/validate.xml").read_text().startswith("<?xml")
    checks = json.loads((sandbox.repo / "reports/verify.json").read_text())["checks"]
    assert [c["outcome"] for c in checks] == ["passed", "passed"]
    deployed = next(s for s in ran if s.stage == "Deploy staging").output
    assert f"staging: released 1 commit(s)\n  {staging_pin.hexsha[:12]}" in deployed

    # The next build, started by those pushes: Jenkins' last successful build checked out
    # the code commit, so the range holds the two promotion commits, already live.
    revisions = {env: live_revision(sandbox, env) for env in ENVIRONMENTS}
    (sandbox.repo / "reports/build.json").unlink()
    again = run_build(pipeline["promotion_pushed"], jenkins(sandbox, repo, app_url, code))
    assert [s.stage for s in again] == ["Validate", "Plan", "Deploy staging", "Verify"]
    summary = json.loads((sandbox.repo / "reports/release-staging.json").read_text())
    assert [s["status"] for s in summary["services"]] == ["unchanged"]
    assert summary["commits"] == {}
    assert not (sandbox.repo / "reports/build.json").exists()
    assert origin.commit("main").hexsha == production_pin.hexsha
    assert repo.head.commit.hexsha == production_pin.hexsha
    assert {env: live_revision(sandbox, env) for env in ENVIRONMENTS} == revisions


def test_a_push_rejected_because_the_remote_moved_fails_the_stage_and_releases_nothing(
        pipeline, unreleased_workspace, tmp_path):
    sandbox, repo, origin, app_url = unreleased_workspace
    previous = repo.head.commit.hexsha
    change_the_code(repo)
    other = git.Repo.clone_from(origin.working_dir, tmp_path / "someone-else")
    with other.config_writer() as cfg:
        cfg.set_value("user", "name", "Someone Else")
        cfg.set_value("user", "email", "someone@example.invalid")
    Path(other.working_dir, "NOTES.md").write_text("moved on\n", encoding="utf-8")
    moved = commit_all(other, "the branch moves on")
    other.git.push("-q", "origin", "main")

    ran = run_build(pipeline["code_to_staging"], jenkins(sandbox, repo, app_url, previous),
                    stop_on_failure=False)

    assert [(s.stage, s.exit_code) for s in ran][-2:] == [("Build & Push", 0),
                                                         ("Promote staging", 1)]
    assert "the branch moved: rebase and rerun" in ran[-1].output
    assert "nothing was released" in ran[-1].output
    assert origin.commit("main").hexsha == moved  # not forced over
    cluster = sandbox.environment("staging").cluster
    assert sandbox.client("ecs").describe_services(cluster=cluster, services=[SERVICE])[
        "services"] == []  # nothing was released
