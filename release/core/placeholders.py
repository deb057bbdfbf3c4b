"""The placeholder `release init` writes for a value it will not copy, and where one is left.

Its own module: `init` (core/adopt.py) writes it and the validation rule
`init-placeholder` (core/rules/adoption.py) finds it, and the rules must not import
`init`'s whole planning to do so (that import ran round the rules package back to itself).
"""

from __future__ import annotations

from typing import Any

PLACEHOLDER = "<release init did not copy this value: it looks like a secret>"


def placeholder_values(taskdef: dict[str, Any]) -> list[tuple[str, str]]:
    """(JSON pointer, variable name) of every value `release init` left as PLACEHOLDER.

    The validation rule of the same name reports each as an error: a placeholder must
    never reach ECS as a value.
    """
    found = []
    for i, container in enumerate(taskdef.get("containerDefinitions") or []):
        if not isinstance(container, dict):
            continue
        for j, item in enumerate(container.get("environment") or []):
            if isinstance(item, dict) and item.get("value") == PLACEHOLDER:
                found.append((f"/containerDefinitions/{i}/environment/{j}/value",
                              str(item.get("name", ""))))
    return found
