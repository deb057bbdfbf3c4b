"""What the ECS API model says about task definitions and services, as plain data.

Why data: DescribeTaskDefinition and DescribeServices answer with fields
nobody wrote (what ECS adds, and members at their API defaults, such as
`enableFaultInjection: false`), and the comparison in plan.py must know
which. That knowledge lives in botocore's ECS model, but the pure core must
not import botocore, so scripts/ecs_model_facts.py reads the model once and
writes ecs_model.json next to this file; this module only reads that file.
A test regenerates it from the installed botocore and compares, so a
botocore upgrade that adds a member or changes a default fails a test, not
a release.

botocore's parser keeps only the members its model knows, so a member AWS
starts returning tomorrow reaches the tool only with a botocore upgrade, and
that upgrade changes the facts (every member of every structure is listed).

The shapes are named as in the model; `TaskDefinition` stands for the
registered task definition and the RegisterTaskDefinition request,
`Service` for the CreateService/UpdateService settings.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

from release.core import documents

FACTS = Path(__file__).with_name("ecs_model.json")
TASK_DEFINITION = "TaskDefinition"
SERVICE = "Service"


@cache
def facts() -> dict[str, Any]:
    return documents.read_json(FACTS)  # the one document reader (bounded, errors explained)


def added_by_ecs(shape: str = TASK_DEFINITION) -> frozenset[str]:
    """Members DescribeTaskDefinition returns that RegisterTaskDefinition never takes (or,
    for SERVICE, that DescribeServices returns and CreateService never takes)."""
    return frozenset(facts()["added_by_ecs"][shape])


def structure(shape: str | None, member: str) -> str | None:
    """The structure `member` of `shape` holds (itself or as a list of them), if any."""
    return facts()["structures"].get(shape or "", {}).get(member)


@cache
def defaults(shape: str | None) -> dict[str, Any]:
    """member → the value the API uses when the member is omitted (documented defaults)."""
    return {member: entry["value"]
            for member, entry in facts()["defaults"].get(shape or "", {}).items()}


def is_unwritten(shape: str | None, member: str, value: Any) -> bool:
    """True when `value` is what the API reports for `member` if nobody set it: empty, its
    documented default, or a structure whose members all are."""
    if value in (None, [], {}, ""):
        return True
    known = defaults(shape)
    if member in known and same(value, known[member]):
        return True
    inner = structure(shape, member)
    if inner is not None and isinstance(value, dict):
        return all(is_unwritten(inner, k, v) for k, v in value.items())
    return False


def same(a: Any, b: Any) -> bool:
    """Equal and of the same kind (in Python, False == 0)."""
    return a == b and isinstance(a, bool) == isinstance(b, bool)
