"""The one poll policy (core/poll.py): the wait's rhythm, the fixed pace, the outage budget,
the throttling codes; and the one place a service's wait is chosen (core/wait_strategy.py)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from release.core.poll import (
    CHANGED_POLL_SECONDS,
    MAX_POLL_SECONDS,
    OUTAGE_SECONDS,
    THROTTLING_CODES,
    Again,
    Outage,
    Pace,
    is_throttling,
    next_interval,
    pause_before_next_poll,
    shape,
)
from release.core.wait_strategy import NATIVE_WAIT, ROLLING_WAIT, choose

RELEASE = Path(__file__).resolve().parents[2] / "release"


def test_after_a_change_look_again_soon_and_back_off_while_nothing_moves() -> None:
    assert next_interval(MAX_POLL_SECONDS, changed=True) == CHANGED_POLL_SECONDS
    steps = [CHANGED_POLL_SECONDS]
    for _ in range(5):
        steps.append(next_interval(steps[-1], changed=False))
    assert steps == [2, 4, 8, 10, 10, 10]


@pytest.mark.parametrize(("interval", "expected_in", "moving", "pause"), [
    (2.0, None, True, 2.0),     # nothing known: the backoff
    (8.0, 3.0, True, 3.25),     # tasks moving on their own, but something due sooner
    (2.0, 7.0, False, 7.25),    # only a known moment left: sleep until just after it
    (2.0, 30.0, False, 30.25),  # a drain's end 30 s away: one poll, just after it
    (2.0, 140.0, False, 140.25),  # a task due InService in 140 s: one poll, just after it
    (2.0, 300.0, False, 150.0),  # ... but never longer than the quiet maximum
    (4.0, -3.0, False, 0.5),    # overdue: look again shortly
])
def test_pause_before_next_poll(interval, expected_in, moving, pause) -> None:
    now = 1000.0
    expected = None if expected_in is None else now + expected_in
    assert pause_before_next_poll(interval, expected, now, now + 600, moving) == pause


def test_pause_never_sleeps_past_the_deadline() -> None:
    assert pause_before_next_poll(10.0, None, 1000.0, 1003.0, True) == pytest.approx(3.1)


def test_the_backoff_pace_is_the_waits_rhythm() -> None:
    pace = Pace(CHANGED_POLL_SECONDS, deadline=1000.0 + 600, backoff=True)
    pauses = [pace.pause(1000.0, Again(changed=False)) for _ in range(4)]
    assert pauses == [4, 8, 10, 10]
    assert pace.pause(1000.0, Again(changed=True)) == CHANGED_POLL_SECONDS
    assert pace.pause(1000.0, Again(expected_at=1030.0, moving_on_its_own=False)) == 30.25
    assert pace.pause(1598.0, Again()) == pytest.approx(2.1)  # just past the deadline


def test_a_fixed_pace_ends_exactly_on_its_deadline_and_without_one_never_ends() -> None:
    bake = Pace(15.0, deadline=120.0)
    assert [bake.pause(now) for now in (0.0, 105.0, 110.0, 120.0)] == [15.0, 15.0, 10.0, 0.0]
    assert not bake.due(119.9) and bake.due(120.0)
    follow = Pace(2.0)
    assert follow.pause(1e9) == 2.0 and not follow.due(1e9)


def test_an_outage_is_retried_with_backoff_for_its_budget_then_given_up() -> None:
    outage = Outage()
    now, delays = 0.0, []
    while (delay := outage.lost(now)) is not None:
        delays.append(delay)
        now += delay
    assert delays[:6] == [1, 2, 4, 8, 8, 8]
    assert OUTAGE_SECONDS < now <= OUTAGE_SECONDS + 8  # gave up on the first read past it
    assert outage.seconds(now) == now and outage.back() and not outage.back()
    assert outage.lost(now) == 1.0  # a new outage starts its budget and backoff afresh


def test_an_outage_is_not_retried_past_the_loops_deadline() -> None:
    outage = Outage()
    assert outage.lost(10.0, deadline=12.0) == 1.0
    assert outage.lost(12.0, deadline=12.0) is None


def test_throttling_codes_are_defined_once_and_used_by_every_reader() -> None:
    assert {"ThrottlingException", "Throttling", "RequestLimitExceeded",
            "TooManyRequestsException"} <= THROTTLING_CODES
    assert is_throttling("ThrottlingException") and not is_throttling("AccessDenied")
    defined = []
    for path in sorted(RELEASE.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            targets = node.targets if isinstance(node, ast.Assign) else (
                [node.target] if isinstance(node, ast.AnnAssign) else [])
            names = [t.id for t in targets if isinstance(t, ast.Name)]
            if "THROTTLING_CODES" in names:
                defined.append(path.relative_to(RELEASE).as_posix())
            if isinstance(node, ast.Constant) and node.value == "RequestLimitExceeded":
                defined.append(path.relative_to(RELEASE).as_posix())
    assert defined == ["core/poll.py", "core/poll.py"]


def test_no_module_imports_a_private_name_of_another() -> None:
    strays = []
    for path in sorted(RELEASE.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith(
                    "release."):
                strays += [f"{path.relative_to(RELEASE)}: {node.module}.{a.name}"
                           for a in node.names if a.name.startswith("_")]
    assert strays == []


def test_a_countdown_alone_is_not_a_new_shape() -> None:
    assert shape("2/2 running; draining 1 (120 s left)") == shape(
        "2/2 running; draining 1 (90 s left)") == "2/2 running; draining 1"


@pytest.mark.parametrize(("service", "kind", "strategy", "health"), [
    ({}, ROLLING_WAIT, "ROLLING", None),
    ({"loadBalancers": [{"loadBalancerName": "akka", "containerName": "a",
                         "containerPort": 80}]}, ROLLING_WAIT, "ROLLING", "classic"),
    ({"deploymentConfiguration": {"strategy": "ROLLING"},
      "loadBalancers": [{"targetGroupArn": "arn:tg", "containerName": "a",
                         "containerPort": 80}]}, ROLLING_WAIT, "ROLLING", "target_groups"),
    ({"deploymentConfiguration": {"strategy": "BLUE_GREEN"},
      "loadBalancers": [{"targetGroupArn": "arn:tg"}]}, NATIVE_WAIT, "BLUE_GREEN", None),
    ({"deploymentConfiguration": {"strategy": "LINEAR"}}, NATIVE_WAIT, "LINEAR", None),
    ({"deploymentConfiguration": {"strategy": "CANARY"},
      "deploymentController": {"type": "ECS"}}, NATIVE_WAIT, "CANARY", None),
])
def test_the_wait_is_chosen_by_controller_and_strategy(service, kind, strategy, health) -> None:
    chosen = choose(service)
    named = chosen.health.name if chosen.health else None
    assert (chosen.kind, chosen.strategy, named) == (kind, strategy, health)
    assert chosen.native == (kind == NATIVE_WAIT)
    assert chosen.describe()


def test_a_service_ecs_does_not_deploy_has_no_wait() -> None:
    with pytest.raises(ValueError, match="CODE_DEPLOY"):
        choose({"deploymentController": {"type": "CODE_DEPLOY"}})
