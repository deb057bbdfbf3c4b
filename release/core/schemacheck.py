"""A yes/no JSON Schema checker compiled to closures, for the subset our schemas use.

Why: `release validate` checks thousands of documents and nearly all of them
are valid. Asking "is it valid?" through compiled closures is many times
faster than jsonschema's full error machinery, and it lets a clean run skip
importing jsonschema at all. Only documents that fail here are handed to
jsonschema (validate.py) for the detailed, human-readable errors, so the
messages stay jsonschema's and the answer must agree with it exactly: every
keyword follows the 2020-12 semantics (a keyword only constrains instances of
its own type; booleans are not numbers; 1.0 is an integer). A schema that
uses a keyword this module does not know raises `Unsupported`, and the caller
falls back to jsonschema for everything.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

Check = Callable[[Any], bool]

# Keywords that never constrain an instance.
ANNOTATIONS = frozenset({
    "$schema", "$id", "$comment", "title", "description", "default", "examples",
    "deprecated", "readOnly", "writeOnly", "markdownDescription", "$defs", "definitions",
})


class Unsupported(Exception):
    """The schema uses a keyword (or form) this checker does not implement."""


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _is_integer(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return True
    return isinstance(value, float) and value.is_integer()


TYPE_TESTS: dict[str, Check] = {
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "string": lambda v: isinstance(v, str),
    "integer": _is_integer,
    "number": _is_number,
    "boolean": lambda v: isinstance(v, bool),
    "null": lambda v: v is None,
}


def _freeze(value: Any) -> Any:
    """A hashable stand-in that is equal exactly when jsonschema's `equal` says so."""
    if isinstance(value, bool):
        return ("b", value)
    if isinstance(value, int | float):
        return ("n", value)
    if isinstance(value, str):
        return ("s", value)
    if value is None:
        return ("z",)
    if isinstance(value, list):
        return ("l", tuple(_freeze(v) for v in value))
    return ("d", frozenset((k, _freeze(v)) for k, v in value.items()))


