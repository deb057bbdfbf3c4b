"""The emulator's parts on their own, without moto: the pure rules each module applies."""

from __future__ import annotations

from types import SimpleNamespace

from release_sandbox.elb import (
    DEREGISTRATION_IN_PROGRESS,
    FAILED_CHECKS,
    NOT_REGISTERED,
    REGISTRATION_IN_PROGRESS,
    InstanceHealth,
    _state,
    check_port,
    draining_seconds,
)
from release_sandbox.faults import TaskFault
from release_sandbox.placement import registered, requirements


def _definition(network_mode: str | None, cpu: str | None = None,
                memory: str | None = None) -> SimpleNamespace:
    containers = [{"name": "a", "cpu": 256, "memory": 512,
                   "portMappings": [{"containerPort": 8080, "hostPort": 80}]},
                  {"name": "b", "memoryReservation": 128,
                   "portMappings": [{"containerPort": 9000}]}]
    return SimpleNamespace(container_definitions=containers, cpu=cpu, memory=memory,
                           network_mode=network_mode)


def test_a_task_needs_its_containers_cpu_memory_and_static_host_ports():
    assert requirements(_definition("bridge")) == (256, 640, [80])
    assert requirements(_definition("host")) == (256, 640, [80, 9000])  # host: container ports
    assert requirements(_definition("awsvpc", cpu="1024", memory="2048")) == (1024, 2048, [])


def test_an_instance_has_what_it_registered_and_no_ports_when_it_registered_none():
    ci = SimpleNamespace(registered_resources=[
        {"name": "CPU", "type": "INTEGER", "integerValue": 2048},
        {"name": "PORTS", "type": "STRINGSET", "stringSetValue": ["22"]}])
    assert registered(ci, "CPU") == 2048
    assert registered(ci, "PORTS") == {"22"}
    assert registered(ci, "MEMORY") == 0 and registered(ci, "PORTS_UDP") == set()


def test_instance_states_are_worded_as_describe_instance_health_words_them():
    fresh = InstanceHealth(registered_at=0, next_check=5)
    assert _state(fresh, True, False) == ("OutOfService", "ELB", REGISTRATION_IN_PROGRESS)
    failed = InstanceHealth(registered_at=0, next_check=5, failed_out=True)
    assert _state(failed, True, False) == ("OutOfService", "Instance", FAILED_CHECKS)
    serving = InstanceHealth(registered_at=0, next_check=5, in_service=True)
    assert _state(serving, True, False) == ("InService", "N/A", "N/A")
    assert _state(None, False, True) == ("InService", "N/A", DEREGISTRATION_IN_PROGRESS)
    assert _state(None, False, False) == ("OutOfService", "N/A", NOT_REGISTERED)


def test_the_draining_timeout_follows_the_api_spelling_and_is_zero_when_off():
    def lb(setting: dict) -> SimpleNamespace:
        return SimpleNamespace(attributes={"connection_draining": setting})

    assert draining_seconds(lb({"Enabled": True, "Timeout": 30, "timeout": 300})) == 30
    assert draining_seconds(lb({"enabled": "true", "timeout": 300})) == 300
    assert draining_seconds(lb({"Enabled": False, "Timeout": 30})) == 0
    assert check_port("HTTP:80/api/healthcheck") == 80 and check_port("TCP:8080") == 8080
    assert check_port("nonsense") is None


def test_a_fault_decides_when_the_health_check_passes():
    assert TaskFault().passes_health_check(0)
    assert not TaskFault(unhealthy=True).passes_health_check(3600)
    slow = TaskFault(slow_start_seconds=45)
    assert not slow.passes_health_check(44.9) and slow.passes_health_check(45)
