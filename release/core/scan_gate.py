"""The ECR scan gate: may this image be released here, judged from its scan findings.

An environment that sets `ecr.scanGate` (production in this repository) refuses
a release whose pinned image has findings of the gated severities, except ids
on the allow-list until their date. The judgement is pure: the adapter
(adapters/ecr_scan.py) reads the DescribeImageScanFindings pages, the engine
(engine/scan_gate.py) waits for a scan in progress within the gate's bound.

Both shapes ECR answers in are read: basic scanning (`findings`: name,
severity, attributes such as package_name) and enhanced scanning, Amazon
Inspector (`enhancedFindings`: packageVulnerabilityDetails.vulnerabilityId,
severity, vulnerablePackages). `findingSeverityCounts` counts every finding,
listed or not, so a count above what the pages listed still refuses.

`release rollback` is not gated: at 3 a.m. the way back is to a digest that was
released (and scanned) before; a CVE published since must not block the way
out of an outage. The release after it is gated again.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from release.core.errors import InvalidInput

DEFAULT_WAIT_SECONDS = 300
JUDGED = ("COMPLETE", "ACTIVE")  # ACTIVE: enhanced (continuous) scanning, findings current
WAITING = ("IN_PROGRESS", "PENDING")
NOT_FOUND = "SCAN_NOT_FOUND"  # ScanNotFoundException: no scan of this image exists


@dataclass(frozen=True)
class Allowed:
    id: str
    until: dt.date
    reason: str


@dataclass(frozen=True)
class Gate:
    severities: tuple[str, ...]
    allow: tuple[Allowed, ...] = ()
    wait_seconds: int = DEFAULT_WAIT_SECONDS


@dataclass(frozen=True)
class Finding:
    id: str
    severity: str
    package: str | None = None

    def one_line(self) -> str:
        return f"{self.id} ({self.severity}{', ' + self.package if self.package else ''})"


@dataclass(frozen=True)
class Scan:
    """What the DescribeImageScanFindings pages say, in one piece."""

    status: str
    description: str = ""
    findings: tuple[Finding, ...] = ()
    counts: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class Answer:
    """pass, wait (a scan in progress) or refuse, with what to say and what to do."""

    state: str
    message: str
    fix: str = ""
    blocking: tuple[Finding, ...] = ()
    waived: tuple[Finding, ...] = ()


def gate_of(env_doc: dict[str, Any]) -> Gate | None:
    """The environment's /ecr/scanGate (the schema checked its shape), None when unset."""
    block = (env_doc.get("ecr") or {}).get("scanGate")
    if not isinstance(block, dict):
        return None
    allow = tuple(Allowed(str(a["id"]), _day(a["until"], index), str(a.get("reason", "")))
                  for index, a in enumerate(block.get("allow", [])))
    return Gate(tuple(str(s).upper() for s in block.get("severities", ["CRITICAL"])), allow,
                int(block.get("waitSeconds", DEFAULT_WAIT_SECONDS)))


def _day(until: object, index: int) -> dt.date:
    """An allow entry's date; validation refuses one that is no day (rule scan-gate-date),
    so this is reached only by a value filled in from outside git."""
    try:
        return dt.date.fromisoformat(str(until))
    except ValueError:
        raise InvalidInput(f"ecr.scanGate.allow[{index}].until {until!r} is not a date",
                           "write a real date (YYYY-MM-DD) in environment.json "
                           f"/ecr/scanGate/allow/{index}/until; nothing was changed") from None


# ------------------------------------------------------------------ reading the pages


def _basic(finding: dict[str, Any]) -> Finding:
    attributes = {a.get("key"): a.get("value") for a in finding.get("attributes", [])}
    package = attributes.get("package_name")
    if package and attributes.get("package_version"):
        package = f"{package} {attributes['package_version']}"
    return Finding(str(finding.get("name") or "?"), str(finding.get("severity") or "UNDEFINED"),
                   package)


def _enhanced(finding: dict[str, Any]) -> Finding:
    details = finding.get("packageVulnerabilityDetails") or {}
    packages = details.get("vulnerablePackages") or []
    package = None
    if packages:
        first = packages[0]
        package = " ".join(str(p) for p in (first.get("name"), first.get("version")) if p)
    return Finding(str(details.get("vulnerabilityId") or finding.get("title") or "?"),
                   str(finding.get("severity") or "UNTRIAGED"), package or None)


