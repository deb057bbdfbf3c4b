"""One request budget per environment: ECS's documented token buckets, never overdrawn.

ECS throttles every request of an account in a Region with a token bucket per
category of actions (ECS API reference, "Request throttling for the Amazon ECS
API": "All API actions in a category share the same token bucket"; the table is
core/ecs_throttling.py). A hundred services released at once from one process
must therefore share one allowance, not one each: `RequestBudget` is that
allowance, shared by every client of one `aws.Aws` (and `apply` shares one `Aws`
per environment). Each request (each attempt, retries included: botocore's
`before-send`) takes a token from its category's bucket and waits when there is
none, so `release` alone never draws a bucket below empty: 200 new revisions go
out 19 at once and then one a second, as RegisterTaskDefinition's bucket (burst
20, refill 1/s) allows. A quarter second of each refill (at least one token) is
held back, so requests that arrive closer together than they were sent are not
throttled. DynamoDB's limit is per partition, "each individual partition is
limited to 1,000 write units per second and 3,000 read units per second"
(DynamoDB Developer Guide, "Understanding DynamoDB warm throughput in different
scenarios"): the ledger's requests (items under 1 KB, one unit each) keep a window
of 1,000 a second, safe even if every one lands on one partition. The other AWS
services `release` calls (ELB, ECR, STS, CloudWatch, Logs, ...) publish no such
figure: their requests keep a flat window of `per_second` a second each.

Throttling that still happens (other tools share the account) is absorbed by
botocore's adaptive retries; the budget counts it and reports it once per
budget, not once per call.
"""

from __future__ import annotations

import os
import threading
from collections import Counter, deque
from collections.abc import Callable
from typing import Any

from release.core.clock import Clock, default_clock
from release.core.ecs_throttling import Tokens, bucket_of
from release.core.poll import THROTTLING_CODES

DEFAULT_PER_SECOND = 20  # for AWS services without a published bucket table
BUDGET_VARIABLE = "RELEASE_API_BUDGET"  # their calls per second (0: no pacing at all, ECS too)
DOCUMENTED_PER_SECOND = {"dynamodb": 1000}  # a partition's write units a second
HELD_BACK_SECONDS = 0.25  # of each ECS bucket's refill, kept for arrival jitter


def configured_per_second() -> int:
    """The budget from $RELEASE_API_BUDGET, else the default; 0 turns it off."""
    value = os.environ.get(BUDGET_VARIABLE, "").strip()
    return int(value) if value.isdigit() else DEFAULT_PER_SECOND


class RequestBudget:
    """A thread-safe limiter (ECS buckets, a sliding window elsewhere) with counters."""

    def __init__(self, per_second: int = DEFAULT_PER_SECOND, clock: Clock | None = None) -> None:
        self.per_second = per_second
        self._clock = clock
        self._lock = threading.Lock()
        self._sent: dict[str, deque[float]] = {}  # AWS service → send times, last second
        self._buckets: dict[str, Tokens] = {}  # ECS category → tokens
        self.calls: Counter[str] = Counter()  # operation → requests sent (attempts)
        self.per_second_seen: Counter[tuple[str, int]] = Counter()  # (service, second) → sent
        self.throttled = 0
        self.waited = 0.0  # seconds requests spent waiting for the budget
        self._on_throttle: list[Callable[[str, str], None]] = []
        self._reported = False

    @property
    def clock(self) -> Clock:
        return self._clock or default_clock()

    def take(self, operation: str = "", service: str = "") -> None:
        """Wait until `operation` may go out to `service`, then count it."""
        clock = self.clock
        while True:
            with self._lock:
                now = clock.now()
                pause = self._pause(operation, service, now)
                if pause <= 0:
                    self.calls[operation] += 1
                    self.per_second_seen[(service, int(now))] += 1
                    return
            self.waited += pause
            clock.sleep(max(pause, 0.001))

    def _pause(self, operation: str, service: str, now: float) -> float:
        """0 after taking the request's place, else how long to wait for one (lock held)."""
        if not self.per_second:
            return 0.0
        bucket = bucket_of(operation) if service == "ecs" else None
        if bucket is not None:
            tokens = self._buckets.get(bucket.category)
            if tokens is None:
                held_back = max(1.0, bucket.refill * HELD_BACK_SECONDS)
                tokens = self._buckets[bucket.category] = Tokens(
                    bucket, now, capacity=bucket.burst - held_back)
            return tokens.take(now)
        sent = self._sent.setdefault(service, deque())
        while sent and sent[0] <= now - 1.0:
            sent.popleft()
        if len(sent) < self.limit_of(service):
            sent.append(now)
            return 0.0
        return sent[0] + 1.0 - now

    def limit_of(self, service: str) -> int:
        """The calls a second `service` (not ECS: its buckets) may have."""
        return DOCUMENTED_PER_SECOND.get(service, self.per_second)

    def peak_per_second(self) -> int:
        """The most requests to one AWS service in any one calendar second."""
        return max(self.per_second_seen.values(), default=0)

    def on_throttle(self, listener: Callable[[str, str], None]) -> None:
        """`listener(operation, code)` is called for the FIRST throttled answer only."""
        with self._lock:
            self._on_throttle.append(listener)

    def throttled_answer(self, operation: str, code: str) -> None:
        with self._lock:
            self.throttled += 1
            first, self._reported = not self._reported, True
            listeners = list(self._on_throttle) if first else []
        for listener in listeners:
            listener(operation, code)

    def attach(self, client: Any) -> None:
        """Pace every request of `client` and count the throttled answers."""
        events = client.meta.events
        service = client.meta.service_model.service_id.hyphenize()
        events.register(f"before-send.{service}", self._before_send)
        events.register(f"needs-retry.{service}", self._needs_retry)

    def _before_send(self, event_name: str = "", **_: Any) -> None:
        _, service, operation = (event_name.split(".", 2) + ["", ""])[:3]
        self.take(operation, service)  # before-send.<service>.<Operation>
        return None  # never an answer of our own: the request goes out

    def _needs_retry(self, response: Any = None, operation: Any = None, **_: Any) -> None:
        if response is None:
            return None
        parsed = response[1] if isinstance(response, tuple) and len(response) > 1 else {}
        code = str((parsed or {}).get("Error", {}).get("Code", ""))
        if code in THROTTLING_CODES:
            self.throttled_answer(getattr(operation, "name", ""), code)
        return None  # botocore's own retry handler decides
