"""The target-group health source on DescribeTargetHealth answers in the shape AWS returns.

Each test runs `TargetGroupHealth` on a real boto3 ELBv2 client answered by botocore's
Stubber (which validates responses and parameters against the ELBv2 service model) and
checks the neutral view the wait reads. Real AWS leaves out Reason and Description for a
healthy target; the answers here do too.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from botocore.stub import Stubber
from stub_clients import stubbed_client

from release.adapters.target_groups import TargetGroupHealth, resolve, target_group_arn
from release.core.errors import InvalidInput
from release.core.serving import DRAINING, NOT_REGISTERED, NOT_YET, SERVING, Placed, placed

T0 = 1_700_000_000.0
ARN = ("arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/akka-firehose-tg/"
       "73e2d6bc24d8a067")
I1, I2 = "i-0123456789abcdef0", "i-0123456789abcdef1"


@pytest.fixture
def elbv2() -> Iterator[tuple[Any, Stubber]]:
    yield from stubbed_client("elbv2")


def target(target_id: str, port: int, state: str, reason: str | None = None,
           description: str | None = None) -> dict[str, Any]:
    health: dict[str, Any] = {"State": state}
    if reason:
        health.update(Reason=reason, Description=description or "")
    return {"Target": {"Id": target_id, "Port": port}, "HealthCheckPort": str(port),
            "TargetHealth": health}


def answer(stub: Stubber, targets: list[dict[str, Any]],
           named: list[tuple[str, int]] | None = None) -> None:
    params: dict[str, Any] = {"TargetGroupArn": ARN}
    if named:
        params["Targets"] = [{"Id": i, "Port": p} for i, p in named]
    stub.add_response("describe_target_health", {"TargetHealthDescriptions": targets}, params)


def task(n: int, instance: str = I1, port: int | None = 49153, address: str = "",
         started: float | None = -3600, stopping: float | None = None) -> Placed:
    return Placed(f"task-{n}", instance if not address else "", port,
                  None if started is None else T0 + started,
                  None if stopping is None else T0 + stopping, address=address)


def test_each_target_state_as_the_neutral_view(elbv2) -> None:
    client, stub = elbv2
    answer(stub, [target(I1, 49153, "healthy"),
                  target(I1, 49154, "draining", "Target.DeregistrationInProgress",
                         "Target deregistration is in progress"),
                  target(I2, 49153, "unhealthy", "Target.ResponseCodeMismatch",
                         "Health checks failed with these codes: [503]"),
                  target(I2, 49154, "initial", "Elb.RegistrationInProgress",
                         "Target registration is in progress")])
    source = TargetGroupHealth(client, ARN, healthy_after=10, draining=300)
    view = source.serving([task(1), task(2, port=49154, stopping=-40),
                           task(3, I2, started=-5), task(4, I2, 49154, started=-5),
                           task(5, I2, 49155)], T0)
    assert view.of("task-1").state == SERVING
    assert (view.of("task-2").state, view.of("task-2").until) == (DRAINING, T0 + 260)
    assert view.draining == {f"{I1}:49154": T0 + 260}  # from ECS's stoppingAt
    failing, initial = view.of("task-3"), view.of("task-4")
    assert (failing.state, failing.failing) == (NOT_YET, True)
    assert "Target.ResponseCodeMismatch" in failing.reason and "[503]" in failing.reason
    assert (initial.state, initial.failing, initial.until) == (NOT_YET, False, T0 + 5)
    assert view.of("task-5").state == NOT_REGISTERED  # its port is not a target


def test_a_target_gone_from_the_listing_is_asked_by_name(elbv2) -> None:
    client, stub = elbv2
    source = TargetGroupHealth(client, ARN, healthy_after=10, draining=30)
    answer(stub, [target(I1, 49153, "healthy")])
    assert source.serving([task(1)], T0).of("task-1").state == SERVING
    answer(stub, [])
    answer(stub, [target(I1, 49153, "unused", "Target.NotRegistered",
                         "Target is not registered to the target group")], [(I1, 49153)])
    view = source.serving([task(1, stopping=-1)], T0 + 5)
    assert view.of("task-1").state == NOT_REGISTERED and "Target.NotRegistered" in \
        view.of("task-1").reason


def test_a_healthy_port_taken_over_by_a_new_task_is_proven_first(elbv2) -> None:
    """Static host port 80: the new task registers the old task's (instance, port)."""
    client, stub = elbv2
    source = TargetGroupHealth(client, ARN, healthy_after=10, draining=0)
    answer(stub, [target(I1, 80, "healthy")])
    assert source.serving([task(1, port=80, started=-1)], T0).of("task-1").state == NOT_YET
    answer(stub, [target(I1, 80, "healthy")])
    assert source.serving([task(1, port=80, started=-1)], T0 + 10).of("task-1").state == \
        SERVING


