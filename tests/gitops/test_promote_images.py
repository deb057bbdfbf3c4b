"""`release promote` on a service that pins one image per built container (/images): one
container (--container, default the load balancer's) or every image of a build report, each
in its own repository, in one commit that touches only the pins."""

from __future__ import annotations

import json
from typing import Any

import pytest
from typer.testing import CliRunner

from release.cli import app
from release.core.errors import InvalidInput
from release.engine.promote import promote_pin, promote_pins

SPEC = "environments/staging/services/akka-firehose.json"
TASKDEF = "taskdefs/akka-firehose.json"
REGISTRY = "123456789012.dkr.ecr.us-east-1.amazonaws.com"
OLD_WORKER = "sha256:" + "7b" * 32
NEW_APP = "sha256:" + "a1" * 32
NEW_WORKER = "sha256:" + "b2" * 32


@pytest.fixture
def two_images(config_git) -> Any:
    """staging's service builds the application and a worker (repository akka-worker)."""
    config_git.edit_json(TASKDEF, lambda d: d["containerDefinitions"].append(
        {"name": "worker", "cpu": 128, "memory": 128, "essential": True}))

    def change(doc: dict[str, Any]) -> None:
        pin = {k: doc["image"][k] for k in ("tag", "digest")}
        doc["images"] = {
            "akka-firehose": {**pin, "build": doc.pop("build")},
            "worker": {"repository": "akka-worker", "tag": "00000000beef",
                       "digest": OLD_WORKER, "build": {"context": "examples/worker"}}}
        del doc["image"]

    config_git.edit_json(SPEC, change)
    config_git.commit("staging builds a worker image")
    return config_git


def promote(repo: Any, *args: str) -> tuple[int, list[dict[str, Any]]]:
    out = CliRunner().invoke(app, ["promote", "--env", "staging", "--service", "akka-firehose",
                                   *args, "--repo", str(repo.root), "--format", "json"])
    return out.exit_code, [json.loads(line) for line in out.stdout.splitlines()
                           if line.startswith("{")]


def build_report(path: Any, images: dict[str, str]) -> str:
    """`release build --push --format json` output of a several-image service."""
    items = [{"container": name, "reference": ref, "pushed": True} for name, ref in
             images.items()]
    path.write_text(json.dumps({"event": "build.output", "message": "Step 1/5"}) + "\n"
                    + json.dumps({"event": "build.result", **items[0], "images": items})
                    + "\n")
    return f"@{path}"


def test_container_pins_only_that_containers_image_and_keeps_every_other_byte(two_images):
    before = two_images.read(SPEC)
    result = promote_pin(two_images.root, "staging", "akka-firehose-service",
                         f"{REGISTRY}/akka-worker:00000000cafe@{NEW_WORKER}", container="worker")
    after = two_images.read(SPEC)
    assert after == before.replace('"00000000beef"', '"00000000cafe"').replace(
        OLD_WORKER, NEW_WORKER)
    assert [(p.container, p.changed) for p in result.pins] == [("worker", True)]
    assert (result.old_digest, result.new_digest) == (OLD_WORKER, NEW_WORKER)


def test_without_container_the_load_balancers_container_is_pinned(two_images):
    start = two_images.head
    code, events = promote(two_images, "--image", f"00000000f00d@{NEW_APP}", "--commit")
    assert code == 0, events
    doc = json.loads(two_images.read(SPEC))
    assert doc["images"]["akka-firehose"]["digest"] == NEW_APP
    assert doc["images"]["worker"]["digest"] == OLD_WORKER
    [commit] = list(two_images.git.iter_commits(f"{start}..HEAD"))
    assert commit.summary == (f"promote akka-firehose-service akka-firehose to "
                              f"{NEW_APP[:19]}… in staging")
    assert "/images/akka-firehose" in commit.message
    done = next(e for e in events if e["event"] == "promote.done")
    assert done["container"] == "akka-firehose" and "akka-firehose tag=00000000f00d" in \
        done["message"]


def test_a_build_report_of_both_images_pins_both_in_one_commit(two_images, tmp_path):
    start = two_images.head
    image = build_report(tmp_path / "build.json", {
        "akka-firehose": f"{REGISTRY}/akka-firehose@{NEW_APP}",
        "worker": f"{REGISTRY}/akka-worker@{NEW_WORKER}"})
    code, events = promote(two_images, "--image", image, "--commit")
    assert code == 0, events
    doc = json.loads(two_images.read(SPEC))
    assert doc["images"]["akka-firehose"] == {"digest": NEW_APP,
                                              "build": {"context": "examples/akka-firehose"}}
    assert doc["images"]["worker"] == {"repository": "akka-worker", "digest": NEW_WORKER,
                                       "build": {"context": "examples/worker"}}
    [commit] = list(two_images.git.iter_commits(f"{start}..HEAD"))
    assert list(commit.stats.files) == [SPEC]
    assert "/images/akka-firehose" in commit.message and "/images/worker" in commit.message
    assert commit.message.count("Release-Promotion: staging") == 1
    done = next(e for e in events if e["event"] == "promote.done")
    assert [p["container"] for p in done["pins"]] == ["akka-firehose", "worker"]


def test_a_build_report_with_container_pins_only_that_one(two_images, tmp_path):
    image = build_report(tmp_path / "build.json", {
        "akka-firehose": f"{REGISTRY}/akka-firehose@{NEW_APP}",
        "worker": f"{REGISTRY}/akka-worker@{NEW_WORKER}"})
    code, events = promote(two_images, "--image", image, "--container", "worker")
    assert code == 0, events
    doc = json.loads(two_images.read(SPEC))
    assert doc["images"]["worker"]["digest"] == NEW_WORKER
    assert doc["images"]["akka-firehose"]["digest"] != NEW_APP


def test_an_image_of_another_containers_repository_is_refused(two_images):
    before = two_images.read(SPEC)
    with pytest.raises(InvalidInput, match="not in the repository of container worker "
                                           f"{REGISTRY}/akka-worker"):
        promote_pins(two_images.root, "staging", "akka-firehose-service", {
            "akka-firehose": f"{REGISTRY}/akka-firehose@{NEW_APP}",
            "worker": f"{REGISTRY}/akka-firehose@{NEW_WORKER}"})
    assert two_images.read(SPEC) == before  # neither pin was written


def test_a_container_the_service_does_not_pin_is_refused(two_images):
    code, events = promote(two_images, "--image", f"v1@{NEW_APP}", "--container", "sidecar")
    assert code == 1
    error = next(e for e in events if e["event"] == "error")
    assert "pins no container 'sidecar'" in error["message"]
    assert "akka-firehose, worker" in error["hint"]


def test_the_one_pin_of_a_single_image_service_takes_its_containers_name(config_git):
    result = promote_pin(config_git.root, "staging", "akka-firehose-service",
                         f"00000000f00d@{NEW_APP}", container="akka-firehose")
    assert [(p.container, p.pointer) for p in result.pins] == [("akka-firehose", "/image")]
    with pytest.raises(InvalidInput, match="pins no container 'worker'"):
        promote_pin(config_git.root, "staging", "akka-firehose-service",
                    f"00000000f00d@{NEW_APP}", container="worker")
