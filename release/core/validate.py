"""Validate a config repository: documents → schemas → cross-document rules → findings.

Two layers, both reported with file, JSON pointer, a sentence a person can act
on and how to fix it: the JSON Schemas in schemas/ (what one document may
say), then the rules in release/core/rules/ (what no schema can express: the
load balancer's container and port exist in the task definition, a rolling
update can be placed, and so on). Rules only look at documents that passed
their schema, so they may trust the shapes.

Nothing here raises for bad input: unreadable files, malformed JSON, wrong
types and missing folders all become findings. jsonschema is imported only
when a document fails the fast check (release/core/schemacheck.py), because a
clean run should not pay for error machinery it does not use.
"""

from __future__ import annotations

import contextlib
import gc
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from release.core import documents, redact, template_checks
from release.core.findings import (
    ERROR,
    WARNING,
    Finding,
    Loaded,
    RequestCheck,
    pointer_of,
)
from release.core.rules import run_rules
from release.core.schema_findings import SchemaChecker, load_checker

KINDS = ("taskdef", "environment", "service")


@dataclass
class Report:
    findings: list[Finding] = field(default_factory=list)
    documents: list[str] = field(default_factory=list)  # repo-relative files checked
    broken: set[str] = field(default_factory=set)  # files that failed to parse or their schema

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == ERROR]

    @property
    def warnings(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == WARNING]

    def failed(self, strict: bool = False) -> bool:
        """Errors fail; warnings fail only in strict mode."""
        return bool(self.errors or (strict and self.warnings))

    def by_file(self) -> dict[str, list[Finding]]:
        grouped: dict[str, list[Finding]] = {}
        for finding in self.findings:
            grouped.setdefault(finding.file, []).append(finding)
        return grouped


# ----------------------------------------------------------------------------- documents


def read_document(root: Path, path: Path) -> tuple[Any, list[Finding]]:
    """Parse one file with the one document reader; any failure becomes a finding.

    A byte order mark is accepted (as by every command, through the same reader) with
    a warning, because other JSON tools in a pipeline may refuse it.
    """
    rel = documents.relative(root, path)
    try:
        raw = documents.read_bytes(path)
        doc = documents.parse_json(documents.decode(raw, path), path, _object)
    except documents.DocumentError as exc:
        return None, [Finding(ERROR, exc.rule, rel, "", exc.message, exc.fix, exc.line,
                              exc.column)]
    if b"{{" in raw:  # a template, perhaps (core/templates.py): only then are strings walked
        _TEMPLATED[0] += 1
    if (b'"key"' in raw or any(marker in raw for marker in _MARKERS)  # a credential, perhaps
            or (b"@" in raw and b"://" in raw)):  # (core/redact.maybe_credential, on bytes)
        _SUSPECT[0] += 1
    if raw.startswith(BOM_BYTES):
        return doc, [Finding(WARNING, "json-bom", rel, "",
                             "the file starts with a UTF-8 byte order mark; release ignores "
                             "it, other JSON tools may not",
                             "save the file as UTF-8 without a BOM")]
    return doc, []


BOM_BYTES = documents.BOM.encode("utf-8")


class DuplicateKeys(dict):
    """A JSON object that repeated a key: parsers keep the last value silently, we report it."""

    duplicates: list[str]


_DUPLICATE_OBJECTS = [0]  # objects with repeated keys parsed so far: a cheap "any?" test
_TEMPLATED = [0]  # documents read so far whose text holds "{{": the same kind of test
_SUSPECT = [0]  # ... whose text holds a marker of a credential or a tag (rules/secrets.py)
_MARKERS = tuple(marker.encode() for marker in redact.MARKERS)


def _object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    built = dict(pairs)
    if len(built) == len(pairs):
        return built
    _DUPLICATE_OBJECTS[0] += 1
    marked = DuplicateKeys(built)
    seen: set[str] = set()
    marked.duplicates = [k for k, _ in pairs if k in seen or seen.add(k)]  # type: ignore[func-returns-value]
    return marked


def duplicate_key_findings(rel: str, doc: Any, path: tuple = ()) -> list[Finding]:
    """Findings for every repeated key in a parsed document (rare: only walked when one exists)."""
    out: list[Finding] = []
    if isinstance(doc, DuplicateKeys):
        for key in dict.fromkeys(doc.duplicates):
            out.append(Finding(ERROR, "json-duplicate-key", rel, pointer_of((*path, key)),
                               f"key {key!r} appears more than once in this object; JSON readers "
                               "silently keep only the last one",
                               "keep one of them (the last one is what would be used)"))
    if isinstance(doc, dict):
        for key, value in doc.items():
            out.extend(duplicate_key_findings(rel, value, (*path, key)))
    elif isinstance(doc, list):
        for index, value in enumerate(doc):
            out.extend(duplicate_key_findings(rel, value, (*path, index)))
    return out


