"""release.core.promotion: the promotion trailer, the build report, the source judgement."""

from __future__ import annotations

import json

import pytest

from release.core.errors import InvalidInput
from release.core.promotion import (
    SourceRelease,
    image_from_build_report,
    is_promotion,
    judge_source,
    trailers,
)
from release.core.records import COMPLETED, FAILED, RELEASE, RESTORE, Entry, Record

ARN = "arn:aws:ecs:us-east-1:123456789012:task-definition/akka-demo:7"
DIGEST = "sha256:" + "ab" * 32
TASKDEF = {"containerDefinitions": [
    {"name": "sidecar", "image": "public.ecr.aws/x/y:1"},
    {"name": "akka-firehose", "image": f"123456789012.dkr.ecr.us-east-1.amazonaws.com/"
                                       f"akka-firehose@{DIGEST}"}]}


def completed(**changes: str) -> Record:
    fields = {"revision": ARN, "env": "staging", "service": "svc", "commit": "c0ffee",
              "image": DIGEST, "image_tag": "0123456789ab", "outcome": COMPLETED, **changes}
    return Record(**fields)


def judge(record=None, entries=(), pin=("0123456789ab", DIGEST), taskdef=TASKDEF,
          revision=ARN):
    return judge_source("staging", "svc", revision, taskdef,
                        completed() if record is None else record, list(entries),
                        "akka-firehose", pin)


def test_a_completed_release_matching_git_gives_its_digest_and_tag() -> None:
    source = judge(entries=[Entry(id="1", kind=RELEASE, env="staging", service="svc",
                                  revision=ARN, outcome=COMPLETED)])
    assert (source.digest, source.tag, source.image_ref) == (
        DIGEST, "0123456789ab", f"0123456789ab@{DIGEST}")
    assert source.short_revision == "akka-demo:7"


def test_the_record_on_the_revision_must_say_completed() -> None:
    with pytest.raises(InvalidInput, match="is failed .*crash loop.*not completed") as caught:
        judge(record=completed(outcome=FAILED, reason="crash loop"))
    assert "nothing was changed" in caught.value.hint


def test_live_through_a_restore_of_a_revision_whose_release_never_completed_is_refused() -> None:
    restore = Entry(id="2", kind=RESTORE, env="staging", service="svc", revision=ARN,
                    outcome=COMPLETED)
    failed = Entry(id="1", kind=RELEASE, env="staging", service="svc", revision=ARN,
                   outcome=FAILED)
    with pytest.raises(InvalidInput, match="its own release never completed"):
        judge(entries=[restore, failed])


def test_a_git_pin_other_than_what_runs_is_drift() -> None:
    with pytest.raises(InvalidInput, match="drifts from git"):
        judge(pin=("0123456789ab", "sha256:" + "cd" * 32))


def test_a_container_not_pinned_by_digest_cannot_be_promoted() -> None:
    taskdef = {"containerDefinitions": [{"name": "akka-firehose", "image": "repo:tag"}]}
    with pytest.raises(InvalidInput, match="not pinned to a sha256 digest"):
        judge(taskdef=taskdef)


def test_promotion_commits_carry_a_trailer_that_marks_them() -> None:
    source = SourceRelease("staging", "svc", ARN, DIGEST, "0123456789ab", "c0ffee")
    lines = trailers("production", source)
    assert lines == ["Release-Promotion: production",
                     f"Release-Promoted-From: staging akka-demo:7 {DIGEST}"]
    assert is_promotion("promote svc\n\nbody\n\n" + "\n".join(lines) + "\n")
    assert not is_promotion("fix: mention Release-Promotion: in the docs")


def test_the_digest_reference_is_read_from_the_build_report() -> None:
    reference = f"registry.example/akka-firehose@{DIGEST}"
    report = "\n".join([
        json.dumps({"event": "build.step", "message": "Step 1/5"}),
        "a line that is not JSON",
        json.dumps({"event": "build.result", "reference": reference, "pushed": True})])
    assert image_from_build_report(report, "reports/build.json") == reference


@pytest.mark.parametrize("report, problem", [
    ("", "no build.result event"),
    (json.dumps({"event": "build.result", "reference": None}), "no pushed digest reference"),
])
def test_a_report_without_a_pushed_digest_is_refused(report: str, problem: str) -> None:
    with pytest.raises(InvalidInput, match=problem):
        image_from_build_report(report, "reports/build.json")