class Compiler:
    """Compiles one root schema; `$ref`s to `#/...` are resolved lazily (they may recurse)."""

    def __init__(self, root: dict[str, Any]) -> None:
        self.root = root
        self._refs: dict[str, Check] = {}

    def compile(self) -> Check:
        return self.node(self.root)

    def _ref(self, ref: str) -> Check:
        if not ref.startswith("#"):
            raise Unsupported(f"remote $ref {ref!r}")
        if ref in self._refs:
            return self._refs[ref]
        target: Any = self.root
        for part in filter(None, ref[1:].split("/")):
            part = part.replace("~1", "/").replace("~0", "~")
            try:
                target = target[int(part)] if isinstance(target, list) else target[part]
            except (KeyError, IndexError, ValueError, TypeError):
                raise Unsupported(f"unresolvable $ref {ref!r}") from None
        cell: list[Check] = []
        self._refs[ref] = lambda v: cell[0](v)
        cell.append(self.node(target))
        self._refs[ref] = cell[0]
        return cell[0]

    def node(self, schema: Any) -> Check:  # noqa: C901 - one branch per keyword reads best
        if schema is True or schema == {}:
            return lambda v: True
        if schema is False:
            return lambda v: False
        if not isinstance(schema, dict):
            raise Unsupported(f"schema node of type {type(schema).__name__}")
        checks: list[Check] = []
        keys = set(schema) - ANNOTATIONS
        objects = bool(keys & OBJECT_WORDS)
        arrays = bool(keys & ARRAY_WORDS)
        only: str | None = None  # "object"/"array" when the type test folds into that check
        if "type" in keys:
            types = schema["type"]
            names = [types] if isinstance(types, str) else list(types)
            if any(n not in TYPE_TESTS for n in names):
                raise Unsupported(f"type {types!r}")
            if names in (["object"], ["array"]) and (objects if names == ["object"] else arrays):
                only = names[0]
            else:
                tests = [TYPE_TESTS[n] for n in names]
                checks.append(tests[0] if len(tests) == 1
                              else (lambda v: any(t(v) for t in tests)))
        if "enum" in keys:
            checks.append(_enum(schema["enum"]))
        if "const" in keys:
            checks.append(_enum([schema["const"]]))
        checks.extend(self._numbers(schema, keys))
        checks.extend(self._strings(schema, keys))
        if objects:
            checks.append(self._object(schema, only == "object"))
        if arrays:
            checks.append(self._array(schema, only == "array"))
        for word in ("allOf", "anyOf", "oneOf"):
            if word in keys:
                subs = [self.node(s) for s in schema[word]]
                checks.append(_combine(word, subs))
        if "not" in keys:
            inner = self.node(schema["not"])
            checks.append(lambda v: not inner(v))
        if "if" in keys:  # then/else apply by the condition's answer; alone they do nothing
            when, then, other = (self.node(schema.get(w, True)) for w in ("if", "then", "else"))
            checks.append(lambda v: then(v) if when(v) else other(v))
        if "$ref" in keys:  # resolved now: a recursive one meets the cell _ref leaves for it
            checks.append(self._ref(schema["$ref"]))
        unknown = keys - HANDLED
        if unknown:
            raise Unsupported(f"keywords {sorted(unknown)}")
        if not checks:
            return lambda v: True
        if len(checks) == 1:
            return checks[0]
        if len(checks) == 2:
            first, second = checks
            return lambda v: first(v) and second(v)
        frozen = tuple(checks)

        def all_of(value: Any) -> bool:  # a plain loop: the hottest path, no generator
            for check in frozen:  # noqa: SIM110
                if not check(value):
                    return False
            return True

        return all_of

    @staticmethod
    def _numbers(schema: dict[str, Any], keys: set[str]) -> list[Check]:
        out: list[Check] = []
        if "minimum" in keys:
            low = schema["minimum"]
            out.append(lambda v: not _is_number(v) or not v < low)  # NaN passes, as in jsonschema
        if "maximum" in keys:
            high = schema["maximum"]
            out.append(lambda v: not _is_number(v) or not v > high)
        if "exclusiveMinimum" in keys:
            xlow = schema["exclusiveMinimum"]
            out.append(lambda v: not _is_number(v) or not v <= xlow)
        if "exclusiveMaximum" in keys:
            xhigh = schema["exclusiveMaximum"]
            out.append(lambda v: not _is_number(v) or not v >= xhigh)
        return out

    @staticmethod
    def _strings(schema: dict[str, Any], keys: set[str]) -> list[Check]:
        out: list[Check] = []
        if "minLength" in keys:
            shortest = schema["minLength"]
            out.append(lambda v: not isinstance(v, str) or len(v) >= shortest)
        if "maxLength" in keys:
            longest = schema["maxLength"]
            out.append(lambda v: not isinstance(v, str) or len(v) <= longest)
        if "pattern" in keys:
            search = re.compile(schema["pattern"]).search
            out.append(lambda v: not isinstance(v, str) or search(v) is not None)
        return out

    def _object(self, schema: dict[str, Any], typed: bool = False) -> Check:
        """Object keywords; `typed`: the schema's type is "object", so a non-object fails."""
        props = {k: self.node(s) for k, s in schema.get("properties", {}).items()}
        required = tuple(schema.get("required", ()))
        additional = schema.get("additionalProperties", True)
        closed = additional is False
        extra: Check | None = None if additional is True or closed else self.node(additional)
        names = self.node(schema["propertyNames"]) if "propertyNames" in schema else None
        fewest = schema.get("minProperties", 0)
        most = schema.get("maxProperties")
        other = not typed  # the answer for an instance that is not an object

        if names is None and not fewest and most is None:  # what our schemas say: the fast loop
            def plain(value: Any) -> bool:
                if not isinstance(value, dict):
                    return other
                for key in required:
                    if key not in value:
                        return False
                for key, item in value.items():
                    sub = props.get(key)
                    if sub is None:
                        if closed or (extra is not None and not extra(item)):
                            return False
                    elif not sub(item):
                        return False
                return True

            return plain

        def check(value: Any) -> bool:
            if not isinstance(value, dict):
                return other
            for key in required:
                if key not in value:
                    return False
            if len(value) < fewest or (most is not None and len(value) > most):
                return False
            for key, item in value.items():
                if names is not None and not names(key):
                    return False
                sub = props.get(key)
                if sub is None:
                    if closed or (extra is not None and not extra(item)):
                        return False
                elif not sub(item):
                    return False
            return True

        return check

    def _array(self, schema: dict[str, Any], typed: bool = False) -> Check:
        """Array keywords; `typed`: the schema's type is "array", so a non-array fails."""
        prefix = [self.node(s) for s in schema.get("prefixItems", [])]
        rest = self.node(schema["items"]) if "items" in schema else None
        fewest = schema.get("minItems", 0)
        most = schema.get("maxItems")
        unique = schema.get("uniqueItems", False)
        other = not typed

        if not prefix and rest is not None and not unique:  # a list of one kind: the fast loop
            def items(value: Any) -> bool:
                if not isinstance(value, list):
                    return other
                if len(value) < fewest or (most is not None and len(value) > most):
                    return False
                for item in value:  # noqa: SIM110 - a plain loop beats all() here
                    if not rest(item):
                        return False
                return True

            return items

        def check(value: Any) -> bool:
            if not isinstance(value, list):
                return other
            if len(value) < fewest or (most is not None and len(value) > most):
                return False
            for index, item in enumerate(value):
                if index < len(prefix):
                    if not prefix[index](item):
                        return False
                elif rest is not None and not rest(item):
                    return False
            return not unique or len({_freeze(v) for v in value}) == len(value)

        return check


OBJECT_WORDS = frozenset({"properties", "required", "additionalProperties", "propertyNames",
                          "minProperties", "maxProperties"})
ARRAY_WORDS = frozenset({"items", "prefixItems", "minItems", "maxItems", "uniqueItems"})
HANDLED = frozenset({
    "type", "enum", "const", "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum",
    "minLength", "maxLength", "pattern", "properties", "required", "additionalProperties",
    "propertyNames", "minProperties", "maxProperties", "items", "prefixItems", "minItems",
    "maxItems", "uniqueItems", "allOf", "anyOf", "oneOf", "not", "$ref", "if", "then", "else",
})


def _enum(values: list[Any]) -> Check:
    allowed = frozenset(_freeze(v) for v in values)
    if all(isinstance(v, str) for v in values):
        strings = frozenset(values)
        return lambda v: isinstance(v, str) and v in strings

    def check(value: Any) -> bool:
        try:
            return _freeze(value) in allowed
        except TypeError:  # unhashable float nan etc. never happen; be safe anyway
            return False

    return check


def _combine(word: str, subs: list[Check]) -> Check:
    if word == "allOf":
        return lambda v: all(s(v) for s in subs)
    if word == "anyOf":
        return lambda v: any(s(v) for s in subs)
    return lambda v: sum(1 for s in subs if s(v)) == 1


def compile_schema(schema: dict[str, Any]) -> Check:
    """A function that answers exactly what jsonschema's `is_valid` would (raises Unsupported)."""
    return Compiler(schema).compile()
