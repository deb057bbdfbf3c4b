"""`release promote --commit --push`: the promotion commit pushed, fast-forward only, to the
branch Jenkins names; an already pinned image pushes nothing; a remote that cannot be
reached is exit 5 without its address."""

from __future__ import annotations

import git
from typer.testing import CliRunner

from release.cli import app

DIGEST = "sha256:" + "ab" * 32


def promote(config_git, *args: str, env: dict[str, str] | None = None):
    return CliRunner().invoke(app, ["promote", "--env", "staging", "--service", "akka-firehose",
                                    "--image", f"feedface0002@{DIGEST}", "--commit",
                                    "--repo", str(config_git.root), *args], env=env or {})


def with_origin(config_git, tmp_path) -> git.Repo:
    origin = git.Repo.init(tmp_path / "origin.git", bare=True, initial_branch="main")
    config_git.git.create_remote("origin", origin.working_dir)
    config_git.git.git.push("-q", "origin", "main")
    return origin


def test_the_commit_goes_to_the_branch_jenkins_names_from_a_detached_checkout(
        config_git, tmp_path):
    origin = with_origin(config_git, tmp_path)
    config_git.git.git.checkout("-q", "--detach", "HEAD")

    out = promote(config_git, "--push", env={"GIT_BRANCH": "origin/main"})

    assert out.exit_code == 0, out.output
    assert origin.commit("main").hexsha == config_git.head
    assert "Release-Promotion: staging" in origin.commit("main").message
    assert "pushed " in out.output and "to origin/main" in out.output


def test_an_image_already_pinned_makes_no_commit_and_pushes_nothing(config_git, tmp_path):
    origin = with_origin(config_git, tmp_path)
    assert promote(config_git).exit_code == 0  # pinned (and committed), not pushed
    pinned = config_git.head

    out = promote(config_git, "--push")

    assert out.exit_code == 0, out.output
    assert "already pinned" in out.output and "pushed" not in out.output
    assert config_git.head == pinned and origin.commit("main").hexsha != pinned


def test_an_unreachable_remote_is_exit_5_and_its_address_is_not_shown(config_git, tmp_path):
    secret_url = f"file://{tmp_path}/token-abc123@nowhere.git"
    config_git.git.create_remote("origin", secret_url)

    out = promote(config_git, "--push")

    assert out.exit_code == 5, out.output
    assert "git could not push to origin/main" in out.output
    assert "token-abc123" not in out.output


def test_push_without_commit_is_a_usage_error(config_git):
    out = CliRunner().invoke(app, ["promote", "--env", "staging", "--service", "akka-firehose",
                                   "--image", f"feedface0002@{DIGEST}", "--push",
                                   "--repo", str(config_git.root)])
    assert out.exit_code == 2 and "--push needs --commit" in out.output
    assert not config_git.git.is_dirty()


def test_a_branch_that_moved_is_the_rebase_fix(config_git, tmp_path):
    origin = with_origin(config_git, tmp_path)
    other = git.Repo.clone_from(origin.working_dir, tmp_path / "other")
    with other.config_writer() as cfg:
        cfg.set_value("user", "name", "Other")
        cfg.set_value("user", "email", "other@example.invalid")
    other.git.commit("-q", "--allow-empty", "-m", "someone else's commit")
    other.git.push("-q", "origin", "main")

    out = promote(config_git, "--push")

    assert out.exit_code == 1, out.output
    assert "the branch moved" in out.output and "rebase and rerun" in out.output


def test_a_hook_that_declines_is_said_in_the_remote_s_words(config_git, tmp_path):
    origin = with_origin(config_git, tmp_path)
    hook = tmp_path / "origin.git" / "hooks" / "pre-receive"
    hook.write_text("#!/bin/sh\necho 'main is protected: open a merge request' >&2\nexit 1\n")
    hook.chmod(0o755)

    out = promote(config_git, "--push")

    assert out.exit_code == 1, out.output
    assert "pre-receive hook declined" in out.output
    assert "main is protected: open a merge request" in out.output
    assert "branch moved" not in out.output and "rebase" not in out.output
    assert origin.commit("main").hexsha != config_git.head


def test_a_remote_with_the_branch_checked_out_is_said_so(config_git, tmp_path):
    origin = git.Repo.init(tmp_path / "origin", initial_branch="main")  # not bare
    config_git.git.create_remote("origin", origin.working_dir)
    origin.git.config("receive.denyCurrentBranch", "ignore")  # the set-up push only
    config_git.git.git.push("-q", "origin", "main")
    origin.git.config("--unset", "receive.denyCurrentBranch")

    out = promote(config_git, "--push")

    assert out.exit_code == 1, out.output
    assert "branch is currently checked out" in out.output
    assert "rebase" not in out.output
