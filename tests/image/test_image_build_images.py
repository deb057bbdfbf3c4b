"""`release build` of a service that builds two images, against the real engine, a real
registry and moto's ECR: each pinned container's context is built into its own repository,
an unchanged rebuild builds neither, and the JSON result lists both for `promote`."""

from __future__ import annotations

import base64
import json
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from image_support import build_args, commit_all, run_release

from release_sandbox.registry import MANIFEST_MEDIA_TYPES

WORKER_REPOSITORY = "akka-worker"
SPEC = "environments/sandbox/services/akka-firehose.json"
WORKER_DOCKERFILE = """FROM scratch
COPY job.txt /job.txt
ARG QUEUE=none
LABEL worker.queue=$QUEUE
ARG REVISION=unknown
ENV APP_REVISION=$REVISION
"""


def _edit(path: Path, change: Any) -> None:
    doc = json.loads(path.read_text())
    change(doc)
    path.write_text(json.dumps(doc, indent=2) + "\n")


@pytest.fixture
def two_images(config_repo, local_ecr):
    """The sandbox service builds a worker (its own folder, Dockerfile and build argument)
    into the akka-worker repository, next to the application."""
    root = Path(config_repo.working_tree_dir)
    existing = local_ecr.ecr.describe_repositories()["repositories"]
    if WORKER_REPOSITORY not in {r["repositoryName"] for r in existing}:
        local_ecr.ecr.create_repository(repositoryName=WORKER_REPOSITORY,
                                        imageTagMutability="IMMUTABLE")
    (root / "workers/queue").mkdir(parents=True)
    (root / "workers/queue/Dockerfile.worker").write_text(WORKER_DOCKERFILE)
    (root / "workers/queue/job.txt").write_text("drain the queue\n")
    _edit(root / "taskdefs/akka-firehose.json", lambda d: d["containerDefinitions"].append(
        {"name": "worker", "cpu": 128, "memory": 128, "essential": True}))

    def change(doc: dict[str, Any]) -> None:
        pin = {k: doc["image"][k] for k in ("tag", "digest")}
        doc["images"] = {
            "akka-firehose": {**pin, "build": doc.pop("build")},
            "worker": {"repository": WORKER_REPOSITORY, **pin, "build": {
                "context": "workers/queue", "dockerfile": "Dockerfile.worker",
                "args": {"QUEUE": "jobs"}}}}
        del doc["image"]

    _edit(root / SPEC, change)
    commit_all(config_repo, "a worker image")
    return config_repo


def manifest_digest(registry: Any, repository: str, tag: str) -> str:
    auth = base64.b64encode(f"AWS:{registry.password}".encode()).decode()
    request = urllib.request.Request(
        f"{registry.url}/v2/{repository}/manifests/{tag}", method="HEAD",
        headers={"Authorization": f"Basic {auth}", "Accept": ", ".join(MANIFEST_MEDIA_TYPES)})
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.headers["Docker-Content-Digest"]


def test_each_container_is_built_into_its_repository_and_a_rebuild_builds_neither(
        two_images, local_ecr, docker_client, tmp_path):
    root = Path(two_images.working_tree_dir)
    first = run_release(*build_args(two_images, "--push", "--format", "json"))
    assert first.exit_code == 0, first.output
    result = first.event("build.result")
    images = {i["container"]: i for i in result["images"]}
    assert list(images) == ["akka-firehose", "worker"]  # the load balancer's first
    assert result["container"] == "akka-firehose" and result["digest"] == images[
        "akka-firehose"]["digest"]
    worker = images["worker"]
    assert worker["repository"] == WORKER_REPOSITORY and worker["pushed"]
    assert worker["digest"] == manifest_digest(local_ecr.registry, WORKER_REPOSITORY,
                                               worker["tag"])
    assert worker["reference"] == (f"{local_ecr.registry.address}/{WORKER_REPOSITORY}@"
                                   f"{worker['digest']}")
    assert docker_client.images.get(worker["image"]).labels["worker.queue"] == "jobs"
    assert worker["tag"] == two_images.head.commit.hexsha[:12]  # the commit of its context
    assert len([e for e in first.events if e["event"] == "build.start"]) == 2

    again = run_release(*build_args(two_images, "--push", "--format", "json"))
    assert again.exit_code == 0, again.output
    assert "build.start" not in again.kinds()
    assert [(i["container"], i["existing"], i["digest"]) for i in
            again.event("build.result")["images"]] == [
        (name, True, images[name]["digest"]) for name in ("akka-firehose", "worker")]

    report = tmp_path / "build.json"
    report.write_text(again.output)
    promoted = run_release("promote", "--env", "sandbox", "--service", "akka-firehose",
                           "--image", f"@{report}", "--repo", str(root), "--format", "json")
    assert promoted.exit_code == 0, promoted.output
    pins = json.loads((root / SPEC).read_text())["images"]
    assert pins["akka-firehose"]["digest"] == images["akka-firehose"]["digest"]
    assert pins["worker"]["digest"] == worker["digest"]


def test_container_builds_only_that_containers_image(two_images):
    run = run_release(*build_args(two_images, "--container", "worker", "--format", "json"))
    assert run.exit_code == 0, run.output
    result = run.event("build.result")
    assert [i["container"] for i in result["images"]] == ["worker"]
    assert result["repository"] == WORKER_REPOSITORY and not result["pushed"]


def test_context_with_several_images_asks_which_container(two_images):
    run = run_release(*build_args(two_images, "--context", "workers/queue"))
    assert run.exit_code == 2, run.output
    assert "--container" in run.output
