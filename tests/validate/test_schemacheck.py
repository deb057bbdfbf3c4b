"""The fast schema checker's shortcuts answer as jsonschema does, schema by schema.

The project's schemas are checked against jsonschema on random mutations elsewhere
(test_robustness.py); these small schemas pin the forms the shortcuts treat apart: a
type folded into the object or array check, no type at all, closed and open objects,
bounded and unique arrays, recursive references.
"""

from __future__ import annotations

from typing import Any

import jsonschema
import pytest

from release.core.schemacheck import Unsupported, compile_schema

INSTANCES: list[Any] = [
    None, True, 0, 1.0, 2.5, "", "x", [], [1], [1, 1], ["a", "b"], [[]], {}, {"a": 1},
    {"a": "x"}, {"a": "x", "b": 2}, {"b": 2}, {"b": "x"}, {"a": {"a": {"a": "x"}}}, {"a": None},
    [{"a": "x"}, {"a": 1}], [{}, {}],
]

SCHEMAS: list[dict[str, Any]] = [
    {"type": "object", "properties": {"a": {"type": "string"}}},
    {"properties": {"a": {"type": "string"}}},  # no type: other instances pass
    {"type": "object", "required": ["a"], "additionalProperties": False,
     "properties": {"a": {"type": "string"}}},
    {"additionalProperties": {"type": "integer"}, "properties": {"a": {}}},
    {"type": ["object", "null"], "properties": {"a": {"type": "string"}}},
    {"type": "object", "minProperties": 1, "propertyNames": {"pattern": "^a$"}},
    {"type": "array", "items": {"type": "integer"}},
    {"items": {"type": "integer"}, "maxItems": 1},  # no type
    {"type": "array", "items": {"type": "integer"}, "uniqueItems": True},
    {"type": "array", "prefixItems": [{"type": "integer"}], "items": False},
    {"type": "array", "minItems": 1},
    {"$defs": {"node": {"type": "object", "properties": {"a": {"anyOf": [
        {"type": "string"}, {"$ref": "#/$defs/node"}]}}}}, "$ref": "#/$defs/node"},
    {"type": "array", "items": {"$ref": "#/$defs/item"},
     "$defs": {"item": {"type": "object", "required": ["a"],
                        "properties": {"a": {"type": "string"}}}}},
    {"type": "object", "properties": {"a": {"type": "string"}}, "required": ["a"],
     "allOf": [{"not": {"required": ["b"]}}]},
]


@pytest.mark.parametrize("schema", SCHEMAS, ids=range(len(SCHEMAS)))
def test_the_fast_check_agrees_with_jsonschema(schema: dict[str, Any]) -> None:
    fast = compile_schema(schema)
    slow = jsonschema.Draft202012Validator(schema)
    answers = [(instance, fast(instance), slow.is_valid(instance)) for instance in INSTANCES]
    assert [a for a in answers if a[1] != a[2]] == []
    assert {a[2] for a in answers} == {True, False}  # the schema tells instances apart


def test_a_reference_it_cannot_resolve_is_refused_when_compiled() -> None:
    # the caller (validate.py) then checks with jsonschema instead, never half-way through
    with pytest.raises(Unsupported):
        compile_schema({"properties": {"a": {"$ref": "#/$defs/missing"}}})
