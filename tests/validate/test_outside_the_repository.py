"""What lies outside the config repository is not read, built nor echoed.

A symbolic link under environments/ or taskdefs/ that leads out of the repository is a
`document-link` finding and is never read (its content never reaches a report); a
schema message does not repeat a credential a document holds; a build context outside the
repository (`..`, an absolute path, a link) is `image-build-context`.
"""

from __future__ import annotations

import json
from pathlib import Path

from validate_helpers import STAGING_ENV, STAGING_SERVICE, TASKDEF, edit

from release.core import documents
from release.core.validate import validate_repo

SECRET = "wJalrXUtnFEMI-K7MDENG-bPxRfiCYEXAMPLEKEY"
SLACK_TOKEN = "xoxb-0000000000-0000000000000-fakefakefakefake"


def outside_file(tmp_path: Path, doc: object) -> Path:
    """A JSON file outside the repository, the kind a link might lead to (credentials)."""
    target = tmp_path / "elsewhere" / "credentials.json"
    target.parent.mkdir(exist_ok=True)
    target.write_text(json.dumps(doc))
    return target


def everything_said(report) -> str:
    return json.dumps([f.as_dict() for f in report.findings])


def test_a_task_definition_linked_from_outside_is_refused_unread(repo: Path,
                                                                 tmp_path: Path) -> None:
    target = outside_file(tmp_path, {"family": "x", "SecretAccessKey": SECRET,
                                     "containerDefinitions": [{"name": SECRET}]})
    (repo / TASKDEF).unlink()
    (repo / TASKDEF).symlink_to(target)
    report = validate_repo(repo)
    links = [f for f in report.findings if f.rule == "document-link"]
    assert [(f.file, f.severity) for f in links] == [(TASKDEF, "error")]
    assert "outside the repository" in links[0].message and links[0].fix
    assert SECRET not in everything_said(report)
    assert TASKDEF not in documents.discover(repo).taskdefs


def test_an_environment_folder_linked_from_outside_is_refused(repo: Path, tmp_path: Path) -> None:
    elsewhere = tmp_path / "other-checkout" / "qa"
    (elsewhere / "services").mkdir(parents=True)
    (elsewhere / "environment.json").write_text(json.dumps({"name": "qa",
                                                            "token": SLACK_TOKEN}))
    (repo / "environments" / "qa").symlink_to(elsewhere)
    report = validate_repo(repo)
    assert ("environments/qa", "document-link") in {(f.file, f.rule)
                                                           for f in report.findings}
    assert SLACK_TOKEN not in everything_said(report)
    assert "qa" not in documents.discover(repo).environments


def test_a_link_within_the_repository_is_followed(repo: Path) -> None:
    spec = repo / "environments/staging/services/akka-firehose.json"
    kept = repo / "environments/staging/akka-firehose.spec"
    spec.rename(kept)
    spec.symlink_to(Path("..") / "akka-firehose.spec")
    report = validate_repo(repo, ["staging"])
    assert report.findings == [], report.findings


def test_the_reader_refuses_a_path_out_of_the_root_it_is_given(repo: Path,
                                                               tmp_path: Path) -> None:
    target = outside_file(tmp_path, {"SecretAccessKey": SECRET})
    link = repo / "environments" / "staging" / "services" / "linked.json"
    link.symlink_to(target)
    try:
        documents.read_json(link, root=repo)
    except documents.DocumentError as exc:
        assert exc.rule == "document-link" and SECRET not in str(exc)
    else:
        raise AssertionError("read a file outside the repository")


def test_a_schema_message_does_not_repeat_a_credential(repo: Path) -> None:
    edit(repo, STAGING_SERVICE, lambda d: d["service"].update(desiredCount=SLACK_TOKEN))
    edit(repo, STAGING_ENV, lambda d: d.update(region={"password": "hunter2-hunter2"}))
    report = validate_repo(repo, ["staging"])
    said = everything_said(report)
    kinds = {(f.file, f.rule) for f in report.findings}
    assert (STAGING_SERVICE, "schema-type") in kinds and (STAGING_ENV, "schema-type") in kinds
    assert SLACK_TOKEN not in said and "hunter2" not in said
    assert "***" in said


def test_a_build_context_that_links_out_of_the_repository_is_refused(repo: Path,
                                                                     tmp_path: Path) -> None:
    (tmp_path / "app-checkout").mkdir()
    (repo / "examples").mkdir()
    (repo / "examples" / "akka-firehose").symlink_to(tmp_path / "app-checkout")
    found = [f for f in validate_repo(repo, ["staging"]).findings
             if f.rule == "image-build-context"]
    assert [(f.file, f.pointer) for f in found] == [(STAGING_SERVICE, "/build/context")]
    assert "symbolic link" in found[0].message


def test_a_container_s_build_context_is_held_to_the_repository_too(repo: Path) -> None:
    def pins(doc: dict) -> None:
        image = doc.pop("image")
        doc.pop("build")
        doc["images"] = {image.pop("container"): {**image, "build": {"context": "/srv/app"}}}

    edit(repo, STAGING_SERVICE, pins)
    found = [f for f in validate_repo(repo, ["staging"]).findings
             if f.rule == "image-build-context"]
    assert [(f.pointer, "an absolute path" in f.message) for f in found] == [
        ("/images/akka-firehose/build/context", True)]


def test_a_dockerfile_out_of_the_repository_is_refused(repo: Path) -> None:
    edit(repo, STAGING_SERVICE, lambda d: d["build"].update(dockerfile="../../../Dockerfile"))
    found = [f for f in validate_repo(repo, ["staging"]).findings
             if f.rule == "image-build-context"]
    assert [(f.pointer, "by `..`" in f.message) for f in found] == [("/build/dockerfile", True)]
    edit(repo, STAGING_SERVICE, lambda d: d["build"].update(dockerfile="docker/Dockerfile.prod"))
    assert [f for f in validate_repo(repo, ["staging"]).findings
            if f.rule == "image-build-context"] == []
