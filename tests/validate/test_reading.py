"""Reading documents never blocks or crashes, and a broken file only stops what reads it."""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path
from typing import Any

import pytest
from validate_helpers import STAGING_ENV, STAGING_SERVICE, TASKDEF, edit

from release.core import documents
from release.core.errors import InvalidDocuments, InvalidInput
from release.core.validate import validate_repo
from release.engine.validate import load_environment, load_valid
from release.output.events import OutputFormat, Reporter

PRODUCTION_SERVICE = "environments/production/services/akka-firehose.json"


def bounded(fn, *args: Any, seconds: float = 20) -> Any:
    """Run fn in a thread and fail (instead of hanging the suite) if it does not return."""
    box: dict[str, Any] = {}

    def run() -> None:
        try:
            box["value"] = fn(*args)
        except BaseException as exc:  # noqa: BLE001 - handed back to the test
            box["error"] = exc

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    worker.join(seconds)
    assert not worker.is_alive(), f"{fn.__name__} still blocked after {seconds} s"
    if "error" in box:
        raise box["error"]
    return box["value"]


def reporter() -> Reporter:
    return Reporter(OutputFormat.json)


# ----------------------------------------------------------------------------- the reader


def test_a_fifo_is_refused_at_once_not_read(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "pipe.json")
    with pytest.raises(documents.DocumentError) as caught:
        bounded(documents.read_json, tmp_path / "pipe.json")
    assert caught.value.rule == "document-type" and "named pipe" in caught.value.message


def test_a_fifo_under_taskdefs_is_a_finding_in_validate(repo: Path) -> None:
    os.mkfifo(repo / "taskdefs/pipe.json")
    report = bounded(validate_repo, repo)
    assert [(f.rule, f.file) for f in report.errors] == [("document-type", "taskdefs/pipe.json")]


def test_a_document_over_one_mebibyte_is_refused_before_parsing(repo: Path) -> None:
    doc = json.loads((repo / TASKDEF).read_text())
    doc["containerDefinitions"][0]["environment"] = [
        {"name": f"V{i}", "value": "x" * 1000} for i in range(1100)]
    (repo / TASKDEF).write_text(json.dumps(doc))
    assert (repo / TASKDEF).stat().st_size > documents.MAX_DOCUMENT_BYTES
    [finding] = validate_repo(repo).errors
    assert (finding.rule, finding.file) == ("document-size", TASKDEF)
    assert "1 MiB" in finding.message and "64 KiB" in finding.fix


def test_depth_is_bounded_and_brackets_in_strings_do_not_count(tmp_path: Path) -> None:
    path = tmp_path / "doc.json"
    path.write_text("[" * documents.MAX_DEPTH + "]" * documents.MAX_DEPTH)
    assert documents.read_json(path)
    path.write_text("[" * (documents.MAX_DEPTH + 1) + "]" * (documents.MAX_DEPTH + 1))
    with pytest.raises(documents.DocumentError) as caught:
        documents.read_json(path)
    assert caught.value.rule == "json-depth"
    path.write_text(json.dumps({"a": "[{" * 500}))
    assert documents.read_json(path) == {"a": "[{" * 500}


def test_a_byte_order_mark_is_accepted_with_a_warning(repo: Path) -> None:
    (repo / STAGING_SERVICE).write_bytes(b"\xef\xbb\xbf" + (repo / STAGING_SERVICE).read_bytes())
    report = validate_repo(repo)
    assert report.errors == []
    assert [(f.rule, f.severity, f.file) for f in report.findings] == [
        ("json-bom", "warning", STAGING_SERVICE)]
    # ... and the commands read it the same way: deploy's loader agrees with validate.
    loaded = load_valid(repo, ["staging"])
    assert loaded.services_of("staging")[0].service_name == "akka-firehose-service"


def test_invalid_utf8_and_non_json_constants_are_findings(tmp_path: Path) -> None:
    path = tmp_path / "doc.json"
    for content, words in ((b'{"a": "\xff"}', "not UTF-8"), (b'{"a": NaN}', "NaN"),
                           (b'{"a": -Infinity}', "Infinity")):
        path.write_bytes(content)
        with pytest.raises(documents.DocumentError) as caught:
            documents.read_json(path)
        assert words in caught.value.message and caught.value.fix


