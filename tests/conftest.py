"""The order the suite runs in: the longest tests, which mostly wait, first.

`make test` runs the tests in parallel worker processes (pytest-xdist, `--dist
worksteal`): each worker gets a share of the collected list and an idle one takes
over half of a busy one's queue. The suite's wall time is bounded by its longest
test (the demo, minutes of real time in a sandbox of its own), so that one starts
first and the rest runs beside it instead of after it; the other real-time tests
follow it. Within each file the order stays as written.
"""

from __future__ import annotations

import pytest

# Files whose tests run on the real clock in subprocesses (a whole `make demo`, two deploys
# racing for the lock, `release sandbox up` servers, a venv made and reused): by far the
# longest and mostly waiting, so they go first. Longest first.
LONGEST_FIRST = (
    "tests/demo/test_demo.py",
    "tests/engine/test_lock_race.py",
    "tests/sandbox/test_sandbox_cli.py",
    "tests/jenkins/test_agent_venv.py",
)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Move the tests of LONGEST_FIRST to the front, in that order; the rest keeps its own."""
    rank = {path: i for i, path in enumerate(LONGEST_FIRST)}
    root = config.rootpath

    def key(item: pytest.Item) -> int:
        try:
            path = item.path.relative_to(root).as_posix()
        except ValueError:
            return len(rank)
        return rank.get(path, len(rank))

    items.sort(key=key)  # stable: every other test keeps its place
