"""A name given on the command line never leads outside the repository.

`--env ../../../x` or `--service ../../x` would become a folder or a file beside (or far
above) the repository once joined to it: `init` would write there, `promote` would edit
there. Every verb refuses such a name as a usage error (exit 2, docs/design.md) before it
reads or writes anything; the engines check again for callers that are not the CLI.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from release.cli import app
from release.core import names
from release.core.errors import UsageError
from release.engine.init import init
from release.engine.promote import promote_pin

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "core"))
from test_every_verb_broken_corpus import VERB_ARGS  # noqa: E402  (every verb's arguments)

BAD_ENVS = ["../../../x", "/tmp/x", "staging/../../x", "Staging", ""]
BAD_SERVICES = ["../../x", "/etc/passwd", "a/b", ".hidden", ""]


def run(*args: str):
    return CliRunner().invoke(app, list(args), catch_exceptions=False)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    target = tmp_path / "deep" / "er" / "repo"
    for folder in ("environments", "taskdefs", "schemas"):
        shutil.copytree(ROOT / folder, target / folder)
    return target


def swapped(args: list[str], option: str, value: str) -> list[str] | None:
    if option not in args:
        return None
    at = args.index(option)
    return [*args[:at + 1], value, *args[at + 2:]]


@pytest.mark.parametrize("verb", sorted(VERB_ARGS))
def test_every_verb_refuses_an_environment_name_that_is_a_path(verb: str, repo: Path) -> None:
    for bad in BAD_ENVS:
        args = swapped(VERB_ARGS[verb], "--env", bad) or (
            [*VERB_ARGS[verb], "--env", bad] if verb in ("validate", "apply") else None)
        if args is None:
            continue
        result = run(*verb.split(), *args, "--repo", str(repo))
        assert result.exit_code == 2, (verb, bad, result.output)
        assert "Invalid value for '--env'" in result.output
    assert sorted(p.name for p in repo.parent.iterdir()) == ["repo"]


@pytest.mark.parametrize("verb", sorted(v for v, a in VERB_ARGS.items() if "--service" in a))
def test_every_verb_refuses_a_service_name_that_is_a_path(verb: str, repo: Path) -> None:
    for bad in BAD_SERVICES:
        result = run(*verb.split(), *swapped(VERB_ARGS[verb], "--service", bad), "--repo",
                     str(repo))
        assert result.exit_code == 2, (verb, bad, result.output)
        assert "Invalid value for '--service'" in result.output


def test_init_writes_nothing_outside_the_repository(repo: Path) -> None:
    result = run("init", "--env", "../../../x", "--cluster", "c", "--service", "s",
                 "--region", "us-east-1", "--repo", str(repo))
    assert result.exit_code == 2, result.output
    assert "is not an environment name" in result.output
    with pytest.raises(UsageError):  # a caller that is not the CLI: the engine checks too
        init(repo, "../../../x", "c", "s", "us-east-1")
    assert not (repo.parents[2] / "x").exists()
    assert sorted(p.name for p in repo.parent.iterdir()) == ["repo"]


def test_promote_edits_no_file_a_name_or_a_link_leads_out_to(repo: Path, tmp_path: Path) -> None:
    with pytest.raises(UsageError):
        promote_pin(repo, "../../x", "akka-firehose", "v2@sha256:" + "1" * 64)
    outside = tmp_path / "elsewhere.json"
    outside.write_text((repo / "environments/staging/services/akka-firehose.json").read_text())
    before = outside.read_text()
    link = repo / "environments/staging/services/linked.json"
    link.symlink_to(outside)
    result = run("promote", "--env", "staging", "--service", "linked", "--image",
                 "v2@sha256:" + "1" * 64, "--repo", str(repo))
    assert result.exit_code == 1, result.output
    assert "outside the repository" in result.output
    assert outside.read_text() == before


def test_the_names_are_the_folders_and_files_they_stand_for() -> None:
    assert names.environment_problem("sandbox-alb") is None
    assert names.service_problem("akka-firehose-service") is None
    assert names.service_problem("api.v2") is None
    assert all(names.environment_problem(bad) for bad in BAD_ENVS)
    assert all(names.service_problem(bad) for bad in BAD_SERVICES)
