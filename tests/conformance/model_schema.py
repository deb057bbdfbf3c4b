"""Hold a JSON Schema to a botocore input shape, both ways.

A member the model has and the schema lacks means a document ECS accepts would be refused;
a member the schema has and the model lacks means a document would pass validation and
then be refused by ECS. `gaps` walks both trees together and names each such member by
its JSON path, so a test can print them all at once.
"""

from __future__ import annotations

from typing import Any

from botocore.model import Shape


def _resolve(root: dict[str, Any], node: Any) -> Any:
    while isinstance(node, dict) and "$ref" in node:
        target: Any = root
        for part in node["$ref"].lstrip("#/").split("/"):
            target = target[part]
        node = {**target, **{k: v for k, v in node.items() if k != "$ref"}}
    return node


def _branches(root: dict[str, Any], node: dict[str, Any]) -> list[dict[str, Any]]:
    """The node and every subschema that can add members to it (allOf/anyOf/oneOf/then/else)."""
    found = [node]
    for word in ("allOf", "anyOf", "oneOf"):
        for sub in node.get(word, []):
            sub = _resolve(root, sub)
            if isinstance(sub, dict):
                found += _branches(root, sub)
    for word in ("then", "else"):
        if isinstance(node.get(word), dict):
            found += _branches(root, _resolve(root, node[word]))
    return found


def properties(root: dict[str, Any], node: Any) -> dict[str, Any]:
    """Every property a schema node may hold, across its combinators."""
    node = _resolve(root, node)
    merged: dict[str, Any] = {}
    if not isinstance(node, dict):
        return merged
    for branch in _branches(root, node):
        for name, sub in branch.get("properties", {}).items():
            merged.setdefault(name, sub)
    return merged


def _items(root: dict[str, Any], node: Any, word: str) -> Any:
    node = _resolve(root, node)
    if not isinstance(node, dict):
        return None
    for branch in _branches(root, node):
        if isinstance(branch.get(word), dict):
            return branch[word]
    return None


def gaps(root: dict[str, Any], node: Any, shape: Shape, path: str = "",
         leave_out: frozenset[str] = frozenset()) -> list[str]:
    """`+path` for a model member the schema lacks, `-path` for a schema member the model lacks.

    `leave_out` names paths (as `gaps` prints them) that the schema omits on purpose.
    """
    found: list[str] = []
    if shape.type_name == "structure":
        schema_members = {k: v for k, v in properties(root, node).items() if k != "$schema"}
        for name, member in shape.members.items():
            where = f"{path}/{name}"
            if where in leave_out:
                continue
            if name not in schema_members:
                found.append(f"+{where}")
            else:
                found += gaps(root, schema_members[name], member, where, leave_out)
        found += [f"-{path}/{name}" for name in schema_members
                  if name not in shape.members and f"{path}/{name}" not in leave_out]
    elif shape.type_name == "list":
        items = _items(root, node, "items")
        if items is not None:
            found += gaps(root, items, shape.member, f"{path}/*", leave_out)
    elif shape.type_name == "map":
        values = _items(root, node, "additionalProperties")
        if values is not None:
            found += gaps(root, values, shape.value, f"{path}/*", leave_out)
    return found
