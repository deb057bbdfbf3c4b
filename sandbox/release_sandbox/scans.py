"""ECR image scan findings the sandbox answers with, settable per image digest.

moto's DescribeImageScanFindings raises ScanNotFoundException until StartImageScan
ran (once a day, on the wall clock), then answers one static HIGH finding
(CVE-9999-9999 in "moto_fake") for every image, whatever the repository's
scanOnPush, and ignores maxResults and nextToken. The sandbox answers instead,
from the ECR API reference:

* scanOnPush: "If set to true, images will be scanned after being pushed." An
  image in such a repository has a COMPLETE basic scan (the sandbox's scanner
  finds nothing unless told otherwise), so production, which scans on push,
  releases in the sandbox as it does in AWS.
* What a test or a demo sets for a digest (`POST /_sandbox/scan-findings`, or
  `ScanFindings.put`): a status (COMPLETE, IN_PROGRESS until N seconds of the
  sandbox clock have passed, FAILED, UNSUPPORTED_IMAGE, ...) and findings, in
  the basic shape (`findings`) or the enhanced one (`enhancedFindings`, status
  ACTIVE, as Amazon Inspector answers).
* Paging, DescribeImageScanFindings' maxResults: "If this parameter is not used,
  then DescribeImageScanFindings returns up to 100 results and a nextToken
  value, if applicable."

Anything else (no setting, scanOnPush off) is moto's own answer.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

from release.core.clock import Clock

DEFAULT_PAGE = 100


@dataclass
class _Setting:
    status: str
    findings: list[dict[str, Any]]
    enhanced: bool
    complete_at: float | None  # IN_PROGRESS until then, COMPLETE/ACTIVE after
    description: str | None = None
    counts: dict[str, int] = field(default_factory=dict)


class ScanFindings:
    """(repository, digest) → the scan the sandbox reports for that image."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self._settings: dict[tuple[str, str], _Setting] = {}
        self._lock = threading.Lock()

    def put(self, repository: str, digest: str, status: str = "COMPLETE",
            findings: list[dict[str, Any]] | None = None, enhanced: bool = False,
            in_progress_seconds: float = 0, description: str | None = None) -> None:
        """Findings are {"id", "severity", "package"?, "version"?}."""
        items = list(findings or [])
        counts: dict[str, int] = {}
        for item in items:
            counts[str(item["severity"])] = counts.get(str(item["severity"]), 0) + 1
        complete_at = self.clock.now() + in_progress_seconds if in_progress_seconds else None
        with self._lock:
            self._settings[(repository, digest)] = _Setting(status, items, enhanced, complete_at,
                                                            description, counts)

    def control(self, request: dict[str, Any]) -> dict[str, Any]:
        """The body of POST /_sandbox/scan-findings."""
        self.put(str(request["repository"]), str(request["digest"]),
                 str(request.get("status", "COMPLETE")), list(request.get("findings", [])),
                 bool(request.get("enhanced", False)),
                 float(request.get("inProgressSeconds", 0)), request.get("description"))
        return {"set": f"{request['repository']}@{request['digest']}"}

    def answer(self, repository: str, registry_id: str, digest: str, tag: str | None,
               scan_on_push: bool, max_results: int | None, next_token: str | None
               ) -> dict[str, Any] | None:
        """The response for one image, or None for moto's own answer."""
        with self._lock:
            setting = self._settings.get((repository, digest))
        if setting is None:
            if not scan_on_push:
                return None
            setting = _Setting("COMPLETE", [], False, None)
        head = {"registryId": registry_id, "repositoryName": repository,
                "imageId": {"imageDigest": digest, **({"imageTag": tag} if tag else {})}}
        status = setting.status
        if setting.complete_at is not None and self.clock.now() < setting.complete_at:
            status = "IN_PROGRESS"
        elif status == "COMPLETE" and setting.enhanced:
            status = "ACTIVE"
        if status not in ("COMPLETE", "ACTIVE"):
            return {**head, "imageScanStatus": {"status": status, "description":
                                                setting.description or _said(status)}}
        start = int(next_token or 0)
        size = int(max_results or DEFAULT_PAGE)
        page = setting.findings[start:start + size]
        shape = _enhanced if setting.enhanced else _basic
        findings = {"enhancedFindings" if setting.enhanced else "findings":
                    [shape(f, registry_id, repository, digest) for f in page]}
        block = {"imageScanCompletedAt": self.clock.now(), "findingSeverityCounts":
                 dict(setting.counts), **findings}
        if not setting.enhanced:
            block["vulnerabilitySourceUpdatedAt"] = self.clock.now()
        more = {"nextToken": str(start + size)} if start + size < len(setting.findings) else {}
        return {**head, "imageScanStatus": {"status": status, "description":
                                            setting.description or _said(status)},
                "imageScanFindings": block, **more}


def _said(status: str) -> str:
    return {"COMPLETE": "The scan was completed successfully.",
            "ACTIVE": "Continuous scan is selected for image.",
            "IN_PROGRESS": "The scan is in progress.",
            "UNSUPPORTED_IMAGE": "The operating system and/or package manager are not "
                                 "supported."}.get(status, f"The scan is {status}.")


def _basic(item: dict[str, Any], registry_id: str, repository: str, digest: str
           ) -> dict[str, Any]:
    attributes = [{"key": "package_name", "value": str(item["package"])}] \
        if item.get("package") else []
    if item.get("version"):
        attributes.append({"key": "package_version", "value": str(item["version"])})
    return {"name": str(item["id"]), "severity": str(item["severity"]),
            "uri": f"https://cve.example.invalid/{item['id']}", "attributes": attributes}


def _enhanced(item: dict[str, Any], registry_id: str, repository: str, digest: str
              ) -> dict[str, Any]:
    package = {k: str(item[v]) for k, v in (("name", "package"), ("version", "version"))
               if item.get(v)}
    return {
        "awsAccountId": registry_id,
        "findingArn": f"arn:aws:inspector2:us-east-1:{registry_id}:finding/{item['id']}",
        "packageVulnerabilityDetails": {"vulnerabilityId": str(item["id"]), "source": "NVD",
                                        "vulnerablePackages": [package] if package else []},
        "severity": str(item["severity"]), "status": "ACTIVE", "type": "PACKAGE_VULNERABILITY",
        "title": f"{item['id']} - {item.get('package', '')}".rstrip(" -"),
        "resources": [{"type": "AWS_ECR_CONTAINER_IMAGE", "id": f"arn:aws:ecr:{repository}/"
                       f"{digest}"}],
    }
