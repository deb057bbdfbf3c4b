"""ECS's request throttling in the sandbox: the documented token buckets, on the sandbox clock.

moto answers every call at once; real ECS does not. "Amazon ECS throttles all
API requests for each AWS account on a per-Region basis" with a token bucket per
category of actions, and "If you exceed an API throttling quota, you get the
`ThrottlingException` error code" (ECS API reference, "Request throttling for
the Amazon ECS API"; the buckets are core/ecs_throttling.py). This WSGI layer
keeps those buckets for the sandbox's one account and Region and answers a call
that finds its bucket empty as ECS does: HTTP 400, ThrottlingException, "Rate
exceeded" (the page's example). So a tool that registers 200 revisions at once
meets what it would meet on AWS. Actions the table leaves out are not throttled.

Time, for the buckets, is the sandbox clock's. On a virtual clock it is that
clock plus the real time that has passed: the virtual clock moves only when
someone sleeps on it, while botocore's retry backoff and the gaps between one
command and the next take real time, and on AWS both refill the buckets. A test
of the buckets themselves sets `real_time = None`.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable
from typing import Any

from release.core.clock import Clock, RealClock
from release.core.ecs_throttling import Tokens, bucket_of
from release_sandbox.faults import throttling_answer

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]
ECS_TARGET_PREFIX = "AmazonEC2ContainerServiceV20141113."


class EcsThrottle:
    """The account's ECS buckets; thread-safe (moto's server answers in threads)."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        # what is added to a virtual clock's time: the real time that passes
        self.real_time: Callable[[], float] | None = (
            None if isinstance(clock, RealClock) else time.monotonic)
        self._lock = threading.Lock()
        self._buckets: dict[str, Tokens] = {}
        self.throttled: Counter[str] = Counter()  # action → calls answered ThrottlingException

    def admit(self, action: str) -> bool:
        """Take `action`'s token; False when its bucket is empty (the call is throttled)."""
        bucket = bucket_of(action)
        if bucket is None:
            return True
        with self._lock:
            now = self._now()
            tokens = self._buckets.get(bucket.category)
            if tokens is None:
                tokens = self._buckets[bucket.category] = Tokens(bucket, now)
            if tokens.take(now) == 0.0:
                return True
            self.throttled[action] += 1
            return False

    def _now(self) -> float:
        return self.clock.now() + (self.real_time() if self.real_time else 0.0)

    def seconds_to_full(self) -> float:
        """How long until every bucket is full again, if nothing else is asked."""
        with self._lock:
            now = self._now()
            waits = []
            for tokens in self._buckets.values():
                tokens.fill(now)
                waits.append(max(tokens.capacity - tokens.tokens, 0.0) / tokens.refill)
            return max(waits, default=0.0)

    def reset_counts(self) -> None:
        with self._lock:
            self.throttled.clear()

    def wrap(self, app: WsgiApp) -> WsgiApp:
        def throttled(environ: dict[str, Any], start_response: Callable[..., Any]
                      ) -> Iterable[bytes]:
            target = environ.get("HTTP_X_AMZ_TARGET", "")
            if target.startswith(ECS_TARGET_PREFIX) and not self.admit(
                    target[len(ECS_TARGET_PREFIX):]):
                status, headers, body = throttling_answer(environ)
                start_response(status, [*headers, ("Content-Length", str(len(body)))])
                return [body]
            return app(environ, start_response)

        return throttled
