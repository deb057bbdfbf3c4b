"""Helpers shared by the image tests (fixtures live in conftest.py)."""

from __future__ import annotations

import base64
import contextlib
import json
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import git
from typer.testing import CliRunner

from release.cli import app
from release_sandbox.registry import MANIFEST_MEDIA_TYPES, Registry

REPOSITORY = "akka-firehose"


@dataclass
class Run:
    exit_code: int
    output: str
    events: list[dict[str, Any]]

    def event(self, kind: str) -> dict[str, Any]:
        found = [e for e in self.events if e.get("event") == kind]
        assert found, f"no {kind} event in:\n{self.output}"
        return found[-1]

    def kinds(self) -> set[str]:
        return {e.get("event", "") for e in self.events}


def run_release(*args: str, env: dict[str, str] | None = None) -> Run:
    """Run the CLI in-process; JSON lines are parsed into events."""
    result = CliRunner().invoke(app, list(args), env=env, catch_exceptions=False)
    events = []
    for line in result.output.splitlines():
        if line.startswith("{"):
            with contextlib.suppress(ValueError):
                events.append(json.loads(line))
    return Run(result.exit_code, result.output, events)


def build_args(repo: git.Repo, *extra: str) -> list[str]:
    return ["build", "--env", "sandbox", "--service", "akka-firehose",
            "--repo", str(repo.working_tree_dir), *extra]


def registry_manifest_digest(registry: Registry, tag: str) -> str:
    """HEAD the manifest with the ECR login: the digest the registry itself computed."""
    import urllib.request

    auth = base64.b64encode(f"AWS:{registry.password}".encode()).decode()
    request = urllib.request.Request(
        f"{registry.url}/v2/{REPOSITORY}/manifests/{tag}", method="HEAD",
        headers={"Authorization": f"Basic {auth}", "Accept": ", ".join(MANIFEST_MEDIA_TYPES)})
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.headers["Docker-Content-Digest"]


def dead_docker_host(tmp_path: Path) -> str:
    path = tmp_path / "dead.sock"
    return f"unix://{path}"


def point_sandbox_at(root: Path, aws_endpoint: str, registry: str, **ecr: Any) -> None:
    path = root / "environments/sandbox/environment.json"
    doc = json.loads(path.read_text())
    doc["endpoints"] = {"aws": aws_endpoint, "registry": registry}
    doc["ecr"].update(ecr)
    path.write_text(json.dumps(doc, indent=2) + "\n")


def commit_all(repo: git.Repo, message: str) -> str:
    repo.git.add(A=True)
    # A unique message makes a unique commit, so each test builds a tag of its own.
    repo.index.commit(f"{message} ({uuid.uuid4().hex[:8]})")
    return repo.head.commit.hexsha
