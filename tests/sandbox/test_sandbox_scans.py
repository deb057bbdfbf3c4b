"""The sandbox's DescribeImageScanFindings: per-digest settings, scanOnPush, paging, moto's rest."""

from __future__ import annotations

import json
import urllib.request

import pytest

from release_sandbox.testing import SandboxHandle


def _repository(sandbox: SandboxHandle, name: str, scan_on_push: bool) -> str:
    ecr = sandbox.client("ecr")
    ecr.create_repository(repositoryName=name,
                          imageScanningConfiguration={"scanOnPush": scan_on_push})
    return name


def _image(sandbox: SandboxHandle, repository: str, tag: str) -> str:
    manifest = json.dumps({"schemaVersion": 2, "tag": tag,
                           "mediaType": "application/vnd.docker.distribution.manifest.v2+json"})
    answer = sandbox.client("ecr").put_image(repositoryName=repository, imageManifest=manifest,
                                             imageTag=tag)
    return answer["image"]["imageId"]["imageDigest"]


def _control(sandbox: SandboxHandle, body: dict) -> dict:
    request = urllib.request.Request(f"{sandbox.endpoint}/_sandbox/scan-findings", method="POST",
                                     data=json.dumps(body).encode(),
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=5) as answer:
        return json.loads(answer.read())


def _findings(sandbox: SandboxHandle, repository: str, digest: str, **extra) -> dict:
    return sandbox.client("ecr").describe_image_scan_findings(
        repositoryName=repository, imageId={"imageDigest": digest}, **extra)


def test_scan_on_push_gives_a_complete_clean_scan_and_without_it_moto_has_none(
        sandbox: SandboxHandle) -> None:
    scanned = _repository(sandbox, "scanned", True)
    digest = _image(sandbox, scanned, "v1")
    answer = _findings(sandbox, scanned, digest)
    assert answer["imageScanStatus"]["status"] == "COMPLETE"
    assert answer["imageScanFindings"]["findings"] == []
    assert answer["imageId"] == {"imageDigest": digest, "imageTag": "v1"}
    ecr = sandbox.client("ecr")
    ecr.put_image_scanning_configuration(repositoryName=scanned,
                                         imageScanningConfiguration={"scanOnPush": False})
    with pytest.raises(ecr.exceptions.ScanNotFoundException):
        _findings(sandbox, scanned, digest)  # moto's own answer: no scan was started
    with pytest.raises(ecr.exceptions.ImageNotFoundException):
        _findings(sandbox, scanned, "sha256:" + "0" * 64)


def test_findings_set_per_digest_in_both_shapes_paged_in_progress_or_failed(
        sandbox: SandboxHandle) -> None:
    repo = _repository(sandbox, "app", True)
    bad, worse = _image(sandbox, repo, "bad"), _image(sandbox, repo, "worse")
    _control(sandbox, {"repository": repo, "digest": bad, "findings": [
        {"id": f"CVE-2026-{n}", "severity": "CRITICAL" if n == 0 else "LOW",
         "package": "openssl", "version": "3.0.1"} for n in range(3)]})
    first = _findings(sandbox, repo, bad, maxResults=2)
    assert [f["name"] for f in first["imageScanFindings"]["findings"]] == ["CVE-2026-0",
                                                                           "CVE-2026-1"]
    assert first["imageScanFindings"]["findingSeverityCounts"] == {"CRITICAL": 1, "LOW": 2}
    assert first["imageScanFindings"]["findings"][0]["attributes"] == [
        {"key": "package_name", "value": "openssl"}, {"key": "package_version", "value": "3.0.1"}]
    rest = _findings(sandbox, repo, bad, maxResults=2, nextToken=first["nextToken"])
    assert [f["name"] for f in rest["imageScanFindings"]["findings"]] == ["CVE-2026-2"]
    assert "nextToken" not in rest
    _control(sandbox, {"repository": repo, "digest": worse, "enhanced": True, "findings": [
        {"id": "CVE-2026-9", "severity": "HIGH", "package": "glibc"}]})
    enhanced = _findings(sandbox, repo, worse)
    assert enhanced["imageScanStatus"]["status"] == "ACTIVE"
    [finding] = enhanced["imageScanFindings"]["enhancedFindings"]
    assert finding["packageVulnerabilityDetails"]["vulnerabilityId"] == "CVE-2026-9"
    assert finding["packageVulnerabilityDetails"]["vulnerablePackages"] == [{"name": "glibc"}]
    # a scan in progress completes on the sandbox clock; failures are reported as set
    digest, odd = _image(sandbox, repo, "v1"), _image(sandbox, repo, "odd")
    _control(sandbox, {"repository": repo, "digest": digest, "inProgressSeconds": 60})
    assert _findings(sandbox, repo, digest)["imageScanStatus"]["status"] == "IN_PROGRESS"
    assert "imageScanFindings" not in _findings(sandbox, repo, digest)
    sandbox.clock.advance(61)
    assert _findings(sandbox, repo, digest)["imageScanStatus"]["status"] == "COMPLETE"
    _control(sandbox, {"repository": repo, "digest": odd, "status": "UNSUPPORTED_IMAGE"})
    status = _findings(sandbox, repo, odd)["imageScanStatus"]
    assert status["status"] == "UNSUPPORTED_IMAGE" and "not supported" in status["description"]
