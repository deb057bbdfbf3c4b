"""A repository per service, in the pure core: which repositories an environment needs, and
one scan-gate answer for a service whose images live in several."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path

from release.core import config
from release.core.scan_gate import Finding, Scan, combined, gate_of, judge

PROJECT = Path(__file__).resolve().parents[2]
GATE = gate_of({"ecr": {"repository": "app", "scanGate": {"severities": ["CRITICAL"]}}})
TODAY = dt.date(2026, 12, 1)


def _repo_with(tmp_path: Path, name: str, doc: dict) -> config.ConfigRepo:
    for folder in ("environments", "taskdefs", "schemas"):
        shutil.copytree(PROJECT / folder, tmp_path / folder)
    (tmp_path / "environments" / "staging" / "services" / f"{name}.json").write_text(
        json.dumps(doc))
    return config.load_repo(tmp_path, ["staging"])


def test_an_environment_needs_its_own_repository_first_then_each_pins(tmp_path: Path) -> None:
    loaded = _repo_with(tmp_path, "worker", {
        "taskDefinition": {"file": "taskdefs/akka-firehose.json", "family": "worker"},
        "service": {"serviceName": "worker-service", "desiredCount": 1},
        "images": {"akka-firehose": {"repository": "worker", "tag": "v1"},
                   "agent": {"repository": "agents/log", "tag": "v2"},
                   "shipper": {"tag": "v3"}}})
    assert loaded.repositories_of("staging") == {
        "akka-firehose": ["akka-firehose", "worker/shipper"],
        "agents/log": ["worker/agent"],
        "worker": ["worker/akka-firehose"]}


def test_without_any_pin_naming_one_the_environments_repository_is_still_needed() -> None:
    loaded = config.load_repo(PROJECT, ["production"])
    assert list(loaded.repositories_of("production")) == [
        loaded.environment("production").ecr_repository]


def _answer(image: str, scan: Scan):
    assert GATE is not None
    return judge(GATE, scan, TODAY, image, "production", image.split("@")[0])


def test_one_refused_image_refuses_the_service_and_only_it_is_named() -> None:
    clean = _answer("app@sha256:a", Scan("COMPLETE"))
    bad = _answer("sidecar@sha256:b", Scan("COMPLETE", findings=(Finding("CVE-1", "CRITICAL"),)))
    answer = combined([clean, bad])
    assert answer.state == "refuse" and answer.message == bad.message
    assert answer.fix == bad.fix and [f.id for f in answer.blocking] == ["CVE-1"]


def test_a_scan_in_progress_waits_unless_another_image_is_refused() -> None:
    clean = _answer("app@sha256:a", Scan("COMPLETE"))
    busy = _answer("sidecar@sha256:b", Scan("IN_PROGRESS"))
    assert combined([clean, busy]).state == "wait"
    assert "sidecar@sha256:b" in combined([clean, busy]).message
    none = _answer("worker@sha256:c", Scan("SCAN_NOT_FOUND"))
    assert combined([busy, none]).state == "refuse"


def test_every_image_clean_passes_and_a_single_answer_is_itself() -> None:
    one = _answer("app@sha256:a", Scan("COMPLETE"))
    two = _answer("sidecar@sha256:b", Scan("COMPLETE"))
    assert combined([one]) is one
    both = combined([one, two])
    assert both.state == "pass" and "app@" in both.message and "sidecar@" in both.message
