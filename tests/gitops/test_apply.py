"""`release apply` on the sandbox: what a commit range changed gets released, in order."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sandbox_git import (
    commit_all,
    edit_json,
    init_git,
    live_image,
    live_revision,
    move_into_sandbox,
)
from typer.testing import CliRunner

from release.cli import app
from release.engine.promote import promote_pin
from release_sandbox.testing import running_sandbox

PROJECT = Path(__file__).resolve().parents[2]
SERVICE = "akka-firehose-service"


def apply(repo: Path, *args: str):
    return CliRunner().invoke(app, ["apply", "--repo", str(repo), "--format", "json", *args])


def events_of(result) -> list[dict]:
    return [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]


def summary_rows(result) -> list[tuple[str, str, str]]:
    summary = next(e for e in events_of(result) if e["event"] == "apply.summary")
    return [(r["env"], r["service"], r["status"]) for r in summary["rows"]]


@pytest.fixture()
def sandbox(tmp_path):
    with running_sandbox(PROJECT, tmp_path) as handle:
        handle.only_services("akka-firehose")  # the worker: tests/engine/test_two_applications
        handle.seed_infrastructure()
        yield handle


def promote(sandbox, env: str, tag: str) -> str:
    digest = sandbox.put_image(tag, env)
    promote_pin(sandbox.repo, env, SERVICE, f"{tag}@{digest}", commit=True)
    return digest


def test_apply_releases_a_promotion_commit_and_a_second_run_changes_nothing(sandbox):
    git_repo = init_git(sandbox.repo)
    first = promote(sandbox, "sandbox", "000000000001")
    out = apply(sandbox.repo, "--since", "", "--env", "sandbox")
    assert out.exit_code == 0, out.output
    assert live_image(sandbox, "sandbox").endswith(first)
    released = git_repo.head.commit.hexsha

    second = promote(sandbox, "sandbox", "000000000002")
    summary_file = sandbox.repo / "reports" / "summary.json"
    out = apply(sandbox.repo, "--since", released, "--summary", str(summary_file))
    assert out.exit_code == 0, out.output
    assert summary_rows(out) == [("sandbox", SERVICE, "released")]
    assert live_image(sandbox, "sandbox").endswith(second)
    summary = json.loads(summary_file.read_text())
    assert summary["exit_code"] == 0 and summary["until"] == git_repo.head.commit.hexsha

    again = apply(sandbox.repo, "--since", released)
    assert again.exit_code == 0, again.output
    assert summary_rows(again) == [("sandbox", SERVICE, "unchanged")]


def test_dry_run_shows_the_plan_and_changes_nothing(sandbox):
    init_git(sandbox.repo)
    promote(sandbox, "sandbox", "000000000001")
    out = apply(sandbox.repo, "--since", "", "--env", "sandbox", "--dry-run")
    assert out.exit_code == 0, out.output
    plan = next(e for e in events_of(out) if e["event"] == "apply.plan")
    assert [c["operation"] for c in plan["calls"]] == ["register_task_definition",
                                                        "create_service"]
    services = sandbox.client("ecs").describe_services(
        cluster="AkkaCluster", services=[SERVICE])["services"]
    assert services == []
    assert sandbox.client("ecs").list_task_definitions()["taskDefinitionArns"] == []


def test_apply_stops_at_the_first_failing_environment_and_says_what_was_not_released(sandbox):
    move_into_sandbox(sandbox, "staging")
    git_repo = init_git(sandbox.repo)
    good = promote(sandbox, "sandbox", "000000000001")
    promote(sandbox, "staging", "000000000001")
    out = apply(sandbox.repo, "--since", "", "--env", "sandbox", "--env", "staging")
    assert out.exit_code == 0, out.output
    released = git_repo.head.commit.hexsha
    staging_before = live_revision(sandbox, "staging")

    # a new image everywhere, but in the sandbox its tasks crash right after start
    edit_json(sandbox.repo / "environments/sandbox/services/akka-firehose.json",
              lambda d: d["overrides"]["containers"]["akka-firehose"]["environment"].update(
                  RELEASE_SANDBOX_FAULT="crash"))
    commit_all(git_repo, "sandbox: a crashing build")
    promote(sandbox, "sandbox", "000000000002")
    promote(sandbox, "staging", "000000000002")
    out = apply(sandbox.repo, "--since", released, "--env", "sandbox", "--env", "staging")
    assert out.exit_code == 3, out.output
    assert summary_rows(out) == [("sandbox", SERVICE, "rolled_back"),
                                 ("staging", SERVICE, "not_released")]
    assert "`release status --env sandbox` shows the live state" in out.output
    assert "--env ENV" not in out.output
    assert live_image(sandbox, "sandbox").endswith(good)
    assert live_revision(sandbox, "staging") == staging_before


def test_apply_refuses_environments_that_require_approval_unless_approved(sandbox):
    init_git(sandbox.repo)
    out = apply(sandbox.repo, "--since", "", "--env", "production")
    assert out.exit_code == 2
    error = events_of(out)[-1]
    assert "production requires approval" in error["message"]
    assert "--approved" in error["hint"]


def test_the_release_record_names_the_commit_apply_released_not_the_checkouts_head(sandbox):
    git_repo = init_git(sandbox.repo)
    promote(sandbox, "sandbox", "000000000001")
    released = git_repo.head.commit.hexsha
    # The checkout moves on (an unrelated commit) before apply runs with --until.
    (sandbox.repo / "NOTES.md").write_text("later\n")
    commit_all(git_repo, "notes")
    assert git_repo.head.commit.hexsha != released

    out = apply(sandbox.repo, "--since", "", "--until", released, "--env", "sandbox")
    assert out.exit_code == 0, out.output
    ecs = sandbox.client("ecs")
    revision = live_revision(sandbox, "sandbox")
    tags = ecs.describe_task_definition(taskDefinition=revision, include=["TAGS"])["tags"]
    assert {"key": "release:commit", "value": released} in tags


def test_the_summary_keeps_a_build_url_without_its_password_and_token(sandbox, monkeypatch):
    password, token = "pa55-Word-9x", "t0ken-Value-7z"
    monkeypatch.setenv("BUILD_URL", f"https://jenkins:{password}@ci.example/job/a/1/?token={token}")
    monkeypatch.setenv("BUILD_NUMBER", "1")
    init_git(sandbox.repo)
    promote(sandbox, "sandbox", "000000000001")
    summary_file = sandbox.repo / "reports" / "summary.json"
    out = apply(sandbox.repo, "--since", "", "--env", "sandbox", "--summary", str(summary_file))
    assert out.exit_code == 0, out.output
    summary = json.loads(summary_file.read_text())
    assert summary["ci"] == {"BUILD_URL": "https://ci.example/job/a/1/", "BUILD_NUMBER": "1"}
    for text in (summary_file.read_text(), out.output):
        assert password not in text and token not in text
