"""The Jenkinsfile, evaluated once per test session by real Groovy under a stub pipeline DSL."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

# The sandbox-with-git helpers are shared with tests/gitops.
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "gitops"))

from jenkins_stub import SCENARIOS, run_stub  # noqa: E402


@pytest.fixture(scope="session")
def pipeline() -> dict[str, Any]:
    """Every scenario's record from one JVM start (Groovy takes seconds to start)."""
    return run_stub(SCENARIOS)
