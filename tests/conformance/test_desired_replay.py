"""Git's version of an ALB/awsvpc service against live, replayed on real AWS shapes.

The sandbox-alb spec names its target group, subnets and security group; DescribeServices
answers with the ARN and ids CreateService was given. engine/desired.git_version
resolves the names (DescribeTargetGroups, DescribeSubnets, DescribeSecurityGroups, each
answer validated by botocore's Stubber against the output model) and core/plan.drift
compares: the one path of `plan` and `status`, so a service just released is in sync.
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from shapes_taskdef import described_service, described_task_definition, taskdef_arn
from stub_clients import stubbed_client

from release.adapters import live
from release.core import plan
from release.core.config import load_repo
from release.engine.desired import git_version
from release.engine.status import drift_from_git

ROOT = Path(__file__).resolve().parents[2]
ENV = "sandbox-alb"
TG_ARN = ("arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/akka-firehose-tg/"
          "73e2d6bc24d8a067")
SUBNETS = {"subnet-a": "subnet-0a1b2c3d4e5f60718", "subnet-b": "subnet-0f9e8d7c6b5a40312"}
GROUPS = {"sg-a": "sg-0123456789abcdef0"}
VPC = "vpc-0abc1234def567890"


@pytest.fixture
def clients() -> Iterator[SimpleNamespace]:
    """ECS, ELBv2 and EC2 clients whose every answer the test queues (and must read)."""
    generators = [stubbed_client(s) for s in ("ecs", "elbv2", "ec2")]
    (ecs, ecs_stub), (elbv2, elbv2_stub), (ec2, ec2_stub) = (next(g) for g in generators)
    yield SimpleNamespace(aws=SimpleNamespace(ecs=ecs, elbv2=elbv2, ec2=ec2),
                          ecs_stub=ecs_stub, elbv2_stub=elbv2_stub, ec2_stub=ec2_stub)
    for generator in generators:
        next(generator, None)  # each checks that no queued answer was left unread


def _subnet(name: str) -> dict[str, Any]:
    return {"SubnetId": SUBNETS[name], "VpcId": VPC, "State": "available",
            "CidrBlock": "10.0.1.0/24", "AvailabilityZone": "us-east-1a",
            "Tags": [{"Key": "Name", "Value": name}]}


def queue_names(stubs: SimpleNamespace, subnets: list[str] | None = None) -> None:
    """The answers awsvpc.resolve and target_groups.resolve read, in their order: by id
    (no match: these are names), then by Name tag."""
    names = ["subnet-a", "subnet-b"]
    stubs.elbv2_stub.add_response("describe_target_groups", {"TargetGroups": [{
        "TargetGroupArn": TG_ARN, "TargetGroupName": "akka-firehose-tg", "Protocol": "HTTP",
        "Port": 8080, "VpcId": VPC, "TargetType": "ip"}]}, {"Names": ["akka-firehose-tg"]})
    stubs.ec2_stub.add_response("describe_subnets", {"Subnets": []},
                                {"Filters": [{"Name": "subnet-id", "Values": names}]})
    stubs.ec2_stub.add_response(
        "describe_subnets", {"Subnets": [_subnet(n) for n in subnets or names]},
        {"Filters": [{"Name": "tag:Name", "Values": names}]})
    if subnets is not None:
        return  # a subnet is missing: resolution stops before the security groups
    stubs.ec2_stub.add_response("describe_security_groups", {"SecurityGroups": []},
                                {"Filters": [{"Name": "group-id", "Values": ["sg-a"]}]})
    stubs.ec2_stub.add_response("describe_security_groups", {"SecurityGroups": [{
        "GroupId": GROUPS["sg-a"], "GroupName": "sg-a", "VpcId": VPC, "Description": "alb",
        "OwnerId": "123456789012", "Tags": [{"Key": "Name", "Value": "sg-a"}]}]},
        {"Filters": [{"Name": "tag:Name", "Values": ["sg-a"]}]})


def released(stubs: SimpleNamespace, spec: Any, desired: dict[str, Any]) -> plan.Live:
    """What DescribeServices/DescribeTaskDefinition answer right after the release: the
    service created with the ARN and the ids, not the names."""
    arn = taskdef_arn(desired["family"], 1)
    answer = described_service(spec.service, arn)
    service = answer["services"][0]
    service.pop("roleArn")  # awsvpc: no service role
    service.update(launchType="FARGATE", platformVersion="LATEST", platformFamily="Linux",
                   loadBalancers=[{**lb, "targetGroupArn": TG_ARN}
                                  for lb in spec.service["loadBalancers"]],
                   networkConfiguration={"awsvpcConfiguration": {
                       "subnets": list(SUBNETS.values()),
                       "securityGroups": list(GROUPS.values()), "assignPublicIp": "DISABLED"}})
    stubs.ecs_stub.add_response("describe_services", answer, None)
    stubs.ecs_stub.add_response("describe_task_definition",
                                described_task_definition(desired, 1), None)
    return live.fetch_live(stubs.aws.ecs, load_repo(ROOT).environment(ENV), spec)


@pytest.fixture
def world() -> tuple[Any, Any]:
    repo = load_repo(ROOT)
    return repo, repo.services_of(ENV)[0]


def test_names_resolved_as_plan_resolves_them_leave_no_drift(clients, world) -> None:
    repo, spec = world
    queue_names(clients)
    wanted = git_version(clients.aws, repo, spec)
    network = wanted.spec.service["networkConfiguration"]["awsvpcConfiguration"]
    assert network["subnets"] == list(SUBNETS.values())
    assert network["securityGroups"] == list(GROUPS.values())
    assert wanted.spec.service["loadBalancers"][0]["targetGroupArn"] == TG_ARN
    current = released(clients, spec, wanted.taskdef)
    assert plan.drift(wanted.spec, wanted.taskdef, current).changes == []
    # compared by name, as status did: every name is a false difference
    raw = plan.drift(spec, wanted.taskdef, current)
    assert sorted(c.path for c in raw.changes) == [
        "service.loadBalancers", "service.networkConfiguration.awsvpcConfiguration."
        "securityGroups", "service.networkConfiguration.awsvpcConfiguration.subnets"]


def test_status_drift_is_plan_drift(clients, world) -> None:
    repo, spec = world
    current = released(clients, spec, git_version(SimpleNamespace(), repo, _unnamed(spec)
                                                  ).taskdef)
    queue_names(clients)
    assert drift_from_git(clients.aws, repo, spec, current) == []
    edited = copy.deepcopy(spec.service)
    edited["desiredCount"] = 3
    queue_names(clients)
    assert drift_from_git(clients.aws, repo, _with(spec, edited), current) == [
        "~ service.desiredCount: 2 → 3"]


def test_a_name_aws_does_not_know_is_one_drift_line(clients, world) -> None:
    repo, spec = world
    current = released(clients, spec, git_version(SimpleNamespace(), repo, _unnamed(spec)
                                                  ).taskdef)
    queue_names(clients, subnets=["subnet-a"])
    (line,) = drift_from_git(clients.aws, repo, spec, current)
    assert line.startswith("cannot resolve git's version: subnets subnet-b")


def _with(spec: Any, service: dict[str, Any]) -> Any:
    return dataclasses.replace(spec, service=service)


def _unnamed(spec: Any) -> Any:
    """The spec with nothing to resolve (for rendering alone, without a call)."""
    service = {k: v for k, v in spec.service.items()
               if k not in ("loadBalancers", "networkConfiguration")}
    return _with(spec, service)
