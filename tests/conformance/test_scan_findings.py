"""DescribeImageScanFindings in the shapes real ECR answers with, through the gate's read.

botocore's Stubber validates every response (and the parameters asked) against the ECR
model: basic scanning (`findings` with attributes), enhanced scanning (Amazon Inspector:
`enhancedFindings`, status ACTIVE), pagination with nextToken, a scan in progress (no
`imageScanFindings` at all), and ScanNotFoundException.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.stub import Stubber
from stub_clients import stubbed_client

from release.adapters.ecr_scan import scan_pages
from release.core import scan_gate
from release.core.config import load_repo

PROJECT = Path(__file__).resolve().parents[2]
DIGEST = "sha256:" + "c" * 64
WHEN = dt.datetime(2026, 11, 30, 12, 0, tzinfo=dt.UTC)
TODAY = dt.date(2026, 12, 1)


@pytest.fixture
def ecr() -> Iterator[tuple[Any, Stubber]]:
    yield from stubbed_client("ecr")


@pytest.fixture(scope="module")
def production() -> Any:
    return load_repo(PROJECT, ["production"]).environment("production")


def _asked(env: Any, token: str | None = None) -> dict[str, Any]:
    return {"registryId": env.account, "repositoryName": env.ecr_repository,
            "imageId": {"imageDigest": DIGEST}, "maxResults": 1000,
            **({"nextToken": token} if token else {})}


def _head(env: Any, status: str, description: str) -> dict[str, Any]:
    return {"registryId": env.account, "repositoryName": env.ecr_repository,
            "imageId": {"imageDigest": DIGEST, "imageTag": "v7"},
            "imageScanStatus": {"status": status, "description": description}}


def _read(client: Any, env: Any) -> scan_gate.Scan:
    return scan_gate.scan_of(scan_pages(client, env, {"imageDigest": DIGEST}))


def _judge(scan: scan_gate.Scan, env: Any) -> scan_gate.Answer:
    gate = scan_gate.gate_of(env.doc)
    assert gate is not None, "production sets ecr.scanGate"
    return scan_gate.judge(gate, scan, TODAY, f"akka-firehose@{DIGEST}", env.name,
                           env.ecr_repository)


def test_basic_findings_over_two_pages_refuse_naming_the_critical_one(ecr, production) -> None:
    client, stub = ecr
    counts = {"CRITICAL": 1, "HIGH": 1, "LOW": 1}
    stub.add_response("describe_image_scan_findings", {
        **_head(production, "COMPLETE", "The scan was completed successfully."),
        "imageScanFindings": {
            "imageScanCompletedAt": WHEN, "vulnerabilitySourceUpdatedAt": WHEN,
            "findingSeverityCounts": counts,
            "findings": [{"name": "CVE-2026-0001", "uri": "https://security-tracker.debian.org/"
                          "tracker/CVE-2026-0001", "severity": "HIGH",
                          "attributes": [{"key": "package_version", "value": "1.2"},
                                         {"key": "package_name", "value": "zlib"},
                                         {"key": "CVSS2_SCORE", "value": "7.5"}]}]},
        "nextToken": "page-2"}, _asked(production))
    stub.add_response("describe_image_scan_findings", {
        **_head(production, "COMPLETE", "The scan was completed successfully."),
        "imageScanFindings": {
            "imageScanCompletedAt": WHEN, "findingSeverityCounts": counts,
            "findings": [{"name": "CVE-2026-0002", "severity": "CRITICAL",
                          "attributes": [{"key": "package_name", "value": "openssl"},
                                         {"key": "package_version", "value": "3.0.1"}]},
                         {"name": "CVE-2026-0003", "severity": "LOW"}]}},
        _asked(production, "page-2"))
    scan = _read(client, production)
    assert scan.status == "COMPLETE" and len(scan.findings) == 3
    answer = _judge(scan, production)
    assert answer.state == "refuse"
    assert [f.one_line() for f in answer.blocking] == ["CVE-2026-0002 (CRITICAL, openssl 3.0.1)"]
    assert "1 CRITICAL finding(s) that production does not accept" in answer.message
    assert "ecr.scanGate.allow" in answer.fix and "release build" in answer.fix


def test_enhanced_findings_are_read_by_vulnerability_id(ecr, production) -> None:
    client, stub = ecr
    stub.add_response("describe_image_scan_findings", {
        **_head(production, "ACTIVE", "Continuous scan is selected for image."),
        "imageScanFindings": {
            "findingSeverityCounts": {"CRITICAL": 1, "MEDIUM": 1},
            "enhancedFindings": [
                {"awsAccountId": production.account, "description": "heap overflow",
                 "findingArn": "arn:aws:inspector2:us-east-1:123456789012:finding/abc",
                 "firstObservedAt": WHEN, "lastObservedAt": WHEN,
                 "packageVulnerabilityDetails": {
                     "vulnerabilityId": "CVE-2026-1111", "source": "NVD",
                     "cvss": [{"baseScore": 9.8, "scoringVector": "CVSS:3.1/AV:N",
                               "source": "NVD", "version": "3.1"}],
                     "vulnerablePackages": [{"name": "libxml2", "version": "2.9.10",
                                             "packageManager": "OS"}]},
                 "severity": "CRITICAL", "status": "ACTIVE", "title": "CVE-2026-1111 - libxml2",
                 "type": "PACKAGE_VULNERABILITY", "fixAvailable": "YES"},
                {"awsAccountId": production.account, "severity": "MEDIUM", "status": "ACTIVE",
                 "title": "CVE-2026-2222 - bash", "type": "PACKAGE_VULNERABILITY",
                 "packageVulnerabilityDetails": {"vulnerabilityId": "CVE-2026-2222",
                                                 "source": "NVD"}}]}},
        _asked(production))
    scan = _read(client, production)
    assert [(f.id, f.severity, f.package) for f in scan.findings] == [
        ("CVE-2026-1111", "CRITICAL", "libxml2 2.9.10"), ("CVE-2026-2222", "MEDIUM", None)]
    answer = _judge(scan, production)
    assert answer.state == "refuse" and "CVE-2026-1111 (CRITICAL, libxml2 2.9.10)" in \
        answer.message


def test_a_scan_in_progress_has_no_findings_block_and_is_waited_for(ecr, production) -> None:
    client, stub = ecr
    stub.add_response("describe_image_scan_findings",
                      _head(production, "IN_PROGRESS", "The scan is in progress."),
                      _asked(production))
    scan = _read(client, production)
    assert scan.findings == () and _judge(scan, production).state == "wait"


def test_no_scan_at_all_refuses_with_how_to_start_one(ecr, production) -> None:
    client, stub = ecr
    stub.add_client_error("describe_image_scan_findings", "ScanNotFoundException",
                          "Image scan does not exist for the image with '{imageDigest:'"
                          f"{DIGEST}', imageTag:'null'}}' in the repository with name "
                          "'akka-firehose' in the registry with id '123456789012'",
                          expected_params=_asked(production))
    answer = _judge(_read(client, production), production)
    assert answer.state == "refuse" and "ScanNotFoundException" in answer.message
    assert "start-image-scan" in answer.fix and "scanOnPush" in answer.fix


def test_a_clean_complete_scan_with_no_findings_list_passes(ecr, production) -> None:
    client, stub = ecr
    # real ECR leaves `findings` out when there are none; only the counts map remains
    stub.add_response("describe_image_scan_findings", {
        **_head(production, "COMPLETE", "The scan was completed successfully."),
        "imageScanFindings": {"imageScanCompletedAt": WHEN, "findingSeverityCounts": {}}},
        _asked(production))
    assert _judge(_read(client, production), production).state == "pass"
