"""The one poll policy: how often to look, until when, and what an outage does.

Every loop that waits on AWS (the rolling wait, the native wait, the bake, `run`,
`logs --follow`, finding a just-started deployment, the scan gate) runs
`engine/poll.py`'s one loop with the pure pieces here:

- `Pace`: the next pause. A fixed interval (the bake, `run`, `logs --follow`) or a
  backoff that looks again soon after a change and doubles while nothing moves (the
  waits); a moment known to be due (a drain ending) is woken for; never a sleep past
  the deadline.
- `Outage`: a lost connection or a throttling answer that outlasted botocore's own
  retries is retried after 1, 2, 4, 8, 8, ... s for up to `OUTAGE_SECONDS` (and never
  past the loop's deadline); then the loop gives up with a clear error (exit 5).
- `THROTTLING_CODES`: the error codes that mean "slow down", for the loop, the
  request budget (adapters/budget.py) and the error mapping (adapters/aws.py).

Pure: time comes in as `now`, so tests drive it with numbers or the virtual clock.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# Throttling answers. botocore's standard retry mode treats these (and more) as throttled
# (botocore/retries/standard.py, ThrottlingErrorDetector); ECS answers ThrottlingException
# ("Request throttling for the Amazon ECS API"), EC2 RequestLimitExceeded, DynamoDB
# ProvisionedThroughputExceededException (its model also names ProvisionedThroughputExceeded).
THROTTLING_CODES = frozenset({
    "ThrottlingException", "Throttling", "RequestLimitExceeded", "TooManyRequestsException",
    "ProvisionedThroughputExceeded", "ProvisionedThroughputExceededException"})

OUTAGE_SECONDS = 60.0  # how long a lost connection or throttling is retried before giving up
OUTAGE_FIRST_DELAY = 1.0
OUTAGE_MAX_DELAY = 8.0

CHANGED_POLL_SECONDS = 2.0  # after a change, look again soon (changes come in runs)
MAX_POLL_SECONDS = 10.0  # the backoff's ceiling while nothing moves
MIN_POLL_SECONDS = 1.0
EXPECTED_SLACK_SECONDS = 0.25  # wake this long after a moment known to be due
# Only a known moment left (a 300 s drain, a task due InService): nothing but the
# unexpected can change the verdict before it, and that may wait this long to be seen
# (a quiet poll is one DescribeServices: a 300 s drain costs 2, not 5).
QUIET_MAX_POLL_SECONDS = 150.0
PAST_DEADLINE_SECONDS = 0.1  # a waiting loop's last poll lands just past its deadline
SHORTEST_PAUSE_SECONDS = 0.1

COUNTDOWN_EVERY_SECONDS = 30.0  # a countdown alone (drain, bake) is reprinted at most this often
COUNTDOWN = re.compile(r" \(\d+ s left\)")


def is_throttling(code: str) -> bool:
    """Does this AWS error code mean "slow down" (retry later, the request was fine)?"""
    return code in THROTTLING_CODES


def shape(summary: str) -> str:
    """A progress line without its countdown: what changed, not what ticked."""
    return COUNTDOWN.sub("", summary)


def next_interval(interval: float, changed: bool) -> float:
    """Back off while nothing moves; after a change, look again soon (changes come in runs)."""
    return CHANGED_POLL_SECONDS if changed else min(interval * 2, MAX_POLL_SECONDS)


def pause_before_next_poll(interval: float, expected_at: float | None, now: float,
                           deadline: float, moving_on_its_own: bool = True) -> float:
    """How long to sleep before the next poll of a wait.

    When all that is left to happen is due at a known moment (a drain ending after
    the ELB's timeout, a task turning InService after HealthyThreshold × Interval),
    sleep until just after it, up to QUIET_MAX_POLL_SECONDS: nothing else can change
    the verdict before then (a 300 s drain costs 5 polls, not 30). When tasks are
    starting or stopping on ECS's own schedule, use the backoff interval (but still
    wake for a due moment). Never sleep past the deadline. The moment a rollout
    becomes stable is almost always one of the known ones, so it is seen within a
    fraction of a second without polling every second.
    """
    due = None if expected_at is None else max(MIN_POLL_SECONDS / 2,
                                               expected_at - now + EXPECTED_SLACK_SECONDS)
    if due is not None and not moving_on_its_own:
        pause = min(due, QUIET_MAX_POLL_SECONDS)
    elif due is not None:
        pause = min(interval, due)
    else:
        pause = interval
    return max(min(pause, deadline - now + PAST_DEADLINE_SECONDS), SHORTEST_PAUSE_SECONDS)


@dataclass(frozen=True)
class Again:
    """A poll's answer "not done yet", with what the pace needs to pick the next pause."""

    changed: bool = False  # something moved since the last poll
    expected_at: float | None = None  # a moment known to change the verdict (a drain's end)
    moving_on_its_own: bool = True  # tasks start/stop on ECS's schedule, not only at due moments


@dataclass
class Pace:
    """When to poll next. `backoff=False`: every `interval` seconds (clipped to the
    deadline exactly, so a bake ends on its minute); `backoff=True`: the wait's pace
    (`next_interval`, `pause_before_next_poll`), its last poll just past the deadline."""

    interval: float = CHANGED_POLL_SECONDS
    deadline: float | None = None
    backoff: bool = False

    def pause(self, now: float, again: Again | None = None) -> float:
        again = again or Again()
        if not self.backoff:
            pause = self.interval if self.deadline is None else min(self.interval,
                                                                     self.deadline - now)
            return max(pause, 0.0)
        self.interval = next_interval(self.interval, again.changed)
        deadline = float("inf") if self.deadline is None else self.deadline
        return pause_before_next_poll(self.interval, again.expected_at, now, deadline,
                                      again.moving_on_its_own)

    def due(self, now: float) -> bool:
        """The deadline has come."""
        return self.deadline is not None and now >= self.deadline


@dataclass
class Outage:
    """One outage policy: retry after 1, 2, 4, 8, 8, ... s, for up to `budget` seconds from
    the first failure and never past `deadline`; then give up."""

    budget: float = OUTAGE_SECONDS
    since: float | None = None
    retries: int = 0

    @property
    def ongoing(self) -> bool:
        return self.since is not None

    def lost(self, now: float, deadline: float | None = None) -> float | None:
        """A read failed at `now`: the pause before retrying, or None to give up."""
        if self.since is None:
            self.since = now
        if now - self.since > self.budget or (deadline is not None and now >= deadline):
            return None
        delay = min(OUTAGE_FIRST_DELAY * 2.0 ** min(self.retries, 3), OUTAGE_MAX_DELAY)
        self.retries += 1
        return delay

    def seconds(self, now: float) -> float:
        """How long the outage has lasted at `now`."""
        return 0.0 if self.since is None else now - self.since

    def back(self) -> bool:
        """A read succeeded: True when it ends an outage (so "back in contact" is said once)."""
        ended = self.since is not None
        self.since, self.retries = None, 0
        return ended
