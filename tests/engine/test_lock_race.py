"""Two `release deploy` processes started together against one sandbox (real clock).

Without the lock both registered an identical revision and both called
UpdateService, and one of them then failed with "there is no earlier revision to
go back to". With it, one goes ahead and the other exits 1 naming the holder,
having changed nothing.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import git
import pytest
from engine_sandbox import PROJECT, SERVICE, Stage

from release.adapters import ledger
from release.adapters.lease import LeaseTable
from release.core import records
from release.core.clock import RealClock
from release_sandbox.testing import running_sandbox


@pytest.fixture
def real_time_stage(tmp_path: Path) -> Iterator[Stage]:
    with running_sandbox(PROJECT, tmp_path / "sandbox", clock=RealClock()) as sandbox:
        sandbox.only_services("akka-firehose")  # the race is about one service's lock
        sandbox.seed_infrastructure(instances=2)
        repo = git.Repo.init(sandbox.repo, initial_branch="main")
        with repo.config_writer() as cfg:
            cfg.set_value("user", "name", "Release Tests")
            cfg.set_value("user", "email", "tests@example.invalid")
            cfg.set_value("commit", "gpgsign", "false")
        stage = Stage(sandbox, sandbox.repo, repo)
        stage.commit("the sandbox's documents")
        yield stage


def start_deploy(stage: Stage, user: str) -> subprocess.Popen[str]:
    env = {**os.environ, "USER": user, "RELEASE_REPO": str(stage.repo)}
    for name in ("BUILD_TAG", "BUILD_URL", "JOB_NAME", "BUILD_USER_ID"):
        env.pop(name, None)
    return subprocess.Popen([sys.executable, "-m", "release.cli", "deploy", "--env", "sandbox",
                             "--format", "json"], env=env, cwd=stage.repo,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def finish(process: subprocess.Popen[str]) -> tuple[int, list[dict[str, Any]], str]:
    out, err = process.communicate(timeout=300)
    return process.returncode, [json.loads(line) for line in out.splitlines()
                                if line.startswith("{")], err


def test_two_deploys_started_together_one_goes_ahead_the_other_is_refused(
        real_time_stage: Stage) -> None:
    stage = real_time_stage
    stage.pin("v1")
    code, _, err = finish(start_deploy(stage, "alice"))
    assert code == 0, err
    stage.pin("v2")
    first, second = start_deploy(stage, "alice"), start_deploy(stage, "bob")
    results = {"alice": finish(first), "bob": finish(second)}
    codes = sorted(code for code, _, _ in results.values())
    assert codes == [0, 1], results
    winner = next(name for name, (code, _, _) in results.items() if code == 0)
    loser_events = next(events for code, events, _ in results.values() if code == 1)
    error = next(e for e in loser_events if e["event"] == "error")
    assert f"is locked by {winner}@" in error["message"]
    assert "release deploy" in error["message"] and "since " in error["message"]
    assert "nothing was changed" in error["message"]
    assert not any(e["event"].startswith(("release.", "wait.")) for e in loser_events)
    assert sorted(stage.revisions()) == ["akka-demo:1", "akka-demo:2"]  # one registration
    assert stage.live_revision() == "akka-demo:2"
    store = ledger.Ledger(stage.sandbox.environment(), stage.sandbox.client("dynamodb"))
    entries = store.entries(SERVICE)
    assert [(e.kind, e.revision.rsplit("/", 1)[-1], e.outcome, e.by) for e in entries] == [
        ("release", "akka-demo:2", records.COMPLETED, winner),
        ("release", "akka-demo:1", records.COMPLETED, "alice")]
    assert LeaseTable(store.env, store.client).read_lease(SERVICE) is None
