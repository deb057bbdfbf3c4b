"""The emulator's classic ELB (sandbox/release_sandbox/elb.py), through the AWS API: health checks,
registration, draining, DescribeInstanceHealth; each test is one documented ELB behaviour."""

from __future__ import annotations

from sandbox_world import LB, SERVICE


def test_instance_is_in_service_only_after_healthy_threshold_times_interval(world):
    world.build(interval=10, healthy=3)
    world.create_service(world.task_definition(), desired=1)
    world.run_until(lambda: any(t["lastStatus"] == "RUNNING" for t in world.tasks()))
    registered = next(iter(world.health().values()))
    assert registered["State"] == "OutOfService"
    assert registered["Description"] == "Instance registration is still in progress."

    took = world.run_until(lambda: {s["State"] for s in world.health().values()} == {"InService"})

    assert 29 <= took <= 31  # 3 passing checks, 10 s apart


def test_unhealthy_task_never_becomes_in_service_and_is_replaced(world):
    world.build(interval=5, unhealthy=2, draining=10)
    old = world.task_definition()
    world.create_service(old, desired=2, minimum=50, maximum=100)
    world.run_until(world.steady)
    bad = world.task_definition(fault="unhealthy")
    world.update(bad)

    states_of_new_instances: set[str] = set()

    def observe() -> bool:
        running_new = [t for t in world.tasks() if t["taskDefinitionArn"] == bad]
        if running_new:
            instances = world.ecs.describe_container_instances(
                cluster="AkkaCluster",
                containerInstances=[t["containerInstanceArn"] for t in running_new],
            )["containerInstances"]
            health = world.health(*(ci["ec2InstanceId"] for ci in instances))
            states_of_new_instances.update(s["State"] for s in health.values())
        failed = [t for t in world.tasks("STOPPED") if t["taskDefinitionArn"] == bad]
        return len(failed) >= 2

    world.run_until(observe, limit=400)

    assert "InService" not in states_of_new_instances
    failed = [t for t in world.tasks("STOPPED") if t["taskDefinitionArn"] == bad]
    assert {t["stoppedReason"] for t in failed} == {f"Task failed ELB health checks in (elb {LB})"}
    assert any("is unhealthy in (elb akkaElb) due to (reason Instance has failed at least the "
               "UnhealthyThreshold number of health checks consecutively.)" in m
               for m in world.messages())
    # a replacement was started after each failure, and the old revision still serves
    assert sum(1 for m in world.messages() if "has started 1 tasks" in m) >= 2
    assert any(t["taskDefinitionArn"] == old and t["lastStatus"] == "RUNNING"
               for t in world.tasks())


def test_draining_holds_the_old_task_for_the_whole_timeout(world):
    world.build(draining=60)
    old = world.task_definition()
    world.create_service(old, desired=2, minimum=50, maximum=100)
    world.run_until(world.steady)
    world.update(world.task_definition(revision_note="v2"))

    world.run_until(lambda: any(t["taskDefinitionArn"] == old for t in world.tasks("STOPPED")))
    leaving = next(t for t in world.tasks("STOPPED") if t["taskDefinitionArn"] == old)
    instance = world.ecs.describe_container_instances(
        cluster="AkkaCluster", containerInstances=[leaving["containerInstanceArn"]]
    )["containerInstances"][0]["ec2InstanceId"]
    assert any(m == f"(service {SERVICE}) has begun draining connections on 1 tasks."
               for m in world.messages())

    def leaving_task() -> dict:
        return world.ecs.describe_tasks(cluster="AkkaCluster",
                                        tasks=[leaving["taskArn"]])["tasks"][0]

    drained = 0
    while leaving_task()["lastStatus"] == "DEACTIVATING":
        state = world.health(instance)[instance]
        assert (state["State"], state["Description"]) == (
            "InService", "Instance deregistration currently in progress.")
        assert instance not in world.health()  # unfiltered: registered instances only
        world.sb.advance(1)
        drained += 1

    assert 59 <= drained <= 60
    world.run_until(lambda: leaving_task()["lastStatus"] == "STOPPED", limit=5)
    state = world.health(instance)[instance]
    # The replacement may already be registering on the freed instance; before that,
    # ELB says the instance is not registered.
    assert (state["State"], state["Description"]) in {
        ("OutOfService", "Instance is not currently registered with the LoadBalancer."),
        ("OutOfService", "Instance registration is still in progress.")}
    assert leaving_task()["desiredStatus"] == "STOPPED"


def test_unfiltered_instance_health_lists_registered_instances_only(world):
    world.build(instances=2, draining=60)
    world.create_service(world.task_definition(), desired=1)
    world.run_until(world.steady)
    task = world.tasks()[0]
    leaving = world.ecs.describe_container_instances(
        cluster="AkkaCluster", containerInstances=[task["containerInstanceArn"]]
    )["containerInstances"][0]["ec2InstanceId"]
    other = next(i for i in world.instance_ids if i != leaving)

    world.ecs.stop_task(cluster="AkkaCluster", task=task["taskArn"], reason="operator")
    world.sb.advance(1)

    assert leaving not in world.health()  # draining, so no longer registered
    named = world.health(leaving)[leaving]
    assert (named["State"], named["Description"]) == (
        "InService", "Instance deregistration currently in progress.")
    took = world.run_until(lambda: world.health(leaving)[leaving]["State"] == "OutOfService")
    assert 58 <= took <= 60
    gone = world.health(leaving)[leaving]
    assert (gone["ReasonCode"], gone["Description"]) == (
        "N/A", "Instance is not currently registered with the LoadBalancer.")
    assert list(world.health()) == [other]  # where the replacement runs


def test_instance_registered_again_while_draining_starts_its_health_history_anew(world):
    world.build(instances=1, interval=5, healthy=3, draining=60)
    world.create_service(world.task_definition(), desired=1)
    world.run_until(world.steady)
    instance = world.instance_ids[0]
    world.elb.deregister_instances_from_load_balancer(LoadBalancerName=LB,
                                                      Instances=[{"InstanceId": instance}])
    assert world.health(instance)[instance]["Description"] == (
        "Instance deregistration currently in progress.")
    world.sb.advance(10)

    world.elb.register_instances_with_load_balancer(LoadBalancerName=LB,
                                                    Instances=[{"InstanceId": instance}])

    seen = []
    took = world.run_until(lambda: seen.append(world.health()[instance]) or
                           seen[-1]["State"] == "InService", limit=60)
    assert {(s["State"], s["ReasonCode"], s["Description"]) for s in seen[:-1]} == {
        ("OutOfService", "ELB", "Instance registration is still in progress.")}
    assert 14 <= took <= 15  # HealthyThreshold (3) x Interval (5 s)
    assert seen[-1]["Description"] == "N/A"


def test_instance_registered_again_at_once_is_not_still_in_service(world):
    # Deregistered and registered again between two health checks: the history restarts.
    world.build(instances=1, interval=5, healthy=2, draining=0)
    world.create_service(world.task_definition(), desired=1)
    world.run_until(world.steady)
    instance = world.instance_ids[0]
    asked = [{"InstanceId": instance}]

    world.elb.deregister_instances_from_load_balancer(LoadBalancerName=LB, Instances=asked)
    world.elb.register_instances_with_load_balancer(LoadBalancerName=LB, Instances=asked)

    state = world.health(instance)[instance]
    assert (state["State"], state["Description"]) == (
        "OutOfService", "Instance registration is still in progress.")
    assert list(world.health()) == [instance]  # registered once, listed once
    took = world.run_until(lambda: world.health()[instance]["State"] == "InService", limit=30)
    assert 9 <= took <= 10