_SPACE = re.compile(r"[ \t\n\r]*")
_STRING = re.compile(r'"(?:[^"\\]|\\.)*"', re.S)
_SCALAR = re.compile(r"[^,\]}\s]+")


def locate(text: str, pointer: str) -> tuple[int, int] | None:
    """Line and column of the value (or object key) a JSON pointer names; else its nearest parent.

    Only run for files that have findings, so a small scanner beats carrying
    positions through every parse.
    """
    want = [p.replace("~1", "/").replace("~0", "~") for p in pointer.split("/")[1:]]
    best = [_SPACE.match(text, 0).end()]

    def skip(i: int) -> int:
        return _SPACE.match(text, i).end()

    def value(i: int, depth: int) -> int:  # depth: segments matched so far, -1 when off the path
        i = skip(i)
        opener = text[i:i + 1]
        if opener not in ("{", "["):
            match = _STRING.match(text, i) if opener == '"' else _SCALAR.match(text, i)
            if not match:
                raise ValueError(i)
            return match.end()
        closer, index, i = ("}" if opener == "{" else "]"), 0, skip(i + 1)
        if text[i:i + 1] == closer:
            return i + 1
        while True:
            i = skip(i)
            at = i
            if opener == "{":
                match = _STRING.match(text, i)
                if not match:
                    raise ValueError(i)
                name = json.loads(match.group())
                i = skip(match.end()) + 1  # past the colon
            else:
                name, index = str(index), index + 1
            on_path = 0 <= depth < len(want) and name == want[depth]
            if on_path:
                best[0] = at
            i = skip(value(i, depth + 1 if on_path else -1))
            if text[i:i + 1] == ",":
                i += 1
                continue
            return i + 1

    with contextlib.suppress(ValueError, IndexError, RecursionError):
        value(0, 0)
    offset = best[0]
    line = text.count("\n", 0, offset) + 1
    return line, offset - (text.rfind("\n", 0, offset) + 1) + 1


def add_positions(root: Path, findings: list[Finding]) -> None:
    """Fill in line/column for findings in files that exist (a few files, read once each)."""
    texts: dict[str, str | None] = {}
    for finding in findings:
        if finding.line is not None or finding.file.endswith("/") or not finding.file:
            continue
        if finding.file not in texts:
            try:
                texts[finding.file] = documents.read_text(root / finding.file, root)
            except documents.DocumentError:
                texts[finding.file] = None
        text = texts[finding.file]
        if text:
            finding.line, finding.column = locate(text, finding.pointer) or (None, None)


# ----------------------------------------------------------------------------- the repository


def validate_repo(root: Path, envs: list[str] | None = None, *,
                  api_check: RequestCheck | None = None) -> Report:
    """Check every document of the repository (or of the given environments).

    `api_check`, when given, also runs the ECS API's own parameter validation
    on the rendered register-task-definition input (the edges pass botocore's,
    release/adapters/apicheck.py; it costs about 0.1 s of botocore imports, so
    `release validate` only asks for it with --strict, while commands that go
    on to call AWS import botocore anyway and pass it).
    """
    root = Path(root)
    report = Report()
    collecting = gc.isenabled()
    gc.disable()  # thousands of small, long-lived dicts: collection passes only cost time here
    try:
        _validate(root, envs, report, api_check)
    except RecursionError:
        report.findings.append(Finding(ERROR, "json-malformed", ".", "",
                                       "a document is nested too deeply to check",
                                       "simplify the deeply nested document"))
    finally:
        if collecting:
            gc.enable()
    add_positions(root, report.findings)
    report.findings.sort(key=lambda f: (f.file, f.severity != ERROR, f.pointer, f.rule))
    return report


