"""The emulator's placement (release/sandbox/placement.py), through the AWS API: CPU units,
memory, static host ports, container instances' figures; each test is one documented behaviour."""

from __future__ import annotations

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
