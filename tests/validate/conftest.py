"""Fixtures for the validation tests."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner
from validate_helpers import copy_repo


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """The project's documents (clean) in a temporary folder, free to break."""
    return copy_repo(tmp_path / "repo")


@pytest.fixture
def cli() -> Callable[..., Any]:
    """Run `release <args>` in-process; returns click's Result (exit_code, stdout, stderr)."""
    from release.cli import app

    runner = CliRunner()

    def run(*args: str) -> Any:
        return runner.invoke(app, list(args), catch_exceptions=False)

    return run
