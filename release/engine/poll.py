"""The one poll loop: read, judge, pause, on the injected clock, through outages.

Every wait of the tool runs `poll`: the rolling wait (engine/wait.py), the native
wait (engine/native_wait.py), the bake (engine/bake.py), `run` (engine/run.py),
`logs --follow` (engine/logs.py), finding a just-started deployment and the scan
gate. Each supplies what to read and how to judge it; the pacing (`Pace`) and the
outage policy (`Outage`) are core/poll.py's, the same for all:

- a read that fails with a lost connection or a throttling answer that outlasted
  botocore's own retries is retried after 1, 2, 4, 8, 8, ... s; the first failure
  says so once (`<events>.retry`), the first good read after it too
  (`<events>.reconnected`); after OUTAGE_SECONDS (or past the loop's deadline) the
  loop gives up: `Unreachable` (exit 5) with the loop's hint;
- any other failure of a read is AWS's answer, mapped by `aws_errors` as everywhere.

Sleeps go to the clock (or the caller's `sleep`: the rolling wait's goes through the
environment's poller), so on the virtual clock a wait takes no wall time.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from release.core.clock import Clock, default_clock
from release.core.config import Environment
from release.core.errors import Unreachable
from release.core.poll import Again, Outage, Pace
from release.output.events import Reporter

T = TypeVar("T")
R = TypeVar("R")


@dataclass
class Contact:
    """One loop's side of an outage: what it is doing, what to say, how to give up."""

    env: Environment
    doing: str  # "waiting for akka-firehose": the errors' "while ..."
    hint: str  # how to go on when the loop gives up
    reporter: Reporter | None = None  # None: retried silently
    events: str = "wait"  # the events' prefix: <events>.retry, <events>.reconnected
    where: str = ""  # the events' "<env>/<service>: " prefix
    peer: str = "AWS"  # who was lost ("CloudWatch" for the bake)
    fields: dict[str, Any] = field(default_factory=dict)
    deadline_ends_outage: bool = True  # False: an outage at the deadline is retried as well
    outage: Outage = field(default_factory=Outage)

    def lost(self, exc: Exception, now: float, deadline: float | None) -> float:
        """A read failed: the pause before the retry; raises what to tell the operator when
        the failure is not an outage or the outage outlasted the policy."""
        from release.adapters.aws import aws_errors, retryable

        if not retryable(exc):
            with aws_errors(self.env, self.doing):
                raise exc
            raise exc  # aws_errors re-raised it as a ReleaseError; this line is not reached
        first = not self.outage.ongoing
        delay = self.outage.lost(now, deadline if self.deadline_ends_outage else None)
        if first and self.reporter is not None:
            self.reporter.emit(f"{self.events}.retry", f"{self.where}lost contact with "
                               f"{self.peer} ({type(exc).__name__}); retrying", "warn",
                               **self.fields)
        if delay is None:
            raise Unreachable(f"lost contact with {self.peer} for "
                              f"{int(self.outage.seconds(now))} s while {self.doing}: {exc}",
                              self.hint) from None
        return delay

    def back(self) -> None:
        """A read succeeded: say so once when it ends an outage."""
        if self.outage.back() and self.reporter is not None:
            self.reporter.emit(f"{self.events}.reconnected", f"{self.where}back in contact "
                               f"with {self.peer}", **self.fields)


def poll(read: Callable[[float], T], judge: Callable[[float, T], R | Again], *,
         pace: Pace, contact: Contact, clock: Clock | None = None,
         sleep: Callable[[float], None] | None = None) -> R:
    """Read at `now`, judge what was read; `Again` → pause as `pace` says and read again,
    anything else is the loop's result. Reads go through `contact`'s outage policy."""
    clock = clock or default_clock()
    pause = sleep or clock.sleep
    while True:
        now = clock.now()
        try:
            value = read(now)
        except Exception as exc:  # noqa: BLE001 - Contact.lost re-raises all but outages
            pause(contact.lost(exc, now, pace.deadline))
            continue
        contact.back()
        result = judge(now, value)
        if not isinstance(result, Again):
            return result
        pause(pace.pause(now, result))
