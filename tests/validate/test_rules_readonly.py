"""The rules only read: the documents and the merged task definition they share.

effective_taskdef merges a service's overrides once and hands every rule the same dict,
so a rule that changed it (or a parsed document) would change what the rules after it
see. Here every document and every merged task definition is read-only: a rule that
writes raises, becomes an internal-error finding, and the findings differ from a normal
run. Both runs cover the project's repository and every broken document of the corpus.
"""

from __future__ import annotations

import copy
import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from validate_helpers import CORPUS

import release.core.rules as rules
from release.core import config, render
from release.core.findings import Loaded
from release.core.validate import validate_repo

CASES = json.loads((CORPUS / "cases.json").read_text())


def _refuse(self: Any, *args: Any, **kwargs: Any) -> None:
    raise TypeError(f"a rule changed a shared {type(self).__name__}")


class ReadOnlyDict(dict):
    __setitem__ = __delitem__ = __ior__ = _refuse  # type: ignore[assignment]
    update = pop = popitem = setdefault = clear = _refuse  # type: ignore[assignment]


class ReadOnlyList(list):
    __setitem__ = __delitem__ = __iadd__ = __imul__ = _refuse  # type: ignore[assignment]
    append = extend = insert = remove = pop = sort = reverse = clear = _refuse  # type: ignore[assignment]


def read_only(value: Any) -> Any:
    if isinstance(value, dict):
        return ReadOnlyDict((k, read_only(v)) for k, v in value.items())
    if isinstance(value, list):
        return ReadOnlyList(read_only(v) for v in value)
    return value


class ReadOnlyContext(rules.Context):
    """The rules' context over read-only documents, with every merge made up front."""

    def __init__(self, loaded: Loaded, request_check: Any = None) -> None:
        frozen = copy.copy(loaded)
        frozen.environments = {k: (rel, read_only(doc))
                               for k, (rel, doc) in loaded.environments.items()}
        frozen.services = {k: (rel, read_only(doc)) for k, (rel, doc) in loaded.services.items()}
        frozen.taskdefs = {k: read_only(doc) for k, doc in loaded.taskdefs.items()}
        super().__init__(frozen, request_check)
        for view in self.services:
            if view.taskdef is not None:
                writable = loaded.taskdefs[view.taskdef_rel]
                view.effective = read_only(render.apply_overrides(
                    view.spec, config.TaskDefinition(view.taskdef_rel, writable)))


def findings(repo: Path) -> list[tuple[str, str, str, str]]:
    return [(f.rule, f.file, f.pointer, f.message) for f in validate_repo(repo).findings]


@pytest.mark.parametrize("name", [None, *sorted(CASES)])
def test_no_rule_changes_what_it_reads(repo: Path, name: str | None, monkeypatch) -> None:
    if name is not None:
        shutil.copyfile(CORPUS / f"{name}.json", repo / CASES[name]["replaces"])
    normal = findings(repo)
    monkeypatch.setattr(rules, "Context", ReadOnlyContext)
    guarded = findings(repo)
    assert "internal-error" not in {rule for rule, *_ in guarded}, guarded
    assert guarded == normal


def test_a_rule_that_writes_is_caught(repo: Path, monkeypatch) -> None:
    def meddle(ctx: rules.Context):
        for view in ctx.services:
            if view.taskdef is not None:
                rules.base.effective_taskdef(view)["cpu"] = "1"
        return iter(())

    meddle.rule_id = "meddle"  # type: ignore[attr-defined]
    monkeypatch.setattr(rules, "CHECKS", (*rules.CHECKS, meddle))
    monkeypatch.setattr(rules, "Context", ReadOnlyContext)
    assert "internal-error" in {rule for rule, *_ in findings(repo)}
