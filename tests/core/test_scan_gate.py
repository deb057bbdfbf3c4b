"""The scan gate's judgement: severities, the allow-list and its dates, counts, statuses."""

from __future__ import annotations

import datetime as dt

import pytest

from release.core.errors import InvalidInput
from release.core.scan_gate import Finding, Scan, gate_of, judge

DOC = {"ecr": {"repository": "app", "scanGate": {
    "severities": ["critical", "HIGH"], "waitSeconds": 60,
    "allow": [{"id": "CVE-2026-1", "until": "2026-12-31", "reason": "not reachable"},
              {"id": "CVE-2026-2", "until": "2026-11-30", "reason": "was fixed upstream"}]}}}
GATE = gate_of(DOC)
TODAY = dt.date(2026, 12, 1)


def _judge(scan: Scan):
    assert GATE is not None
    return judge(GATE, scan, TODAY, "app@sha256:abc", "production", "app")


def test_the_gate_reads_severities_upper_case_and_the_allow_list_dates() -> None:
    assert GATE is not None and GATE.severities == ("CRITICAL", "HIGH")
    assert GATE.wait_seconds == 60 and GATE.allow[1].until == dt.date(2026, 11, 30)
    assert gate_of({"ecr": {"repository": "app"}}) is None


def test_a_date_that_is_no_day_is_an_input_error_naming_its_place() -> None:
    """Validation refuses it (rule scan-gate-date); a value filled in later is refused too."""
    doc = {"ecr": {"scanGate": {"allow": [{"id": "CVE-1", "until": "2026-02-30"}]}}}
    with pytest.raises(InvalidInput) as refused:
        gate_of(doc)
    assert "allow[0].until '2026-02-30'" in refused.value.message
    assert "/ecr/scanGate/allow/0/until" in refused.value.hint


def test_an_unexpired_allow_entry_waives_and_an_expired_one_does_not() -> None:
    waived = _judge(Scan("COMPLETE", findings=(Finding("cve-2026-1", "CRITICAL"),
                                               Finding("CVE-2026-9", "MEDIUM"))))
    assert waived.state == "pass" and "allowed: cve-2026-1" in waived.message
    expired = _judge(Scan("COMPLETE", findings=(Finding("CVE-2026-2", "HIGH", "bash 5"),)))
    assert expired.state == "refuse" and "CVE-2026-2 (HIGH, bash 5)" in expired.message
    assert "allow-list entries expired: CVE-2026-2" in expired.message


def test_counts_above_the_listed_findings_still_refuse() -> None:
    answer = _judge(Scan("COMPLETE", findings=(), counts={"CRITICAL": 2, "LOW": 5}))
    assert answer.state == "refuse" and "2 more counted but not listed" in answer.message


def test_statuses_without_findings_wait_or_refuse_with_the_fix() -> None:
    assert _judge(Scan("PENDING")).state == "wait"
    unsupported = _judge(Scan("UNSUPPORTED_IMAGE", "The operating system is not supported."))
    assert unsupported.state == "refuse" and "cannot scan this image" in unsupported.message
    failed = _judge(Scan("FAILED"))
    assert failed.state == "refuse" and "start-image-scan" in failed.fix
    assert _judge(Scan("SCAN_ELIGIBILITY_EXPIRED")).state == "refuse"
