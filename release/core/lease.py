"""The per-service lease that deploy, rollback and apply hold while they change a service.

Pure: who holds a lease, whether it may be taken over, and how to say so. The
store (a DynamoDB item written with conditional writes, as Terraform's state
lock does) lives in release/adapters/lease.py; who holds it for a change in
release/engine/hold.py.

A lease is stale, and is taken over with a warning, when it expired (its holder
stopped renewing it) or when its holder ran on this very host and that process
is gone (a crash or `kill -9` a minute ago need not wait for the expiry).
"""

from __future__ import annotations

from dataclasses import dataclass

from release.core.errors import EXIT_INTERRUPTED, ReleaseError
from release.core.records import iso

LEASE_SECONDS = 300.0  # how long a lease lasts without renewal
HEARTBEAT_SECONDS = 60.0  # how often a holder renews it
FREE, HELD, STALE = "free", "held", "stale"
EXPIRED, OWNER_GONE = "expired", "owner-gone"


@dataclass(frozen=True)
class Lease:
    """Who holds a service, for what, and until when (epoch seconds)."""

    owner: str  # unique per taking: only this taker may renew or release it
    holder: str  # user@host
    host: str
    pid: int
    command: str
    build: str  # Jenkins' BUILD_TAG or BUILD_URL, empty from a terminal
    since: float
    expires: float

    def describe(self) -> str:
        """`operator1@ci-3 (pid 4711, release deploy, build jenkins-app-42) since …`."""
        what = ", ".join(p for p in (f"pid {self.pid}", self.command,
                                     f"build {self.build}" if self.build else "") if p)
        return f"{self.holder} ({what}) since {iso(self.since)}"


@dataclass(frozen=True)
class Judgement:
    state: str  # free | held | stale
    why: str = ""  # expired | owner-gone, for a stale lease


def judge(lease: Lease | None, now: float, this_host: str, owner_alive: bool | None) -> Judgement:
    """Whether `lease` blocks a new taker.

    `owner_alive` is whether the holder's process still runs, known only when the
    holder is on this host (None otherwise: another machine's pid means nothing here).
    """
    if lease is None:
        return Judgement(FREE)
    if lease.expires < now:
        return Judgement(STALE, EXPIRED)
    if lease.host == this_host and owner_alive is False:
        return Judgement(STALE, OWNER_GONE)
    return Judgement(HELD)


def takeover_warning(where: str, lease: Lease, why: str) -> str:
    reason = (f"its lease expired at {iso(lease.expires)}" if why == EXPIRED
              else f"its process {lease.pid} on {lease.host} is gone")
    return f"{where}: taking over the lock of {lease.describe()}: {reason}"


class Superseded(ReleaseError):
    """This run's lease is no longer its own (taken over after it expired, or removed): the
    run stops before its next change. 130, as an interruption: the service is in the hands
    of the run that holds the lock now, and nothing about it needs a page."""

    exit_code = EXIT_INTERRUPTED


def superseded(where: str, taker: Lease | None, status: str) -> Superseded:
    """What a run that lost its lock says: who took over and when, and that it stopped."""
    stopped = "this run stopped without changing anything more"
    if taker is None:
        message = (f"{where}: this run's lock was removed while it was paused or out of touch "
                   f"(`release unlock`, or a run that took it over has ended): {stopped}")
    else:
        who = ", ".join(p for p in (taker.holder, f"pid {taker.pid}",
                                    f"build {taker.build}" if taker.build else "") if p)
        message = (f"{where}: another run of {taker.command or 'release'} ({who}) took over "
                   f"the lock at {iso(taker.since)}: {stopped}")
    why = ("" if taker is None else f"its lease had expired (no renewal for "
           f"{LEASE_SECONDS:g} s: the process was stopped, suspended or cut off); ")
    return Superseded(message, f"{why}the service is in another run's hands: see what it "
                      f"does with `{status}` and `release history`, and release again once it "
                      "has ended if still needed")


def held_message(where: str, lease: Lease, unlock: str) -> tuple[str, str]:
    """(message, hint) for a taker that is refused: who holds it, since when, what to do."""
    return (f"{where} is locked by {lease.describe()}; nothing was changed",
            f"wait for that run to finish and try again; if it is gone, the lock frees itself "
            f"at {iso(lease.expires)}, or an operator removes it with `{unlock}`")
