"""The lease and the ledger entries of a change are objects passed to whoever needs them.

No thread-local state anywhere in the tool, and the verbs neither take nor give back
locks themselves: the engine entry point that changes a service holds its lock
(engine/hold.py) and passes it down. A thread-local or a lock decorator in the
commands layer would bring back work done, or not done, out of sight.
"""

from __future__ import annotations

import ast
from pathlib import Path

RELEASE = Path(__file__).resolve().parents[2] / "release"
LOCKS = ("release.adapters.lease", "release.adapters.ledger", "release.engine.hold")


def test_nothing_in_the_tool_keeps_thread_local_state() -> None:
    found = []
    for path in sorted(RELEASE.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            named = (isinstance(node, ast.Attribute) and node.attr == "local"
                     and isinstance(node.value, ast.Name) and node.value.id == "threading")
            imported = (isinstance(node, ast.ImportFrom) and node.module == "threading"
                        and any(a.name == "local" for a in node.names))
            if named or imported:
                found.append(f"{path.relative_to(RELEASE.parent)}:{node.lineno}")
    assert found == []


def test_the_verbs_take_no_lock_of_their_own() -> None:
    found = []
    for path in sorted((RELEASE / "commands").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import) else
                     [node.module or ""] + [f"{node.module}.{a.name}" for a in node.names]
                     if isinstance(node, ast.ImportFrom) else [])
            found += [f"{path.relative_to(RELEASE.parent)}:{node.lineno} {n}" for n in names
                      if n in LOCKS]
    assert found == []
