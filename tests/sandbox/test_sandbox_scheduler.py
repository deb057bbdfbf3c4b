"""The emulator's scheduler (release_sandbox/scheduler.py), through the AWS API: deployments,
rolling updates, the circuit breaker, steady state; each test is one documented ECS behaviour."""

from __future__ import annotations

from types import SimpleNamespace

from sandbox_world import LB, SERVICE

from release_sandbox.scheduler import circuit_breaker_threshold
from release_sandbox.world import ServiceRecord

PORT_EVENT = (f"(service {SERVICE}) was unable to place a task because no container instance "
              "met all of its requirements. The closest matching (container-instance ")


def test_new_service_starts_desired_tasks_registers_them_and_reaches_steady_state(world):
    world.build()
    world.create_service(world.task_definition())
    created = world.service()
    assert created["deploymentConfiguration"]["minimumHealthyPercent"] == 50
    assert "rolloutState" not in created["deployments"][0]  # behind a classic ELB

    took = world.run_until(world.steady, limit=120)

    # 1 s provisioning + 2 s pending, then HealthyThreshold (2) x Interval (5 s) to InService.
    assert 10 <= took <= 16
    tasks = world.tasks()
    assert len(tasks) == 2
    assert {t["lastStatus"] for t in tasks} == {"RUNNING"}
    assert {t["startedBy"] for t in tasks} == {world.service()["deployments"][0]["id"]}
    assert len({t["containerInstanceArn"] for t in tasks}) == 2  # one per instance: port 80
    assert {s["State"] for s in world.health().values()} == {"InService"}
    messages = world.messages()
    assert messages[0].startswith(f"(service {SERVICE}) has started 2 tasks: (task ")
    assert messages.count(f"(service {SERVICE}) registered 1 instances in (elb {LB})") == 2
    assert messages[-1] == f"(service {SERVICE}) has reached a steady state."


def test_rolling_update_min50_max100_replaces_one_task_at_a_time_and_completes(world):
    world.build(draining=10)
    old = world.task_definition()
    world.create_service(old, desired=2, minimum=50, maximum=100)
    world.run_until(world.steady)
    new = world.task_definition(revision_note="v2")

    world.update(new)
    deployments = world.service()["deployments"]
    assert [(d["status"], d["taskDefinition"]) for d in deployments] == [
        ("PRIMARY", new), ("ACTIVE", old)]

    most_wanted, fewest_serving, old_stopping_at_once = 0, 2, 0

    def observe() -> bool:
        nonlocal most_wanted, fewest_serving, old_stopping_at_once
        tasks = world.tasks()
        most_wanted = max(most_wanted, len(tasks))  # desiredStatus RUNNING: <= maximumPercent
        serving = [s for s in world.health().values() if s["State"] == "InService"
                   and s["Description"] == "N/A"]
        fewest_serving = min(fewest_serving, len(serving))
        stopping_old = [t for t in world.tasks("STOPPED") if t["taskDefinitionArn"] == old
                        and t["lastStatus"] != "STOPPED"]
        old_stopping_at_once = max(old_stopping_at_once, len(stopping_old))
        return world.steady() and world.service()["taskDefinition"] == new

    world.run_until(observe, limit=300)

    assert most_wanted <= 2
    assert fewest_serving >= 1  # minimumHealthyPercent 50 of 2
    assert old_stopping_at_once == 1
    service = world.service()
    assert len(service["deployments"]) == 1
    assert service["deployments"][0]["taskDefinition"] == new
    assert {"rolloutState", "rolloutStateReason"}.isdisjoint(service["deployments"][0])
    assert {t["taskDefinitionArn"] for t in world.tasks()} == {new}
    stopped = [t for t in world.tasks("STOPPED") if t["taskDefinitionArn"] == old]
    assert len(stopped) == 2
    assert all(t["stoppedReason"].startswith("Scaling activity initiated by (deployment ecs-svc/")
               for t in stopped)
    assert all(t["containers"][0]["exitCode"] == 143 for t in stopped)  # SIGTERM to a JVM


