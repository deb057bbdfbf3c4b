"""The one place where the sandbox changes moto's behaviour.

moto answers the ECS and ELB APIs from in-process backends but, by itself,
never runs a scheduler: it drops `deploymentConfiguration` and
`healthCheckGracePeriodSeconds` on CreateService, does not start a new
deployment on UpdateService, ignores ListTasks' serviceName filter and default
desiredStatus (RUNNING), stops tasks at once on StopTask, and reports every
registered ELB instance `InService` with the description "N/A". These
wrappers hand those calls to the emulator registered for the caller's account
and region; with no emulator registered, moto behaves exactly as before.

The wrappers are installed once per process on moto's response classes (the
backends are re-created on a moto reset, the classes are not).
"""

from __future__ import annotations

import threading
from typing import Any, Protocol

_install_lock = threading.Lock()
_installed = False
_emulators: dict[tuple[str, str], Any] = {}


class ServiceListener(Protocol):
    def service_created(self, service: Any, params: dict[str, Any]) -> None: ...

    def service_updated(self, service: Any, params: dict[str, Any],
                        before: dict[str, Any]) -> None: ...

    def instance_health(self, lb_name: str, instance_ids: list[str]
                        ) -> list[dict[str, str]] | None: ...

    def stop_requested(self, task: str, reason: str) -> Any: ...


def register(account: str, region: str, emulator: ServiceListener) -> None:
    install()
    _emulators[(account, region)] = emulator


def unregister(account: str, region: str, emulator: ServiceListener) -> None:
    if _emulators.get((account, region)) is emulator:
        del _emulators[(account, region)]


def _emulator_for(response: Any) -> Any:
    return _emulators.get((response.current_account, response.region))


def install() -> None:
    """Wrap moto's ECS CreateService/UpdateService and ELB DescribeInstanceHealth (idempotent)."""
    global _installed
    with _install_lock:
        if _installed:
            return
        from moto.core.responses import ActionResult
        from moto.ecs.responses import EC2ContainerServiceResponse
        from moto.elb.responses import ELBResponse

        original_create = EC2ContainerServiceResponse.create_service
        original_update = EC2ContainerServiceResponse.update_service
        original_health = ELBResponse.describe_instance_health
        original_list_tasks = EC2ContainerServiceResponse.list_tasks
        original_stop_task = EC2ContainerServiceResponse.stop_task

        def create_service(self: Any) -> Any:
            result = original_create(self)
            emulator = _emulator_for(self)
            if emulator is not None:
                params = self._get_params()
                service = self.ecs_backend._get_service(params.get("cluster", "default"),
                                                        params["serviceName"])
                emulator.service_created(service, params)
            return result

        def update_service(self: Any) -> Any:
            emulator = _emulator_for(self)
            if emulator is None:
                return original_update(self)
            params = self._get_params()
            service = self.ecs_backend._get_service(params.get("cluster", "default"),
                                                    params["service"])
            before = {"task_definition": service.task_definition,
                      "deployments": [dict(d) for d in service.deployments],
                      "deployment_configuration": dict(
                          getattr(service, "deployment_configuration", None) or {})}
            result = original_update(self)
            emulator.service_updated(service, params, before)
            return result

        def describe_instance_health(self: Any) -> Any:
            emulator = _emulator_for(self)
            if emulator is None:
                return original_health(self)
            lb_name = self._get_param("LoadBalancerName")
            asked = [i["InstanceId"] for i in self._get_param("Instances", [])]
            # moto's own call first: it raises LoadBalancerNotFound as AWS would.
            self.elb_backend.describe_instance_health(lb_name, [])
            states = emulator.instance_health(lb_name, asked)
            if states is None:
                return original_health(self)
            return ActionResult({"InstanceStates": states})

        def list_tasks(self: Any) -> Any:
            # moto ignores serviceName and lists every desired status; ECS filters by the
            # service's task group and, with no desiredStatus given, lists RUNNING ones.
            if _emulator_for(self) is None:
                return original_list_tasks(self)
            service_name = (self._get_param("serviceName") or "").split("/")[-1]
            tasks = self.ecs_backend.list_tasks(
                self._get_param("cluster", "default"), self._get_param("containerInstance"),
                self._get_param("family"), self._get_param("startedBy"), None,
                self._get_param("desiredStatus") or "RUNNING")
            if service_name:
                tasks = [t for t in tasks if t.group == f"service:{service_name}"]
            return ActionResult({"taskArns": [t.task_arn for t in tasks]})

        def stop_task(self: Any) -> Any:
            # moto marks the task STOPPED at once; ECS deregisters and drains it first.
            emulator = _emulator_for(self)
            task = None
            if emulator is not None:
                task = emulator.stop_requested(self._get_param("task"),
                                               self._get_param("reason") or "")
            if task is None:
                return original_stop_task(self)
            return ActionResult({"task": task})

        EC2ContainerServiceResponse.list_tasks = list_tasks
        EC2ContainerServiceResponse.stop_task = stop_task
        EC2ContainerServiceResponse.create_service = create_service
        EC2ContainerServiceResponse.update_service = update_service
        ELBResponse.describe_instance_health = describe_instance_health
        _installed = True
