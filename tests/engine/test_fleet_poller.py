"""One poller per environment: a round for many services, counted on the sandbox server.

25 services behind two classic ELBs, read in one round by the environment's poller:
the calls that reach the sandbox's server (sandbox/release_sandbox/calllog.py) are counted
by API. DescribeServices takes 10 services a call (3 calls), the ELB is asked once
per load balancer, tasks are described 100 a call, container instances once, and
ListTasks only while a service's task set changes.
"""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from release.adapters import elb_classic
from release.adapters.aws import Aws
from release.adapters.poller import EnvPoller, poller_for
from release.core import serving
from release.output.events import Reporter
from release_sandbox.testing import running_sandbox

PROJECT = Path(__file__).resolve().parents[2]
CLUSTER, CONTAINER = "AkkaCluster", "akka-firehose"
SERVICES = [f"fleet-{i:02d}" for i in range(25)]


def balancer_of(i: int, elb_name: str) -> str:
    return elb_name if i < 13 else "fleetElb2"


@pytest.fixture(scope="module")
def fleet(tmp_path_factory):
    with pytest.MonkeyPatch.context() as monkeypatch, running_sandbox(
            PROJECT, tmp_path_factory.mktemp("fleet")) as sandbox:
        monkeypatch.delenv("AWS_PROFILE", raising=False)
        sandbox.seed_infrastructure(instances=2)
        env = sandbox.environment()
        ecs, elb = sandbox.client("ecs"), sandbox.client("elb")
        elb.create_load_balancer(LoadBalancerName="fleetElb2", AvailabilityZones=["us-east-1a"],
                                 Listeners=[{"Protocol": "HTTP", "LoadBalancerPort": 80,
                                             "InstancePort": 8080}])
        arn = ecs.register_task_definition(
            family="fleet", networkMode="bridge", requiresCompatibilities=["EC2"],
            containerDefinitions=[{"name": CONTAINER, "image": "busybox", "cpu": 32,
                                   "memory": 64, "essential": True,
                                   "portMappings": [{"containerPort": 8080, "hostPort": 0}]}],
        )["taskDefinition"]["taskDefinitionArn"]
        for i, name in enumerate(SERVICES):
            ecs.create_service(cluster=CLUSTER, serviceName=name, taskDefinition=arn,
                               desiredCount=1, launchType="EC2", role="ecsServiceRole",
                               loadBalancers=[{"loadBalancerName": balancer_of(
                                   i, env.load_balancer.name), "containerName": CONTAINER,
                                   "containerPort": 8080}])
        sandbox.advance(4)  # the tasks are placed
        yield sandbox, env


def join_all(poller: EnvPoller, aws: Aws, lb_name: str) -> list:
    return [poller.join(CLUSTER, name, elb_classic.ClassicElb(
        aws.elb, balancer_of(i, lb_name), healthy_after=10, draining=5))
        for i, name in enumerate(SERVICES)]


def round_for_all(sandbox, members: list, label: str) -> tuple[list, dict[str, int]]:
    """Every member due now, each reads: one round; the calls that reached the server."""
    now = sandbox.clock.now()
    for m in members:
        m.wanted_at = now
    sandbox.calls.reset(label)
    snaps = [m.read(now) for m in members]
    return snaps, dict(sandbox.calls.of(label))


def test_one_round_for_25_services_makes_3_describe_services_and_one_health_call_per_elb(fleet):
    sandbox, env = fleet
    aws = Aws(env)
    poller = EnvPoller(aws)
    members = join_all(poller, aws, env.load_balancer.name)
    snaps, first = round_for_all(sandbox, members, "round 1")
    assert first["DescribeServices"] == 3
    assert first["DescribeInstanceHealth"] == 2  # one per ELB, all its instances named
    assert first["DescribeTasks"] == 1  # 25 tasks, up to 100 a call
    assert first["DescribeContainerInstances"] == 1
    assert first["ListTasks"] == 2 * 25  # first sight: running and stopped tasks of each
    assert poller.round_sizes == [25]
    for name, snap in zip(SERVICES, snaps, strict=True):
        assert snap.service["serviceName"] == name
        assert snap.tasks and {t["group"] for t in snap.tasks} == {f"service:{name}"}
        assert snap.health is not None
        assert snap.health.of(snap.tasks[0]["taskArn"]).state != serving.DRAINING

    due = min(m.expect_at for m in members)  # the ELB's checks make the tasks InService then
    assert due > sandbox.clock.now()
    sandbox.advance(due - sandbox.clock.now() - 1)
    second, calls = round_for_all(sandbox, members, "round 2")
    # nothing moved, every task RUNNING, nothing due yet: DescribeServices alone; the
    # tasks and the ELB's answer are the previous round's
    assert calls == {"DescribeServices": 3}
    assert [s.tasks for s in second] == [s.tasks for s in snaps]

    sandbox.advance(2)
    third, calls = round_for_all(sandbox, members, "round 3")
    # the moment the view named has come: the ELBs are asked again (one call each); tasks
    # are described (and listed) only for a service whose counts moved (the sandbox may have
    # replaced a task failing its checks by now), not for the others
    moved = sum(1 for a, b in zip(second, third, strict=True)
                if a.service["deployments"] != b.service["deployments"])
    assert calls["DescribeServices"] == 3 and calls["DescribeInstanceHealth"] == 2
    assert calls.get("DescribeTasks", 0) == min(moved, 1)
    assert calls.get("ListTasks", 0) <= 2 * moved


def test_a_service_not_due_is_not_read(fleet):
    sandbox, env = fleet
    aws = Aws(env)
    poller = EnvPoller(aws)
    members = join_all(poller, aws, env.load_balancer.name)
    now = sandbox.clock.now()
    for m in members[:5]:
        m.wanted_at = now
    members[5].wanted_at = now + 200  # expects nothing for 200 s
    sandbox.calls.reset("due")
    members[0].read(now)
    assert poller.round_sizes == [5]
    assert sandbox.calls.of("due")["DescribeServices"] == 1
    assert members[5].pending is None


def test_throttling_is_absorbed_and_reported_once(fleet):
    sandbox, env = fleet
    aws = Aws(env)
    stream = io.StringIO()
    reporter = Reporter("json", stream=stream)
    poller = poller_for(aws, reporter)
    members = join_all(poller, aws, env.load_balancer.name)
    sandbox.faults.throttle(2)
    snap = members[0].read(sandbox.clock.now())  # a round for one service: 3 calls, 2 refused
    assert snap.service["serviceName"] == SERVICES[0]
    assert aws.budget.throttled == 2
    assert [e.kind for e in reporter.events].count("aws.throttled") == 1
