"""docs/sandbox.md's conformance table names tests: each of them must exist."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
EMULATOR_TESTS = sorted((ROOT / "tests" / "sandbox").glob("test_sandbox_*.py"))


def _conformance_rows() -> list[list[str]]:
    text = (ROOT / "docs" / "sandbox.md").read_text()
    section = text[text.index("## Conformance"):text.index("What the emulator still cannot")]
    rows = [[c.strip() for c in line.strip().strip("|").split("|")]
            for line in section.splitlines() if line.startswith("| ")]
    return [r for r in rows[2:] if len(r) == 4]  # after the header and its rule


def _test_names(path: str | None) -> set[str]:
    """The tests of `path`, or of every emulator test file when no path is named."""
    files = [ROOT / path] if path else EMULATOR_TESTS
    return {n.name for file in files for n in ast.parse(file.read_text()).body
            if isinstance(n, ast.FunctionDef)}


def test_every_row_of_the_conformance_table_names_tests_that_exist():
    rows = _conformance_rows()
    assert len(rows) >= 10
    for behaviour, _docs, _where, tests in rows:
        named = re.findall(r"`(?:([\w/]+\.py)::)?(test_\w+)`", tests)
        assert named, f"no test named for: {behaviour}"
        for path, name in named:
            assert name in _test_names(path), (behaviour, path, name)