# ----------------------------------------------------------------------------- the loaders


def break_unrelated_documents(repo: Path) -> None:
    """A 100k-deep array in an unused task definition, a FIFO, a broken production spec."""
    (repo / "taskdefs/deep.json").write_text("[" * 100_000)
    os.mkfifo(repo / "taskdefs/pipe.json")
    (repo / PRODUCTION_SERVICE).write_text("{")


def test_unrelated_broken_documents_do_not_stop_status_or_rollback(repo: Path) -> None:
    break_unrelated_documents(repo)
    loaded = bounded(load_environment, repo, "staging", None, reporter())
    [spec] = loaded.services_of("staging")
    assert spec.service_name == "akka-firehose-service"
    assert loaded.taskdef_for(spec).family == "akka-demo"
    assert set(loaded.taskdefs) == {TASKDEF}


def test_deploy_s_loader_reads_only_what_its_environment_uses(repo: Path) -> None:
    break_unrelated_documents(repo)
    loaded = bounded(load_valid, repo, ["staging"])
    assert set(loaded.taskdefs) == {TASKDEF}


def test_a_broken_sibling_service_does_not_stop_the_named_one(repo: Path) -> None:
    (repo / "environments/staging/services/other.json").write_text('{"service": 1}')
    loaded = load_environment(repo, "staging", "akka-firehose-service", reporter())
    assert [s.name for s in loaded.services_of("staging")] == ["akka-firehose"]
    with pytest.raises(InvalidInput) as caught:  # all services of staging: other.json is one
        load_environment(repo, "staging", None, reporter())
    assert "validation error(s) in the documents of staging:" in caught.value.message
    assert "--service" in caught.value.hint


@pytest.mark.parametrize("change, pointer", [
    (lambda d: d["service"].pop("serviceName"), "/service"),
    (lambda d: d["service"].update(desiredCount="two"), "/service/desiredCount"),
])
def test_the_service_s_own_broken_spec_stops_status_and_rollback(repo: Path, change,
                                                                pointer: str) -> None:
    edit(repo, STAGING_SERVICE, change)
    for service in (None, "akka-firehose"):
        with pytest.raises(InvalidDocuments) as caught:
            load_environment(repo, "staging", service, reporter())
        assert "validation error(s) in the documents of staging" in caught.value.message
        assert "nothing was changed" in caught.value.hint
        # the findings the verb lists (commands/common.handles_errors): only the spec's own
        assert {(f.file, f.pointer) for f in caught.value.findings} == {
            (STAGING_SERVICE, pointer)}


def test_a_broken_environment_document_stops_them(repo: Path) -> None:
    edit(repo, STAGING_ENV, lambda d: d.pop("loadBalancer"))
    with pytest.raises(InvalidInput):
        load_environment(repo, "staging", "akka-firehose", reporter())


def test_a_spec_too_broken_to_name_is_reported_when_asked_for_by_service_name(repo: Path) -> None:
    (repo / STAGING_SERVICE).write_text('{"service": {"serviceName": 5}')
    with pytest.raises(InvalidInput) as caught:
        load_environment(repo, "staging", "akka-firehose-service", reporter())
    assert "validation error(s) in the documents of staging/akka-firehose-service" in \
        caught.value.message


def test_rule_errors_warn_but_do_not_stop_a_rollback(repo: Path, capsys) -> None:
    edit(repo, STAGING_SERVICE, lambda d: d["service"].update(role="otherRole"))
    loaded = load_environment(repo, "staging", None, reporter())
    assert loaded.services_of("staging")
    events = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [e["rule"] for e in events if e["event"] == "validate.finding"] == ["ref-role"]
    assert all(e["level"] == "warn" for e in events)


def test_status_and_rollback_refuse_a_broken_own_spec_with_exit_1(repo: Path, cli) -> None:
    edit(repo, STAGING_SERVICE, lambda d: d["service"].update(desiredCount="two"))
    for verb in (["status"], ["rollback", "--yes"], ["history"]):
        result = cli(*verb, "--env", "staging", "--repo", str(repo))
        assert result.exit_code == 1, result.output
        assert f"{STAGING_SERVICE}#/service/desiredCount" in result.output
