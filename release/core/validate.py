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
from functools import lru_cache
from pathlib import Path
from typing import Any

from release.core import config, redact, template_checks
from release.core import ecs_model as model
from release.core.findings import (  # noqa: F401 - re-exported: the validation API
    ERROR,
    WARNING,
    Finding,
    Loaded,
    RequestCheck,
    did_you_mean,
    pointer_of,
    printable,
)
from release.core.rules import run_rules
from release.core.schemacheck import Unsupported, compile_schema

KINDS = ("taskdef", "environment", "service")
TOOL_SCHEMAS = Path(__file__).resolve().parents[2] / config.SCHEMAS_DIR

# Keys that are misplaced rather than misspelt: say where they belong.
MISPLACED_KEYS = {
    "taskDefinition": "the release registers the task definition itself: name its file and "
                      "family under /taskDefinition of the service spec, not inside /service",
}
# A document saved from a Describe answer (`aws ecs describe-services`, ecspresso's
# service and task definitions) carries what ECS reports beyond the request: (kind, where)
# → (the model's shape, the answer, the request).
REPORTED = {("taskdef", ""): (model.TASK_DEFINITION, "DescribeTaskDefinition",
                              "RegisterTaskDefinition"),
            ("service", "/service"): (model.SERVICE, "DescribeServices", "CreateService")}


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
    rel = relative(root, path)
    try:
        raw = config.read_bytes(path)
        doc = config.parse_json(config.decode(raw, path), path, _object)
    except config.DocumentError as exc:
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


BOM_BYTES = config.BOM.encode("utf-8")


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


def relative(root: Path, path: Path) -> str:
    """Repository-relative posix path (string work: this runs for every document)."""
    base, full = str(root), str(path)
    if full.startswith(base + "/"):
        return full[len(base) + 1:]
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return path.as_posix()


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
                texts[finding.file] = config.read_text(root / finding.file, root)
            except config.DocumentError:
                texts[finding.file] = None
        text = texts[finding.file]
        if text:
            finding.line, finding.column = locate(text, finding.pointer) or (None, None)


# ----------------------------------------------------------------------------- schemas


@dataclass
class SchemaChecker:
    """One compiled schema: a fast yes/no check, and detailed errors on demand."""

    kind: str
    path: Path
    schema: dict[str, Any]
    fast: Any  # Callable[[Any], bool] | None when the fast checker does not support the schema
    _detailed: Any = None

    def is_valid(self, doc: Any) -> bool:
        if self.fast is not None:
            return self.fast(doc)
        return self.detailed().is_valid(doc)

    def detailed(self):  # jsonschema.Draft202012Validator, created once per schema
        if self._detailed is None:
            import jsonschema

            self._detailed = jsonschema.Draft202012Validator(self.schema)
        return self._detailed

    def findings(self, rel: str, doc: Any, keep: Any = None) -> list[Finding]:
        """Findings of jsonschema's errors (only those `keep(error)` accepts, when given)."""
        errors = sorted((e for e in self.detailed().iter_errors(doc) if keep is None or keep(e)),
                        key=lambda e: (list(map(str, e.absolute_path)), e.validator))
        out: list[Finding] = []
        for error in errors:
            out.extend(schema_findings(rel, error, self.kind))
        return out


@lru_cache(maxsize=16)
def _load_checker(kind: str, path: str, stamp: int) -> SchemaChecker:
    schema = config.read_json(Path(path))
    if not isinstance(schema, dict):
        raise ValueError("the schema is not a JSON object")
    try:
        fast = compile_schema(schema)
    except (Unsupported, re.error, TypeError, AttributeError, RecursionError, KeyError):
        import jsonschema

        jsonschema.Draft202012Validator.check_schema(schema)  # unusable → SchemaError
        fast = None
    return SchemaChecker(kind, Path(path), schema, fast)


def load_checker(root: Path, kind: str) -> tuple[SchemaChecker | None, Finding | None]:
    """The schema this version of the tool checks `kind` with, compiled once per process.

    The tool's own schemas win: the rules and typed loaders rely on exactly
    what they promise. The repository's copy (what editors see via $schema)
    is used when the tool has none (an installed wheel), and a copy that
    differs from the tool's is worth a warning.
    """
    name = f"{kind}.schema.json"
    tool, own = TOOL_SCHEMAS / name, root / config.SCHEMAS_DIR / name
    own_rel = f"{config.SCHEMAS_DIR}/{name}"
    note: Finding | None = None
    candidates = [tool, own] if tool.is_file() else [own]
    if tool.is_file() and own.is_file() and tool.resolve() != own.resolve():
        with contextlib.suppress(OSError):
            if own.read_bytes() != tool.read_bytes():
                note = Finding(WARNING, "schema-file", own_rel, "",
                               f"differs from the {kind} schema this version of release checks "
                               "with, so editors may show other problems than `release validate`",
                               "copy the schema from the release tool's schemas/ folder")
    for path in candidates:
        try:
            return _load_checker(kind, str(path), path.stat().st_mtime_ns), note
        except FileNotFoundError:
            continue
        except Exception as exc:  # noqa: BLE001 - a broken schema is a finding, not a crash
            note = Finding(ERROR, "schema-file", relative(root, path), "",
                           f"the {kind} schema cannot be used: {type(exc).__name__}: {exc}",
                           f"restore {own_rel} from the release tool's schemas/ folder")
    return None, note or Finding(ERROR, "schema-file", own_rel, "",
                                 f"no {kind} schema found",
                                 f"restore {own_rel} from the release tool's schemas/ folder")


