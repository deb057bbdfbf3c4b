"""How a ledger entry ends: the pure decisions behind closing what a run opened.

The ledger (release/adapters/ledger.py) stores entries and never rewrites a
closed one; the run that opened them (release/engine/hold.py) closes them on
every way out. What each closes as is decided here, from what is known:

- the way the command left (`outcome_of`: an interruption is `interrupted`,
  anything else the run could not judge is `unknown`);
- a release whose failure was noted before its rollback (`failing`) keeps that
  cause, and says what became of its rollback (`closing`);
- entries an earlier run left in progress, found when a new run takes the lease
  over (`left_open`): its process gone → `interrupted`, an expired lease → `unknown`.
"""

from __future__ import annotations

from release.core import lease as leases
from release.core import records
from release.core.deployments import short
from release.core.errors import EXIT_INTERRUPTED, ReleaseError, Signalled

MAX_REASON = 1000  # a reason longer than this is cut: the entry stays one small item
OPEN_SCAN = 10  # an entry left in progress is among a service's newest few


def outcome_of(exc: BaseException) -> tuple[str, str]:
    """How an entry ends when the command leaves it by an exception."""
    if isinstance(exc, Signalled):
        return records.INTERRUPTED, f"interrupted ({exc.name})"
    if isinstance(exc, KeyboardInterrupt):
        return records.INTERRUPTED, "interrupted (Ctrl-C)"
    if isinstance(exc, BrokenPipeError):
        return records.INTERRUPTED, "the output was closed (broken pipe)"
    if isinstance(exc, SystemExit | GeneratorExit):
        return records.INTERRUPTED, "the command exited"
    if isinstance(exc, ReleaseError) and exc.exit_code == EXIT_INTERRUPTED:
        return records.INTERRUPTED, exc.message  # lock taken over; a one-off task left running
    if isinstance(exc, ReleaseError):
        return records.UNKNOWN, exc.message
    return records.UNKNOWN, f"{type(exc).__name__}: {exc}"


def closing(entry: records.Entry, outcome: str, reason: str,
            restore: records.Entry | None) -> tuple[str, str]:
    """How an entry this run leaves open ends. A release whose failure was noted
    (`failing`) keeps it: failed with its cause and what became of its rollback
    (`restore`: the rollback's own entry, closed first, says how that ended)."""
    if entry.kind != records.RELEASE or not entry.failure:
        return outcome, reason
    if restore is None:
        return records.FAILED, f"{entry.failure}; not rolled back: {reason}"
    to = short(restore.revision)
    if restore.outcome == records.COMPLETED:
        return records.ROLLED_BACK, f"{entry.failure}; rolled back to {to}, then {reason}"
    return records.FAILED, f"{entry.failure}; the rollback to {to} did not finish: {reason}"


def left_open(entry: records.Entry, why: str, previous: leases.Lease | None,
              closer: str) -> tuple[str, str]:
    """How an entry an earlier run left in progress is closed by the run that took the lease
    over (`why`: expired or owner-gone; `closer`: the new holder). No one else can be
    writing it then."""
    outcome = records.INTERRUPTED if why == leases.OWNER_GONE else records.UNKNOWN
    by = previous.describe() if previous is not None else "an earlier run"
    reason = f"left in progress by {by}; closed by {closer}"
    if entry.kind == records.RELEASE and entry.failure:  # it failed, then was left
        return records.FAILED, f"{entry.failure}; rolling back when {reason}"
    return outcome, reason


def made_live_unfinished(recent: list[records.Entry], revision: str | None
                         ) -> records.Entry | None:
    """The release that made `revision` live (the newest of `recent` for it), when it ended
    without an outcome: interrupted or unknown. None when it ended otherwise."""
    if not revision:
        return None
    made_live = next((e for e in recent if e.revision == revision), None)
    if made_live is None or made_live.kind != records.RELEASE:
        return None
    return made_live if made_live.outcome in (records.INTERRUPTED, records.UNKNOWN) else None
