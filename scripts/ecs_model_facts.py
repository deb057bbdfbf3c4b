"""Write release/core/ecs_model.json: what plan needs to know from botocore's ECS model.

    .venv/bin/python scripts/ecs_model_facts.py          # rewrite the file
    .venv/bin/python scripts/ecs_model_facts.py --check  # exit 1 when it is out of date

Three facts, all read from the installed model (service-2.json) and its
documentation strings, so that a botocore upgrade shows up as a diff of the
committed file (tests/conformance/test_ecs_model_facts.py fails until it is
regenerated and reviewed):

- `added_by_ecs`: members of the TaskDefinition output shape that are not
  members of the RegisterTaskDefinition request (ARN, revision, status, ...), and
  of the Service output shape (DescribeServices) that are not members of the
  CreateService request (counts, deployments, events, platformFamily, ...);
- `structures`: every member of every structure reachable from a task
  definition or a service, with the structure it holds (itself or as a list of
  them) or null, so the comparison knows the shape of every nested object, and
  a member added by a botocore upgrade changes this file;
- `defaults`: the value the API uses when a member is omitted, each with the
  sentence of the documentation it comes from. Found by a few phrasings
  ("The default value is false.", "the default value of 0 is used", "By
  default, the value is enabled."), typed by the member's shape (a string must
  be one of its enum values); booleans the documentation gives no default for
  are off; the few defaults said in other words are listed in STATED_ELSEWHERE
  with the sentence that must still be in the documentation.

The task definition's root merges TaskDefinition (what DescribeTaskDefinition
returns) with the RegisterTaskDefinition request; the service's merges the
CreateService and UpdateService requests, the settings a spec can state (what
DescribeServices returns beyond them is never compared).
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

OUT = Path(__file__).resolve().parents[1] / "release" / "core" / "ecs_model.json"

ROOTS = {"TaskDefinition": ("TaskDefinition", "RegisterTaskDefinitionRequest"),
         "Service": ("CreateServiceRequest", "UpdateServiceRequest")}

_VALUE = r"(?P<value>-?\d+(?:\.\d+)?|[A-Za-z_][\w-]*)"
PHRASINGS = [
    re.compile(r"\b[Tt]he default(?: value)? is " + _VALUE),
    re.compile(r"\b(?:[Tt]he|a) default value of " + _VALUE + r" is used"),
    re.compile(r"\bBy default, the value is " + _VALUE),
]

# (structure, member) → (value, where the documentation says so, the sentence)
STATED_ELSEWHERE: dict[tuple[str, str], tuple[Any, tuple[str, str], str]] = {
    ("ContainerDefinition", "essential"): (
        True, ("ContainerDefinition", "essential"),
        "If this parameter is omitted, a container is assumed to be essential."),
    ("ContainerDefinition", "cpu"): (
        0, ("ContainerDefinition", "cpu"),
        "Null, zero, and CPU values of 1 are passed to Docker as 2."),
    ("DeploymentConfiguration", "maximumPercent"): (
        200, ("DeploymentConfiguration", "maximumPercent"),
        "The default maximumPercent value for a service using the REPLICA service scheduler "
        "is 200%."),
    ("DeploymentConfiguration", "minimumHealthyPercent"): (
        100, ("DeploymentConfiguration", "minimumHealthyPercent"),
        "The default value for a replica service for minimumHealthyPercent is 100%."),
    ("DeploymentController", "type"): (
        "ECS", ("CreateServiceRequest", "deploymentController"),
        "If no deployment controller is specified, the default value of ECS is used."),
}
BOOLEAN_OFF = "a boolean the documentation gives no default for is off when omitted"


def load_model() -> dict[str, Any]:
    from botocore.loaders import Loader

    return Loader().load_service_model("ecs", "service-2")


def text(documentation: str) -> str:
    """Documentation HTML as one line of plain text."""
    plain = re.sub(r"<[^>]+>", " ", documentation).replace("&lt;", "<").replace("&gt;", ">")
    return re.sub(r"\s+([.,;:)])", r"\1", re.sub(r"\s+", " ", plain)).strip()


def sentence_around(doc: str, start: int, end: int) -> str:
    begin = doc.rfind(". ", 0, start)
    stop = doc.find(". ", end)
    return doc[begin + 2 if begin >= 0 else 0:stop + 1 if stop >= 0 else len(doc)]


def typed(value: str, shape: dict[str, Any]) -> Any:
    """The documented value as the member's type, or None when it does not fit the type."""
    kind = shape["type"]
    if kind == "boolean" and value in ("true", "false"):
        return value == "true"
    if kind in ("integer", "long") and re.fullmatch(r"-?\d+", value):
        return int(value)
    if kind in ("double", "float") and re.fullmatch(r"-?\d+(\.\d+)?", value):
        return float(value)
    if kind == "string" and value in shape.get("enum", ()):
        return value
    return None


