"""Fixtures for the engine's scenario tests (helpers in engine_sandbox.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import git
import pytest
from engine_sandbox import PROJECT, Stage

from release.output.events import Reporter
from release_sandbox.testing import running_sandbox


def _time_on(clock: Any) -> Any:
    """The `time` module with `sleep` moved onto `clock`."""
    import time
    import types

    shim = types.SimpleNamespace(**{name: getattr(time, name) for name in dir(time)
                                    if not name.startswith("__")})
    shim.sleep = clock.sleep
    return shim


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "instances(n): container instances the sandbox starts")


@pytest.fixture
def stage(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
          request: pytest.FixtureRequest) -> Iterator[Stage]:
    monkeypatch.delenv("BUILD_URL", raising=False)
    monkeypatch.delenv("BUILD_TAG", raising=False)
    monkeypatch.delenv("JOB_NAME", raising=False)
    monkeypatch.setenv("USER", "operator1")
    monkeypatch.delenv("BUILD_USER_ID", raising=False)
    with running_sandbox(PROJECT, tmp_path / "sandbox") as sandbox:
        # the scenarios release the example service; the sandbox's second application
        # (audit-worker) is released beside it in test_two_applications.py
        sandbox.only_services("akka-firehose")
        marker = request.node.get_closest_marker("instances")
        sandbox.seed_infrastructure(instances=marker.args[0] if marker else 2)
        repo = git.Repo.init(sandbox.repo, initial_branch="main")
        with repo.config_writer() as cfg:
            cfg.set_value("user", "name", "Release Tests")
            cfg.set_value("user", "email", "tests@example.invalid")
            cfg.set_value("commit", "gpgsign", "false")
        the_stage = Stage(sandbox, sandbox.repo, repo)
        the_stage.commit("the sandbox's documents")
        original_emit = Reporter.emit

        def emit(self: Reporter, kind: str, message: str, level: str = "info", **data: Any):
            if kind == "wait.stable":
                the_stage.check_stable_claim(data["revision"], data.get("service"))
            return original_emit(self, kind, message, level, **data)

        monkeypatch.setattr(Reporter, "emit", emit)
        # botocore sleeps between retries with time.sleep; in a scenario that time is the
        # sandbox's (virtual) time, as it would be ECS's in a real release.
        monkeypatch.setattr("botocore.endpoint.time", _time_on(sandbox.clock))
        yield the_stage
        assert the_stage.early_stable == [], "stable was declared too early"


@pytest.fixture
def released(stage: Stage) -> Stage:
    """A service already live on akka-demo:1 (image v1), released by `release deploy`."""
    stage.pin("v1")
    run = stage.cli("deploy")
    assert run.exit_code == 0, run.output
    assert stage.live_revision() == "akka-demo:1"
    return stage
