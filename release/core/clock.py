"""Time as a dependency, so waits and the sandbox emulator can run on a virtual clock."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Protocol


class Clock(Protocol):
    def now(self) -> float: ...

    def sleep(self, seconds: float) -> None: ...


class RealClock:
    """Wall-clock time (epoch seconds)."""

    def now(self) -> float:
        return time.time()

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            time.sleep(seconds)


class VirtualClock:
    """A clock that only moves when someone sleeps on it or calls `advance`.

    Listeners (the sandbox emulator) are called after every step so the world
    they simulate moves with time. Steps are at most `step` seconds so a long
    sleep still lets the world change in between.
    """

    def __init__(self, start: float = 1_700_000_000.0, step: float = 1.0) -> None:
        self._now = start
        self._step = step
        self._lock = threading.RLock()
        self._listeners: list[Callable[[float], None]] = []

    def now(self) -> float:
        return self._now

    def on_tick(self, listener: Callable[[float], None]) -> None:
        self._listeners.append(listener)

    def advance(self, seconds: float) -> None:
        with self._lock:
            remaining = seconds
            while remaining > 1e-9:
                delta = min(self._step, remaining)
                self._now += delta
                remaining -= delta
                for listener in list(self._listeners):
                    listener(self._now)

    def sleep(self, seconds: float) -> None:
        self.advance(max(seconds, 0.0))


_default: Clock = RealClock()


def default_clock() -> Clock:
    """The clock commands use; tests swap it with `use_clock`."""
    return _default


def use_clock(clock: Clock) -> Clock:
    """Make `clock` the default and return the previous one (for restoring)."""
    global _default
    previous, _default = _default, clock
    return previous
