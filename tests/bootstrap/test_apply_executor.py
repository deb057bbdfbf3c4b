"""The executor: responses feed later calls, failures name the step, only named codes retry."""

from __future__ import annotations

import pytest
from bootstrap_helpers import environment

from release.core.calls import ApiCall, Ref
from release.core.clock import VirtualClock
from release.core.errors import InvalidInput
from release.engine.bootstrap import RETRY_BUDGET_SECONDS, Plan, apply_plan, retry_delays


def test_a_reference_is_filled_in_from_an_earlier_response(repo, sandbox_aws):
    plan = Plan(environment(repo), [
        ApiCall("ec2", "create_vpc", {"CidrBlock": "10.9.0.0/16"}, "test", key="vpc"),
        ApiCall("ec2", "create_subnet", {"VpcId": Ref("vpc", ("Vpc", "VpcId")),
                                         "CidrBlock": "10.9.1.0/24"}, "test", key="subnet"),
    ])
    results = apply_plan(sandbox_aws, plan)
    assert results["subnet"]["Subnet"]["VpcId"] == results["vpc"]["Vpc"]["VpcId"]


def test_a_failing_step_is_named_and_the_hint_says_a_rerun_resumes(repo, sandbox_aws):
    applied: list[int] = []
    plan = Plan(environment(repo), [
        ApiCall("ecs", "create_cluster", {"clusterName": "first"}, "test", "first"),
        ApiCall("ecs", "delete_cluster", {"cluster": "never-created"}, "test", "never-created"),
        ApiCall("ecs", "create_cluster", {"clusterName": "third"}, "test", "third"),
    ])
    with pytest.raises(InvalidInput) as failure:
        apply_plan(sandbox_aws, plan, lambda step, call: applied.append(step))
    assert "step 2 of 3 (delete_cluster never-created)" in failure.value.message
    assert "1 of 3 steps were applied" in failure.value.hint
    assert "release bootstrap --env sandbox" in failure.value.hint
    assert applied == [1]
    clusters = sandbox_aws.ecs.list_clusters()["clusterArns"]
    assert [arn.rsplit("/", 1)[-1] for arn in clusters] == ["first"]


def test_only_the_named_error_codes_are_retried_on_the_clock(repo, sandbox_aws):
    clock = VirtualClock()
    start = clock.now()
    notices: list[tuple[int, float]] = []
    retried = Plan(environment(repo), [ApiCall(
        "ecs", "delete_cluster", {"cluster": "never-created"}, "test",
        retry_on=("ClusterNotFoundException",))])
    with pytest.raises(InvalidInput):
        apply_plan(sandbox_aws, retried, clock=clock,
                   on_retry=lambda step, call, error, delay: notices.append((step, delay)))
    assert clock.now() - start == RETRY_BUDGET_SECONDS
    assert [delay for _, delay in notices] == retry_delays()
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