def test_ip_targets_of_awsvpc_tasks_match_by_address(elbv2) -> None:
    client, stub = elbv2
    fargate = {"taskArn": "task-7", "lastStatus": "RUNNING", "startedAt": T0 - 60,
               "attachments": [{"id": "a1", "type": "ElasticNetworkInterface",
                                "status": "ATTACHED", "details": [
                                    {"name": "subnetId", "value": "subnet-0abc"},
                                    {"name": "privateIPv4Address", "value": "10.0.1.7"}]}],
               "containers": [{"name": "akka-firehose", "networkInterfaces": [
                   {"attachmentId": "a1", "privateIpv4Address": "10.0.1.7"}]}]}
    seen = placed(fargate, {}, T0)
    assert (seen.address, seen.instance_id, seen.host_port) == ("10.0.1.7", "", None)
    answer(stub, [target("10.0.1.7", 8080, "healthy"), target("10.0.1.8", 8080, "draining",
                                                              "Target.DeregistrationInProgress",
                                                              "Target deregistration is in "
                                                              "progress")])
    source = TargetGroupHealth(client, ARN, healthy_after=10, draining=5)
    view = source.serving([seen], T0)
    assert view.of("task-7").state == SERVING
    assert set(view.draining) == {"10.0.1.8:8080"}


def test_the_deregistration_delay_is_read_from_the_live_target_group(elbv2) -> None:
    client, stub = elbv2
    stub.add_response("describe_target_group_attributes", {"Attributes": [
        {"Key": "stickiness.enabled", "Value": "false"},
        {"Key": "deregistration_delay.timeout_seconds", "Value": "45"}]},
        {"TargetGroupArn": ARN})
    assert TargetGroupHealth(client, ARN, 10, default_draining=300).draining_seconds() == 45
    stub.add_client_error("describe_target_group_attributes", "TargetGroupNotFound",
                          expected_params={"TargetGroupArn": ARN})
    assert TargetGroupHealth(client, ARN, 10, default_draining=300).draining_seconds() == 300


def test_a_target_group_name_is_resolved_to_its_arn(elbv2) -> None:
    client, stub = elbv2
    stub.add_response("describe_target_groups", {"TargetGroups": [{
        "TargetGroupArn": ARN, "TargetGroupName": "akka-firehose-tg", "Protocol": "HTTP",
        "Port": 8080, "VpcId": "vpc-0abc", "TargetType": "ip"}]},
        {"Names": ["akka-firehose-tg"]})
    assert target_group_arn(client, "akka-firehose-tg") == ARN
    assert target_group_arn(client, ARN) == ARN  # an ARN needs no call
    stub.add_client_error("describe_target_groups", "TargetGroupNotFound",
                          expected_params={"Names": ["nope"]})
    with pytest.raises(InvalidInput) as caught:
        target_group_arn(client, "nope")
    assert "'nope' does not exist" in caught.value.message and "bootstrap" in caught.value.hint


def test_resolve_leaves_a_classic_spec_alone_without_a_call() -> None:
    from types import SimpleNamespace

    spec = SimpleNamespace(service={"loadBalancers": [{"loadBalancerName": "akkaElb"}]})
    assert resolve(object(), object(), spec) is spec  # type: ignore[arg-type]


def test_a_missing_group_names_the_environment_to_bootstrap_and_the_green_group_resolves(
        elbv2) -> None:
    """The hint names the real environment, and a blue/green entry's alternate target group
    given by name becomes its ARN as the main one does."""
    from types import SimpleNamespace

    client, stub = elbv2
    env = SimpleNamespace(name="sandbox-alb")
    stub.add_client_error("describe_target_groups", "TargetGroupNotFound",
                          expected_params={"Names": ["nope"]})
    with pytest.raises(InvalidInput) as caught:
        target_group_arn(client, "nope", env)  # type: ignore[arg-type]
    assert "`release bootstrap --env sandbox-alb`" in caught.value.hint
    assert "ENV" not in caught.value.hint
    green = ARN.replace("akka-firehose-tg", "akka-green")
    stub.add_response("describe_target_groups", {"TargetGroups": [{
        "TargetGroupArn": green, "TargetGroupName": "akka-green", "Protocol": "HTTP",
        "Port": 8080, "VpcId": "vpc-0abc", "TargetType": "ip"}]}, {"Names": ["akka-green"]})
    from pathlib import Path

    from release.core.config import ServiceSpec

    spec = ServiceSpec.from_doc("sandbox-alb", Path("s.json"), {
        "taskDefinition": {"file": "taskdefs/t.json", "family": "t"},
        "service": {"serviceName": "s", "loadBalancers": [{
            "targetGroupArn": ARN, "containerName": "c", "containerPort": 8080,
            "advancedConfiguration": {"alternateTargetGroupArn": "akka-green",
                                      "productionListenerRule": "arn:rule",
                                      "roleArn": "arn:role"}}]},
        "image": {"tag": "t"}})
    resolved = resolve(SimpleNamespace(elbv2=client), env, spec)  # type: ignore[arg-type]
    entry = resolved.service["loadBalancers"][0]
    assert entry["targetGroupArn"] == ARN
    assert entry["advancedConfiguration"]["alternateTargetGroupArn"] == green
    assert entry["advancedConfiguration"]["roleArn"] == "arn:role"