def documented_default(doc: str, shape: dict[str, Any]) -> tuple[Any, str] | None:
    """The one default the documentation states in a known phrasing (None if none or several)."""
    found: dict[str, tuple[Any, str]] = {}
    for phrasing in PHRASINGS:
        for match in phrasing.finditer(doc):
            value = typed(match.group("value"), shape)
            if value is not None:
                found.setdefault(json.dumps(value),
                                 (value, sentence_around(doc, match.start(), match.end())))
    return next(iter(found.values())) if len(found) == 1 else None


def target(shapes: dict[str, Any], member: dict[str, Any]) -> str | None:
    """The structure a member holds, directly or as a list of them."""
    shape = shapes[member["shape"]]
    if shape["type"] == "list":
        shape_name = shape["member"]["shape"]
        return shape_name if shapes[shape_name]["type"] == "structure" else None
    return member["shape"] if shape["type"] == "structure" else None


def facts(model: dict[str, Any]) -> dict[str, Any]:
    shapes = model["shapes"]
    sources: dict[str, tuple[str, ...]] = dict(ROOTS)
    structures: dict[str, dict[str, str]] = {}
    defaults: dict[str, dict[str, dict[str, Any]]] = {}
    todo = list(ROOTS)
    while todo:
        name = todo.pop()
        if name in structures:
            continue
        structures[name] = {}
        for source in sources.get(name, (name,)):
            for member_name, member in shapes[source]["members"].items():
                held = target(shapes, member)
                structures[name][member_name] = held
                if held is not None:
                    todo.append(held)
                default = _default_of(shapes, name, member_name, member)
                if default is not None:
                    defaults.setdefault(name, {}).setdefault(member_name, default)
    for (name, member_name), (value, (shape, member), said) in STATED_ELSEWHERE.items():
        doc = text(shapes[shape]["members"][member].get("documentation", ""))
        if said not in doc:
            raise SystemExit(f"{shape}.{member}'s documentation no longer says {said!r}: "
                             "check the default and update STATED_ELSEWHERE")
        defaults.setdefault(name, {})[member_name] = {"value": value, "documented": said}
    added = {output: sorted(set(shapes[output]["members"]) - set(shapes[request]["members"]))
             for output, request in (("TaskDefinition", "RegisterTaskDefinitionRequest"),
                                     ("Service", "CreateServiceRequest"))}
    return {
        "about": "Generated by scripts/ecs_model_facts.py from botocore's ECS model "
                 f"(API version {model['metadata']['apiVersion']}); do not edit by hand.",
        "added_by_ecs": added,
        "structures": {k: dict(sorted(v.items())) for k, v in sorted(structures.items())},
        "defaults": {k: dict(sorted(v.items())) for k, v in sorted(defaults.items())},
    }


def _default_of(shapes: dict[str, Any], name: str, member_name: str, member: dict[str, Any]
                ) -> dict[str, Any] | None:
    if (name, member_name) in STATED_ELSEWHERE:
        return None  # filled in afterwards, with its own sentence
    shape = shapes[member["shape"]]
    found = documented_default(text(member.get("documentation", "")), shape)
    if found is not None:
        return {"value": found[0], "documented": found[1]}
    if shape["type"] == "boolean":
        return {"value": False, "documented": BOOLEAN_OFF}
    return None


def render(data: dict[str, Any]) -> str:
    """One structure per line in `structures`, one default per line: short, readable diffs."""
    lines = ["{", f' "about": {json.dumps(data["about"])},',
             f' "added_by_ecs": {json.dumps(data["added_by_ecs"])},', ' "structures": {']
    lines += [f"  {json.dumps(k)}: {json.dumps(v)}," for k, v in data["structures"].items()]
    lines[-1] = lines[-1].rstrip(",")
    lines += [" },", ' "defaults": {']
    for shape, members in data["defaults"].items():
        lines.append(f"  {json.dumps(shape)}: {{")
        lines += [f"   {json.dumps(m)}: {json.dumps(e)}," for m, e in members.items()]
        lines[-1] = lines[-1].rstrip(",")
        lines.append("  },")
    lines[-1] = lines[-1].rstrip(",")
    lines += [" }", "}"]
    return "\n".join(lines) + "\n"


def main(argv: list[str]) -> int:
    wanted = render(facts(load_model()))
    if "--check" in argv:
        if not OUT.exists() or OUT.read_text() != wanted:
            print(f"{OUT.name} is out of date: run scripts/ecs_model_facts.py", file=sys.stderr)
            return 1
        return 0
    OUT.write_text(wanted)
    print(f"wrote {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
