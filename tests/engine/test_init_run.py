"""`release init` round trips and `release run` on the real sandbox (moto + the emulator)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from engine_sandbox import CLUSTER, SERVICE, Stage
from typer.testing import CliRunner

from release.cli import app


def _cli(*args: str) -> tuple[int, list[dict]]:
    result = CliRunner().invoke(app, [*args, "--format", "json"], catch_exceptions=False)
    events = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    return result.exit_code, events


def _init_into(stage: Stage, target: Path, service: str, monkeypatch: pytest.MonkeyPatch
               ) -> list[dict]:
    monkeypatch.setenv("RELEASE_AWS_ENDPOINT", stage.sandbox.endpoint)
    target.mkdir()
    code, events = _cli("init", "--env", "sandbox", "--cluster", CLUSTER, "--service", service,
                        "--region", stage.sandbox.region, "--repo", str(target))
    assert code == 0, events
    return events


def test_deploy_then_init_into_an_empty_dir_validates_and_plans_no_change(
        released: Stage, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "adopted"
    _init_into(released, target, SERVICE, monkeypatch)
    taskdef = json.loads((target / "taskdefs/akka-demo.json").read_text())
    spec = json.loads((target / f"environments/sandbox/services/{SERVICE}.json").read_text())
    assert "image" not in taskdef["containerDefinitions"][0]
    assert "taskDefinitionArn" not in taskdef and "revision" not in taskdef
    assert "essential" not in taskdef["containerDefinitions"][0]  # the API default
    assert spec["image"]["digest"].startswith("sha256:") and spec["image"]["tag"] == "v1"
    assert all("$schema" in json.loads(p.read_text()) for p in target.rglob("*.json"))
    code, events = _cli("validate", "--repo", str(target))
    assert code == 0, events
    code, events = _cli("plan", "--env", "sandbox", "--repo", str(target))
    assert code == 0, events
    plan = next(e for e in events if e["event"] == "plan")
    assert plan["unchanged"], plan
    code, events = _cli("init", "--env", "sandbox", "--cluster", CLUSTER, "--service", SERVICE,
                        "--repo", str(target))
    assert code == 1 and "overwrite" in events[-1]["message"]