SCHEMA_RULES = {
    "additionalProperties": "schema-unknown-key",
    "unevaluatedProperties": "schema-unknown-key",
    "required": "schema-required",
    "type": "schema-type",
    "enum": "schema-enum",
    "const": "schema-enum",
    "minimum": "schema-range",
    "maximum": "schema-range",
    "exclusiveMinimum": "schema-range",
    "exclusiveMaximum": "schema-range",
    "minItems": "schema-length",
    "maxItems": "schema-length",
    "minLength": "schema-length",
    "maxLength": "schema-length",
    "pattern": "schema-pattern",
    "propertyNames": "schema-pattern",
    "uniqueItems": "schema-unique",
}


def schema_findings(rel: str, error: Any, kind: str | None = None) -> list[Finding]:
    """Turn one jsonschema error into findings a person can act on."""
    pointer = pointer_of(error.absolute_path)
    schema = error.schema if isinstance(error.schema, dict) else {}
    rule = SCHEMA_RULES.get(error.validator, "schema-invalid")
    if error.validator == "additionalProperties" and isinstance(error.instance, dict):
        allowed = sorted(schema.get("properties", {}))
        shape, answer, request = REPORTED.get((kind or "", pointer), (None, "", ""))
        out = []
        for key in sorted(k for k in error.instance if k not in schema.get("properties", {})):
            reported = shape is not None and key in model.added_by_ecs(shape)
            hint = MISPLACED_KEYS.get(key)
            guess = "" if hint or reported else did_you_mean(key, allowed)
            message = f"unknown key {key!r}{guess}"
            if reported:
                message = f"unknown key {key!r}: {answer} reports it, {request} does not take it"
                fix = ("leave it out: ECS fills it in (a document saved from the "
                       f"{answer} answer, as ecspresso's are, carries it)"
                       + ("; a service role is named in `role`" if key == "roleArn" else ""))
            elif hint:
                fix = hint
            elif guess:
                fix = f"rename it to {guess[len(' (did you mean '):-2]}"
            elif allowed:
                listed = ", ".join(allowed[:15]) + (", ..." if len(allowed) > 15 else "")
                fix = f"remove it; keys allowed here: {listed}"
            else:
                fix = "remove it"
            out.append(Finding(ERROR, rule, rel, pointer + pointer_of([key]), message, fix))
        return out
    if error.validator == "required":
        missing = re.match(r"^'(.*)' is a required property$", error.message)
        key = missing.group(1) if missing else None
        described = schema.get("properties", {}).get(key, {}) if key else {}
        fix = f"add {key!r}" + (f": {described['description']}"
                                if isinstance(described, dict) and described.get("description")
                                else "")
        return [Finding(ERROR, rule, rel, pointer,
                        f"missing required key {key!r}" if key else error.message, fix)]
    if error.validator in ("anyOf", "oneOf") and error.context:
        from jsonschema.exceptions import best_match

        inner = best_match(error.context)
        message = (f"{shown_message(error)}; closest: {shown_message(inner)}" if inner
                   else shown_message(error))
        return [Finding(ERROR, rule, rel, pointer, message,
                        schema.get("description", "") or "see the schema for the allowed forms")]
    if error.validator in _LENGTHS and isinstance(error.instance, list | str | dict):
        return [_length_finding(rel, pointer, error, schema)]
    if error.validator == "uniqueItems":
        return [Finding(ERROR, rule, rel, pointer, "an item is listed twice: each must be "
                        "different", "remove the repeated item")]
    return [Finding(ERROR, rule, rel, pointer, _short(shown_message(error)),
                    schema_fix(error, schema))]


def shown_message(error: Any) -> str:
    """jsonschema's message, which quotes the value, with credentials in it masked: a value
    shaped like one (core/redact.py), or held under a name that says secret. A document
    may be anything a link or a mistake made it (a credentials file): its values are not
    repeated in a report that CI logs keep."""
    path = list(error.absolute_path)
    name = str(path[-1]) if path and isinstance(path[-1], str) else ""
    instance = error.instance
    masked = redact.mask_value(instance, name)
    message = error.message
    if masked != instance:
        message = message.replace(repr(instance), repr(masked))
    return redact.mask(message)