def test_min100_max200_rolls_when_a_spare_instance_exists(world):
    world.build(instances=3)
    old = world.task_definition()
    world.create_service(old, desired=2, minimum=100, maximum=200)
    world.run_until(world.steady)
    new = world.task_definition(revision_note="v2")
    world.update(new)

    world.run_until(lambda: world.steady() and world.service()["taskDefinition"] == new)

    assert not any(m.startswith(PORT_EVENT) for m in world.messages()[:3])


def test_health_check_grace_period_spares_a_slow_starting_task(world):
    world.build(interval=5, unhealthy=2)
    # Healthy only 20 s after start; 2 failed checks (10 s) would condemn it without grace.
    world.create_service(world.task_definition(fault="slow-start:seconds=20"), desired=1,
                         grace=40)

    world.run_until(world.steady, limit=120)

    assert world.tasks("STOPPED") == []


def test_without_grace_period_a_slow_starting_task_is_replaced(world):
    world.build(interval=5, unhealthy=2)
    world.create_service(world.task_definition(fault="slow-start:seconds=20"), desired=1,
                         grace=0)

    world.run_until(lambda: len(world.tasks("STOPPED")) >= 1, limit=120)

    assert world.tasks("STOPPED")[0]["stoppedReason"].startswith("Task failed ELB health checks")


def test_old_deployment_disappears_only_after_its_tasks_stopped(world):
    world.build(draining=20)
    old = world.task_definition()
    world.create_service(old, desired=2)
    world.run_until(world.steady)
    world.update(world.task_definition(revision_note="v2"))

    def check() -> bool:
        ids = [d["id"] for d in world.service()["deployments"]]
        old_alive = [t for t in world.all_tasks() if t["taskDefinitionArn"] == old
                     and t["lastStatus"] != "STOPPED"]
        if old_alive:
            assert len(ids) == 2
        return len(ids) == 1

    world.run_until(check, limit=300)


def test_circuit_breaker_threshold_follows_the_documented_bounds():
    assert circuit_breaker_threshold(1) == 3
    assert circuit_breaker_threshold(2) == 3
    assert circuit_breaker_threshold(10) == 5
    assert circuit_breaker_threshold(11) == 6
    assert circuit_breaker_threshold(1000) == 200


def test_circuit_breaker_trips_at_its_threshold_and_rolls_back(world):
    # The breaker and rolloutState exist only for services not behind a classic ELB.
    world.build(draining=5)
    good = world.task_definition()
    world.create_service(good, desired=2, breaker=True, rollback=True, classic_elb=False)
    world.run_until(world.steady)
    bad = world.task_definition(fault="crash:exit=1")
    world.update(bad)
    failing = world.service()["deployments"][0]["id"]

    def tripped() -> bool:
        deployment = next(d for d in world.service()["deployments"] if d["id"] == failing)
        if deployment["rolloutState"] != "FAILED":
            assert deployment["failedTasks"] < 3
            return False
        assert deployment["failedTasks"] == 3  # threshold for desired 2 is 3
        return True

    world.run_until(tripped, limit=300)

    service = world.service()
    assert service["deployments"][0]["taskDefinition"] == good
    assert service["deployments"][0]["status"] == "PRIMARY"
    assert service["taskDefinition"] == good
    assert any(m.endswith("deployment failed: tasks failed to start.") for m in world.messages())
    world.run_until(world.steady, limit=300)
    assert {t["taskDefinitionArn"] for t in world.tasks()} == {good}


def test_circuit_breaker_without_rollback_leaves_the_deployment_failed(world):
    world.build()
    good = world.task_definition()
    world.create_service(good, desired=2, breaker=True, rollback=False, classic_elb=False)
    world.run_until(world.steady)
    bad = world.task_definition(fault="crash")
    world.update(bad)

    world.run_until(lambda: world.service()["deployments"][0]["rolloutState"] == "FAILED",
                    limit=300)
    started = sum(1 for m in world.messages() if "has started" in m)
    world.sb.advance(120)

    service = world.service()
    assert service["deployments"][0]["taskDefinition"] == bad
    assert service["deployments"][0]["rolloutState"] == "FAILED"
    assert service["deployments"][0]["failedTasks"] == 3  # no more launches once FAILED
    assert sum(1 for m in world.messages() if "has started" in m) == started


