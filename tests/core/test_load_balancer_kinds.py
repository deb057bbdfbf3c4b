"""A load-balancer kind is one pure module and one module of effects, each listed once.

docs/design.md promises that a new kind is its two modules plus one line in each
registry; these tests list the kinds and check that each implements the whole
interface, that the two registries name the same kinds, that every environment type
and every service key has exactly one kind, and that the promise is written as it is.
"""

from __future__ import annotations

import dataclasses
import inspect
import json
import re
from pathlib import Path

import pytest

from release.core import balancers as kinds
from release.core.balancers.kind import LoadBalancerKind
from release.core.rules import CHECKS, RULES, in_table_order

ROOT = Path(__file__).resolve().parents[2]
FIELDS = [f.name for f in dataclasses.fields(LoadBalancerKind)]


def test_the_kinds_are_the_classic_elb_and_target_groups() -> None:
    assert [k.name for k in kinds.KINDS] == ["classic", "target_groups"]
    assert [k.service_key for k in kinds.KINDS] == ["loadBalancerName", "targetGroupArn"]


@pytest.mark.parametrize("kind", kinds.KINDS, ids=lambda k: k.name)
def test_each_kind_has_every_pure_part(kind: LoadBalancerKind) -> None:
    module = inspect.getmodule(kind.rules[0])
    assert module is not None and module.__name__ == f"release.core.balancers.{kind.name}"
    assert module.KIND is kind  # the module of the registry line is the kind's
    for name in FIELDS:
        value = getattr(kind, name)
        assert value is not None and value != "" and value != (), name
    assert all(isinstance(getattr(kind, f), bool) for f in
               ("native_strategies", "task_count_canary", "updatable_in_place"))
    for check in kind.rules:  # its rules are catalogued (docs/validation.md) and run
        assert check.rule_id in RULES  # type: ignore[attr-defined]
        assert check in kinds.rules() and check not in CHECKS


@pytest.mark.parametrize("kind", kinds.KINDS, ids=lambda k: k.name)
def test_each_kind_has_every_effect(kind: LoadBalancerKind) -> None:
    from release.engine import balancers

    effects = balancers.EFFECTS[kind.name]
    assert effects.__name__ == f"release.engine.balancers.{kind.name}"  # type: ignore[attr-defined]
    wanted = {name: fn for name, fn in vars(balancers.KindEffects).items()
              if inspect.isfunction(fn) and not name.startswith("_")}
    assert set(wanted) == {"health_source", "base_url", "plan_bootstrap", "preflight",
                           "health_check_path", "resolve"}
    for name, declared in wanted.items():
        implemented = getattr(effects, name)
        expected = list(inspect.signature(declared).parameters)[1:]  # without self
        assert list(inspect.signature(implemented).parameters) == expected, name


def test_the_two_registries_list_the_same_kinds() -> None:
    from release.engine import balancers

    assert list(balancers.EFFECTS) == [k.name for k in kinds.KINDS]


def _type_enum(node: object) -> set[str]:
    """Every value of loadBalancer's `type` the schema allows (in any of its branches)."""
    found: set[str] = set()
    if isinstance(node, dict):
        prop = (node.get("properties") or {}).get("type")
        if isinstance(prop, dict):
            found |= set(prop.get("enum") or ([prop["const"]] if "const" in prop else []))
        for value in node.values():
            found |= _type_enum(value)
    elif isinstance(node, list):
        for item in node:
            found |= _type_enum(item)
    return found


def test_every_environment_type_and_service_key_has_exactly_one_kind() -> None:
    schema = json.loads((ROOT / "schemas" / "environment.schema.json").read_text())
    types = _type_enum(schema["properties"]["loadBalancer"])
    assert sorted(t for k in kinds.KINDS for t in k.env_types) == sorted(types)
    for env_type in types:
        assert kinds.of_environment(env_type).env_types.count(env_type) == 1
    keys = [k.service_key for k in kinds.KINDS]
    assert len(set(keys)) == len(keys)
    for kind in kinds.KINDS:
        assert kinds.of_entry({kind.service_key: "x", "containerName": "c"}) is kind
    assert kinds.of_entry({"containerName": "c", "containerPort": 80}) is None


# a kind's own modules (and the adapters its effects use) may name its keys
OWN = ("core/balancers/", "engine/balancers/", "adapters/elb_classic.py",
       "adapters/target_groups.py")
# what still reads one kind's key, and why it is not (yet) a kind's function
KNOWN = {
    "engine/init.py": "`release init` adopts a service behind a classic ELB only",
    "engine/preflight/roles.py": "the service-linked-role note is shown for a classic ELB",
    "engine/wait.py": "load_balancer_name, a dead name (issue 28's dead code)",
}


def test_no_module_outside_the_kinds_asks_which_kind_the_load_balancer_is() -> None:
    asking = []
    for path in sorted((ROOT / "release").rglob("*.py")):
        rel = path.relative_to(ROOT / "release").as_posix()
        if rel.startswith(OWN):
            continue
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if re.search(r"\.classic\b|bootstrap_elbv2|HEALTH_SOURCES", line) or (
                    rel not in KNOWN
                    and re.search(r"[\"'](loadBalancerName|targetGroupArn)[\"']", line)):
                asking.append(f"{rel}:{number}: {line.strip()}")
    assert asking == [], "dispatch through release/core/balancers or release/engine/balancers"


def test_the_design_promise_names_the_modules_and_registries_that_exist() -> None:
    design = (ROOT / "docs" / "design.md").read_text()
    row = next(line for line in design.splitlines() if line.startswith("| a load-balancer kind |"))
    for words in ("`core/balancers/<kind>.py`", "`engine/balancers/<kind>.py`",
                  "`core/balancers.KINDS`", "`engine/balancers.EFFECTS`"):
        assert words in row, words
    for kind in kinds.KINDS:
        assert (ROOT / "release" / "core" / "balancers" / f"{kind.name}.py").exists()
        assert (ROOT / "release" / "engine" / "balancers" / f"{kind.name}.py").exists()


@pytest.mark.parametrize("first", ["release.core.balancers", "release.core.rules",
                                   "release.core.balancers.classic", "release.core.validate"])
def test_the_rule_catalogue_is_the_same_whichever_module_is_imported_first(first: str) -> None:
    """The kinds' rules follow the families' in docs/validation.md's table, however imported."""
    import subprocess
    import sys

    program = (f"import {first}\nfrom release.core.rules import in_table_order\n"
               "print(' '.join(rule.id for rule in in_table_order()))")
    ran = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True,
                         check=True, cwd=ROOT)
    assert ran.stdout.split() == [rule.id for rule in in_table_order()]
