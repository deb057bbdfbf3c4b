"""The emulator's placement (sandbox/release_sandbox/placement.py), through the AWS API: CPU units,
memory, static host ports, container instances' figures; each test is one documented behaviour."""

from __future__ import annotations

import botocore.exceptions
import pytest
from sandbox_world import SERVICE

PORT_EVENT = (f"(service {SERVICE}) was unable to place a task because no container instance "
              "met all of its requirements. The closest matching (container-instance ")


def test_min100_max200_with_a_static_port_never_places_and_keeps_emitting_the_port_event(world):
    world.build(instances=2)
    old = world.task_definition()
    world.create_service(old, desired=2, minimum=100, maximum=200)
    world.run_until(world.steady)
    new = world.task_definition(revision_note="v2")

    world.update(new)
    world.sb.advance(300)

    service = world.service()
    assert [t["taskDefinitionArn"] for t in world.all_tasks()] == [old, old]
    assert [d["taskDefinition"] for d in service["deployments"]] == [new, old]
    assert service["deployments"][0]["runningCount"] == 0
    port_events = [m for m in world.messages() if m.startswith(PORT_EVENT)]
    assert len(port_events) >= 4  # repeated while the cause persists
    assert port_events[0].endswith("is already using a port required by your task. For more "
                                   "information, see the Troubleshooting section.")


def test_placement_names_insufficient_cpu(world):
    world.build(instances=1, cpu=1024)
    world.create_service(world.task_definition(cpu=2048), desired=1)
    world.sb.advance(5)
    assert any(m.startswith(PORT_EVENT) and m.endswith("has insufficient CPU units available. "
                                                       "For more information, see the "
                                                       "Troubleshooting section.")
               for m in world.messages())


def test_container_instances_report_what_the_tasks_use(world):
    world.build()
    world.create_service(world.task_definition(), desired=2)
    world.run_until(world.steady)
    arns = world.ecs.list_container_instances(cluster="AkkaCluster")["containerInstanceArns"]

    for ci in world.ecs.describe_container_instances(cluster="AkkaCluster",
                                                     containerInstances=arns)["containerInstances"]:
        remaining = {r["name"]: r for r in ci["remainingResources"]}
        assert ci["runningTasksCount"] == 1
        assert remaining["CPU"]["integerValue"] == 2048 - 1024
        assert remaining["MEMORY"]["integerValue"] == 3943 - 1024
        assert "80" in remaining["PORTS"]["stringSetValue"]


# RunTask's `failures` ("API failure reasons", ECS developer guide): RunTask or StartTask,
# RESOURCE:* (container instance ID): "The resource or resources requested by the task are
# unavailable on the given container instance. If the resource is CPU, memory, ports, or
# elastic network interfaces, you may need to add container instances to your cluster."


def _portless(world, cpu: int = 256, memory: int = 256) -> str:
    """A one-off task's definition that binds no host port."""
    return world.ecs.register_task_definition(
        family="one-off", networkMode="bridge", requiresCompatibilities=["EC2"],
        containerDefinitions=[{"name": "job", "image": "busybox", "cpu": cpu,
                               "memory": memory, "essential": True}]
    )["taskDefinition"]["taskDefinitionArn"]


def _instance_arns(world) -> list[str]:
    return sorted(world.ecs.list_container_instances(cluster="AkkaCluster")
                  ["containerInstanceArns"])


def test_run_task_answers_resource_ports_per_instance_when_every_instance_holds_the_port(world):
    world.build(instances=2)
    definition = world.task_definition()
    world.create_service(definition, desired=2)
    world.run_until(world.steady)

    answer = world.ecs.run_task(cluster="AkkaCluster", taskDefinition=definition, count=1,
                                launchType="EC2")

    assert answer["tasks"] == []
    assert sorted(answer["failures"], key=lambda f: f["arn"]) == [
        {"arn": arn, "reason": "RESOURCE:PORTS"} for arn in _instance_arns(world)]
    assert len(world.all_tasks()) == 2  # nothing else was started


def test_run_task_answers_resource_memory_when_no_instance_has_the_memory(world):
    world.build(instances=1, cpu=4096, memory=1500)
    world.create_service(world.task_definition(), desired=1)
    world.run_until(world.steady)

    answer = world.ecs.run_task(cluster="AkkaCluster", taskDefinition=_portless(world, 256, 600),
                                count=1)

    assert answer["tasks"] == []
    assert answer["failures"] == [{"arn": _instance_arns(world)[0], "reason": "RESOURCE:MEMORY"}]


def test_run_task_answers_resource_cpu_when_no_instance_has_the_cpu_units(world):
    world.build(instances=1, cpu=1024)
    world.create_service(world.task_definition(), desired=1)
    world.run_until(world.steady)

    answer = world.ecs.run_task(cluster="AkkaCluster", taskDefinition=_portless(world, 512),
                                count=1)

    assert answer["tasks"] == []
    assert answer["failures"] == [{"arn": _instance_arns(world)[0], "reason": "RESOURCE:CPU"}]


def test_run_task_places_a_task_that_fits_and_answers_no_failure(world):
    world.build(instances=2)
    world.create_service(world.task_definition(), desired=2)
    world.run_until(world.steady)

    answer = world.ecs.run_task(cluster="AkkaCluster", taskDefinition=_portless(world), count=1)

    assert len(answer["tasks"]) == 1 and answer["failures"] == []
    assert answer["tasks"][0]["containerInstanceArn"] in _instance_arns(world)


def test_run_task_on_a_cluster_without_instances_is_refused_as_an_invalid_parameter(world):
    world.ecs.create_cluster(clusterName="AkkaCluster")
    with pytest.raises(botocore.exceptions.ClientError) as refused:
        world.ecs.run_task(cluster="AkkaCluster", taskDefinition=_portless(world), count=1)
    error = refused.value.response["Error"]
    assert error["Code"] == "InvalidParameterException"
    assert error["Message"] == "No Container Instances were found in your cluster."