def test_force_new_deployment_replaces_tasks_of_the_same_revision(world):
    world.build()
    revision = world.task_definition()
    world.create_service(revision, desired=2)
    world.run_until(world.steady)
    first = {t["taskArn"] for t in world.tasks()}
    before = world.service()["deployments"][0]["id"]

    world.ecs.update_service(cluster="AkkaCluster", service=SERVICE, forceNewDeployment=True)

    deployments = world.service()["deployments"]
    assert [d["status"] for d in deployments] == ["PRIMARY", "ACTIVE"]
    assert deployments[1]["id"] == before
    world.run_until(world.steady, limit=300)
    assert not first & {t["taskArn"] for t in world.tasks()}


def test_scaling_the_desired_count_down_stops_tasks_without_a_new_deployment(world):
    world.build()
    world.create_service(world.task_definition(), desired=2)
    world.run_until(world.steady)

    world.ecs.update_service(cluster="AkkaCluster", service=SERVICE, desiredCount=1)

    assert len(world.service()["deployments"]) == 1
    world.run_until(lambda: len(world.tasks()) == 1 and world.service()["runningCount"] == 1,
                    limit=120)


def test_updating_part_of_the_deployment_configuration_keeps_the_rest(world):
    world.build()
    world.create_service(world.task_definition(), desired=2, minimum=50, maximum=100,
                         breaker=True, rollback=True)

    world.ecs.update_service(cluster="AkkaCluster", service=SERVICE,
                             deploymentConfiguration={"maximumPercent": 150})

    config = world.service()["deploymentConfiguration"]
    assert config["maximumPercent"] == 150
    assert config["minimumHealthyPercent"] == 50
    assert config["deploymentCircuitBreaker"] == {"enable": True, "rollback": True}


def test_without_a_load_balancer_deployments_report_their_rollout_state(world):
    world.build()
    world.create_service(world.task_definition(), desired=2, classic_elb=False)
    created = world.service()["deployments"][0]
    assert (created["rolloutState"], created["rolloutStateReason"]) == (
        "IN_PROGRESS", f"ECS deployment {created['id']} in progress.")

    world.run_until(world.steady, limit=60)

    done = world.service()["deployments"][0]
    assert (done["rolloutState"], done["rolloutStateReason"]) == (
        "COMPLETED", f"ECS deployment {done['id']} completed.")


def test_behind_a_classic_elb_the_circuit_breaker_never_trips(world):
    world.build(draining=5)
    good = world.task_definition()
    world.create_service(good, desired=2, breaker=True, rollback=True)
    world.run_until(world.steady)
    bad = world.task_definition(fault="crash:exit=1")
    world.update(bad)

    world.run_until(lambda: len([t for t in world.tasks("STOPPED")
                                 if t["taskDefinitionArn"] == bad]) >= 6, limit=600)

    service = world.service()
    primary = service["deployments"][0]
    assert primary["taskDefinition"] == bad  # no rollback by ECS
    assert primary["failedTasks"] >= 6  # twice the threshold for desired 2
    assert {"rolloutState", "rolloutStateReason"}.isdisjoint(primary)
    assert service["deploymentConfiguration"]["deploymentCircuitBreaker"] == {
        "enable": True, "rollback": True}  # the setting is kept, it just does nothing
    assert not any("deployment failed" in m or "rolling back" in m for m in world.messages())
    assert any(t["taskDefinitionArn"] == good for t in world.tasks())  # the old ones serve


def test_only_a_classic_elb_takes_the_rollout_state_away():
    def record(*load_balancers: dict) -> ServiceRecord:
        return ServiceRecord(service=SimpleNamespace(load_balancers=list(load_balancers)),
                             key="AkkaCluster:s")

    classic = record({"loadBalancerName": LB, "containerName": "c", "containerPort": 8080})
    target_group = record({"targetGroupArn": "arn:aws:elasticloadbalancing:us-east-1:"
                           "123456789012:targetgroup/akka/0123456789abcdef",
                           "containerName": "c", "containerPort": 8080})

    assert classic.rollout("ecs-svc/1") == {}
    for documented in (target_group, record()):
        assert documented.rollout("ecs-svc/1") == {
            "rolloutState": "IN_PROGRESS",
            "rolloutStateReason": "ECS deployment ecs-svc/1 in progress."}
