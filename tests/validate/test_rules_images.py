"""The image rules on a service that pins one image per built container (/images): each pin is
judged with its own pointer, and a service names its own repositories."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from validate_helpers import STAGING_SERVICE, TASKDEF, edit

from release.core.validate import validate_repo

WORKER_DIGEST = "sha256:" + "7b" * 32


def two_images(repo: Path, worker: dict[str, Any] | None = None) -> None:
    """staging's service builds a worker image into a repository of its own."""
    edit(repo, TASKDEF, lambda d: d["containerDefinitions"].append(
        {"name": "worker", "cpu": 128, "memory": 128, "essential": True}))

    def change(doc: dict[str, Any]) -> None:
        pin = {k: doc["image"][k] for k in ("tag", "digest")}
        doc["images"] = {
            "akka-firehose": {**pin, "build": doc.pop("build")},
            "worker": worker or {"repository": "akka-worker", "tag": "00000000beef",
                                 "digest": WORKER_DIGEST,
                                 "build": {"context": "examples/worker"}}}
        del doc["image"]

    edit(repo, STAGING_SERVICE, change)


def located(repo: Path, rule: str) -> list[tuple[str, str, str]]:
    report = validate_repo(repo, ["staging"])
    return [(f.file, f.pointer, f.severity) for f in report.findings if f.rule == rule]


def test_a_two_image_service_in_repositories_of_its_own_validates_clean(repo: Path) -> None:
    two_images(repo)
    assert validate_repo(repo, ["staging"]).findings == []


def test_a_second_pin_on_latest_is_named_by_its_own_pointer(repo: Path) -> None:
    two_images(repo, {"repository": "akka-worker", "tag": "latest"})
    assert located(repo, "image-pin-mutable") == [
        (STAGING_SERVICE, "/images/worker/tag", "error")]


def test_a_tag_only_second_pin_in_a_mutable_repository_is_a_warning_there(repo: Path) -> None:
    two_images(repo, {"repository": "akka-worker", "tag": "00000000beef"})
    edit(repo, "environments/staging/environment.json",
         lambda d: d["ecr"].update(tagImmutability=False))
    assert located(repo, "image-pin-mutable") == [
        (STAGING_SERVICE, "/images/worker", "warning")]


def test_a_pinned_container_the_task_definition_lacks_is_named_by_its_pin(repo: Path) -> None:
    two_images(repo)
    edit(repo, TASKDEF, lambda d: d["containerDefinitions"].pop())
    assert located(repo, "image-container") == [(STAGING_SERVICE, "/images/worker", "error")]


def test_two_contexts_built_into_one_repository_are_refused(repo: Path) -> None:
    two_images(repo, {"tag": "00000000beef", "digest": WORKER_DIGEST,
                      "build": {"context": "examples/worker"}})  # the environment's repository
    assert located(repo, "ref-repository") == [
        (STAGING_SERVICE, "/images/worker/build/context", "error")]


def test_one_context_pinned_for_two_containers_may_share_its_repository(repo: Path) -> None:
    two_images(repo, {"tag": "00000000beef", "digest": WORKER_DIGEST,
                      "build": {"context": "examples/akka-firehose"}})
    assert located(repo, "ref-repository") == []
