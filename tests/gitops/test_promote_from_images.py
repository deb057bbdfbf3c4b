"""`release promote --from staging --env production` of a service that builds two images, on
the sandbox: what staging runs in each container (its release record and the ledger say it
completed, git pins it) becomes production's pins, both in one commit; a worker that drifts
from git refuses the whole promotion."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
from sandbox_git import commit_all, edit_json, init_git, move_into_sandbox
from typer.testing import CliRunner

from release.cli import app
from release.engine.promote import promote_pins
from release_sandbox.testing import running_sandbox

PROJECT = Path(__file__).resolve().parents[2]
SERVICE = "akka-firehose-service"
WORKER_REPOSITORY = "akka-worker"
MEDIA_TYPE = "application/vnd.docker.distribution.manifest.v2+json"


def spec_path(env: str) -> str:
    return f"environments/{env}/services/akka-firehose.json"


def put_worker_image(sandbox: Any, tag: str) -> str:
    config = json.dumps({"worker": tag}).encode()
    manifest = json.dumps({
        "schemaVersion": 2, "mediaType": MEDIA_TYPE,
        "config": {"mediaType": "application/vnd.docker.container.image.v1+json",
                   "size": len(config), "digest": "sha256:" + hashlib.sha256(config).hexdigest()},
        "layers": []}, separators=(",", ":"))
    digest = "sha256:" + hashlib.sha256(manifest.encode()).hexdigest()
    sandbox.client("ecr").put_image(repositoryName=WORKER_REPOSITORY, imageManifest=manifest,
                                    imageManifestMediaType=MEDIA_TYPE, imageTag=tag,
                                    imageDigest=digest)
    return digest


@pytest.fixture()
def two_envs(tmp_path):
    """staging and production in the sandbox (one application repository), each service
    building a worker into the shared akka-worker repository; git initialised."""
    with running_sandbox(PROJECT, tmp_path) as sandbox:
        for env in ("staging", "production"):
            move_into_sandbox(sandbox, env)
        edit_json(sandbox.repo / "environments/production/environment.json",
                  lambda d: d["ecr"].update(repository="akka-firehose-staging"))
        sandbox.client("ecr").create_repository(repositoryName=WORKER_REPOSITORY)
        edit_json(sandbox.repo / "taskdefs/akka-firehose.json",
                  lambda d: d["containerDefinitions"].append(
                      {"name": "worker", "cpu": 128, "memory": 128, "essential": True}))
        old = put_worker_image(sandbox, "w0")

        def images(doc: dict[str, Any]) -> None:
            pin = {k: doc["image"][k] for k in ("tag", "digest")}
            doc["images"] = {"akka-firehose": {**pin, "build": doc.pop("build")},
                             "worker": {"repository": WORKER_REPOSITORY, "tag": "w0",
                                        "digest": old}}
            del doc["image"]

        for env in ("staging", "production"):
            edit_json(sandbox.repo / spec_path(env), images)
        repo = init_git(sandbox.repo)
        yield sandbox, repo


def run(repo: Path, *args: str):
    return CliRunner().invoke(app, [*args, "--repo", str(repo)])


def release_staging(sandbox: Any, app_tag: str, worker_tag: str) -> dict[str, str]:
    digests = {"akka-firehose": sandbox.put_image(app_tag, "staging"),
               "worker": put_worker_image(sandbox, worker_tag)}
    promote_pins(sandbox.repo, "staging", SERVICE, {
        "akka-firehose": f"{app_tag}@{digests['akka-firehose']}",
        "worker": f"{worker_tag}@{digests['worker']}"}, commit=True)
    out = run(sandbox.repo, "deploy", "--env", "staging", "--format", "json")
    assert out.exit_code == 0, out.output[-3000:]
    return digests


def test_both_containers_live_in_staging_become_productions_pins_in_one_commit(two_envs):
    sandbox, repo = two_envs
    released = release_staging(sandbox, "000000000007", "w7")
    head = repo.head.commit.hexsha

    out = run(sandbox.repo, "promote", "--from", "staging", "--env", "production", "--commit",
              "--format", "json")

    assert out.exit_code == 0, out.output
    pins = json.loads((sandbox.repo / spec_path("production")).read_text())["images"]
    assert (pins["akka-firehose"]["tag"], pins["akka-firehose"]["digest"]) == (
        "000000000007", released["akka-firehose"])
    assert (pins["worker"]["tag"], pins["worker"]["digest"]) == ("w7", released["worker"])
    [commit] = list(repo.iter_commits(f"{head}..HEAD"))
    assert list(commit.stats.files) == [spec_path("production")]
    assert f"image:  worker {released['worker']}" in commit.message
    assert "Release-Promoted-From: staging akka-demo:1" in commit.message
    done = next(json.loads(line) for line in out.stdout.splitlines()
                if '"promote.done"' in line)
    assert done["source"]["images"]["worker"]["digest"] == released["worker"]


def test_a_worker_that_drifts_from_git_in_staging_refuses_the_promotion(two_envs):
    sandbox, repo = two_envs
    released = release_staging(sandbox, "000000000007", "w7")
    newer = put_worker_image(sandbox, "w8")
    promote_pins(sandbox.repo, "staging", SERVICE, {"worker": f"w8@{newer}"}, commit=True)
    commit_all(repo, "nothing else")
    head = repo.head.commit.hexsha
    before = (sandbox.repo / spec_path("production")).read_bytes()

    out = run(sandbox.repo, "promote", "--from", "staging", "--env", "production", "--commit",
              "--format", "json")

    assert out.exit_code == 1, out.output
    error = next(json.loads(line) for line in out.stdout.splitlines() if '"error"' in line)
    assert "drifts from git" in error["message"] and "container worker" in error["message"]
    assert released["worker"][:19] in error["message"] and newer[:19] in error["message"]
    assert repo.head.commit.hexsha == head
    assert (sandbox.repo / spec_path("production")).read_bytes() == before
