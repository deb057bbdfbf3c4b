"""One request budget per environment: never more than N AWS calls in any one second.

ECS throttles every request of an account in a Region with token buckets (ECS
API reference, "Request throttling for the Amazon ECS API": "Amazon ECS throttles
all API requests for each AWS account on a per-Region basis"; a cluster read
action such as DescribeClusters has a bucket of 50). A hundred services released
at once from one process must therefore share one allowance, not one each:
`RequestBudget` is that allowance, shared by every client of one `aws.Aws` (and
`apply` shares one `Aws` per environment), one window per AWS service (each
throttles on its own: ECS, ELB, DynamoDB, ECR). It is a sliding window: a request
(each attempt, retries included: botocore's `before-send`) waits until fewer than
`per_second` requests to its service went out in the last second, so no second
ever holds more.

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

DEFAULT_PER_SECOND = 20  # well inside ECS's buckets, with room for the account's other tools
BUDGET_VARIABLE = "RELEASE_API_BUDGET"  # calls per second per environment (0: no budget)
THROTTLING_CODES = frozenset({"ThrottlingException", "Throttling", "RequestLimitExceeded",
                              "TooManyRequestsException", "ProvisionedThroughputExceeded"})


def configured_per_second() -> int:
    """The budget from $RELEASE_API_BUDGET, else the default; 0 turns it off."""
    value = os.environ.get(BUDGET_VARIABLE, "").strip()
    return int(value) if value.isdigit() else DEFAULT_PER_SECOND


class RequestBudget:
    """A thread-safe sliding-window limiter with counters (for the benchmarks and reports)."""

    def __init__(self, per_second: int = DEFAULT_PER_SECOND, clock: Clock | None = None) -> None:
        self.per_second = per_second
        self._clock = clock
        self._lock = threading.Lock()
        self._sent: dict[str, deque[float]] = {}  # AWS service → send times, last second
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
        """Wait until one more request to `service` fits in the last second, then count it."""
        clock = self.clock
        while True:
            with self._lock:
                now = clock.now()
                sent = self._sent.setdefault(service, deque())
                while sent and sent[0] <= now - 1.0:
                    sent.popleft()
                if not self.per_second or len(sent) < self.per_second:
                    sent.append(now)
                    self.calls[operation] += 1
                    self.per_second_seen[(service, int(now))] += 1
                    return
                pause = sent[0] + 1.0 - now
            self.waited += pause
            clock.sleep(max(pause, 0.001))

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
