"""What the real-document corpus tests share: a one-service config repository, and the
sorting of its findings into what ECS refuses, what our policy refuses, and false errors.

tests/validate/test_taskdef_corpus.py (real task definitions) and
tests/validate/test_service_corpus.py (real service definitions) both validate each
document in a temporary config repository and hold every error to a manifest: an error
the manifest names (`ecsRefuses`, `policyRefuses`: rule, pointer, and the sentence that
says why) is expected, one it does not name is a false error, and one it names that does
not appear is reported too, so the manifest cannot go stale.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from validate_helpers import PROJECT

from release.core.findings import Finding

DIGEST = "sha256:" + "0" * 63 + "1"
DECLARED = ("ecsRefuses", "policyRefuses")


@dataclass
class Outcome:
    """One document's errors by kind (a manifest key or a test's own kind), the rest."""

    name: str
    kinds: dict[str, list[Finding]] = field(default_factory=dict)
    false: list[Finding] = field(default_factory=list)
    warnings: list[Finding] = field(default_factory=list)
    missing: list[dict[str, str]] = field(default_factory=list)  # declared, not reported

    def of(self, kind: str) -> list[Finding]:
        return self.kinds.get(kind, [])

    @property
    def clean(self) -> bool:
        return not (self.false or any(self.kinds.values()))


Predicate = Callable[[Finding], bool]


def sort_findings(name: str, errors: list[Finding], warnings: list[Finding],
                  entry: dict[str, Any], others: dict[str, Predicate] | None = None
                  ) -> Outcome:
    """Each error to the manifest kind that names its (rule, pointer), else to the first of
    `others` whose predicate holds, else to the false errors."""
    result = Outcome(name, {kind: [] for kind in (*DECLARED, *(others or {}))},
                     warnings=warnings)
    declared = {kind: list(entry.get(kind, [])) for kind in DECLARED}
    for found in errors:
        key = (found.rule, found.pointer)
        kind = next((k for k, items in declared.items()
                     if any((e["rule"], e["pointer"]) == key for e in items)), None)
        if kind is not None:
            declared[kind] = [e for e in declared[kind] if (e["rule"], e["pointer"]) != key]
        else:
            kind = next((k for k, holds in (others or {}).items() if holds(found)), None)
        (result.kinds[kind] if kind is not None else result.false).append(found)
    result.missing = [e for kind in DECLARED for e in declared[kind]]
    return result


def describe(result: Outcome, labels: dict[str, str]) -> str:
    """The findings of one document, kind by kind, for a failure message."""
    lines = [f"{result.name}:"]
    for kind, label in labels.items():
        lines += [f"  {label}: {f.file}{f.pointer} [{f.rule}] {f.message}"
                  for f in result.of(kind)]
    lines += [f"  FALSE ERROR: {f.file}{f.pointer} [{f.rule}] {f.message}" for f in result.false]
    lines += [f"  NOT REPORTED (the manifest says it is refused): {m}" for m in result.missing]
    return "\n".join(lines)


def check_declarations(name: str, entry: dict[str, Any]) -> None:
    """Each refusal the manifest names says where (rule, pointer) and why."""
    for refusal in entry.get("ecsRefuses", []) + entry.get("policyRefuses", []):
        assert refusal["rule"] and refusal["pointer"] and refusal["because"], name


def one_service_repo(root: Path, env_name: str, env_changes: dict[str, Any],
                     taskdef: tuple[str, bytes], spec_name: str, spec: dict[str, Any]) -> Path:
    """A config repository: the project's schemas, a copy of one of its environments with
    `env_changes` merged into its top-level sections, one task definition (path, bytes)
    and one service spec."""
    shutil.copytree(PROJECT / "schemas", root / "schemas")
    env_doc = json.loads((PROJECT / f"environments/{env_name}/environment.json").read_text())
    for key, value in env_changes.items():
        env_doc[key] = {**env_doc[key], **value} if isinstance(value, dict) and isinstance(
            env_doc.get(key), dict) else value
    (root / f"environments/{env_name}/services").mkdir(parents=True)
    (root / f"environments/{env_name}/environment.json").write_text(json.dumps(env_doc))
    (root / "taskdefs").mkdir()
    (root / taskdef[0]).write_bytes(taskdef[1])
    (root / f"environments/{env_name}/services/{spec_name}.json").write_text(json.dumps(spec))
    return root


def assert_no_false_error(result: Outcome, labels: dict[str, str]) -> None:
    """No error the manifest does not explain, none it names missing, no crash of a rule."""
    assert not result.false and not result.missing, describe(result, labels)
    assert "internal-error" not in {f.rule for f in result.warnings}


def assert_figures(results: list[Outcome], counted: dict[str, str], labels: dict[str, str],
                   expected: dict[str, int]) -> None:
    """The corpus figures (documents, clean ones, each kind's errors under its figure's name,
    false errors) equal `expected`; the failure message is the table of what was found."""
    figures = {"documents": len(results), "clean": sum(1 for r in results if r.clean),
               **{figure: sum(len(r.of(kind)) for r in results)
                  for figure, kind in counted.items()},
               "false_errors": sum(len(r.false) for r in results)}
    table = "\n".join(describe(r, labels) for r in results if not r.clean)
    print(f"\n{figures}\n{table}")
    assert figures == expected, f"{figures}\n{table}"


def assert_varied(texts: dict[str, str], features: tuple[str, ...]) -> None:
    """Each feature (a piece of JSON text) appears in at least one document."""
    for feature in features:
        assert any(feature in text for text in texts.values()), feature