_LENGTHS = {"minItems": ("item", "at least", "is needed", "are needed"),
            "maxItems": ("item", "at most", "is allowed", "are allowed"),
            "minLength": ("character", "at least", "is needed", "are needed"),
            "maxLength": ("character", "at most", "is allowed", "are allowed")}


def _length_finding(rel: str, pointer: str, error: Any, schema: dict[str, Any]) -> Finding:
    """"11 items: at most 10 are allowed here", not jsonschema's repr of the whole list."""
    unit, bound, one, many = _LENGTHS[error.validator]
    limit, size = int(error.validator_value), len(error.instance)
    if isinstance(error.instance, dict):
        unit = "key"
    have = f"{size} {unit}s" if size != 1 else f"1 {unit}"
    message = (f"{'no ' + unit + 's' if size == 0 else have}: {bound} {limit} "
               f"{one if limit == 1 else many} here")
    if bound == "at most":
        extra = size - limit
        fix = f"remove {extra} {unit}{'s' if extra != 1 else ''}" if unit != "character" \
            else f"shorten it to {limit} characters or fewer"
    else:
        fix = f"give {bound} {limit} {unit}{'s' if limit != 1 else ''}"
    description = schema.get("description")
    fix = f"{fix} ({description})" if description and len(description) < 200 else fix
    return Finding(ERROR, SCHEMA_RULES[error.validator], rel, pointer, message, fix)


def _short(message: str, limit: int = 300) -> str:
    return message if len(message) <= limit else message[: limit - 1] + "…"


def schema_fix(error: Any, schema: dict[str, Any]) -> str:
    value = error.validator_value
    if error.validator == "type" and error.instance is None:
        # botocore: "Invalid type for parameter proxyConfiguration, value: None, ..."
        fix = ("leave the key out: null is not a value here (the AWS CLI and SDKs refuse null for "
               "an API field too)")
    elif error.validator == "type":
        fix = f"use a JSON {value if isinstance(value, str) else ' or '.join(value)} here"
    elif error.validator == "enum" and error.instance == "":
        # ecspresso's files carry "launchType": "" (the Go SDK's zero value, never sent)
        fix = "leave the key out: an empty string is none of " + ", ".join(map(str, value))
    elif error.validator == "enum":
        fix = "use one of: " + ", ".join(map(str, value))
    elif error.validator == "const":
        fix = f"use {value!r}"
    elif error.validator in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"):
        low, high = schema.get("minimum"), schema.get("maximum")
        fix = (f"use a value from {low} to {high}" if low is not None and high is not None
               else f"respect the {error.validator} of {value}")
    elif error.validator == "pattern":
        fix = f"make it match {value}"
    elif error.validator == "propertyNames":
        fix = "rename the key: names are letters, digits and _ (see the schema)"
    else:
        fix = "see the schema for the allowed values"
    description = schema.get("description")
    return f"{fix} ({description})" if description and len(description) < 200 else fix


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
            ) -> tuple[config.DocumentSet, list[str]] | None:
    """Every document of the repository and the environments asked for; None when the
    repository's layout leaves nothing to check (the findings say why)."""
    if not root.is_dir():
        findings.append(Finding(ERROR, "repo-layout", root.as_posix(), "",
                                "the repository folder does not exist",
                                "pass --repo with the config repository's root"))
        return None
    try:
        everything = config.discover(root)
    except OSError as exc:
        findings.append(Finding(ERROR, "repo-layout", ".", "",
                                f"cannot list the repository: {exc}", "check the permissions"))
        return None
    if not (root / config.ENVIRONMENTS_DIR).is_dir():
        findings.append(Finding(ERROR, "repo-layout", config.ENVIRONMENTS_DIR, "",
                                "no environments/ folder: this is not a config repository",
                                "run in the repository root or pass --repo; the layout is "
                                "environments/<env>/environment.json + services/<name>.json"))
        return None
    if not everything.environments:
        findings.append(Finding(ERROR, "repo-layout", config.ENVIRONMENTS_DIR, "",
                                "no environments: environments/ has no folders",
                                "add environments/<env>/environment.json"))
    wanted = list(dict.fromkeys(envs or []))
    for name in wanted:
        if name not in everything.environments:
            known = ", ".join(sorted(everything.environments)) or "none"
            findings.append(Finding(ERROR, "unknown-environment", config.ENVIRONMENTS_DIR, "",
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
    docs = config.discover(root, wanted) if wanted else everything
    loaded = Loaded(root=root, filtered=bool(wanted), suspect=set())
    for rel, target in docs.outside.items():  # never read: said once, counted as broken
        findings.append(Finding(ERROR, "document-link", rel, "",
                                f"a symbolic link that leads outside the repository (to "
                                f"{target}); it is not read", config.LINK_FIX))
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
            loaded.environments[name] = (relative(root, path), doc)
    for key, path in docs.services.items():
        doc = _check_document("service", path, report, loaded, checkers["service"])
        if doc is not None:
            loaded.services[key] = (relative(root, path), doc)
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
    rel = relative(root, path)
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
