"""Validation report → JUnit XML, so Jenkins' `junit` step shows one test per document."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from release.core.findings import Finding
from release.core.validate import Report

# XML 1.0 forbids most control characters; findings may quote broken input.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _clean(text: str) -> str:
    return _NOT_XML.sub("\ufffd", text)


def _classname(file: str) -> str:
    folder = file.rsplit("/", 1)[0] if "/" in file else "repository"
    return folder.replace("/", ".")


def to_junit(report: Report, strict: bool = False) -> str:
    """One testcase per document checked (plus one per other file with findings)."""
    grouped = report.by_file()
    files = list(dict.fromkeys([*report.documents, *grouped]))
    suite = ET.Element("testsuite", name="release validate", tests=str(len(files)))
    failures = 0
    for file in files:
        case = ET.SubElement(suite, "testcase", classname=_clean(_classname(file)),
                             name=_clean(file))
        found = grouped.get(file, [])
        failing = [f for f in found if f.severity == "error" or strict]
        passing = [f for f in found if f not in failing]
        if failing:
            failures += 1
            first = failing[0]
            failure = ET.SubElement(case, "failure", type=first.rule,
                                    message=_clean(f"{len(failing)} problem(s): "
                                                   f"{first.pointer or '/'}: {first.message}"))
            failure.text = _clean("\n".join(_describe(f) for f in failing))
        if passing:
            out = ET.SubElement(case, "system-out")
            out.text = _clean("\n".join(_describe(f) for f in passing))
    suite.set("failures", str(failures))
    suite.set("errors", "0")
    root = ET.Element("testsuites", name="release validate", tests=str(len(files)),
                      failures=str(failures))
    root.append(suite)
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def _describe(finding: Finding) -> str:
    text = f"{finding.severity} {finding.location}: {finding.message} ({finding.rule})"
    return text + (f"\n  fix: {finding.fix}" if finding.fix else "")