def scan_of(pages: list[dict[str, Any]]) -> Scan:
    """The pages of one DescribeImageScanFindings read (nextToken followed) → one Scan."""
    if not pages:
        return Scan(NOT_FOUND)
    status = pages[0].get("imageScanStatus") or {}
    findings: list[Finding] = []
    counts: dict[str, int] = {}
    for page in pages:
        block = page.get("imageScanFindings") or {}
        findings += [_basic(f) for f in block.get("findings", [])]
        findings += [_enhanced(f) for f in block.get("enhancedFindings", [])]
        counts = dict(block.get("findingSeverityCounts") or counts)
    return Scan(str(status.get("status") or "UNKNOWN"), str(status.get("description") or ""),
                tuple(findings), counts)


# ------------------------------------------------------------------------- judging


def judge(gate: Gate, scan: Scan, today: dt.date, image: str, env: str,
          repository: str) -> Answer:
    """The gate's answer for `image` (as pinned) in environment `env`."""
    if scan.status in WAITING:
        return Answer("wait", f"the scan of {image} is {scan.status}")
    if scan.status not in JUDGED:
        return _unjudged(scan, image, repository)
    gated = [f for f in scan.findings if f.severity.upper() in gate.severities]
    allowed = {a.id.upper(): a for a in gate.allow}
    waived = tuple(f for f in gated if f.id.upper() in allowed
                   and today <= allowed[f.id.upper()].until)
    blocking = [f for f in gated if f not in waived]
    unlisted = sum(max(0, n - sum(1 for f in scan.findings if f.severity == sev))
                   for sev, n in scan.counts.items() if sev.upper() in gate.severities)
    if not blocking and not unlisted:
        note = f"; allowed: {', '.join(f.id for f in waived)}" if waived else ""
        return Answer("pass", f"scan gate: {image} has no {'/'.join(gate.severities)} finding"
                      f"{note}", waived=waived)
    expired = [f.id for f in blocking if f.id.upper() in allowed]
    shown = ", ".join(f.one_line() for f in blocking[:10]) + (
        f" and {len(blocking) - 10} more" if len(blocking) > 10 else "")
    if unlisted:
        shown += (", " if shown else "") + f"{unlisted} more counted but not listed"
    message = (f"scan gate: {image} has {len(blocking) + unlisted} "
               f"{'/'.join(gate.severities)} finding(s) that {env} does not accept: {shown}"
               + (f" (allow-list entries expired: {', '.join(expired)})" if expired else ""))
    fix = (f"rebuild the image on patched packages (`release build --env {env} --push`) and "
           f"pin it, or accept a finding until a date: add {{\"id\", \"until\", \"reason\"}} to "
           f"ecr.scanGate.allow in environments/{env}/environment.json; nothing was changed")
    return Answer("refuse", message, fix, tuple(blocking), waived)


def _unjudged(scan: Scan, image: str, repository: str) -> Answer:
    """No findings to judge: say why, and how to get a scan."""
    start = (f"start one with `aws ecr start-image-scan --repository-name {repository} "
             f"--image-id imageDigest=…` (basic scanning) or turn on scanOnPush "
             f"(environment.json ecr.scanOnPush, applied by `release bootstrap`) and push again")
    if scan.status == NOT_FOUND:
        return Answer("refuse", f"scan gate: {image} has no scan findings (ScanNotFound"
                      f"Exception{': ' + scan.description if scan.description else ''})",
                      f"{start}; then release again; nothing was changed")
    what = {"UNSUPPORTED_IMAGE": "ECR cannot scan this image (its OS or format is not "
            "supported)", "FAILED": "the scan failed"}.get(scan.status, f"the scan is "
                                                          f"{scan.status}")
    return Answer("refuse", f"scan gate: {what} for {image}"
                  + (f" ({scan.description})" if scan.description else ""),
                  f"{start}, or scan it with another tool and accept it by hand; the gate "
                  "releases only a judged image; nothing was changed")


def combined(answers: list[Answer]) -> Answer:
    """One answer for a service's images (one per pin, each judged in its own repository):
    refused when any is refused, else waiting when any scan is in progress, else passed."""
    if len(answers) == 1:
        return answers[0]
    for state in ("refuse", "wait", "pass"):
        these = [a for a in answers if a.state == state]
        if these:
            fixes = list(dict.fromkeys(a.fix for a in these if a.fix))
            return Answer(state, "; ".join(a.message for a in these), "; ".join(fixes),
                          tuple(f for a in these for f in a.blocking),
                          tuple(f for a in answers for f in a.waived))
    return Answer("pass", "scan gate: no image pinned")
