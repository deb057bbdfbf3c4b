"""A service that builds two images on the sandbox: the application (the environment's
repository) and a worker (a repository of its own), pinned under /images.

Released, the revision's record has one tag per container and the ledger the whole map;
`history` and `status` show both digests; a rollback checks each image in its own repository
and, with --commit, pins both back; `release init` on the live service writes /images pins
that validate and plan no change.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
from engine_sandbox import CLUSTER, SERVICE, SPEC, Stage
from typer.testing import CliRunner

from release.cli import app

TASKDEF = "taskdefs/akka-firehose.json"
WORKER_REPOSITORY = "akka-worker"
MEDIA_TYPE = "application/vnd.docker.distribution.manifest.v2+json"


def put_worker_image(stage: Stage, tag: str) -> str:
    """A small manifest under `tag` in the worker's repository; its digest."""
    config = json.dumps({"worker": tag}).encode()
    manifest = json.dumps({
        "schemaVersion": 2, "mediaType": MEDIA_TYPE,
        "config": {"mediaType": "application/vnd.docker.container.image.v1+json",
                   "size": len(config), "digest": "sha256:" + hashlib.sha256(config).hexdigest()},
        "layers": []}, separators=(",", ":"))
    digest = "sha256:" + hashlib.sha256(manifest.encode()).hexdigest()
    stage.sandbox.client("ecr").put_image(repositoryName=WORKER_REPOSITORY,
                                          imageManifest=manifest, imageManifestMediaType=MEDIA_TYPE,
                                          imageTag=tag, imageDigest=digest)
    return digest


def make_two_images(stage: Stage) -> None:
    """The sandbox service, now building a worker into its own repository; committed."""
    stage.sandbox.client("ecr").create_repository(repositoryName=WORKER_REPOSITORY,
                                                  imageTagMutability="IMMUTABLE")
    stage.edit(TASKDEF, lambda d: d["containerDefinitions"].append(
        {"name": "worker", "cpu": 128, "memory": 128, "essential": True,
         "environment": [{"name": "QUEUE", "value": "jobs"}]}))

    def change(doc: dict[str, Any]) -> None:
        doc["images"] = {"akka-firehose": {**doc.pop("image"), "build": doc.pop("build")},
                         "worker": {"repository": WORKER_REPOSITORY, "tag": "w0"}}
        doc["images"]["akka-firehose"].pop("container", None)

    stage.edit(SPEC, change)


def pin_both(stage: Stage, app_tag: str | None, worker_tag: str | None) -> dict[str, str]:
    """Push and pin the application's and/or the worker's image; commit; their digests."""
    digests = {}
    if app_tag:
        digests["akka-firehose"] = stage.sandbox.put_image(app_tag)
    if worker_tag:
        digests["worker"] = put_worker_image(stage, worker_tag)

    def change(doc: dict[str, Any]) -> None:
        if app_tag:
            doc["images"]["akka-firehose"].update(tag=app_tag, digest=digests["akka-firehose"])
        if worker_tag:
            doc["images"]["worker"].update(tag=worker_tag, digest=digests["worker"])

    stage.edit(SPEC, change)
    stage.commit(f"pin {app_tag} {worker_tag}")
    return digests


@pytest.fixture
def two_released(stage: Stage) -> tuple[Stage, dict[str, str]]:
    """Live on akka-demo:1 with app v1 and worker w1."""
    make_two_images(stage)
    first = pin_both(stage, "v1", "w1")
    run = stage.cli("deploy")
    assert run.exit_code == 0, run.output
    assert stage.live_revision() == "akka-demo:1"
    return stage, first


def live_images(stage: Stage) -> dict[str, str]:
    revision = stage.service()["taskDefinition"]
    taskdef = stage.ecs().describe_task_definition(taskDefinition=revision)["taskDefinition"]
    return {c["name"]: c["image"] for c in taskdef["containerDefinitions"]}


def test_a_release_records_each_containers_digest_and_history_and_status_show_them(
        two_released) -> None:
    stage, first = two_released
    tags = stage.tags("akka-demo:1")
    assert tags["release:image"] == first["akka-firehose"] and tags["release:image-tag"] == "v1"
    assert tags["release:image:akka-firehose"] == first["akka-firehose"]
    assert tags["release:image:worker"] == first["worker"]
    assert live_images(stage)["worker"].endswith(f"/{WORKER_REPOSITORY}@{first['worker']}")

    second = pin_both(stage, None, "w2")  # only the worker changes
    run = stage.cli("deploy")
    assert run.exit_code == 0, run.output
    assert stage.live_revision() == "akka-demo:2"
    assert stage.tags("akka-demo:2")["release:image:worker"] == second["worker"]

    history = stage.cli("history").first("history")
    newest, oldest = history["entries"][0], history["entries"][-1]
    assert newest["images"] == {"akka-firehose": first["akka-firehose"],
                                "worker": second["worker"]} and newest["live"]
    assert oldest["images"] == first
    status = stage.cli("status").first("status")
    assert status["record"]["images"] == {"akka-firehose": first["akka-firehose"],
                                          "worker": second["worker"]}


def test_history_and_status_in_text_name_each_container(two_released) -> None:
    stage, first = two_released
    argv = ["--env", "sandbox", "--repo", str(stage.repo)]
    history = CliRunner().invoke(app, ["history", *argv], catch_exceptions=False)
    status = CliRunner().invoke(app, ["status", *argv], catch_exceptions=False)
    assert history.exit_code == 0 and status.exit_code == 0, history.output + status.output
    assert f"worker {first['worker'][:19]}" in history.output
    assert (f"images akka-firehose {first['akka-firehose'][:19]}, worker "
            f"{first['worker'][:19]}") in status.output


