"""The one poll loop (engine/poll.py) on the virtual clock: read, judge, pause; outages
retried under core/poll.py's policy, said once, given up with exit 5; other errors mapped
at once. Every wait runs it (the rolling and native waits, the bake, run, logs --follow,
the scan gate); their own tests replay it in AWS's shapes (tests/conformance)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import botocore.exceptions as bx
import pytest

from release.core.clock import VirtualClock
from release.core.config import load_repo
from release.core.errors import InvalidInput, Unreachable
from release.core.poll import Again, Pace
from release.engine.poll import Contact, poll
from release.output.events import Reporter

PROJECT = Path(__file__).resolve().parents[2]
LOST = bx.EndpointConnectionError(endpoint_url="https://ecs.us-east-1.amazonaws.com")


def throttled(operation: str = "DescribeServices") -> bx.ClientError:
    return bx.ClientError({"Error": {"Code": "ThrottlingException", "Message": "Rate exceeded"}},
                          operation)


@pytest.fixture
def contact() -> Iterator[Contact]:
    env = load_repo(PROJECT).environment("staging")
    yield Contact(env, "waiting for svc", "resume with `release deploy`", Reporter("json"),
                  "wait", "staging/svc: ", fields={"service": "svc"})


def script(clock: VirtualClock, answers: list[Any]) -> Any:
    """A read that gives (or raises) each answer in turn, noting when it was asked."""
    asked: list[float] = []

    def read(now: float) -> Any:
        asked.append(now)
        answer = answers.pop(0)
        if isinstance(answer, BaseException):
            raise answer
        return answer

    read.asked = asked  # type: ignore[attr-defined]
    return read


def until_done(_now: float, value: str) -> str | Again:
    return value if value == "done" else Again(changed=value == "moved")


def test_reads_until_the_judge_says_done_pausing_as_the_pace_says(contact) -> None:
    clock = VirtualClock(start=0.0)
    read = script(clock, ["quiet", "quiet", "moved", "quiet", "done"])
    result = poll(read, until_done, pace=Pace(2.0, 600.0, backoff=True), contact=contact,
                  clock=clock)
    assert result == "done"
    assert read.asked == [0, 4, 12, 14, 18]  # back off 4, 8; after a change 2; then 4


def test_an_outage_is_retried_said_once_and_its_end_said_once(contact) -> None:
    clock = VirtualClock(start=0.0)
    read = script(clock, ["quiet", LOST, throttled(), LOST, "done"])
    assert poll(read, until_done, pace=Pace(2.0, 600.0, backoff=True), contact=contact,
                clock=clock) == "done"
    assert read.asked == [0, 4, 5, 7, 11]  # retried after 1, 2, 4 s
    kinds = [e.kind for e in contact.reporter.events]
    assert kinds == ["wait.retry", "wait.reconnected"]
    assert "lost contact with AWS (EndpointConnectionError)" in contact.reporter.events[0].message


def test_an_outage_past_the_budget_gives_up_with_exit_5_and_the_hint(contact) -> None:
    clock = VirtualClock(start=0.0)
    read = script(clock, [LOST] * 11)
    with pytest.raises(Unreachable) as raised:
        poll(read, until_done, pace=Pace(2.0, 600.0, backoff=True), contact=contact,
             clock=clock)
    assert raised.value.message.startswith("lost contact with AWS for 63 s while waiting for svc")
    assert raised.value.hint == "resume with `release deploy`"
    assert read.asked[-1] == 63


def test_an_outage_at_the_deadline_ends_a_wait_but_not_a_bake(contact) -> None:
    clock = VirtualClock(start=0.0)
    read = script(clock, ["quiet", LOST])
    with pytest.raises(Unreachable):
        poll(read, until_done, pace=Pace(5.0, 5.0), contact=contact, clock=clock)
    contact.deadline_ends_outage = False
    contact.outage.back()
    read = script(clock, ["quiet", LOST, "done"])
    assert poll(read, until_done, pace=Pace(5.0, clock.now() + 5.0), contact=contact,
                clock=clock) == "done"


def test_another_error_is_awss_answer_mapped_at_once(contact) -> None:
    clock = VirtualClock(start=0.0)
    refused = bx.ClientError({"Error": {"Code": "ServiceNotFoundException", "Message": "gone"}},
                             "DescribeServices")
    read = script(clock, [refused])
    with pytest.raises(InvalidInput) as raised:
        poll(read, until_done, pace=Pace(2.0), contact=contact, clock=clock)
    assert "while waiting for svc: ServiceNotFoundException" in raised.value.message
    assert clock.now() == 0 and contact.reporter.events == []


def test_pauses_go_to_the_callers_sleep_when_given(contact) -> None:
    clock = VirtualClock(start=0.0)
    slept: list[float] = []
    read = script(clock, ["quiet", LOST, "done"])
    poll(read, until_done, pace=Pace(3.0), contact=contact, clock=clock,
         sleep=lambda s: (slept.append(s), clock.sleep(s)))
    assert slept == [3.0, 1.0]
