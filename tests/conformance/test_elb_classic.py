"""The classic ELB health source's answers from DescribeInstanceHealth in the shape AWS returns.

Each test runs `ClassicElb` on a real boto3 ELB client answered by botocore's Stubber (which
validates responses and parameters against the ELB service model), and checks the neutral
view the wait reads: which tasks are served, not yet (why), draining (until when).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.stub import Stubber
from shapes_service import ELB, T0, ec2
from stub_clients import stubbed_client

from release.adapters.elb_classic import ClassicElb
from release.core.config import load_repo
from release.core.serving import DRAINING, NOT_REGISTERED, NOT_YET, SERVING, Placed

PROJECT = Path(__file__).resolve().parents[2]
DRAINING_TEXT = "Instance deregistration currently in progress."
REGISTERING = "Instance registration is still in progress."
FAILING = "Instance has failed at least the UnhealthyThreshold number of health checks " \
          "consecutively."
NOT_REGISTERED_TEXT = "Instance is not currently registered with the LoadBalancer."


@pytest.fixture
def elb() -> Iterator[tuple[Any, Stubber]]:
    yield from stubbed_client("elb")


def on(n: int, started: float | None = -3600, stopping: float | None = None,
       stopped: bool = False) -> Placed:
    return Placed(f"task-{n}", ec2(n), 80, None if started is None else T0 + started,
                  None if stopping is None else T0 + stopping, stopped)


def state(n: int, state: str = "InService", description: str = "N/A",
          reason: str = "N/A") -> dict[str, str]:
    return {"InstanceId": ec2(n), "State": state, "ReasonCode": reason,
            "Description": description}


def answer(stub: Stubber, named: list[int], states: list[dict[str, str]]) -> None:
    stub.add_response("describe_instance_health", {"InstanceStates": states},
                      {"LoadBalancerName": ELB,
                       "Instances": [{"InstanceId": ec2(n)} for n in named]})


def test_each_state_the_elb_reports_as_the_neutral_view(elb) -> None:
    client, stub = elb
    answer(stub, [1, 2, 3, 4], [state(1), state(2, description=DRAINING_TEXT),
                                state(3, "OutOfService", FAILING, "Instance"),
                                state(4, "OutOfService", REGISTERING, "ELB")])
    source = ClassicElb(client, ELB, healthy_after=60, draining=300)
    view = source.serving([on(1), on(2, stopping=-40), on(3, started=-10),
                           on(4, started=-10)], T0)
    assert view.of("task-1").state == SERVING
    assert (view.of("task-2").state, view.of("task-2").until) == (DRAINING, T0 + 260)
    assert view.draining == {ec2(2): T0 + 260}  # from ECS's stoppingAt, not first sight
    failing, registering = view.of("task-3"), view.of("task-4")
    assert (failing.state, failing.failing) == (NOT_YET, True) and FAILING in failing.reason
    assert (registering.state, registering.failing) == (NOT_YET, False)
    assert registering.until == T0 + 50  # startedAt + HealthyThreshold × Interval
    assert [s["InstanceId"] for s in view.answer] == [ec2(n) for n in (1, 2, 3, 4)]


def test_a_stale_in_service_counts_only_once_proven_for_the_new_task(elb) -> None:
    client, stub = elb
    source = ClassicElb(client, ELB, healthy_after=60, draining=300)
    fresh = [on(1, started=-5)]
    answer(stub, [1], [state(1)])
    stale = source.serving(fresh, T0).of("task-1")
    assert (stale.state, stale.until) == (NOT_YET, T0 + 55)
    answer(stub, [1], [state(1, "OutOfService", REGISTERING, "ELB")])
    assert source.serving(fresh, T0 + 5).of("task-1").state == NOT_YET
    answer(stub, [1], [state(1)])
    assert source.serving(fresh, T0 + 10).of("task-1").state == SERVING  # seen re-registered


def test_a_stale_in_service_counts_after_healthy_threshold_times_interval(elb) -> None:
    client, stub = elb
    source = ClassicElb(client, ELB, healthy_after=60, draining=300)
    fresh = [on(1, started=-5)]
    for seconds in (0, 54, 55):
        answer(stub, [1], [state(1)])
        seen = source.serving(fresh, T0 + seconds).of("task-1").state
    assert seen == SERVING  # 60 s after startedAt, not before
    answer(stub, [1], [state(1)])
    assert ClassicElb(client, ELB, 60, 300).serving(fresh, T0 + 54).of("task-1").state == NOT_YET


def test_a_drain_counts_down_from_first_sight_and_ends_when_the_elb_says(elb) -> None:
    client, stub = elb
    source = ClassicElb(client, ELB, healthy_after=60, draining=300)
    tasks = [on(1), on(3, stopped=True)]  # a stopped task's instance is still asked about
    answer(stub, [1, 3], [state(1), state(3, description=DRAINING_TEXT)])
    assert source.serving(tasks, T0 + 10).draining == {ec2(3): T0 + 310}
    answer(stub, [1, 3], [state(1), state(3, description=DRAINING_TEXT)])
    view = source.serving(tasks, T0 + 100)
    assert view.draining == {ec2(3): T0 + 310} and "task-3" not in view.tasks
    answer(stub, [1, 3], [state(1), state(3, "OutOfService", NOT_REGISTERED_TEXT,
                                          "Instance")])
    assert source.serving(tasks, T0 + 300).draining == {}


def test_an_instance_the_elb_refuses_is_not_registered_and_not_asked_again(elb) -> None:
    client, stub = elb
    source = ClassicElb(client, ELB, healthy_after=60, draining=300)
    tasks = [on(1), on(9)]
    both = {"LoadBalancerName": ELB, "Instances": [{"InstanceId": ec2(1)},
                                                   {"InstanceId": ec2(9)}]}
    stub.add_client_error("describe_instance_health", "InvalidInstance",
                          "The specified endpoint is not valid.", 400, expected_params=both)
    answer(stub, [1], [state(1)])
    stub.add_client_error("describe_instance_health", "InvalidInstance",
                          "The specified endpoint is not valid.", 400,
                          expected_params={"LoadBalancerName": ELB,
                                           "Instances": [{"InstanceId": ec2(9)}]})
    first = source.serving(tasks, T0)
    assert (first.of("task-1").state, first.of("task-9").state) == (SERVING, NOT_REGISTERED)
    answer(stub, [1], [state(1)])
    assert source.serving(tasks, T0 + 5).of("task-9").state == NOT_REGISTERED


def test_the_draining_timeout_is_the_live_elbs_read_once(elb) -> None:
    client, stub = elb
    env = load_repo(PROJECT).environment("staging")
    stub.add_response("describe_load_balancer_attributes", {"LoadBalancerAttributes": {
        "ConnectionDraining": {"Enabled": True, "Timeout": 120}}},
        {"LoadBalancerName": env.load_balancer.name})
    source = ClassicElb.for_service(type("Aws", (), {"elb": client})(), env, ELB)
    assert (source.draining_seconds(), source.draining_seconds()) == (120.0, 120.0)
    hc = env.load_balancer.health_check
    assert source.healthy_after == hc.healthy_threshold * hc.interval == 60


def test_draining_off_on_the_live_elb_is_no_draining(elb) -> None:
    client, stub = elb
    env = load_repo(PROJECT).environment("staging")
    stub.add_response("describe_load_balancer_attributes", {"LoadBalancerAttributes": {
        "ConnectionDraining": {"Enabled": False, "Timeout": 300}}})
    assert ClassicElb(client, ELB, 60, env=env).draining_seconds() == 0.0
