"""The executor: responses feed later calls, failures name the step, only named codes retry."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest
from bootstrap_helpers import environment

from release.core.calls import ApiCall, Ref
from release.core.clock import VirtualClock
from release.core.errors import InvalidInput
from release.engine.bootstrap import Plan, executor
from release.engine.executor import RETRY_BUDGET_SECONDS, retry_delays
from release.output.events import OutputFormat, Reporter


class Recorded:
    """A JSON reporter whose events the test reads back."""

    def __init__(self) -> None:
        self.stream = io.StringIO()
        self.reporter = Reporter(OutputFormat.json, stream=self.stream)

    def events(self, kind: str) -> list[dict[str, Any]]:
        lines = [json.loads(line) for line in self.stream.getvalue().splitlines() if line]
        return [e for e in lines if e["event"] == kind]


def apply_plan(aws: Any, plan: Plan, out: Recorded | None = None,
               clock: VirtualClock | None = None) -> dict[str, Any]:
    reporter = (out or Recorded()).reporter
    return executor(aws, plan.env, reporter, clock).execute(plan).results


def test_a_reference_is_filled_in_from_an_earlier_response(repo, sandbox_aws):
    plan = Plan(environment(repo), [
        ApiCall("ec2", "create_vpc", {"CidrBlock": "10.9.0.0/16"}, "test", key="vpc"),
        ApiCall("ec2", "create_subnet", {"VpcId": Ref("vpc", ("Vpc", "VpcId")),
                                         "CidrBlock": "10.9.1.0/24"}, "test", key="subnet"),
    ])
    results = apply_plan(sandbox_aws, plan)
    assert results["subnet"]["Subnet"]["VpcId"] == results["vpc"]["Vpc"]["VpcId"]


def test_a_failing_step_is_named_and_the_hint_says_a_rerun_resumes(repo, sandbox_aws):
    out = Recorded()
    plan = Plan(environment(repo), [
        ApiCall("ecs", "create_cluster", {"clusterName": "first"}, "test", "first"),
        ApiCall("ecs", "delete_cluster", {"cluster": "never-created"}, "test", "never-created"),
        ApiCall("ecs", "create_cluster", {"clusterName": "third"}, "test", "third"),
    ])
    with pytest.raises(InvalidInput) as failure:
        apply_plan(sandbox_aws, plan, out)
    assert "step 2 of 3 (delete_cluster never-created)" in failure.value.message
    assert "1 of 3 steps were applied" in failure.value.hint
    assert "release bootstrap --env sandbox" in failure.value.hint
    assert [e["step"] for e in out.events("bootstrap.call")] == [1, 2]  # 2 was tried
    clusters = sandbox_aws.ecs.list_clusters()["clusterArns"]
    assert [arn.rsplit("/", 1)[-1] for arn in clusters] == ["first"]


def test_only_the_named_error_codes_are_retried_on_the_clock(repo, sandbox_aws):
    clock = VirtualClock()
    start = clock.now()
    out = Recorded()
    retried = Plan(environment(repo), [ApiCall(
        "ecs", "delete_cluster", {"cluster": "never-created"}, "test",
        retry_on=("ClusterNotFoundException",))])
    with pytest.raises(InvalidInput):
        apply_plan(sandbox_aws, retried, out, clock=clock)
    assert clock.now() - start == RETRY_BUDGET_SECONDS
    assert [e["delay"] for e in out.events("bootstrap.retry")] == retry_delays()
    not_retried = Plan(retried.env, [ApiCall("ecs", "delete_cluster",
                                             {"cluster": "never-created"}, "test")])
    with pytest.raises(InvalidInput):
        apply_plan(sandbox_aws, not_retried, clock=clock)
    assert clock.now() - start == RETRY_BUDGET_SECONDS


def test_the_backoff_doubles_and_stops_at_the_budget():
    assert retry_delays() == [1.0, 2.0, 4.0, 8.0, 16.0, 16.0, 13.0]
    assert sum(retry_delays()) == RETRY_BUDGET_SECONDS


def test_a_code_with_words_is_retried_only_when_the_message_has_them(repo, sandbox_aws):
    clock = VirtualClock()
    start = clock.now()
    other_words = Plan(environment(repo), [ApiCall(
        "ecs", "delete_cluster", {"cluster": "never-created"}, "test",
        retry_on=("ClusterNotFoundException: Principal not found",))])
    with pytest.raises(InvalidInput):
        apply_plan(sandbox_aws, other_words, clock=clock)
    assert clock.now() == start
    its_words = Plan(other_words.env, [ApiCall(
        "ecs", "delete_cluster", {"cluster": "never-created"}, "test",
        retry_on=("ClusterNotFoundException: cluster not found",))])
    with pytest.raises(InvalidInput):
        apply_plan(sandbox_aws, its_words, clock=clock)
    assert clock.now() - start == RETRY_BUDGET_SECONDS
