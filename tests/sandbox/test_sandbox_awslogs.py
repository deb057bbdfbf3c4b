"""The awslogs driver's stand-in (sandbox/release_sandbox/awslogs.py): what the example service
prints goes to moto's CloudWatch Logs, in the driver's stream, on the sandbox's clock."""

from __future__ import annotations

from typing import Any

from sandbox_world import CLUSTER, CONTAINER

GROUP = "/ecs/akka-firehose"


def _awslogs(**extra: str) -> dict[str, Any]:
    return {"logDriver": "awslogs", "options": {"awslogs-group": GROUP,
                                                "awslogs-region": "us-east-1",
                                                "awslogs-stream-prefix": "ecs", **extra}}


def _lines(world, task: dict[str, Any]) -> list[tuple[int, str]]:
    stream = f"ecs/{CONTAINER}/{task['taskArn'].rsplit('/', 1)[-1]}"
    events = world.sb.client("logs").get_log_events(logGroupName=GROUP, logStreamName=stream,
                                                    startFromHead=True)["events"]
    return [(e["timestamp"], e["message"]) for e in events]


def test_a_running_task_prints_listening_then_each_health_check_then_stopping(world) -> None:
    world.build(draining=1)
    world.sb.client("logs").create_log_group(logGroupName=GROUP)
    world.create_service(world.task_definition(logging=_awslogs()), desired=1)
    world.run_until(world.steady)
    task = world.tasks()[0]
    started = task["startedAt"].timestamp()
    world.sb.advance(10)
    lines = _lines(world, task)
    first, *checks = lines
    assert first == (int(started * 1000), "akka-firehose stand-in listening on port 8080 "
                     "(revision 111111111111, stream -)")  # stamped with the sandbox's clock
    assert len(checks) >= 2 and {m for _, m in checks} == {"GET /api/healthcheck 200"}
    assert all(started * 1000 <= t <= world.sb.clock.now() * 1000 for t, _ in checks)

    world.ecs.stop_task(cluster=CLUSTER, task=task["taskArn"], reason="operator")
    world.run_until(lambda: world.ecs.describe_tasks(cluster=CLUSTER, tasks=[task["taskArn"]])[
        "tasks"][0]["lastStatus"] == "STOPPED", limit=30)
    assert _lines(world, task)[-1][1] == "stopping"  # SIGTERM after draining


def test_the_crash_fault_writes_its_last_words_before_it_exits(world) -> None:
    # and the driver creates the group only when awslogs-create-group says so
    world.build()
    logs = world.sb.client("logs")
    world.create_service(world.task_definition(fault="crash:exit=3", logging=_awslogs(
        **{"awslogs-create-group": "true"})), desired=1)
    world.run_until(lambda: len(world.tasks("STOPPED")) >= 1, limit=30)
    assert [g["logGroupName"] for g in logs.describe_log_groups()["logGroups"]] == [GROUP]
    assert [m for _, m in _lines(world, world.tasks("STOPPED")[0])] == [
        "fatal: the service cannot start: IllegalStateException: sandbox fault crash:exit=3 "
        "(RELEASE_SANDBOX_FAULT)", "exiting with code 3"]  # no listening line: it never did


def test_a_container_without_ports_prints_its_started_line_like_the_heartbeat_and_worker() -> None:
    from release_sandbox.awslogs import listening_line

    sidecar = {"name": "heartbeat", "image": "127.0.0.1:5050/heartbeat@sha256:" + "ab" * 32,
               "environment": [{"name": "HEARTBEAT_SECONDS", "value": "10"}]}
    assert listening_line(sidecar) == "heartbeat started (revision abababababab)"
    app = {"name": "akka-firehose", "image": "r/akka-firehose:v7",
           "portMappings": [{"containerPort": 8080}]}
    assert listening_line(app).startswith("akka-firehose stand-in listening on port 8080")
