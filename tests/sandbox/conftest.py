"""A sandbox per test, on a virtual clock, and a small world built through the AWS API.

Every emulator test states its own ELB and deployment settings, so a change to the
repository's sandbox environment does not silently change what a test shows.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sandbox_world import World

from release.core.clock import VirtualClock
from release_sandbox.testing import SandboxHandle, running_sandbox

REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def sandbox(tmp_path: Path) -> Iterator[SandboxHandle]:
    with running_sandbox(REPO_ROOT, tmp_path, clock=VirtualClock()) as handle:
        yield handle


@pytest.fixture
def world(sandbox: SandboxHandle) -> World:
    return World(sandbox)
