"""Two services on one classic ELB and one set of instances (what `release.canary` makes).

ECS places a task only on an instance none of whose static host ports are in use
("How Amazon ECS places tasks on container instances"), whichever service holds the
port; ECS registers the instance of each task with the service's ELB and deregisters it
when the task stops ("Use load balancing to distribute Amazon ECS service traffic"), and
a deregistered instance drains for the ELB's timeout ("Configure connection draining for
your Classic Load Balancer"). Nothing here is special-cased for a second service: these
tests hold that the emulator's per-instance models already give it those answers.
"""

from __future__ import annotations

from typing import Any

from sandbox_world import CLUSTER, CONTAINER, LB, SERVICE

SECOND = f"{SERVICE}-canary"


def _second(world: Any, task_definition: str, desired: int = 1) -> None:
    world.ecs.create_service(
        cluster=CLUSTER, serviceName=SECOND, taskDefinition=task_definition,
        desiredCount=desired, launchType="EC2", role="ecsServiceRole",
        healthCheckGracePeriodSeconds=0,
        deploymentConfiguration={"minimumHealthyPercent": 0, "maximumPercent": 100},
        loadBalancers=[{"loadBalancerName": LB, "containerName": CONTAINER,
                        "containerPort": 8080}])


def _tasks_of(world: Any, name: str) -> list[dict[str, Any]]:
    arns = world.ecs.list_tasks(cluster=CLUSTER, serviceName=name)["taskArns"]
    return world.ecs.describe_tasks(cluster=CLUSTER, tasks=arns)["tasks"] if arns else []


def _instance_of(world: Any, task: dict[str, Any]) -> str:
    ci = world.ecs.describe_container_instances(
        cluster=CLUSTER, containerInstances=[task["containerInstanceArn"]])
    return ci["containerInstances"][0]["ec2InstanceId"]


def _second_service(world: Any) -> dict[str, Any]:
    return world.ecs.describe_services(cluster=CLUSTER, services=[SECOND])["services"][0]


def test_a_second_service_takes_the_free_instance_and_its_drain_leaves_the_first_alone(world):
    world.build(instances=3, draining=30)
    world.create_service(world.task_definition(), desired=2)
    world.run_until(world.steady)
    _second(world, world.task_definition(revision_note="v2"))
    world.run_until(lambda: len(_tasks_of(world, SECOND)) == 1 and all(
        h["State"] == "InService" for h in world.health(*world.instance_ids).values()),
        step=5.0)

    first = {_instance_of(world, t) for t in world.tasks()}
    (second,) = {_instance_of(world, t) for t in _tasks_of(world, SECOND)}
    assert len(first) == 2 and second not in first  # port 80 is taken on the other two
    registered = world.elb.describe_instance_health(LoadBalancerName=LB)["InstanceStates"]
    assert {s["InstanceId"] for s in registered} == first | {second}

    world.ecs.update_service(cluster=CLUSTER, service=SECOND, desiredCount=0)
    world.sb.advance(5)
    health = world.health(*world.instance_ids)
    assert health[second]["Description"] == "Instance deregistration currently in progress."
    assert all(health[i]["State"] == "InService" and health[i]["Description"] == "N/A"
               for i in first)
    world.sb.advance(30)
    assert world.health(second)[second]["Description"] == (
        "Instance is not currently registered with the LoadBalancer.")
    assert [t["lastStatus"] for t in world.all_tasks()] == ["RUNNING", "RUNNING"]

    world.ecs.delete_service(cluster=CLUSTER, service=SECOND)
    world.sb.advance(2)
    assert _second_service(world)["status"] in ("DRAINING", "INACTIVE")
    assert world.steady()


def test_a_second_service_without_a_free_instance_reports_the_port_and_moves_nothing(world):
    world.build(instances=2)
    world.create_service(world.task_definition(), desired=2)
    world.run_until(world.steady)
    before = sorted(t["taskArn"] for t in world.tasks())
    _second(world, world.task_definition(revision_note="v2"))
    world.sb.advance(30)

    assert _tasks_of(world, SECOND) == []
    events = [e["message"] for e in _second_service(world)["events"]]
    assert any("unable to place a task" in m and "already using a port required by your task"
               in m for m in events), events
    assert sorted(t["taskArn"] for t in world.tasks()) == before
