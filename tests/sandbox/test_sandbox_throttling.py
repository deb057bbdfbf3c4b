"""The sandbox throttles ECS as the ECS API reference documents: a token bucket per category.

The client here has no retries and no budget, so every answer is seen; time, for the
buckets, is the sandbox's virtual clock alone (no real time added), which moves only
when the test says so.
"""

from __future__ import annotations

import botocore.exceptions
import pytest

from release.adapters.aws import Aws

FAMILY = "throttle-probe"


def register(ecs, n: int = 1) -> None:
    for _ in range(n):
        ecs.register_task_definition(family=FAMILY, containerDefinitions=[
            {"name": "app", "image": "busybox", "memory": 64}])


@pytest.fixture
def sandbox(sandbox):
    sandbox.throttle.real_time = None
    return sandbox


def test_the_21st_registration_at_one_instant_is_throttled_as_ecs_answers(sandbox):
    ecs = sandbox.client("ecs")
    register(ecs, 20)  # Task definition modify actions: burst 20

    with pytest.raises(botocore.exceptions.ClientError) as throttled:
        register(ecs)

    error = throttled.value.response
    assert error["Error"] == {"Code": "ThrottlingException", "Message": "Rate exceeded"}
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert sandbox.throttle.throttled == {"RegisterTaskDefinition": 1}
    assert len(ecs.list_task_definitions(familyPrefix=FAMILY)["taskDefinitionArns"]) == 20
    sandbox.advance(1.0)  # refill 1 a second
    register(ecs)
    with pytest.raises(botocore.exceptions.ClientError):
        register(ecs)


def test_actions_of_one_category_share_its_bucket_and_others_are_untouched(sandbox):
    ecs = sandbox.client("ecs")
    for i in range(50):  # Cluster read actions: burst 50, shared by both
        (ecs.describe_clusters if i % 2 else ecs.list_clusters)()
    with pytest.raises(botocore.exceptions.ClientError):
        ecs.list_clusters()

    register(ecs)  # another category's bucket is full
    sandbox.advance(0.1)  # refill 20 a second: two tokens
    ecs.describe_clusters()
    sandbox.client("elb").describe_load_balancers()  # not ECS: not throttled here
    assert sandbox.throttle.throttled == {"ListClusters": 1}


def test_the_tools_budget_registers_past_the_burst_without_one_throttled_answer(sandbox):
    aws = Aws(sandbox.environment())
    start = sandbox.clock.now()

    register(aws.ecs, 30)

    assert sandbox.throttle.throttled == {}
    assert aws.budget.throttled == 0
    assert sandbox.clock.now() - start >= 11.0  # 19 at once, then the refill's one a second


def test_on_a_virtual_clock_real_time_refills_the_buckets_too(sandbox):
    real = [0.0]
    sandbox.throttle.real_time = lambda: real[0]  # the default adds time.monotonic()
    ecs = sandbox.client("ecs")
    for _ in range(50):
        ecs.list_clusters()
    with pytest.raises(botocore.exceptions.ClientError):
        ecs.list_clusters()

    real[0] += 0.2  # real time passes, the virtual clock stands still: 20 a second, 4 tokens
    for _ in range(3):
        ecs.list_clusters()
    assert sandbox.throttle.throttled == {"ListClusters": 1}
