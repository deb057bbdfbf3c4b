"""The one place where the sandbox changes moto's behaviour.

moto answers the ECS and ELB APIs from in-process backends but, by itself,
never runs a scheduler: it drops `deploymentConfiguration` and
`healthCheckGracePeriodSeconds` on CreateService, does not start a new
deployment on UpdateService, ignores ListTasks' serviceName filter and default
desiredStatus (RUNNING) and matches ListTasks' cluster as a substring
("AkkaCluster" also lists the tasks of "AkkaCluster-staging"), stops tasks at
once on StopTask, registers every container instance with 4096 CPU units and
7482 MiB whatever totalResources says, and reports every registered ELB instance
`InService` with the description "N/A" (a registration or deregistration by an
API caller is therefore handed to the emulator too, which keeps the health
history). For ELBv2 target groups moto keeps one target per id, runs no health
check and never drains: DescribeTargetHealth, RegisterTargets and
DeregisterTargets are answered by the emulator (release_sandbox/target_groups.py).
moto keeps a registered task definition's values as written; RegisterTaskDefinition is
followed by the rewrites ECS documents (release/core/registration.py: task cpu/memory
in units, a role name as its ARN, an EFS rootDirectory left out as "/"), so
DescribeTaskDefinition answers in AWS's form.
RunTask of a task that fits on no container instance gets neither a task nor a
failure from moto (and a bare exception on a cluster without instances): the
emulator answers `failures` as ECS does (release_sandbox/placement.py), and moves the
one-off tasks moto does place (release_sandbox/oneoff.py).
No ECS agent runs, so RunInstances and CreateCluster are followed by
the emulator's stand-in for the agents' registration. moto lacks the service
deployment actions of ECS's native strategies (ListServiceDeployments,
DescribeServiceDeployments, StopServiceDeployment, ContinueServiceDeployment,
DescribeServiceRevisions):
they are added to its ECS responses and answered by the emulator. These wrappers hand
those calls to the
emulator registered for the caller's account and region; with no emulator
registered, moto behaves exactly as before.

IAM's SimulatePrincipalPolicy (moto has none) is answered from the role's own policies
(sandbox/release_sandbox/iam_simulation.py), whether or not an emulator is registered.

ECR's CreateRepository is followed by the repository importer registered for
the account and region (the sandbox registry's images, which outlive a sandbox
restart while moto's ECR does not). DescribeImageScanFindings is answered by the
scan findings registered for the account and region (sandbox/release_sandbox/scans.py)
once moto found the repository and image.

The wrappers are installed once per process on moto's response classes (the
backends are re-created on a moto reset, the classes are not).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, Protocol

_install_lock = threading.Lock()
_installed = False
_emulators: dict[tuple[str, str], Any] = {}

# put_image's parameters as the ECR API names them (repositoryName, imageManifest, ...).
PutImage = Callable[[dict[str, Any]], None]
# Called with a just-created repository's name and a way to put images into it.
RepositoryImporter = Callable[[str, PutImage], None]
_importers: dict[tuple[str, str], RepositoryImporter] = {}
_scanners: dict[tuple[str, str], Any] = {}  # release_sandbox.scans.ScanFindings


class ServiceListener(Protocol):
    def service_created(self, service: Any, params: dict[str, Any]) -> None: ...

    def service_updated(self, service: Any, params: dict[str, Any],
                        before: dict[str, Any]) -> None: ...

    def instance_health(self, lb_name: str, instance_ids: list[str]
                        ) -> list[dict[str, str]] | None: ...

    def registrations_changed(self, lb_name: str) -> None: ...

    def target_health(self, arn: str, targets: list[dict[str, Any]]) -> list[dict[str, Any]]: ...

    def targets_changed(self, arn: str, targets: list[dict[str, Any]],
                        registered: bool) -> None: ...

    def stop_requested(self, task: str, reason: str) -> Any: ...

    def run_task_refused(self, params: dict[str, Any]) -> list[dict[str, str]] | None: ...

    def tasks_run(self, tasks: list[Any]) -> None: ...

    def instance_registered(self, container_instance: Any,
                            total_resources: list[dict[str, Any]]) -> None: ...

    def instances_changed(self) -> None: ...


def register(account: str, region: str, emulator: ServiceListener) -> None:
    install()
    _emulators[(account, region)] = emulator


def unregister(account: str, region: str, emulator: ServiceListener) -> None:
    if _emulators.get((account, region)) is emulator:
        del _emulators[(account, region)]


def register_importer(account: str, region: str, importer: RepositoryImporter) -> None:
    install()
    _importers[(account, region)] = importer


def unregister_importer(account: str, region: str, importer: RepositoryImporter) -> None:
    if _importers.get((account, region)) is importer:
        del _importers[(account, region)]


def register_scanner(account: str, region: str, scanner: Any) -> None:
    install()
    _scanners[(account, region)] = scanner


def unregister_scanner(account: str, region: str, scanner: Any) -> None:
    if _scanners.get((account, region)) is scanner:
        del _scanners[(account, region)]


def _emulator_for(response: Any) -> Any:
    return _emulators.get((response.current_account, response.region))


def same_cluster(task: Any, cluster: Any) -> bool:
    """The task runs in exactly this cluster (moto compares names as substrings)."""
    return task.cluster_arn == cluster.arn


def _backend_put_image(backend: Any) -> PutImage:
    """put_image straight into moto's ECR backend.

    A hook runs while the sandbox middleware holds the emulator's lock, so a call
    back through the HTTP API would wait for itself.
    """
    def put_image(params: dict[str, Any]) -> None:
        backend.put_image(repository_name=params["repositoryName"],
                          image_manifest=params["imageManifest"],
                          image_tag=params.get("imageTag"),
                          image_manifest_mediatype=params.get("imageManifestMediaType"),
                          digest=params.get("imageDigest"))

    return put_image


Handler = Callable[[Any], Any]  # a moto response method: (response object) -> result


def _create_service(original: Handler) -> Handler:
    def create_service(self: Any) -> Any:
        result = original(self)
        emulator = _emulator_for(self)
        if emulator is not None:
            params = self._get_params()
            service = self.ecs_backend._get_service(params.get("cluster", "default"),
                                                    params["serviceName"])
            emulator.service_created(service, params)
        return result
    return create_service


def _update_service(original: Handler) -> Handler:
    def update_service(self: Any) -> Any:
        emulator = _emulator_for(self)
        if emulator is None:
            return original(self)
        params = self._get_params()
        service = self.ecs_backend._get_service(params.get("cluster", "default"),
                                                params["service"])
        before = {"task_definition": service.task_definition,
                  "deployments": [dict(d) for d in service.deployments],
                  "deployment_configuration": dict(
                      getattr(service, "deployment_configuration", None) or {})}
        result = original(self)
        emulator.service_updated(service, params, before)
        return result
    return update_service


def _register_task_definition(original: Handler) -> Handler:
    def register_task_definition(self: Any) -> Any:
        # ECS stores some values in another form than they were written (core/registration.py);
        # moto keeps them as written. The stored revision is rewritten as ECS would.
        from release.core.registration import Where, registered

        result = original(self)
        if _emulator_for(self) is None:
            return result
        stored = result.result["taskDefinition"]
        members = {"cpu": "cpu", "memory": "memory", "taskRoleArn": "task_role_arn",
                   "executionRoleArn": "execution_role_arn", "volumes": "volumes"}
        written = {key: getattr(stored, attr) for key, attr in members.items()
                   if getattr(stored, attr, None) is not None}
        for key, value in registered(written, Where(self.current_account, self.region)).items():
            setattr(stored, members[key], value)
        return result
    return register_task_definition


def _describe_instance_health(original: Handler) -> Handler:
    def describe_instance_health(self: Any) -> Any:
        from moto.core.responses import ActionResult

        emulator = _emulator_for(self)
        if emulator is None:
            return original(self)
        lb_name = self._get_param("LoadBalancerName")
        asked = [i["InstanceId"] for i in self._get_param("Instances", [])]
        # moto's own call first: it raises LoadBalancerNotFound as AWS would.
        self.elb_backend.describe_instance_health(lb_name, [])
        states = emulator.instance_health(lb_name, asked)
        if states is None:
            return original(self)
        return ActionResult({"InstanceStates": states})
    return describe_instance_health


def _registration(original: Handler) -> Handler:
    def call(self: Any) -> Any:
        result = original(self)
        emulator = _emulator_for(self)
        if emulator is not None:
            emulator.registrations_changed(self._get_param("LoadBalancerName"))
        return result
    return call


def _describe_target_health(original: Handler) -> Handler:
    def describe_target_health(self: Any) -> Any:
        from moto.core.responses import ActionResult

        emulator = _emulator_for(self)
        if emulator is None:
            return original(self)
        arn = self._get_param("TargetGroupArn")
        self.elbv2_backend.describe_target_health(arn, [])  # TargetGroupNotFound as AWS
        return ActionResult({"TargetHealthDescriptions": emulator.target_health(
            arn, self._get_param("Targets", []))})
    return describe_target_health


def _targets(registered: bool) -> Callable[[Handler], Handler]:
    def wrap(original: Handler) -> Handler:
        def call(self: Any) -> Any:
            # moto keeps one target per id and refuses to deregister an unknown one; ELBv2
            # keeps (id, port) pairs and "If the specified target does not exist, the action
            # returns successfully" (DeregisterTargets): the emulator keeps the targets.
            from moto.core.responses import EmptyResult
            from moto.elbv2.exceptions import TargetGroupNotFoundError

            emulator = _emulator_for(self)
            if emulator is None:
                return original(self)
            arn = self._get_param("TargetGroupArn")
            if self.elbv2_backend.target_groups.get(arn) is None:
                raise TargetGroupNotFoundError()
            emulator.targets_changed(arn, self._get_param("Targets", []), registered)
            return EmptyResult()
        return call
    return wrap


def _list_tasks(original: Handler) -> Handler:
    def list_tasks(self: Any) -> Any:
        # moto ignores serviceName and lists every desired status; ECS filters by the
        # service's task group and, with no desiredStatus given, lists RUNNING ones.
        from moto.core.responses import ActionResult

        if _emulator_for(self) is None:
            return original(self)
        service_name = (self._get_param("serviceName") or "").split("/")[-1]
        cluster = self.ecs_backend._get_cluster(self._get_param("cluster", "default"))
        tasks = self.ecs_backend.list_tasks(
            cluster.arn, self._get_param("containerInstance"),
            self._get_param("family"), self._get_param("startedBy"), None,
            self._get_param("desiredStatus") or "RUNNING")
        tasks = [t for t in tasks if same_cluster(t, cluster)]
        if service_name:
            tasks = [t for t in tasks if t.group == f"service:{service_name}"]
        return ActionResult({"taskArns": [t.task_arn for t in tasks]})
    return list_tasks


def _stop_task(original: Handler) -> Handler:
    def stop_task(self: Any) -> Any:
        # moto marks the task STOPPED at once; ECS deregisters and drains it first.
        from moto.core.responses import ActionResult

        emulator = _emulator_for(self)
        task = None
        if emulator is not None:
            task = emulator.stop_requested(self._get_param("task"),
                                           self._get_param("reason") or "")
        if task is None:
            return original(self)
        return ActionResult({"task": task})
    return stop_task


def _run_task(original: Handler) -> Handler:
    def run_task(self: Any) -> Any:
        # moto's one-off tasks stop at RUNNING for ever: sandbox/release_sandbox/oneoff.py. A task
        # that fits nowhere gets no task and no failure from moto; ECS answers `failures`.
        from moto.core.responses import ActionResult

        emulator = _emulator_for(self)
        if emulator is None:
            return original(self)
        params = self._get_params()
        refused = emulator.run_task_refused(params)
        if refused:
            return ActionResult({"tasks": [], "failures": refused})
        result = original(self)
        tasks = list(result.result["tasks"])
        emulator.tasks_run(tasks)
        if len(tasks) < int(params.get("count") or 1):  # the rest found no room
            result.result["failures"] = emulator.run_task_refused(params) or []
        return result
    return run_task


def _register_container_instance(original: Handler) -> Handler:
    def register_container_instance(self: Any) -> Any:
        # moto registers 4096 CPU / 7482 MiB whatever the caller says; ECS takes
        # totalResources as the agent reports them.
        result = original(self)
        emulator = _emulator_for(self)
        total = self._get_param("totalResources")
        if emulator is not None and total:
            emulator.instance_registered(result.result["containerInstance"], total)
        return result
    return register_container_instance


def _agents_register(original: Handler) -> Handler:
    def call(self: Any) -> Any:
        # No ECS agent runs: the emulator registers what the agents would.
        result = original(self)
        emulator = _emulator_for(self)
        if emulator is not None:
            emulator.instances_changed()
        return result
    return call


def _create_repository(original: Handler) -> Handler:
    def create_repository(self: Any) -> Any:
        result = original(self)
        importer = _importers.get((self.current_account, self.region))
        if importer is not None:
            importer(self._get_param("repositoryName"), _backend_put_image(self.ecr_backend))
        return result
    return create_repository


def _describe_image_scan_findings(original: Handler) -> Handler:
    def describe_image_scan_findings(self: Any) -> Any:
        from moto.core.responses import ActionResult

        scanner = _scanners.get((self.current_account, self.region))
        if scanner is None:
            return original(self)
        # moto's lookups first: they raise RepositoryNotFound / ImageNotFound as AWS does
        repo = self.ecr_backend._get_repository(self._get_param("repositoryName"),
                                                self._get_param("registryId"))
        image_id = self._get_param("imageId") or {}
        image = repo._get_image(image_id.get("imageTag"), image_id.get("imageDigest"))
        scan_on_push = bool((repo.image_scanning_configuration or {}).get("scanOnPush"))
        answer = scanner.answer(repo.name, repo.registry_id, image.get_image_digest(),
                                image.image_tag, scan_on_push, self._get_param("maxResults"),
                                self._get_param("nextToken"))
        return original(self) if answer is None else ActionResult(answer)
    return describe_image_scan_findings
SERVICE_DEPLOYMENT_ACTIONS = ("list_service_deployments", "describe_service_deployments",
                              "stop_service_deployment", "continue_service_deployment",
                              "describe_service_revisions")


def _service_deployments(action: str) -> Handler:
    """An ECS action moto does not have, answered by the emulator (release_sandbox/native.py)."""
    def call(self: Any) -> Any:
        from moto.core.responses import ActionResult
        from moto.ecs.exceptions import EcsClientException

        emulator = _emulator_for(self)
        if emulator is None:
            raise EcsClientException(f"{action} needs the sandbox's ECS emulator")
        return ActionResult(emulator.service_deployment_call(action, self._get_params()))
    return call


def _simulate_principal_policy(self: Any) -> Any:
    """IAM's policy simulator, which moto lacks (sandbox/release_sandbox/iam_simulation.py)."""
    from moto.core.responses import ActionResult

    from release_sandbox.iam_simulation import simulate

    params = {"PolicySourceArn": self._get_param("PolicySourceArn"),
              "ActionNames": self._get_param("ActionNames", []),
              "ResourceArns": self._get_param("ResourceArns", [])}
    return ActionResult(simulate(self.backend, params))


