"""The corpus: broken documents, each rejected with the right rule, file and JSON pointer.

tests/validate/corpus/<case>.json replaces one document of a clean copy of the
project's repository; corpus/cases.json says which one and what must be reported.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from validate_helpers import CORPUS, STAGING_SERVICE, TASKDEF, edit

from release.core.validate import validate_repo

CASES = json.loads((CORPUS / "cases.json").read_text())


def test_the_corpus_has_at_least_thirty_broken_documents() -> None:
    assert len(CASES) >= 30
    assert {p.stem for p in CORPUS.glob("*.json")} - {"cases"} == set(CASES)


@pytest.mark.parametrize("name", sorted(CASES))
def test_broken_document_is_rejected_with_file_and_pointer(repo: Path, name: str) -> None:
    case = CASES[name]
    shutil.copyfile(CORPUS / f"{name}.json", repo / case["replaces"])
    report = validate_repo(repo)
    located = {(f.file, f.pointer, f.rule) for f in report.errors}
    assert (case["file"], case["pointer"], case["rule"]) in located, report.findings
    assert all(f.message and f.fix for f in report.findings)
    assert "internal-error" not in {f.rule for f in report.findings}


def test_malformed_json_is_reported_with_line_and_column(repo: Path) -> None:
    shutil.copyfile(CORPUS / "td-malformed-json.json", repo / "taskdefs/akka-firehose.json")
    [finding] = validate_repo(repo).errors
    assert (finding.line, finding.column) == (4, 18)
    assert "line 4, column 18" in finding.message


def test_unknown_key_says_what_was_meant(repo: Path) -> None:
    shutil.copyfile(CORPUS / "td-typo-memroy.json", repo / "taskdefs/akka-firehose.json")
    [finding] = [f for f in validate_repo(repo).errors if f.rule == "schema-unknown-key"]
    assert finding.message == "unknown key 'memroy' (did you mean 'memory'?)"
    assert finding.fix == "rename it to 'memory'"


def test_misplaced_key_says_where_it_belongs(repo: Path) -> None:
    shutil.copyfile(CORPUS / "svc-taskdefinition-in-service.json",
                    repo / "environments/staging/services/akka-firehose.json")
    [finding] = validate_repo(repo).errors
    assert "/taskDefinition" in finding.fix and "did you mean" not in finding.message


def test_findings_carry_the_line_and_column_of_their_pointer(repo: Path) -> None:
    shutil.copyfile(CORPUS / "td-typo-memroy.json", repo / "taskdefs/akka-firehose.json")
    [finding] = [f for f in validate_repo(repo).errors if f.rule == "schema-unknown-key"]
    line = (CORPUS / "td-typo-memroy.json").read_text().splitlines()[finding.line - 1]
    assert line[finding.column - 1:].startswith('"memroy"')


def test_duplicate_keys_are_reported_where_they_repeat(repo: Path) -> None:
    shutil.copyfile(CORPUS / "td-duplicate-key.json", repo / "taskdefs/akka-firehose.json")
    [finding] = validate_repo(repo).errors
    assert finding.rule == "json-duplicate-key"
    assert finding.pointer == "/containerDefinitions/0/memory"
    text = (CORPUS / "td-duplicate-key.json").read_text().splitlines()
    assert text[finding.line - 1].strip() == '"memory": 512,'


def test_what_a_describe_answer_adds_is_left_out_not_renamed(repo: Path) -> None:
    """A document saved from DescribeServices/DescribeTaskDefinition (ecspresso's are) carries
    members the request does not take: the fix is to leave them out, not the closest name
    (platformFamily is not a misspelt platformVersion)."""
    edit(repo, STAGING_SERVICE, lambda d: d["service"].update(
        platformFamily="Linux", pendingCount=0, roleArn="arn:aws:iam::1:role/ecsServiceRole",
        launchType=""))
    edit(repo, TASKDEF, lambda d: d.update(revision=7, status="ACTIVE"))
    found = {(f.file, f.pointer): f for f in validate_repo(repo).errors}
    for pointer in ("/service/platformFamily", "/service/pendingCount", "/service/roleArn"):
        finding = found[(STAGING_SERVICE, pointer)]
        assert finding.message.endswith("DescribeServices reports it, CreateService does not "
                                        "take it"), finding.message
        assert finding.fix.startswith("leave it out") and "rename" not in finding.fix
    assert "`role`" in found[(STAGING_SERVICE, "/service/roleArn")].fix
    for pointer in ("/revision", "/status"):
        assert "DescribeTaskDefinition reports it" in found[(TASKDEF, pointer)].message
    assert found[(STAGING_SERVICE, "/service/launchType")].fix.startswith("leave the key out")
