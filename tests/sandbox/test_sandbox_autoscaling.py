"""The scale fault: Application Auto Scaling moves desiredCount as a scaling policy does.

Only a registered scalable target is scaled, within its bounds; scale-in waits for a
suspension to be lifted and for an ECS deployment to end. Read back through the ECS and
Application Auto Scaling APIs, as a release reads them.
"""

from __future__ import annotations

from typing import Any

from sandbox_world import CLUSTER, SERVICE

from release_sandbox.faults import TaskFault, parse_fault

RESOURCE = f"service/{CLUSTER}/{SERVICE}"
DIMENSION = "ecs:service:DesiredCount"


def register(sandbox: Any, low: int, high: int, **suspended: bool) -> None:
    params: dict[str, Any] = {"ServiceNamespace": "ecs", "ResourceId": RESOURCE,
                              "ScalableDimension": DIMENSION, "MinCapacity": low,
                              "MaxCapacity": high}
    if suspended:
        params["SuspendedState"] = suspended
    sandbox.client("application-autoscaling").register_scalable_target(**params)


def desired(world: Any) -> int:
    return int(world.service()["desiredCount"])


def test_the_scale_fault_is_read_with_its_delay() -> None:
    fault = parse_fault("slow-start:seconds=5;scale:to=3,after=20")
    assert (fault.scale_to, fault.scale_after, fault.slow_start_seconds) == (3, 20.0, 5.0)
    assert parse_fault("scale") == TaskFault()  # no count: no fault, never an error
    assert parse_fault("scale:to=many") == TaskFault()


def test_a_policy_scales_out_a_scalable_target_only_and_never_past_its_maximum(
        sandbox, world) -> None:
    world.build(instances=5, interval=5, healthy=2)
    world.create_service(world.task_definition(fault="scale:to=6,after=20"))
    world.run_until(world.steady, step=2)
    world.sb.advance(60)
    assert desired(world) == 2  # serving long enough, but no scalable target: nothing scales

    register(sandbox, 2, 4)
    waited = world.run_until(lambda: desired(world) == 4, limit=30)
    assert waited <= 2  # the policy acts once the target exists (the tasks served long ago)
    world.run_until(world.steady, step=2)
    assert world.service()["runningCount"] == 4  # 4, the maximum, not the 6 the load asks for
    world.sb.advance(60)
    assert desired(world) == 4


def test_scale_in_stops_at_the_minimum_waits_while_suspended_and_while_a_deployment_runs(
        sandbox, world) -> None:
    world.build(instances=4, interval=5, healthy=2)
    shrink = world.task_definition(fault="scale:to=1,after=0")
    world.create_service(shrink, desired=4)
    register(sandbox, 2, 10, DynamicScalingInSuspended=True)
    world.run_until(world.steady, step=2)
    world.sb.advance(60)
    assert desired(world) == 4  # scale-in suspended

    world.update(world.task_definition(fault="scale:to=1,after=0", revision_note="v2"))
    register(sandbox, 2, 10, DynamicScalingInSuspended=False)
    world.run_until(lambda: any(t["lastStatus"] == "RUNNING" and t["taskDefinitionArn"].endswith(
        ":2") for t in world.tasks()), limit=120)
    world.sb.advance(10)
    assert len(world.service()["deployments"]) == 2 and desired(world) == 4  # deploying

    world.run_until(lambda: desired(world) == 2, limit=600, step=2)
    assert len(world.service()["deployments"]) == 1  # only once the deployment was over
    world.run_until(world.steady, step=2)
    world.sb.advance(60)
    assert (desired(world), world.service()["runningCount"]) == (2, 2)  # the minimum, not 1