def install() -> None:
    """Wrap moto's ECS, ELB, EC2 and ECR calls named in the module docstring (idempotent)."""
    global _installed
    with _install_lock:
        if _installed:
            return
        from moto.ec2.responses.instances import InstanceResponse
        from moto.ecr.responses import ECRResponse
        from moto.ecs.responses import EC2ContainerServiceResponse as Ecs
        from moto.elb.responses import ELBResponse as Elb
        from moto.elbv2.responses import ELBV2Response as Elbv2
        from moto.iam.responses import IamResponse

        wrappers: list[tuple[type, str, Callable[[Handler], Handler]]] = [
            (Ecs, "register_task_definition", _register_task_definition),
            (Ecs, "create_service", _create_service),
            (Ecs, "update_service", _update_service),
            (Ecs, "list_tasks", _list_tasks),
            (Ecs, "stop_task", _stop_task),
            (Ecs, "run_task", _run_task),
            (Ecs, "register_container_instance", _register_container_instance),
            (Ecs, "create_cluster", _agents_register),
            (InstanceResponse, "run_instances", _agents_register),
            (Elb, "describe_instance_health", _describe_instance_health),
            (Elb, "register_instances_with_load_balancer", _registration),
            (Elb, "deregister_instances_from_load_balancer", _registration),
            (ECRResponse, "create_repository", _create_repository),
            (ECRResponse, "describe_image_scan_findings", _describe_image_scan_findings),
            (Elbv2, "describe_target_health", _describe_target_health),
            (Elbv2, "register_targets", _targets(True)),
            (Elbv2, "deregister_targets", _targets(False)),
        ]
        for cls, name, wrap in wrappers:
            setattr(cls, name, wrap(getattr(cls, name)))
        for action in SERVICE_DEPLOYMENT_ACTIONS:  # moto has none of them
            setattr(Ecs, action, _service_deployments(action))
        IamResponse.simulate_principal_policy = _simulate_principal_policy  # nor this
        _installed = True
