"""rolling.py: the one place that knows sizes, ports, waves and the release budget."""

from __future__ import annotations

from pathlib import Path

import pytest

from release.core import rolling
from release.core.config import load_repo
from release.core.render import render_service

PROJECT_ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(("desired", "min_pct", "max_pct", "instances", "per_instance",
                          "expected"), [
    (2, 50, 100, 2, 1, 2),      # the seed: one task at a time
    (2, 50, 200, 2, 1, 2),      # max 200 buys nothing without a spare instance
    (2, 50, 200, 4, 1, 1),      # ... and everything with two spare instances
    (2, 100, 200, 4, None, 1),  # no static port, no size bound
    (4, 50, 100, 4, 1, 2),
    (4, 50, 100, 2, 2, 2),      # two tasks fit an instance by cpu/memory
    (3, 100, 200, 3, 1, 3),     # cannot roll: budget the worst case
    (0, 50, 100, 2, 1, 0),
])
def test_waves(desired, min_pct, max_pct, instances, per_instance, expected) -> None:
    assert rolling.rolling_plan(desired, min_pct, max_pct, instances,
                                per_instance).waves == expected


def test_a_full_set_of_instances_with_nothing_to_stop_first_is_stuck() -> None:
    plan = rolling.rolling_plan(3, 100, 200, 3, 1)
    assert plan.stuck and (plan.capacity, plan.can_start, plan.can_stop) == (3, 0, 0)
    assert not rolling.rolling_plan(3, 50, 200, 3, 1).stuck


def test_instances_register_less_memory_than_installed() -> None:
    assert rolling.instance_resources("t2.medium") == (2048, 3943)
    cpu, memory = rolling.instance_resources("m5.large")  # type: ignore[misc]
    assert cpu == 2048 and 7800 < memory < 8192
    assert rolling.instance_resources("x9.huge") is None


@pytest.mark.parametrize(("mode", "mapping", "port"), [
    ("bridge", {"containerPort": 8080, "hostPort": 80}, 80),
    ("bridge", {"containerPort": 8080}, 0),          # dynamic: ECS picks one
    ("bridge", {"containerPort": 8080, "hostPort": 0}, 0),
    ("host", {"containerPort": 8080}, 8080),          # host mode binds the container port
    ("awsvpc", {"containerPort": 8080, "hostPort": 8080}, 0),  # the task's own ENI
])
def test_host_port(mode, mapping, port) -> None:
    taskdef = {"networkMode": mode, "containerDefinitions": [
        {"name": "app", "portMappings": [mapping]}]}
    assert rolling.host_port(taskdef, mapping) == port
    assert rolling.static_host_ports(taskdef) is bool(port)
    assert rolling.static_host_port(taskdef, "app") == (port or None)


def test_tasks_per_instance_is_the_tightest_bound() -> None:
    small = {"containerDefinitions": [{"name": "a", "cpu": 512, "memory": 1000}]}
    assert rolling.tasks_per_instance("t2.medium", small) == 3  # 3943 MiB // 1000
    assert rolling.tasks_per_instance("t2.medium", {**small, "cpu": "1 vCPU"}) == 2
    static = {"containerDefinitions": [{"name": "a", "memory": 100,
                                        "portMappings": [{"containerPort": 80, "hostPort": 80}]}]}
    assert rolling.tasks_per_instance("t2.medium", static) == 1
    assert rolling.tasks_per_instance("x9.huge", small) is None


def test_a_wave_adds_placement_health_checks_draining_and_stop() -> None:
    repo = load_repo(PROJECT_ROOT, ["production"])
    env = repo.environment("production")
    spec = repo.services_of("production")[0]
    taskdef = render_service(repo, spec)
    wave = rolling.wave_time(env, taskdef)
    hc = env.load_balancer.health_check
    assert (wave.placement, wave.health, wave.draining, wave.stop) == (
        30, hc.healthy_threshold * hc.interval, env.load_balancer.effective_draining, 30)
    assert wave.minimum(2) == 2 * wave.seconds
    assert wave.minimum(0) == wave.draining + wave.stop  # scaled to zero: drain and stop
    slow = {**taskdef, "containerDefinitions": [
        {**c, "stopTimeout": 90} for c in taskdef["containerDefinitions"]]}
    assert rolling.wave_time(env, slow).stop == 90
    assert rolling.margin(100) == 60 and rolling.margin(1000) == 100
