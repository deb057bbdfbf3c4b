"""The one poll loop's outage policy, replayed with the answers AWS gives (botocore Stubber).

A throttling answer (ThrottlingException, HTTP 400, as ECS and CloudWatch send it once
botocore's own retries are spent) or a lost connection is retried by every wait under one
policy (core/poll.py: 1, 2, 4, 8 s ..., for up to a minute), said once and its end said
once; any other error is AWS's answer and ends the wait at once. Before the unification
the native wait did not retry at all and the bake retried every 5 s silently; these tests
hold the native wait, the bake and `run`'s follow to the one policy. The rolling wait's
retry is the sandbox's fault scenarios' (tests/engine/test_scenarios.py).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from botocore.stub import Stubber
from stub_clients import stubbed_client
from test_alarms import answer as alarms_answer
from test_alarms import metric_alarm
from test_alarms import staging as staging_with_bake
from test_service_deployments import DEPLOYMENT, full

from release.core.clock import VirtualClock, use_clock
from release.core.config import load_repo
from release.core.errors import EXIT_UNREACHABLE, Unreachable
from release.core.poll import OUTAGE_SECONDS
from release.core.service_deployments import RELEASED
from release.engine import native_wait
from release.engine.bake import watch_bake
from release.output.events import Reporter

PROJECT = Path(__file__).resolve().parents[2]
THROTTLED = ("ThrottlingException", "Rate exceeded", 400)


@pytest.fixture
def ecs() -> Iterator[tuple[Any, Stubber]]:
    yield from stubbed_client("ecs")


@pytest.fixture
def cloudwatch() -> Iterator[tuple[Any, Stubber]]:
    yield from stubbed_client("cloudwatch")


@pytest.fixture
def clock() -> Iterator[VirtualClock]:
    virtual = VirtualClock()
    previous = use_clock(virtual)
    yield virtual
    use_clock(previous)


def production() -> tuple[Any, Any]:
    repo = load_repo(PROJECT)
    return repo.environment("production"), repo.services_of("production")[0]


def kinds(reporter: Reporter) -> list[str]:
    return [e.kind for e in reporter.events]


def describe(stub: Stubber, deployment: dict[str, Any]) -> None:
    stub.add_response("describe_service_deployments", {"serviceDeployments": [deployment]},
                      {"serviceDeploymentArns": [DEPLOYMENT]})


def throttle(stub: Stubber, operation: str, times: int = 1) -> None:
    for _ in range(times):
        stub.add_client_error(operation, *THROTTLED)


def test_the_native_wait_retries_throttling_as_the_rolling_wait_does(ecs, clock) -> None:
    client, stub = ecs
    env, spec = production()
    describe(stub, full())
    throttle(stub, "describe_service_deployments", 3)
    describe(stub, full(status="SUCCESSFUL", stage="CLEAN_UP"))
    reporter = Reporter("json")
    start = clock.now()
    followed = native_wait.follow(env, spec, SimpleNamespace(ecs=client), reporter, DEPLOYMENT,
                                  start + 3600)
    assert followed.verdict.state == RELEASED and not followed.stopped_by_release
    # one poll after the first (2 s), then the retries' 1 + 2 + 4 s
    assert clock.now() - start == pytest.approx(2 + 1 + 2 + 4)
    assert kinds(reporter).count("wait.retry") == 1
    assert kinds(reporter).count("wait.reconnected") == 1
    retry = next(e for e in reporter.events if e.kind == "wait.retry")
    assert "lost contact with AWS (ClientError)" in retry.message
    assert retry.data["service"] == spec.service_name


def test_the_native_wait_gives_up_after_the_outage_budget_with_exit_5(ecs, clock) -> None:
    client, stub = ecs
    env, spec = production()
    throttle(stub, "describe_service_deployments", 11)  # at 0, 1, 3, 7, 15, ... 55, 63 s
    reporter = Reporter("json")
    start = clock.now()
    with pytest.raises(Unreachable) as raised:
        native_wait.follow(env, spec, SimpleNamespace(ecs=client), reporter, DEPLOYMENT,
                           start + 3600)
    assert raised.value.exit_code == EXIT_UNREACHABLE
    assert "lost contact with AWS for" in raised.value.message
    assert f"reading the deployment of {spec.service_name}" in raised.value.message
    assert "ThrottlingException" in raised.value.message
    assert f"release status --env production --service {spec.name}" in raised.value.hint
    assert OUTAGE_SECONDS < clock.now() - start <= OUTAGE_SECONDS + 8


def test_an_error_that_is_not_an_outage_ends_the_native_wait_at_once(ecs, clock) -> None:
    client, stub = ecs
    env, spec = production()
    stub.add_client_error("describe_service_deployments", "AccessDeniedException",
                          "not authorized to perform: ecs:DescribeServiceDeployments", 400)
    reporter = Reporter("json")
    start = clock.now()
    with pytest.raises(Unreachable) as raised:
        native_wait.follow(env, spec, SimpleNamespace(ecs=client), reporter, DEPLOYMENT,
                           start + 3600)
    assert "refused the credentials" in raised.value.message
    assert f"reading the deployment of {spec.service_name}" in raised.value.message
    assert clock.now() == start and "wait.retry" not in kinds(reporter)


def test_finding_a_just_started_deployment_retries_throttling(ecs, clock) -> None:
    from test_service_deployments import brief

    client, stub = ecs
    env, spec = production()
    throttle(stub, "list_service_deployments")
    stub.add_response("list_service_deployments", {"serviceDeployments": [brief(DEPLOYMENT, 0)]},
                      {"cluster": env.cluster, "service": spec.service_name})
    found = native_wait.find_deployment(env, spec, SimpleNamespace(ecs=client), None)
    assert found is not None and found["serviceDeploymentArn"] == DEPLOYMENT


def test_the_bake_retries_throttling_under_the_one_policy_and_says_so(cloudwatch, clock
                                                                       ) -> None:
    client, stub = cloudwatch
    env, spec = staging_with_bake({"minutes": 1, "alarms": ["a-5xx"]})
    names = ["a-5xx"]
    alarms_answer(stub, names, [metric_alarm("a-5xx")])  # t=0
    throttle(stub, "describe_alarms", 2)  # t=15, 16: retried after 1 and 2 s
    alarms_answer(stub, names, [metric_alarm("a-5xx")])  # t=18
    for _ in range(3):  # t=33, 48 and 60: the last pause clipped to the bake's end
        alarms_answer(stub, names, [metric_alarm("a-5xx")])
    reporter = Reporter("json")
    start = clock.now()
    result = watch_bake(env, spec, SimpleNamespace(cloudwatch=client), reporter, minutes=1,
                        alarms=names, label="release")
    assert result.ok
    assert kinds(reporter).count("bake.retry") == 1
    assert kinds(reporter).count("bake.reconnected") == 1
    retry = next(e for e in reporter.events if e.kind == "bake.retry")
    assert "lost contact with CloudWatch" in retry.message
    assert clock.now() - start == pytest.approx(60)  # the retries did not lengthen the bake


def test_a_bake_that_loses_cloudwatch_for_good_gives_up_with_exit_5(cloudwatch, clock) -> None:
    client, stub = cloudwatch
    env, spec = staging_with_bake({"minutes": 1, "alarms": ["a-5xx"]})
    throttle(stub, "describe_alarms", 11)
    with pytest.raises(Unreachable) as raised:
        watch_bake(env, spec, SimpleNamespace(cloudwatch=client), Reporter("json"), minutes=1,
                   alarms=["a-5xx"], label="release")
    assert "lost contact with CloudWatch for" in raised.value.message
    assert "reading the alarms of" in raised.value.message
    assert "the service was left as it is" in raised.value.hint
