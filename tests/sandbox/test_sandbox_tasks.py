"""The emulator's task lifecycle (sandbox/release_sandbox/tasks.py), through the AWS API: phases,
stops, exit codes, ListTasks; each test is one documented ECS behaviour."""

from __future__ import annotations

from sandbox_world import SERVICE


def test_crashing_task_stops_with_its_exit_code(world):
    world.build()
    world.create_service(world.task_definition(fault="crash:exit=3"), desired=1)

    world.run_until(lambda: len(world.tasks("STOPPED")) >= 1, limit=30)

    stopped = world.tasks("STOPPED")[0]
    assert stopped["stoppedReason"] == "Essential container in task exited"
    assert stopped["stopCode"] == "EssentialContainerExited"
    world.run_until(lambda: world.tasks("STOPPED")[0]["lastStatus"] == "STOPPED", limit=10)
    assert world.tasks("STOPPED")[0]["containers"][0]["exitCode"] == 3


def test_stop_task_deregisters_and_drains_before_stopping_and_is_replaced(world):
    world.build(draining=20)
    world.create_service(world.task_definition(), desired=1)
    world.run_until(world.steady)
    task = world.tasks()[0]

    answer = world.ecs.stop_task(cluster="AkkaCluster", task=task["taskArn"], reason="operator")

    assert answer["task"]["desiredStatus"] == "STOPPED"
    assert answer["task"]["lastStatus"] == "DEACTIVATING"
    drained = world.run_until(lambda: world.ecs.describe_tasks(
        cluster="AkkaCluster", tasks=[task["taskArn"]])["tasks"][0]["lastStatus"] != "DEACTIVATING")
    assert 19 <= drained <= 21
    stopped = world.ecs.describe_tasks(cluster="AkkaCluster", tasks=[task["taskArn"]])["tasks"][0]
    assert (stopped["stoppedReason"], stopped["stopCode"]) == ("operator", "UserInitiated")
    world.run_until(lambda: world.steady() and len(world.tasks()) == 1
                    and world.tasks()[0]["taskArn"] != task["taskArn"], limit=120)


def test_scheduler_stops_exit_143_unless_the_container_declares_its_stop_exit_code(world):
    world.build(instances=3)
    jvm = world.task_definition()
    world.create_service(jvm, desired=1, minimum=100, maximum=200)
    world.run_until(world.steady)
    declared = world.task_definition(labels={"release.sandbox.stop-exit-code": "0"})
    world.update(declared)
    world.run_until(lambda: world.steady() and world.service()["taskDefinition"] == declared)

    world.ecs.update_service(cluster="AkkaCluster", service=SERVICE, desiredCount=0)
    world.run_until(lambda: all(t["lastStatus"] == "STOPPED" for t in world.tasks("STOPPED"))
                    and len(world.tasks("STOPPED")) == 2, limit=60)

    codes = {t["taskDefinitionArn"]: (t["stoppedReason"].split(" by ")[0],
                                      t["containers"][0]["exitCode"])
             for t in world.tasks("STOPPED")}
    assert codes == {jvm: ("Scaling activity initiated", 143),
                     declared: ("Scaling activity initiated", 0)}


def test_task_stopped_before_its_container_started_has_no_exit_code(world):
    world.build(instances=1)
    world.create_service(world.task_definition(), desired=1)
    world.sb.advance(1)  # PENDING: the image is being pulled
    task = world.tasks()[0]

    world.ecs.stop_task(cluster="AkkaCluster", task=task["taskArn"], reason="operator")
    world.run_until(lambda: world.ecs.describe_tasks(
        cluster="AkkaCluster", tasks=[task["taskArn"]])["tasks"][0]["lastStatus"] == "STOPPED",
        limit=10)

    stopped = world.ecs.describe_tasks(cluster="AkkaCluster", tasks=[task["taskArn"]])["tasks"][0]
    assert "exitCode" not in stopped["containers"][0]


def test_list_tasks_filters_by_service_and_defaults_to_running(world):
    world.build(instances=3)
    world.create_service(world.task_definition(), desired=1)
    world.ecs.create_service(cluster="AkkaCluster", serviceName="other",
                             taskDefinition=world.task_definition(), desiredCount=1)
    world.run_until(lambda: len(world.ecs.list_tasks(cluster="AkkaCluster")["taskArns"]) == 2)

    mine = world.ecs.list_tasks(cluster="AkkaCluster", serviceName=SERVICE)["taskArns"]
    stopped = world.ecs.list_tasks(cluster="AkkaCluster", serviceName=SERVICE,
                                   desiredStatus="STOPPED")["taskArns"]

    assert len(mine) == 1
    assert stopped == []
    task = world.ecs.describe_tasks(cluster="AkkaCluster", tasks=mine)["tasks"][0]
    assert task["group"] == f"service:{SERVICE}"