def test_rollback_checks_the_workers_image_in_its_own_repository_then_pins_both_back(
        two_released) -> None:
    stage, first = two_released
    second = pin_both(stage, "v2", "w2")
    assert stage.cli("deploy").exit_code == 0
    ecr = stage.sandbox.client("ecr")
    ecr.batch_delete_image(repositoryName=WORKER_REPOSITORY,
                           imageIds=[{"imageDigest": first["worker"]}])
    refused = stage.cli("rollback", "--yes")
    assert refused.exit_code == 1, refused.output
    error = refused.first("error")
    assert "container worker" in error["message"] and "missing image" in error["message"]
    assert stage.live_revision() == "akka-demo:2"

    assert put_worker_image(stage, "w1") == first["worker"]  # pushed again: the same digest
    head = stage.git.head.commit.hexsha
    run = stage.cli("rollback", "--yes", "--commit")
    assert run.exit_code == 0, run.output
    assert stage.live_revision() == "akka-demo:1"
    pins = json.loads((stage.repo / SPEC).read_text())["images"]
    assert (pins["akka-firehose"]["tag"], pins["akka-firehose"]["digest"]) == (
        "v1", first["akka-firehose"])
    assert pins["worker"]["digest"] == first["worker"] and "tag" not in pins["worker"]
    assert pins["worker"]["repository"] == WORKER_REPOSITORY
    [commit] = list(stage.git.iter_commits(f"{head}..HEAD"))
    assert "/images/worker" in commit.message and second["worker"] in commit.message
    assert stage.cli("plan").first("plan")["unchanged"]


def test_init_of_the_live_two_image_service_writes_images_that_validate_and_plan_no_change(
        two_released, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    stage, first = two_released
    monkeypatch.setenv("RELEASE_AWS_ENDPOINT", stage.sandbox.endpoint)
    target = tmp_path / "adopted"
    target.mkdir()

    def cli(*args: str) -> tuple[int, list[dict[str, Any]]]:
        out = CliRunner().invoke(app, [*args, "--format", "json"], catch_exceptions=False)
        return out.exit_code, [json.loads(line) for line in out.stdout.splitlines()
                               if line.startswith("{")]

    code, events = cli("init", "--env", "sandbox", "--cluster", CLUSTER, "--service", SERVICE,
                       "--region", stage.sandbox.region, "--repo", str(target))
    assert code == 0, events
    spec = json.loads((target / f"environments/sandbox/services/{SERVICE}.json").read_text())
    assert spec["images"]["worker"] == {"repository": WORKER_REPOSITORY, "tag": "w1",
                                        "digest": first["worker"]}
    assert spec["images"]["akka-firehose"]["digest"] == first["akka-firehose"]
    code, events = cli("validate", "--repo", str(target))
    assert code == 0, events
    code, events = cli("plan", "--env", "sandbox", "--repo", str(target))
    assert code == 0, events
    plan = next(e for e in events if e["event"] == "plan")
    assert plan["unchanged"], (plan["taskdef_changes"], plan["service_changes"])


SIDECAR = ("public.ecr.aws/aws-observability/aws-for-fluent-bit:2.32.4@sha256:"
           + "5c" * 32)


def test_a_sidecar_keeps_its_task_definition_image_through_release_rollback_and_init(
        stage: Stage, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The application is built into its repository; a third-party log router is pinned by
    digest in the task definition and is nobody's pin."""
    stage.edit(TASKDEF, lambda d: d["containerDefinitions"].append(
        {"name": "log-router", "image": SIDECAR, "cpu": 64, "memory": 64, "essential": False}))
    v1 = stage.pin("v1")
    assert stage.cli("deploy").exit_code == 0
    stage.pin("v2")
    assert stage.cli("deploy").exit_code == 0
    assert live_images(stage)["log-router"] == SIDECAR
    tags = stage.tags("akka-demo:2")
    assert [k for k in tags if k.startswith("release:image:")] == ["release:image:akka-firehose"]

    run = stage.cli("rollback", "--yes")  # the sidecar's public image is not looked up in ECR
    assert run.exit_code == 0, run.output
    assert stage.live_revision() == "akka-demo:1"
    assert live_images(stage) == {"akka-firehose": live_images(stage)["akka-firehose"],
                                  "log-router": SIDECAR}
    assert live_images(stage)["akka-firehose"].endswith(v1)

    monkeypatch.setenv("RELEASE_AWS_ENDPOINT", stage.sandbox.endpoint)
    target = tmp_path / "adopted"
    target.mkdir()
    argv = ["--format", "json"]
    out = CliRunner().invoke(app, ["init", "--env", "sandbox", "--cluster", CLUSTER,
                                   "--service", SERVICE, "--region", stage.sandbox.region,
                                   "--repo", str(target), *argv], catch_exceptions=False)
    assert out.exit_code == 0, out.output
    spec = json.loads((target / f"environments/sandbox/services/{SERVICE}.json").read_text())
    assert spec["image"]["container"] == "akka-firehose" and "images" not in spec
    taskdef = json.loads((target / "taskdefs/akka-demo.json").read_text())
    assert [c.get("image") for c in taskdef["containerDefinitions"]] == [None, SIDECAR]
    for verb in (["validate"], ["plan", "--env", "sandbox"]):
        out = CliRunner().invoke(app, [*verb, "--repo", str(target), *argv],
                                 catch_exceptions=False)
        assert out.exit_code == 0, out.output
    plan = [json.loads(line) for line in out.stdout.splitlines() if '"event": "plan"' in line]
    assert plan and plan[0]["unchanged"], plan
