"""The environment's request budget on a fake clock: ECS's documented buckets never overdrawn,
never more than N calls a second to the other AWS services."""

from __future__ import annotations

import threading

from release.adapters.budget import RequestBudget
from release.core.ecs_throttling import Tokens, bucket_of


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
        budget.take("DescribeLoadBalancers", "elastic-load-balancing")
        budget.take("PutItem", "dynamodb")
    assert clock.now() == 1000.0  # 5 + 5: each within its own budget
    budget.take("DescribeInstanceHealth", "elastic-load-balancing")
    assert clock.now() > 1000.0


def test_dynamodb_keeps_its_documented_partition_rate_not_the_flat_budget() -> None:
    clock = FakeClock()
    budget = RequestBudget(5, clock=clock)
    for _ in range(1000):
        budget.take("UpdateItem", "dynamodb")
    assert clock.now() == 1000.0
    budget.take("PutItem", "dynamodb")
    assert clock.now() == 1001.0


def test_ecs_registrations_never_overdraw_the_documented_bucket() -> None:
    clock = FakeClock()
    budget = RequestBudget(5, clock=clock)
    aws_bucket = Tokens(bucket_of("RegisterTaskDefinition"), clock.now())  # burst 20, 1/s
    sent = []
    for _ in range(40):
        budget.take("RegisterTaskDefinition", "ecs")
        assert aws_bucket.take(clock.now()) == 0.0  # AWS would have admitted it
        sent.append(clock.now() - 1000.0)
    assert sent[:19] == [0.0] * 19  # the burst, less the token held back
    assert 20.9 < sent[-1] < 21.1  # then one a second: 21 more in 21 s, not 40/5 = 8 s
    assert budget.waited > 20


def test_ecs_categories_draw_from_their_own_buckets() -> None:
    clock = FakeClock()
    budget = RequestBudget(5, clock=clock)
    for _ in range(19):
        budget.take("RegisterTaskDefinition", "ecs")
    for _ in range(90):  # Service read: burst 100, not the flat 5 a second
        budget.take("DescribeServices", "ecs")
    for _ in range(45):  # Service modify: burst 50
        budget.take("UpdateService", "ecs")
    assert clock.now() == 1000.0
    budget.take("RegisterTaskDefinition", "ecs")  # its bucket alone is empty
    assert clock.now() == 1001.0


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
