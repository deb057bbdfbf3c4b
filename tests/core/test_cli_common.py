"""What every verb shares: the JUnit format belongs to validate alone."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from release.cli import app

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("verb", [["deploy", "--env", "sandbox"], ["plan", "--env", "sandbox"],
                                  ["status", "--env", "sandbox"],
                                  ["bootstrap", "--env", "sandbox", "--dry-run"]])
def test_verbs_other_than_validate_refuse_junit_with_a_usage_error(verb):
    result = CliRunner().invoke(app, [*verb, "--repo", str(ROOT), "--format", "junit"])
    assert result.exit_code == 2
    assert "--format junit is for validation reports" in result.output


def test_validate_writes_junit():
    result = CliRunner().invoke(app, ["validate", "--repo", str(ROOT), "--format", "junit"])
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("<?xml")
