"""ECS's documented request buckets: the figures, the continuous refill, the least time."""

from __future__ import annotations

import pytest

from release.core.ecs_throttling import Tokens, bucket_of, registration_pacing, seconds_at_least


def test_the_figures_release_depends_on_are_the_documented_ones() -> None:
    register, update = bucket_of("RegisterTaskDefinition"), bucket_of("UpdateService")
    assert (register.burst, register.refill) == (20, 1)
    assert (update.burst, update.refill) == (50, 5)
    assert bucket_of("DescribeServices") is bucket_of("ListServices")  # one shared bucket
    assert bucket_of("DescribeTasks") is bucket_of("ListTasks")
    assert bucket_of("DescribeInstanceHealth") is None  # ELB, not ECS


def test_the_refill_is_continuous_as_in_the_documented_example() -> None:
    # "a bucket maximum capacity of 50 and a refill rate of 20 ... reaches its maximum
    # capacity after 2.5 seconds"
    tokens = Tokens(bucket_of("DescribeClusters"), now=0.0)
    for _ in range(50):
        assert tokens.take(0.0) == 0.0
    assert tokens.take(0.0) == pytest.approx(0.05)  # one token is in after 1/20 s
    tokens.fill(2.5)
    assert tokens.tokens == 50


def test_a_smaller_capacity_keeps_tokens_in_hand() -> None:
    tokens = Tokens(bucket_of("RegisterTaskDefinition"), now=0.0, capacity=19)
    taken = sum(tokens.take(0.0) == 0.0 for _ in range(25))
    assert taken == 19
    tokens.fill(1000.0)
    assert tokens.tokens == 19


def test_the_least_time_is_the_slowest_category_past_its_burst() -> None:
    two_hundred_releases = {"RegisterTaskDefinition": 200, "UpdateService": 200,
                            "DescribeServices": 100, "DescribeInstanceHealth": 400}
    assert seconds_at_least(two_hundred_releases) == 180.0  # (200 - 20) / 1
    assert seconds_at_least({"RegisterTaskDefinition": 20, "UpdateService": 50}) == 0.0
    assert seconds_at_least({"UpdateService": 60, "CreateService": 40}) == 10.0  # one bucket


def test_an_operator_is_told_when_registrations_outrun_the_burst() -> None:
    assert registration_pacing(20) is None
    note = registration_pacing(200)
    assert "20 task definitions at once, then 1 a second" in note
    assert "after about 180 s" in note
