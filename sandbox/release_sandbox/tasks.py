"""The task lifecycle: start, phases, stop (with deregistration and draining), exit codes.

What it follows (AWS documentation, by page title):

* "Amazon ECS task lifecycle": lastStatus PROVISIONING → PENDING → RUNNING, and
  on stop DEACTIVATING (load balancer deregistration happens here) → STOPPING →
  STOPPED; desiredStatus turns STOPPED when the scheduler decides to stop.
* "Amazon ECS stopped task error messages": stoppedReason "Essential container
  in task exited", "Task failed ELB health checks in (elb ...)", "Scaling
  activity initiated by (deployment ...)"; Container.exitCode ("The exit code
  returned from the container").
* A task the agent cannot start (its secrets, image or log group missing: startup.py)
  stops after PENDING with stopCode TaskFailedToStart and ECS's reason, its containers
  without an exit code ("Amazon ECS stopped task error messages").
* StopTask API reference: a stop is "the equivalent of docker stop", a stop signal
  that defaults to SIGTERM: a container that ran exits with what it gives on
  SIGTERM, 143 (128 + 15, a JVM) unless its definition declares another
  (faults.stop_exit_code); a container that never started has no exit code.

Sandbox choices (not from AWS): task phases take fixed short times (below);
stopped tasks stay listed for an hour.
"""

from __future__ import annotations

import itertools
import uuid
from typing import Any

from release_sandbox import awslogs
from release_sandbox.faults import fault_of_container_definitions, stop_exit_code
from release_sandbox.placement import requirements
from release_sandbox.startup import StartChecks, StartFailure
from release_sandbox.world import LoadBalancers, ServiceRecord, TaskRecord, World, stamp

PROVISIONING_SECONDS = 1.0
PENDING_SECONDS = 2.0  # image pull and container start
CRASH_AFTER_SECONDS = 1.0
STOPPING_SECONDS = 1.0
STOPPED_TASK_RETENTION = 3600.0  # ECS keeps stopped tasks visible for at least an hour
EPHEMERAL_FIRST = 49153
FARGATE_PLATFORM_VERSION = "1.4.0"  # what LATEST means on Linux


def _phase(task: TaskRecord, status: str, now: float) -> None:
    task.task.last_status = status
    task.task.version = getattr(task.task, "version", 1) + 1
    task.phase_since = now


