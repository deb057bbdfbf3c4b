"""The ECR scan gate in releases against the sandbox: refused before any change, or waited for."""

from __future__ import annotations

import json
import urllib.request
from typing import Any

import botocore.client
import pytest
from engine_sandbox import ENV_DOC, Stage

CHANGES = ("RegisterTaskDefinition", "UpdateService", "CreateService", "TagResource")


def _gate(stage: Stage, **extra: Any) -> None:
    stage.edit(ENV_DOC, lambda d: d["ecr"].update(scanGate={
        "severities": ["CRITICAL"], "waitSeconds": 300, **extra}))


def _findings(stage: Stage, digest: str, **body: Any) -> None:
    request = urllib.request.Request(
        f"{stage.sandbox.endpoint}/_sandbox/scan-findings", method="POST",
        data=json.dumps({"repository": "akka-firehose", "digest": digest, **body}).encode())
    with urllib.request.urlopen(request, timeout=5) as answer:
        assert answer.status == 200


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every AWS operation the CLI makes from now on, by name."""
    made: list[str] = []
    original = botocore.client.BaseClient._make_api_call

    def record(self: Any, operation: str, params: dict[str, Any]) -> Any:
        made.append(operation)
        return original(self, operation, params)

    monkeypatch.setattr(botocore.client.BaseClient, "_make_api_call", record)
    return made


def test_a_critical_finding_refuses_the_release_before_any_change(
        released: Stage, calls: list[str]) -> None:
    stage = released
    _gate(stage, allow=[{"id": "CVE-2026-0042", "until": "2099-01-01", "reason": "not used"}])
    digest = stage.pin("v2")
    _findings(stage, digest, findings=[
        {"id": "CVE-2026-0001", "severity": "CRITICAL", "package": "openssl", "version": "3.0.1"},
        {"id": "CVE-2026-0042", "severity": "CRITICAL", "package": "zlib"},
        {"id": "CVE-2026-0007", "severity": "HIGH", "package": "bash"}])
    plan = stage.cli("plan")
    assert plan.exit_code == 0, plan.output
    assert plan.first("plan.scan_gate")["state"] == "refuse"
    assert "`release deploy` would refuse" in plan.output
    calls.clear()
    run = stage.cli("deploy")
    assert run.exit_code == 1, run.output
    error = run.first("error")
    assert "CVE-2026-0001 (CRITICAL, openssl 3.0.1)" in error["message"]
    assert "1 CRITICAL finding(s)" in error["message"] and "CVE-2026-0042" not in error["message"]
    assert "ecr.scanGate.allow" in error["hint"]
    assert [e["id"] for e in run.events if e["event"] == "scan_gate.finding"] == ["CVE-2026-0001"]
    assert "DescribeImageScanFindings" in calls
    assert not set(calls) & set(CHANGES), calls
    assert not run.has("release.plan")
    assert stage.revisions() == ["akka-demo:1"] and stage.live_revision() == "akka-demo:1"


def test_a_scan_in_progress_is_waited_for_and_a_rollback_is_not_gated(released: Stage) -> None:
    stage = released
    _gate(stage)
    digest = stage.pin("v2")
    _findings(stage, digest, inProgressSeconds=100)
    started = stage.sandbox.clock.now()
    run = stage.cli("deploy")
    assert run.exit_code == 0, run.output
    waited = [e for e in run.events if e["event"] == "scan_gate.waiting"]
    assert waited and "IN_PROGRESS" in waited[0]["message"]
    assert run.kinds().index("scan_gate.passed") < run.kinds().index("release.plan")
    assert stage.sandbox.clock.now() - started >= 100
    assert stage.live_revision() == "akka-demo:2"
    # v1 is found CRITICAL since: going back to it in an incident is still allowed
    v1 = json.loads(stage.git.git.show("HEAD~1:environments/sandbox/services/"
                                       "akka-firehose.json"))["image"]["digest"]
    _findings(stage, v1, findings=[{"id": "CVE-2026-0099", "severity": "CRITICAL"}])
    back = stage.cli("rollback", "--yes")
    assert back.exit_code == 0, back.output
    assert stage.live_revision() == "akka-demo:1"


@pytest.mark.parametrize("until", ["2026-02-30", "2026-13-45"])
def test_an_allow_entry_until_a_day_that_does_not_exist_is_a_finding_not_a_crash(
        stage: Stage, calls: list[str], until: str) -> None:
    _gate(stage, allow=[{"id": "CVE-2026-0042", "until": until, "reason": "not used"}])
    stage.pin("v1")
    checked = stage.cli("validate")
    assert checked.exit_code == 1, checked.output
    found = [e for e in checked.events if e.get("rule") == "scan-gate-date"]
    assert [(e["file"], e["pointer"]) for e in found] == [
        (ENV_DOC, "/ecr/scanGate/allow/0/until")], checked.output
    calls.clear()
    plan = stage.cli("plan")
    assert plan.exit_code == 1, plan.output
    assert "internal error" not in plan.output
    assert any(e.get("rule") == "scan-gate-date" for e in plan.events), plan.output
    assert calls == []  # refused before AWS