def _layout(root: Path, envs: list[str] | None, findings: list[Finding]
            ) -> tuple[documents.DocumentSet, list[str]] | None:
    """Every document of the repository and the environments asked for; None when the
    repository's layout leaves nothing to check (the findings say why)."""
    if not root.is_dir():
        findings.append(Finding(ERROR, "repo-layout", root.as_posix(), "",
                                "the repository folder does not exist",
                                "pass --repo with the config repository's root"))
        return None
    try:
        everything = documents.discover(root)
    except OSError as exc:
        findings.append(Finding(ERROR, "repo-layout", ".", "",
                                f"cannot list the repository: {exc}", "check the permissions"))
        return None
    if not (root / documents.ENVIRONMENTS_DIR).is_dir():
        findings.append(Finding(ERROR, "repo-layout", documents.ENVIRONMENTS_DIR, "",
                                "no environments/ folder: this is not a config repository",
                                "run in the repository root or pass --repo; the layout is "
                                "environments/<env>/environment.json + services/<name>.json"))
        return None
    if not everything.environments:
        findings.append(Finding(ERROR, "repo-layout", documents.ENVIRONMENTS_DIR, "",
                                "no environments: environments/ has no folders",
                                "add environments/<env>/environment.json"))
    wanted = list(dict.fromkeys(envs or []))
    for name in wanted:
        if name not in everything.environments:
            known = ", ".join(sorted(everything.environments)) or "none"
            findings.append(Finding(ERROR, "unknown-environment", documents.ENVIRONMENTS_DIR, "",
                                    f"unknown environment {name!r}",
                                    f"environments in this repository: {known}"))
    return everything, wanted


def _validate(root: Path, envs: list[str] | None, report: Report,
              api_check: RequestCheck | None) -> None:
    findings = report.findings
    layout = _layout(root, envs, findings)
    if layout is None:
        return
    everything, wanted = layout
    docs = documents.discover(root, wanted) if wanted else everything
    loaded = Loaded(root=root, filtered=bool(wanted), suspect=set())
    for rel, target in docs.outside.items():  # never read: said once, counted as broken
        findings.append(Finding(ERROR, "document-link", rel, "",
                                f"a symbolic link that leads outside the repository (to "
                                f"{target}); it is not read", documents.LINK_FIX))
        loaded.present.add(rel)
        loaded.broken.add(rel)

    checkers: dict[str, SchemaChecker | None] = {}
    for kind in KINDS:
        checker, problem = load_checker(root, kind)
        checkers[kind] = checker
        if problem:
            findings.append(problem)

    for name, path in docs.environments.items():
        doc = _check_document("environment", path, report, loaded, checkers["environment"])
        if doc is not None:
            loaded.environments[name] = (documents.relative(root, path), doc)
    for key, path in docs.services.items():
        doc = _check_document("service", path, report, loaded, checkers["service"])
        if doc is not None:
            loaded.services[key] = (documents.relative(root, path), doc)
    taskdef_files = docs.taskdefs
    if wanted:  # only the task definitions the chosen environments' services use
        taskdef_files = {rel: p for rel, p in everything.taskdefs.items()
                         if rel in loaded.referenced}
        loaded.present.update(everything.taskdefs)
    for rel, path in taskdef_files.items():
        doc = _check_document("taskdef", path, report, loaded, checkers["taskdef"])
        if doc is not None:
            loaded.taskdefs[rel] = doc

    report.broken = loaded.broken
    findings.extend(run_rules(loaded, api_check))


def _check_document(kind: str, path: Path, report: Report, loaded: Loaded,
                    checker: SchemaChecker | None) -> dict[str, Any] | None:
    """One document parsed and schema-checked; None (findings say why) if rules cannot use it."""
    root, findings = loaded.root, report.findings
    rel = documents.relative(root, path)
    report.documents.append(rel)
    loaded.present.add(rel)
    repeated_before, templated_before = _DUPLICATE_OBJECTS[0], _TEMPLATED[0]
    suspect_before = _SUSPECT[0]
    doc, problems = read_document(root, path)
    if _SUSPECT[0] != suspect_before and loaded.suspect is not None:
        loaded.suspect.add(rel)
    findings.extend(problems)
    if any(p.severity == ERROR for p in problems):
        loaded.broken.add(rel)
        return None
    if _DUPLICATE_OBJECTS[0] != repeated_before:
        findings.extend(duplicate_key_findings(rel, doc))
        loaded.broken.add(rel)
        return None
    if kind == "service" and isinstance(doc, dict):
        reference = doc.get("taskDefinition")
        if isinstance(reference, dict) and isinstance(reference.get("file"), str):
            loaded.referenced.add(reference["file"])
    templated = _TEMPLATED[0] != templated_before
    if templated:  # templates that cannot be resolved (core/templates.py)
        found = template_checks.findings(kind, rel, doc, loaded.environments)
        findings.extend(found)
        if any(f.severity == ERROR for f in found):
            loaded.broken.add(rel)
            return None
    if checker is None:  # no usable schema: reported once above; rules cannot trust it
        loaded.broken.add(rel)
        return None
    if checker.is_valid(doc):
        return doc
    # an unresolved template is an opaque string: patterns and enums judge its value later
    found = checker.findings(rel, doc, (lambda e: not template_checks.spurious(e)) if templated
                             else None)
    findings.extend(found)
    if found:
        loaded.broken.add(rel)
        return None
    return doc