class Tasks:
    """Starts, advances and stops the tasks of the emulated services."""

    def __init__(self, world: World, balancers: list[LoadBalancers],
                 startup: StartChecks | None = None) -> None:
        self.world = world
        self.balancers = balancers
        self.startup = startup or StartChecks(world.account, world.region)

    def start(self, record: ServiceRecord, deployment: dict[str, Any], ci: Any,
              task_definition: Any, now: float) -> TaskRecord:
        """A new PROVISIONING task of `deployment` on container instance `ci` (None: Fargate)."""
        ecs = self.world.ecs
        cpu, memory, ports = requirements(task_definition)
        cluster = ecs.clusters[record.service.cluster_name]
        fargate = ci is None
        instance_arn = None if fargate else ci.container_instance_arn
        network = awsvpc_configuration(record, task_definition)
        # moto's own awsvpc path fails (its network interface has no private DNS name): the
        # task is made as a bridge one and given its interface here.
        task = _EmulatedTask(cluster, _Bridged(task_definition) if network else task_definition,
                             instance_arn,
                             {"CPU": cpu, "MEMORY": memory, "PORTS": ports, "PORTS_UDP": []},
                             backend=ecs, group=f"service:{record.name}",
                             launch_type="FARGATE" if fargate else "EC2",
                             started_by=deployment["id"],
                             platform_version=FARGATE_PLATFORM_VERSION if fargate else None)
        if network:
            task.network_configuration = network
            task.attachments = [self._interface(network["awsvpcConfiguration"])]
        task.last_status = "PROVISIONING"
        task.created_at = stamp(now)
        task.version = 1
        task.containers = self._containers(task, task_definition, cluster.name)
        address = interface_address(task)
        ecs.tasks.setdefault(cluster.name, {})[task.task_arn] = task
        definitions = task_definition.container_definitions
        fault_container, fault = fault_of_container_definitions(definitions)
        started = TaskRecord(
            task=task, service_key=record.key, deployment_id=deployment["id"],
            container_instance_id="" if fargate else ci.id,
            ec2_instance_id="" if fargate else ci.ec2_instance_id, cpu=cpu,
            memory=memory, ports=ports, fault=fault, phase_since=now,
            fault_container=fault_container, definitions=list(definitions),
            stop_codes={d.get("name"): stop_exit_code(d) for d in definitions},
            private_ip=address)
        self.world.tasks[task.task_arn] = started
        return started

    def _containers(self, task: Any, task_definition: Any, cluster: str) -> list[Any]:
        from moto.ecs.models import Container

        containers = []
        for definition in task_definition.container_definitions:
            container = Container(task_definition)
            container.name = definition.get("name")
            container.image = definition.get("image")
            container.cpu = definition.get("cpu", 0)
            container.memory = definition.get("memory")
            container.environment = definition.get("environment")
            container.last_status = "PENDING"
            container.exitCode = None
            container.network_bindings = [
                {"bindIP": "0.0.0.0", "containerPort": m.get("containerPort"),
                 "hostPort": self._host_port(task_definition, m, task.container_instance_arn),
                 "protocol": m.get("protocol", "tcp")}
                for m in definition.get("portMappings") or []
            ] if task_definition.network_mode != "awsvpc" else []
            # moto names these after the task definition
            container.network_interfaces = [
                {"attachmentId": a["id"], "privateIpv4Address": interface_address(task)}
                for a in task.attachments if a.get("type") == "ElasticNetworkInterface"]
            container.task_arn = task.task_arn
            container.container_arn = (f"arn:aws:ecs:{self.world.region}:{self.world.account}:"
                                       f"container/{cluster}/{task.id}/{uuid.uuid4()}")
            containers.append(container)
        return containers

    def _interface(self, config: dict[str, Any]) -> dict[str, Any]:
        """An awsvpc task's ElasticNetworkInterface attachment, its interface made in EC2.

        ECS developer guide, "Amazon ECS task networking options for EC2" / Fargate: each
        task gets its own elastic network interface with a primary private IPv4 address
        from the subnet; Amazon VPC user guide, "Subnet CIDR blocks": "The first four IP
        addresses and the last IP address in each subnet CIDR block are not available".
        """
        ec2 = self.world.ec2
        subnet = ec2.get_subnet(config["subnets"][0])
        used = {str(e.private_ip_address) for e in ec2.enis.values()
                if getattr(e.subnet, "id", None) == subnet.id}
        hosts = itertools.islice(subnet.cidr.hosts(), 3, None)
        address = next(str(h) for h in hosts if str(h) not in used)
        eni = ec2.create_network_interface(subnet=subnet, private_ip_address=address,
                                           group_ids=list(config.get("securityGroups") or []),
                                           description="Amazon ECS task interface")
        eni.status = "in-use"
        return {"id": str(uuid.uuid4()), "type": "ElasticNetworkInterface", "status": "ATTACHED",
                "details": [{"name": "subnetId", "value": subnet.id},
                            {"name": "networkInterfaceId", "value": eni.id},
                            {"name": "macAddress", "value": eni.mac_address},
                            {"name": "privateDnsName",
                             "value": f"ip-{address.replace('.', '-')}.ec2.internal"},
                            {"name": "privateIPv4Address", "value": address}]}

    def _host_port(self, task_definition: Any, mapping: dict[str, Any],
                   instance_arn: str | None) -> int:
        """The host port of a mapping: a static one, host mode's container port, or (bridge,
        hostPort 0 or left out) the lowest free one of the ephemeral range (PortMapping.hostPort:
        "the default ephemeral port range from 49153 through 65535 (Linux) ... is used")."""
        if mapping.get("hostPort") or task_definition.network_mode == "host":
            return int(mapping.get("hostPort") or mapping.get("containerPort"))
        taken = {b.get("hostPort") for t in self.world.tasks.values()
                 if t.holds_resources and t.task.container_instance_arn == instance_arn
                 for c in t.task.containers for b in c.network_bindings or []}
        return next(p for p in range(EPHEMERAL_FIRST, 65536) if p not in taken)

    def advance(self, now: float) -> None:
        """Move every task whose phase has lasted long enough to its next phase."""
        for task in list(self.world.tasks.values()):
            status = task.task.last_status
            elapsed = now - task.phase_since
            if status == "PROVISIONING" and elapsed >= PROVISIONING_SECONDS:
                _phase(task, "PENDING", now)
            elif status == "PENDING" and elapsed >= PENDING_SECONDS:
                failure = self.startup.failure(task.definitions,
                                               task.task.launch_type == "FARGATE")
                if failure is None:
                    self._running(task, now)
                else:
                    self.failed_to_start(task, failure, now)
            elif (status == "RUNNING" and task.live and task.fault.crashes
                  and elapsed >= CRASH_AFTER_SECONDS):
                self._output(task, awslogs.crash_lines(task.fault.crash_exit_code or 0), now,
                             task.fault_container)
                self.stop(self.world.services.get(task.service_key), task, now,
                          "Essential container in task exited", "EssentialContainerExited",
                          "crash", task.fault.crash_exit_code)
            elif status == "DEACTIVATING" and now >= (task.drain_until or now):
                _phase(task, "STOPPING", now)
                task.task.stopping_at = task.task.stopping_at or stamp(now)
                if task.stop_kind != "crash":  # the stop signal reaches a running service
                    self._output(task, ["stopping"], now)
            elif status == "STOPPING" and elapsed >= STOPPING_SECONDS:
                self._stopped(task, now)
            elif (status == "STOPPED" and task.stopped_at is not None
                  and now - task.stopped_at >= STOPPED_TASK_RETENTION):
                self.world.ecs.tasks.get(task.task.cluster_name, {}).pop(task.arn, None)
                del self.world.tasks[task.arn]

    def _running(self, task: TaskRecord, now: float) -> None:
        _phase(task, "RUNNING", now)
        task.started = now
        task.task.started_at = stamp(now)
        task.task.pull_started_at = stamp(now - PENDING_SECONDS)
        task.task.pull_stopped_at = stamp(now - PENDING_SECONDS / 2)
        for container in task.task.containers:
            container.last_status = "RUNNING"
        for definition in task.definitions:
            if not (task.fault.crashes and definition.get("name") == task.fault_container):
                self._output(task, [awslogs.listening_line(definition)], now,
                             definition.get("name"))
        record = self.world.services.get(task.service_key)
        if record is not None:
            for balancers in self.balancers:
                balancers.register(record, task, now)

    def failed_to_start(self, task: TaskRecord, failure: StartFailure, now: float) -> None:
        """The agent gave up before any container ran: TaskFailedToStart, ECS's reason on the
        task and on the container that failed, no exit code; the circuit breaker counts it."""
        for container in task.task.containers:
            if container.name == failure.container:
                container.reason = failure.container_reason
        self.stop(self.world.services.get(task.service_key), task, now, failure.stopped_reason,
                  failure.stop_code, "start")

    def _output(self, task: TaskRecord, lines: list[str], now: float,
                container: str | None = None) -> None:
        """What the task's containers print, through the awslogs driver's stand-in."""
        awslogs.write(self.world.account, self.world.region, task.definitions, task.short_id,
                      lines, now, container)

    def _stopped(self, task: TaskRecord, now: float) -> None:
        _phase(task, "STOPPED", now)
        task.stopped_at = now
        task.task.stopped_at = stamp(now)
        task.task.execution_stopped_at = stamp(now)
        for container in task.task.containers:
            container.last_status = "STOPPED"
            container.exitCode = task.exit_codes.get(container.name)

    def stop(self, record: ServiceRecord | None, task: TaskRecord, now: float,
             reason: str, code: str, kind: str, exit_code: int | None = None) -> None:
        """desiredStatus STOPPED; deregister and drain if it serves a load balancer; then stop.

        `exit_code` is the crashed container's; every other container that ran exits with
        what it gives on the stop signal (faults.stop_exit_code: 143 unless declared), and
        a container that never started has no exit code.
        """
        task.task.desired_status = "STOPPED"
        task.task.stopped_reason = reason
        task.task.stop_code = code
        task.task.stopping_at = stamp(now)
        task.stop_kind = kind
        started = task.task.last_status not in ("PROVISIONING", "PENDING")
        if started:
            task.exit_codes = dict(task.stop_codes)
            if kind == "crash" and exit_code is not None:
                task.exit_codes[task.fault_container or ""] = exit_code
        if record is not None:
            deployment = record.deployment(task.deployment_id)
            if deployment is not None and kind in ("crash", "unhealthy", "start"):
                deployment["failedTasks"] = int(deployment.get("failedTasks") or 0) + 1
            record.steady_reported_at = None
        if not started:
            _phase(task, "STOPPING", now)
            return
        task.drain_until = max([now, *(b.deregister(record, task, now) for b in self.balancers)])
        task.registered_lbs.clear()
        _phase(task, "DEACTIVATING", now)

    def stop_requested(self, task_arn: str, reason: str) -> Any:
        """StopTask on a task the emulator runs: stop it the way ECS does (None: not ours)."""
        task_id = task_arn.split("/")[-1]
        task = next((t for t in self.world.tasks.values() if t.short_id == task_id), None)
        if task is None:
            return None
        if task.live:
            self.stop(self.world.services.get(task.service_key), task, self.world.clock.now(),
                      reason or "Task stopped by user", "UserInitiated", "user")
        return task.task


