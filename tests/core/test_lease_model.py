"""The pure model of the lock and the ledger: who may take a lease (core/lease.py) and where
`release rollback` goes by default, derived from the ledger's entries (core/records.py)."""

from __future__ import annotations

import pytest

from release.core import lease as leases
from release.core import records


def entry(n: int, kind: str, previous: int | None, outcome: str, minute: int) -> records.Entry:
    arn = "arn:aws:ecs:us-east-1:123456789012:task-definition/akka-demo:{}"
    return records.Entry(id=f"{minute:02d}", kind=kind, env="e", service="s",
                         revision=arn.format(n), previous=arn.format(previous) if previous
                         else "", at=f"2026-01-01T00:{minute:02d}:00Z", outcome=outcome)


def test_rollback_target_after_a_restore_skips_the_failed_release() -> None:
    entries = [entry(1, "release", None, "completed", 1),
               entry(2, "release", 1, "completed", 2),
               entry(3, "release", 2, "rolled-back", 3),
               entry(2, "restore", 3, "completed", 4)]
    assert records.rollback_target_of(entries[1].revision, entries) == entries[0].revision


def test_rollback_target_of_a_release_is_what_it_replaced_even_if_unrecorded() -> None:
    entries = [entry(5, "release", 4, "completed", 1)]
    assert records.rollback_target_of(entries[0].revision, entries).endswith("akka-demo:4")
    assert records.rollback_target_of(entries[0].revision, []) is None


@pytest.mark.parametrize(("lease", "alive", "state"), [
    (None, None, leases.FREE),
    (leases.Lease("o", "h", "here", 1, "c", "", 0, 99), None, leases.HELD),
    (leases.Lease("o", "h", "here", 1, "c", "", 0, 99), True, leases.HELD),
    (leases.Lease("o", "h", "here", 1, "c", "", 0, 99), False, leases.STALE),
    (leases.Lease("o", "h", "there", 1, "c", "", 0, 99), False, leases.HELD),
    (leases.Lease("o", "h", "there", 1, "c", "", 0, 49), None, leases.STALE),
])
def test_judging_a_lease(lease: leases.Lease | None, alive: bool | None, state: str) -> None:
    assert leases.judge(lease, 50.0, "here", alive).state == state
