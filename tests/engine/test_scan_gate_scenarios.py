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
    plan = stage.cli("plan")  # preflight's scan-gate check: the refusal `deploy` would make
    assert plan.exit_code == 1, plan.output
    [gate] = [r for r in plan.first("plan.preflight")["results"] if r["check"] == "scan-gate"]
    assert gate["status"] == "problem" and "CVE-2026-0001" in gate["message"]
    assert gate["where"] == "environments/sandbox/environment.json#/ecr/scanGate"
    assert "CVE-2026-0001 (CRITICAL, openssl 3.0.1)" in plan.first("error")["message"]
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


def test_the_gates_wait_retries_throttling_under_the_one_outage_policy(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The scan gate's wait is preflight's one wait: a throttling answer that outlasted
    botocore is retried (1, 2 s ...) and said once, not a release stopped with exit 5."""
    from pathlib import Path

    import botocore.exceptions as bx

    from release.core import scan_gate
    from release.core.clock import VirtualClock, use_clock
    from release.core.config import load_repo
    from release.engine import scan_gate as gate_engine
    from release.output.events import Reporter

    repo = load_repo(Path(__file__).resolve().parents[2])
    env, spec = repo.environment("production"), repo.services_of("production")[0]
    assert scan_gate.gate_of(env.doc) is not None, "production sets ecr.scanGate"
    throttled = bx.ClientError({"Error": {"Code": "ThrottlingException",
                                          "Message": "Rate exceeded"}},
                               "DescribeImageScanFindings")
    answers: list[Any] = [scan_gate.Answer("wait", "a scan is in progress"), throttled,
                          throttled, scan_gate.Answer("pass", "no finding blocks")]

    def answer(*_: Any, mapped: bool = True) -> scan_gate.Answer:
        assert not mapped  # the loop sees AWS's errors raw, to retry them
        found = answers.pop(0)
        if isinstance(found, Exception):
            raise found
        return found

    monkeypatch.setattr(gate_engine, "_answer", answer)
    clock = VirtualClock(start=0.0)
    previous = use_clock(clock)
    reporter = Reporter("json")
    try:
        settled = gate_engine.settle(env, spec, None, reporter)
    finally:
        use_clock(previous)
    assert settled is not None and settled.state == "pass"
    assert [e.kind for e in reporter.events] == [
        "scan_gate.waiting", "scan_gate.retry", "scan_gate.reconnected", "scan_gate.passed"]
    assert clock.now() == gate_engine.POLL_SECONDS + 1 + 2