def awsvpc_configuration(record: ServiceRecord, task_definition: Any) -> dict[str, Any] | None:
    """The service's awsvpcConfiguration for an awsvpc task (moto then creates its network
    interface, as ECS does: "each task ... receives its own elastic network interface")."""
    if task_definition.network_mode != "awsvpc":
        return None
    given = (getattr(record.service, "network_configuration", None) or {}).get(
        "awsvpcConfiguration") or {}
    return {"awsvpcConfiguration": {**given, "securityGroups": given.get("securityGroups", [])}}


class _Bridged:
    """A task definition that moto's Task takes for a bridge one (see `Tasks.start`)."""

    def __init__(self, task_definition: Any) -> None:
        self._definition = task_definition

    network_mode = "bridge"

    def __getattr__(self, name: str) -> Any:
        return getattr(self._definition, name)


def interface_address(task: Any) -> str:
    """The privateIPv4Address of the task's ElasticNetworkInterface attachment, if any."""
    for attachment in task.attachments:
        for detail in attachment.get("details", []):
            if detail.get("name") == "privateIPv4Address":
                return str(detail.get("value") or "")
    return ""


def _emulated_task_class() -> type:
    from moto.ecs.models import Task

    class EmulatedTask(Task):
        """A moto Task whose status only the emulator moves (moto advances it on describe)."""

        def advance(self) -> None:
            return None

        @property
        def status(self) -> str | None:
            return self._status

        @status.setter
        def status(self, value: str) -> None:
            self._status = value

    return EmulatedTask


class _LazyTask:
    """Builds the moto Task subclass on first use so importing this module stays cheap."""

    cls: type | None = None

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if _LazyTask.cls is None:
            _LazyTask.cls = _emulated_task_class()
        return _LazyTask.cls(*args, **kwargs)


_EmulatedTask = _LazyTask()


def emulated_task_class() -> type:
    """The moto Task subclass whose describe answers carry what the emulator knows."""
    if _LazyTask.cls is None:
        _LazyTask.cls = _emulated_task_class()
    return _LazyTask.cls
