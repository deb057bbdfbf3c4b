"""One document against its JSON Schema: a fast yes/no, then jsonschema's errors as findings.

jsonschema is imported only when a document fails the fast check
(release/core/schemacheck.py), because a clean run should not pay for error
machinery it does not use. Each error becomes a finding with the file, the JSON
pointer, a sentence a person can act on and how to fix it (validate.py runs this
for every document, then the rules).
"""

from __future__ import annotations

import contextlib
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from release.core import documents, redact
from release.core import ecs_model as model
from release.core.findings import ERROR, WARNING, Finding, did_you_mean, pointer_of
from release.core.schemacheck import Unsupported, compile_schema

TOOL_SCHEMAS = Path(__file__).resolve().parents[2] / documents.SCHEMAS_DIR

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
    schema = documents.read_json(Path(path))
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
    tool, own = TOOL_SCHEMAS / name, root / documents.SCHEMAS_DIR / name
    own_rel = f"{documents.SCHEMAS_DIR}/{name}"
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
            note = Finding(ERROR, "schema-file", documents.relative(root, path), "",
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
