"""A service spec may name a revision registered elsewhere instead of a document."""

from __future__ import annotations

from pathlib import Path

from validate_helpers import STAGING_SERVICE, edit

from release.core.config import load_repo
from release.core.validate import validate_repo

ARN = "arn:aws:ecs:us-east-1:123456789012:task-definition/akka-demo:41"


def by_revision(revision: str):
    def change(doc):
        doc["taskDefinition"] = {"revision": revision}
        for key in ("image", "build"):
            doc.pop(key, None)
        doc.pop("overrides", None)
    return change


def test_a_spec_naming_a_revision_validates_and_loads_with_its_family(repo: Path) -> None:
    for revision in ("akka-demo:41", ARN):
        edit(repo, STAGING_SERVICE, by_revision(revision))
        report = validate_repo(repo, envs=["staging"])
        assert [f for f in report.findings if f.severity == "error"] == [], report.findings
        spec = load_repo(repo, ["staging"]).services_of("staging")[0]
        assert (spec.revision, spec.family, spec.taskdef_file) == (revision, "akka-demo", None)


def test_a_revision_with_a_file_or_an_image_pin_is_refused_with_the_pointer(repo: Path) -> None:
    edit(repo, STAGING_SERVICE, lambda d: d["taskDefinition"].update(revision="akka-demo:41"))
    report = validate_repo(repo, envs=["staging"])
    assert any(f.pointer in ("/taskDefinition", "") and f.severity == "error"
               for f in report.findings), report.findings
    edit(repo, STAGING_SERVICE, by_revision("akka-demo:41"))
    edit(repo, STAGING_SERVICE, lambda d: d.update(image={"tag": "abc"}))
    report = validate_repo(repo, envs=["staging"])
    assert [f for f in report.findings if f.severity == "error"], report.findings


def test_a_malformed_revision_is_refused(repo: Path) -> None:
    edit(repo, STAGING_SERVICE, by_revision("akka-demo"))
    report = validate_repo(repo, envs=["staging"])
    assert any(f.pointer == "/taskDefinition/revision" for f in report.findings) or any(
        "/taskDefinition" in f.pointer for f in report.findings), report.findings
