"""The environment's request budget on a fake clock: never more than N calls in any second."""

from __future__ import annotations

import threading

from release.adapters.budget import RequestBudget


class FakeClock:
    """Time that moves only when someone sleeps (one lock: threads take turns)."""

    def __init__(self) -> None:
        self.t = 1000.0
        self.lock = threading.Lock()

    def now(self) -> float:
        return self.t

    def sleep(self, seconds: float) -> None:
        with self.lock:
            self.t += seconds


def windows_ok(times: list[float], per_second: int) -> bool:
    """No window [t, t + 1) holds more than per_second calls."""
    times = sorted(times)
    return all(sum(1 for u in times if t <= u < t + 1.0) <= per_second for t in times)


def test_the_budget_is_never_exceeded_in_any_one_second() -> None:
    clock = FakeClock()
    budget = RequestBudget(5, clock=clock)
    sent = []
    for _ in range(23):
        budget.take("DescribeServices")
        sent.append(clock.now())
    assert windows_ok(sent, 5)
    assert not windows_ok(sent, 4)  # and it does use what it may: 5 in the first second
    assert sent[-1] - sent[0] < 4.01  # 23 calls at 5 a second: about 4 s, no more
    assert budget.peak_per_second() == 5
    assert budget.calls["DescribeServices"] == 23


def test_threads_share_one_budget() -> None:
    clock = FakeClock()
    budget = RequestBudget(10, clock=clock)
    sent, lock = [], threading.Lock()

    def worker() -> None:
        for _ in range(10):
            budget.take("DescribeTasks")
            with lock:
                sent.append(clock.now())

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(sent) == 80
    assert windows_ok(sent, 10)


def test_each_aws_service_has_its_own_window() -> None:
    clock = FakeClock()
    budget = RequestBudget(5, clock=clock)
    for _ in range(5):
        budget.take("DescribeServices", "ecs")
        budget.take("PutItem", "dynamodb")
    assert clock.now() == 1000.0  # 5 + 5: each within its own budget
    budget.take("DescribeTasks", "ecs")
    assert clock.now() > 1000.0


def test_a_budget_of_zero_is_no_budget() -> None:
    clock = FakeClock()
    budget = RequestBudget(0, clock=clock)
    for _ in range(100):
        budget.take()
    assert clock.now() == 1000.0


def test_throttling_is_reported_once_and_counted_every_time() -> None:
    budget = RequestBudget(5, clock=FakeClock())
    heard = []
    budget.on_throttle(lambda op, code: heard.append((op, code)))
    for _ in range(4):
        budget.throttled_answer("DescribeServices", "ThrottlingException")
    assert heard == [("DescribeServices", "ThrottlingException")]
    assert budget.throttled == 4
