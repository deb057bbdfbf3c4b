"""An ECS service scheduler and classic-ELB emulator acting on moto's backends.

moto stores ECS services, tasks and container instances and classic load
balancers, but never schedules anything: a service stays at runningCount 0
forever. `EcsEmulator.tick(now)` moves that state the way ECS and ELB do, on a
clock that tests can make virtual. It is a test double and demo engine, never a
production path. What it follows (AWS documentation, by page title):

* "Amazon ECS task lifecycle": lastStatus PROVISIONING → PENDING → RUNNING, and
  on stop DEACTIVATING (load balancer deregistration happens here) → STOPPING →
  STOPPED; desiredStatus turns STOPPED when the scheduler decides to stop.
* "How Amazon ECS places tasks on container instances" / "Amazon ECS task
  placement strategies": a task goes only on an ACTIVE container instance with
  enough CPU units and memory left and none of its static host ports in use;
  among those, spread over instances (fewest tasks of the service first).
* "Deploy Amazon ECS services by replacing tasks" (rolling update):
  minimumHealthyPercent (rounded up) is the lower limit of RUNNING, healthy
  tasks; maximumPercent (rounded down) the upper limit of RUNNING or PENDING
  tasks; the old deployment is removed once its tasks have stopped; the
  deployment's rolloutState goes IN_PROGRESS → COMPLETED (or FAILED).
* Deployment API reference, rolloutState: "The rolloutState of a service is only
  returned for services that use the rolling update (ECS) deployment type that
  aren't behind a Classic Load Balancer" — behind one, deployments have neither
  rolloutState nor rolloutStateReason, and the circuit breaker (which "can only
  be used for services using the rolling update (ECS) deployment type that
  aren't behind a Classic Load Balancer", as the DeploymentCircuitBreaker
  reference long said) never trips.
* "Amazon ECS service event messages" and "Amazon ECS stopped task error
  messages": the wording of service events ("has started 1 tasks", "registered
  1 instances in (elb ...)", "has reached a steady state", "was unable to place a
  task because no container instance met all of its requirements ...") and of
  stoppedReason ("Task failed ELB health checks in (elb ...)", "Essential
  container in task exited", "Scaling activity initiated by (deployment ...)").
* StopTask API reference: a stop is "the equivalent of docker stop", a stop signal
  that defaults to SIGTERM: a container that ran exits with what it gives on
  SIGTERM, 143 (128 + 15, a JVM) unless its definition declares another
  (faults.stop_exit_code); a container that never started has no exit code.
* "How the Amazon ECS deployment circuit breaker detects failures": failure
  threshold = 0.5 × desiredCount, at least 3, at most 200; on failure the
  deployment is FAILED and, with rollback enabled, ECS deploys the last
  deployment that COMPLETED (none: the deployment stays FAILED).
* CreateService API reference, healthCheckGracePeriodSeconds: ELB health check
  failures are ignored for that long after a task started.
* "Health checks for your Classic Load Balancer": an instance is InService after
  HealthyThreshold consecutive passing checks, one every Interval seconds, and
  OutOfService after UnhealthyThreshold consecutive failures.
* "Configure connection draining for your Classic Load Balancer": a deregistered
  instance keeps in-flight requests for up to the draining timeout; meanwhile
  DescribeInstanceHealth reports it InService, "Instance deregistration currently
  in progress."; afterwards OutOfService, "Instance is not currently registered
  with the LoadBalancer."
* DescribeInstanceHealth API reference: "If no instances are specified, the call
  describes the state of all instances that are currently registered with the
  load balancer. If instances are specified, their state is returned even if
  they are no longer registered" — a draining instance is listed only when named.
  A registered instance (again) starts its health history anew: OutOfService,
  "Instance registration is still in progress.", until HealthyThreshold checks
  passed, even if it was InService or draining just before.

Sandbox choices (not from AWS): task phases take fixed short times (below); the
"unable to place" event repeats at most once a minute while the cause persists;
a placement blocked only by a task of the same service that is already stopping
waits silently for it; an instance that never reached InService is deregistered
without draining; every task of a deployment that stops for a reason other than
the scheduler (crash, failed ELB health checks) counts for the circuit breaker.
"""

from __future__ import annotations

import math
import random
import threading
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from release.core.clock import Clock
from release.sandbox.faults import TaskFault, fault_of_container_definitions, stop_exit_code
from release.sandbox.oneoff import OneOffTasks

PROVISIONING_SECONDS = 1.0
PENDING_SECONDS = 2.0  # image pull and container start
CRASH_AFTER_SECONDS = 1.0
STOPPING_SECONDS = 1.0
STOPPED_TASK_RETENTION = 3600.0  # ECS keeps stopped tasks visible for at least an hour
PLACEMENT_EVENT_INTERVAL = 60.0
STEADY_EVENT_INTERVAL = 6 * 3600.0  # a steady service reports it again every six hours
EVENTS_KEPT = 100

DEFAULT_HEALTH_CHECK = {"target": "TCP:80", "interval": 30, "timeout": 5,
                        "healthy_threshold": 10, "unhealthy_threshold": 2}

REGISTRATION_IN_PROGRESS = "Instance registration is still in progress."
FAILED_CHECKS = ("Instance has failed at least the UnhealthyThreshold number of health "
                 "checks consecutively.")
DEREGISTRATION_IN_PROGRESS = "Instance deregistration currently in progress."
NOT_REGISTERED = "Instance is not currently registered with the LoadBalancer."


def _stamp(now: float) -> datetime:
    return datetime.fromtimestamp(now, tz=UTC)


def _new_deployment_id() -> str:
    return f"ecs-svc/{random.randint(10**18, 10**19 - 1)}"


def circuit_breaker_threshold(desired_count: int) -> int:
    """0.5 × desired, rounded up, at least 3 and at most 200 (ECS developer guide)."""
    return min(200, max(3, math.ceil(0.5 * desired_count)))


@dataclass
class TaskRecord:
    """What the emulator knows about a task it started (moto's Task holds the API view)."""

    task: Any
    service_key: str
    deployment_id: str
    container_instance_id: str
    ec2_instance_id: str
    cpu: int
    memory: int
    ports: list[int]
    fault: TaskFault
    phase_since: float
    fault_container: str | None = None  # the container that declares the fault
    stop_codes: dict[str, int] = field(default_factory=dict)  # container -> exit when stopped
    started: float | None = None
    stop_kind: str | None = None  # scale | unhealthy | crash | user
    exit_codes: dict[str, int] = field(default_factory=dict)  # containers that ran -> exit
    drain_until: float | None = None
    registered_lbs: set[str] = field(default_factory=set)
    stopped_at: float | None = None

    @property
    def arn(self) -> str:
        return self.task.task_arn

    @property
    def short_id(self) -> str:
        return self.task.id

    @property
    def status(self) -> str:
        return self.task.last_status

    @property
    def live(self) -> bool:
        """Wanted by the scheduler (desiredStatus RUNNING)."""
        return self.task.desired_status == "RUNNING"

    @property
    def holds_resources(self) -> bool:
        return self.status != "STOPPED"


@dataclass
class ServiceRecord:
    service: Any
    key: str  # "cluster:name", moto's own key
    last_completed: tuple[str, str] | None = None  # (deployment id, task definition arn)
    steady_reported_at: float | None = None
    last_event_at: dict[str, float] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.service.name

    def config(self) -> dict[str, Any]:
        return getattr(self.service, "deployment_configuration", None) or {}

    @property
    def minimum_percent(self) -> int:
        return int(self.config().get("minimumHealthyPercent", 100))

    @property
    def maximum_percent(self) -> int:
        return int(self.config().get("maximumPercent", 200))

    @property
    def breaker(self) -> dict[str, Any]:
        return self.config().get("deploymentCircuitBreaker") or {}

    @property
    def grace_seconds(self) -> float:
        return float(getattr(self.service, "health_check_grace_period_seconds", None) or 0)

    def lb_names(self) -> list[str]:
        return [lb["loadBalancerName"] for lb in self.service.load_balancers or []
                if lb.get("loadBalancerName")]

    @property
    def behind_classic_elb(self) -> bool:
        """A loadBalancers entry names a classic ELB (loadBalancerName, not targetGroupArn).

        Deployment API reference, rolloutState: "The rolloutState of a service is only
        returned for services that use the rolling update (ECS) deployment type that aren't
        behind a Classic Load Balancer." Such a service's deployments carry neither
        rolloutState nor rolloutStateReason, and (DeploymentCircuitBreaker, as the API
        reference long said) "The deployment circuit breaker can only be used for services
        using the rolling update (ECS) deployment type that aren't behind a Classic Load
        Balancer": its setting is kept and echoed, but it never trips.
        """
        return bool(self.lb_names())

    def rollout(self, deployment_id: str, reason: str | None = None) -> dict[str, str]:
        """The rolloutState fields of a new deployment; none behind a classic ELB."""
        if self.behind_classic_elb:
            return {}
        return {"rolloutState": "IN_PROGRESS",
                "rolloutStateReason": reason or f"ECS deployment {deployment_id} in progress."}


@dataclass
class InstanceHealth:
    """One instance's health-check history on one classic ELB."""

    registered_at: float
    next_check: float
    passes: int = 0
    fails: int = 0
    in_service: bool = False
    failed_out: bool = False


@dataclass
class LbRecord:
    instances: dict[str, InstanceHealth] = field(default_factory=dict)
    draining: dict[str, float] = field(default_factory=dict)  # instance id -> until


def _health_settings(lb: Any) -> dict[str, Any]:
    check = getattr(lb, "health_check", None)
    if check is None:
        return dict(DEFAULT_HEALTH_CHECK)
    return {"target": check.target, "interval": int(check.interval),
            "timeout": int(check.timeout), "healthy_threshold": int(check.healthy_threshold),
            "unhealthy_threshold": int(check.unhealthy_threshold)}


def _check_port(target: str) -> int | None:
    try:
        return int(target.split(":", 1)[1].split("/", 1)[0])
    except (IndexError, ValueError):
        return None


def _draining(lb: Any) -> float:
    """The draining timeout in seconds, 0 when draining is off.

    moto keeps the attribute as the caller spelled it ("Enabled"/"Timeout" through the
    API) and adds a lowercase "timeout": 300 of its own, so the API spelling wins.
    """
    setting = (getattr(lb, "attributes", None) or {}).get("connection_draining") or {}
    enabled = setting.get("Enabled", setting.get("enabled"))
    if str(enabled).lower() not in ("true", "1"):
        return 0.0
    return float(setting.get("Timeout", setting.get("timeout", 300)))


class EcsEmulator:
    """Moves moto's ECS services/tasks and classic-ELB health for one account and region.

    Call `tick(now)` as time passes (a VirtualClock's `on_tick`, or a thread on the
    real clock). The moto hooks call `service_created`/`service_updated` inside the
    API call, so a caller sees the new deployment at once, as with ECS.
    """

    def __init__(self, account: str, region: str, clock: Clock) -> None:
        self.account = account
        self.region = region
        self.clock = clock
        self.lock = threading.RLock()
        self._services: dict[str, ServiceRecord] = {}
        self._tasks: dict[str, TaskRecord] = {}
        self._lbs: dict[str, LbRecord] = {}
        self.oneoff = OneOffTasks(_emulated_task_class_once, account, region)

    # -- moto backends (looked up each time: a moto reset replaces them) -----------------

    @property
    def ecs(self) -> Any:
        from moto.backends import get_backend

        return get_backend("ecs")[self.account][self.region]

    @property
    def elb(self) -> Any:
        from moto.backends import get_backend

        return get_backend("elb")[self.account][self.region]

    # -- hooks from the API (moto_hooks) ----------------------------------------------

    def service_created(self, service: Any, params: dict[str, Any]) -> None:
        with self.lock:
            now = self.clock.now()
            config = {"maximumPercent": 200, "minimumHealthyPercent": 100,
                      "deploymentCircuitBreaker": {"enable": False, "rollback": False}}
            config.update(params.get("deploymentConfiguration") or {})
            service.deployment_configuration = config
            grace = params.get("healthCheckGracePeriodSeconds")
            if grace is not None or service.load_balancers:
                service.health_check_grace_period_seconds = int(grace or 0)
            service.created_at = _stamp(now)
            record = ServiceRecord(service=service, key=f"{service.cluster_name}:{service.name}")
            self._services[record.key] = record
            for deployment in service.deployments:
                # moto's own deployment carries rolloutState whatever the load balancer.
                deployment.pop("rolloutState", None)
                deployment.pop("rolloutStateReason", None)
                deployment.update(createdAt=_stamp(now), updatedAt=_stamp(now),
                                  runningCount=0, pendingCount=0, failedTasks=0,
                                  **record.rollout(deployment["id"]))
            self._refresh_counts(record, now)

    def service_updated(self, service: Any, params: dict[str, Any],
                        before: dict[str, Any]) -> None:
        with self.lock:
            now = self.clock.now()
            key = f"{service.cluster_name}:{service.name}"
            record = self._services.get(key)
            if record is None:
                record = ServiceRecord(service=service, key=key)
                self._services[key] = record
            # moto rewrites the primary deployment's id on forceNewDeployment: undo that,
            # a new deployment is ours to make.
            service.deployments = [dict(d) for d in before["deployments"]]
            if params.get("deploymentConfiguration") is not None:
                # Fields the update leaves out keep their values.
                merged = {"maximumPercent": 200, "minimumHealthyPercent": 100,
                          **(before.get("deployment_configuration") or {}),
                          **params["deploymentConfiguration"]}
                service.deployment_configuration = merged
            if service.task_definition and not service.task_definition.startswith("arn:"):
                service.task_definition = self.ecs.describe_task_definition(
                    service.task_definition).arn
            primary = service.deployments[0] if service.deployments else None
            changed = primary is None or primary.get("taskDefinition") != service.task_definition
            if changed or params.get("forceNewDeployment"):
                self._start_deployment(record, service.task_definition, now)
            elif primary is not None:
                primary["desiredCount"] = service.desired_count
            record.steady_reported_at = None
            self._refresh_counts(record, now)

    def instance_health(self, lb_name: str, instance_ids: list[str]) -> list[dict[str, str]]:
        """DescribeInstanceHealth as a classic ELB answers it (see the module docstring).

        ELB API reference: "If no instances are specified, the call describes the state of
        all instances that are currently registered with the load balancer. If instances
        are specified, their state is returned even if they are no longer registered with
        the load balancer." So a draining (deregistered) instance is listed only when named.
        """
        with self.lock:
            lb = self.elb.get_load_balancer(lb_name)
            record = self._sync_lb(lb_name, lb, self.clock.now())
            registered = self._registered_ids(lb)
            asked = instance_ids or registered
            states = []
            for instance_id in asked:
                health = record.instances.get(instance_id)
                if instance_id in record.draining:
                    state, code, text = "InService", "N/A", DEREGISTRATION_IN_PROGRESS
                elif instance_id in registered and health is not None:
                    if health.in_service:
                        state, code, text = "InService", "N/A", "N/A"
                    elif health.failed_out:
                        state, code, text = "OutOfService", "Instance", FAILED_CHECKS
                    else:
                        state, code, text = "OutOfService", "ELB", REGISTRATION_IN_PROGRESS
                else:
                    state, code, text = "OutOfService", "N/A", NOT_REGISTERED
                states.append({"InstanceId": instance_id, "State": state,
                               "ReasonCode": code, "Description": text})
            return states

    def instance_registered(self, container_instance: Any,
                            total_resources: list[dict[str, Any]]) -> None:
        """RegisterContainerInstance with totalResources: the instance has what it reports.

        The agent reports CPU units, memory, reserved ports; placement and
        remainingResources follow those figures, not moto's 4096 / 7482 defaults.
        """
        with self.lock:
            given = {r.get("name"): r for r in total_resources if r.get("name")}
            for resources in (container_instance.registered_resources,
                              container_instance.remaining_resources):
                for resource in resources:
                    reported = given.get(resource.get("name"))
                    if reported is None:
                        continue
                    if resource.get("type") == "STRINGSET":
                        resource["stringSetValue"] = [
                            str(v) for v in reported.get("stringSetValue") or []]
                    else:
                        resource["integerValue"] = int(reported.get("integerValue") or 0)
            self._refresh_instances()

    def registrations_changed(self, lb_name: str) -> None:
        """RegisterInstancesWithLoadBalancer / DeregisterInstances... by an API caller.

        Followed at once, so a deregistration and a registration within one tick still
        restart the instance's health history (see `_sync_lb`).
        """
        with self.lock:
            self._sync_lb(lb_name, self.elb.get_load_balancer(lb_name), self.clock.now())

    def stop_requested(self, task: str, reason: str) -> Any:
        """StopTask on a task the emulator runs: stop it the way ECS does (None: not ours)."""
        with self.lock:
            task_id = task.split("/")[-1]
            record_task = next((t for t in self._tasks.values() if t.short_id == task_id), None)
            if record_task is None:
                return None
            if record_task.live:
                record = self._services.get(record_task.service_key)
                self._stop_task(record, record_task, self.clock.now(),
                                reason or "Task stopped by user", "UserInitiated", "user")
            return record_task.task

    def tasks_run(self, tasks: list[Any]) -> None:
        with self.lock:
            self.oneoff.started(tasks, self.clock.now())

    # -- the clock ------------------------------------------------------------------------

    def tick(self, now: float) -> None:
        """Advance the world to `now`: task phases, ELB checks, scheduler, deployments."""
        with self.lock:
            self._forget_vanished()
            self._advance_tasks(now)
            for name, lb in list(self.elb.load_balancers.items()):
                self._sync_lb(name, lb, now)
                self._run_health_checks(name, lb, now)
            for record in list(self._services.values()):
                self._react_to_health(record, now)
                self._circuit_breaker(record, now)
                self._schedule(record, now)
                self._settle(record, now)
                self._refresh_counts(record, now)
            self._refresh_instances()
            self.oneoff.tick(now)

    # -- bookkeeping ----------------------------------------------------------------------

    def _forget_vanished(self) -> None:
        services = self.ecs.services
        for key, record in list(self._services.items()):
            if services.get(key) is not record.service:
                del self._services[key]
        known = {arn for tasks in self.ecs.tasks.values() for arn in tasks}
        for arn in [a for a in self._tasks if a not in known]:
            del self._tasks[arn]
        for name in [n for n in self._lbs if n not in self.elb.load_balancers]:
            del self._lbs[name]

    def _service_tasks(self, record: ServiceRecord) -> list[TaskRecord]:
        return [t for t in self._tasks.values() if t.service_key == record.key]

    def _event(self, record: ServiceRecord, message: str, now: float) -> None:
        record.service.events.insert(0, {"id": str(uuid.uuid4()), "createdAt": _stamp(now),
                                         "message": f"(service {record.name}) {message}"})
        del record.service.events[EVENTS_KEPT:]

    def _deployment(self, record: ServiceRecord, deployment_id: str) -> dict[str, Any] | None:
        return next((d for d in record.service.deployments if d["id"] == deployment_id), None)

    def _start_deployment(self, record: ServiceRecord, task_definition: str, now: float,
                          reason: str | None = None) -> dict[str, Any]:
        service = record.service
        for deployment in service.deployments:
            if deployment["status"] == "PRIMARY":
                deployment["status"] = "ACTIVE"
                deployment["updatedAt"] = _stamp(now)
        deployment_id = _new_deployment_id()
        deployment = {
            "id": deployment_id, "status": "PRIMARY", "taskDefinition": task_definition,
            "desiredCount": service.desired_count, "pendingCount": 0, "runningCount": 0,
            "failedTasks": 0, "createdAt": _stamp(now), "updatedAt": _stamp(now),
            "launchType": service.launch_type or "EC2", "platformFamily": "EC2",
            **record.rollout(deployment_id, reason),
        }
        service.deployments.insert(0, deployment)
        service.task_definition = task_definition
        record.steady_reported_at = None
        return deployment

    # -- tasks ----------------------------------------------------------------------------

    def _requirements(self, task_definition: Any) -> tuple[int, int, list[int]]:
        definitions = task_definition.container_definitions
        cpu = int(task_definition.cpu) if task_definition.cpu else sum(
            int(d.get("cpu") or 0) for d in definitions)
        memory = int(task_definition.memory) if task_definition.memory else sum(
            int(d.get("memory") or d.get("memoryReservation") or 0) for d in definitions)
        ports: list[int] = []
        if task_definition.network_mode in (None, "bridge", "host"):
            for definition in definitions:
                for mapping in definition.get("portMappings") or []:
                    port = mapping.get("hostPort")
                    if task_definition.network_mode == "host":
                        port = port or mapping.get("containerPort")
                    if port:
                        ports.append(int(port))
        return cpu, memory, ports

    def _instance_usage(self, container_instance: Any) -> tuple[int, int, set[str]]:
        """CPU, memory and host ports taken on an instance by tasks that have not stopped."""
        cpu = memory = 0
        ports: set[str] = set()
        arn = container_instance.container_instance_arn
        for tasks in self.ecs.tasks.values():
            for task in tasks.values():
                if task.container_instance_arn != arn or task.last_status == "STOPPED":
                    continue
                needs = task.resource_requirements or {}
                cpu += int(needs.get("CPU") or 0)
                memory += int(needs.get("MEMORY") or 0)
                ports.update(str(p) for p in needs.get("PORTS") or [])
        return cpu, memory, ports

    @staticmethod
    def _registered(container_instance: Any, name: str) -> Any:
        for resource in container_instance.registered_resources:
            if resource.get("name") == name:
                if resource.get("type") == "STRINGSET":
                    return set(resource.get("stringSetValue") or [])
                return int(resource.get("integerValue") or 0)
        return set() if name.startswith("PORTS") else 0

    def _place(self, record: ServiceRecord, cpu: int, memory: int, ports: list[int]
               ) -> tuple[Any | None, str | None]:
        """An instance that fits (spread), or None and the reason for the closest one."""
        instances = [ci for ci in self.ecs.container_instances.get(
            record.service.cluster_name, {}).values() if ci.status == "ACTIVE"]
        if not instances:
            return None, "Reason: No Container Instances were found in your cluster."
        fits = []
        closest: tuple[int, str, Any] | None = None
        for ci in instances:
            used_cpu, used_memory, used_ports = self._instance_usage(ci)
            taken = used_ports | self._registered(ci, "PORTS")
            problems = []
            if used_cpu + cpu > self._registered(ci, "CPU"):
                problems.append("has insufficient CPU units available.")
            if used_memory + memory > self._registered(ci, "MEMORY"):
                problems.append("has insufficient memory available.")
            if any(str(p) in taken for p in ports):
                problems.append("is already using a port required by your task.")
            if not problems:
                mine = sum(1 for t in self._service_tasks(record)
                           if t.holds_resources and t.container_instance_id == ci.id)
                fits.append((mine, ci.running_tasks_count + ci.pending_tasks_count, ci))
            elif closest is None or len(problems) < closest[0]:
                closest = (len(problems), problems[0], ci)
        if fits:
            fits.sort(key=lambda f: (f[0], f[1]))
            return fits[0][2], None
        assert closest is not None
        return None, (f"The closest matching (container-instance {closest[2].id}) "
                      f"{closest[1]}")

    def _start_task(self, record: ServiceRecord, deployment: dict[str, Any], ci: Any,
                    task_definition: Any, now: float) -> TaskRecord:
        from moto.ecs.models import Container

        cpu, memory, ports = self._requirements(task_definition)
        cluster = self.ecs.clusters[record.service.cluster_name]
        task = _EmulatedTask(cluster, task_definition, ci.container_instance_arn,
                             {"CPU": cpu, "MEMORY": memory, "PORTS": ports, "PORTS_UDP": []},
                             backend=self.ecs, group=f"service:{record.name}",
                             launch_type="EC2", started_by=deployment["id"])
        task.last_status = "PROVISIONING"
        task.created_at = _stamp(now)
        task.version = 1
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
                 "hostPort": m.get("hostPort") or m.get("containerPort"),
                 "protocol": m.get("protocol", "tcp")}
                for m in definition.get("portMappings") or []]
            containers.append(container)
        for container in containers:  # moto names these after the task definition
            container.task_arn = task.task_arn
            container.container_arn = (f"arn:aws:ecs:{self.region}:{self.account}:container/"
                                       f"{cluster.name}/{task.id}/{uuid.uuid4()}")
        task.containers = containers
        self.ecs.tasks.setdefault(cluster.name, {})[task.task_arn] = task
        fault_container, fault = fault_of_container_definitions(
            task_definition.container_definitions)
        record_task = TaskRecord(
            task=task, service_key=record.key, deployment_id=deployment["id"],
            container_instance_id=ci.id, ec2_instance_id=ci.ec2_instance_id, cpu=cpu,
            memory=memory, ports=ports, fault=fault, phase_since=now,
            fault_container=fault_container,
            stop_codes={d.get("name"): stop_exit_code(d)
                        for d in task_definition.container_definitions})
        self._tasks[task.task_arn] = record_task
        return record_task

    def _advance_tasks(self, now: float) -> None:
        for record_task in list(self._tasks.values()):
            task = record_task.task
            status = task.last_status
            elapsed = now - record_task.phase_since
            if status == "PROVISIONING" and elapsed >= PROVISIONING_SECONDS:
                self._phase(record_task, "PENDING", now)
            elif status == "PENDING" and elapsed >= PENDING_SECONDS:
                self._phase(record_task, "RUNNING", now)
                record_task.started = now
                task.started_at = _stamp(now)
                task.pull_started_at = _stamp(now - PENDING_SECONDS)
                task.pull_stopped_at = _stamp(now - PENDING_SECONDS / 2)
                for container in task.containers:
                    container.last_status = "RUNNING"
                self._register_with_lbs(record_task, now)
            elif (status == "RUNNING" and record_task.live and record_task.fault.crashes
                  and elapsed >= CRASH_AFTER_SECONDS):
                record = self._services.get(record_task.service_key)
                exit_code = record_task.fault.crash_exit_code
                self._stop_task(record, record_task, now, "Essential container in task exited",
                                "EssentialContainerExited", "crash", exit_code)
            elif status == "DEACTIVATING" and now >= (record_task.drain_until or now):
                self._phase(record_task, "STOPPING", now)
                task.stopping_at = task.stopping_at or _stamp(now)
            elif status == "STOPPING" and elapsed >= STOPPING_SECONDS:
                self._phase(record_task, "STOPPED", now)
                record_task.stopped_at = now
                task.stopped_at = _stamp(now)
                task.execution_stopped_at = _stamp(now)
                for container in task.containers:
                    container.last_status = "STOPPED"
                    container.exitCode = record_task.exit_codes.get(container.name)
            elif (status == "STOPPED" and record_task.stopped_at is not None
                  and now - record_task.stopped_at >= STOPPED_TASK_RETENTION):
                self.ecs.tasks.get(task.cluster_name, {}).pop(task.task_arn, None)
                del self._tasks[task.task_arn]

    @staticmethod
    def _phase(record_task: TaskRecord, status: str, now: float) -> None:
        record_task.task.last_status = status
        record_task.task.version = getattr(record_task.task, "version", 1) + 1
        record_task.phase_since = now

    def _stop_task(self, record: ServiceRecord | None, record_task: TaskRecord, now: float,
                   reason: str, code: str, kind: str, exit_code: int | None = None) -> None:
        """desiredStatus STOPPED; deregister and drain if it serves an ELB; then stop.

        `exit_code` is the crashed container's; every other container that ran exits with
        what it gives on the stop signal (faults.stop_exit_code: 143 unless declared), and
        a container that never started has no exit code.
        """
        task = record_task.task
        task.desired_status = "STOPPED"
        task.stopped_reason = reason
        task.stop_code = code
        task.stopping_at = _stamp(now)
        record_task.stop_kind = kind
        if task.last_status not in ("PROVISIONING", "PENDING"):
            record_task.exit_codes = dict(record_task.stop_codes)
            if kind == "crash" and exit_code is not None:
                record_task.exit_codes[record_task.fault_container or ""] = exit_code
        if record is not None and kind in ("crash", "unhealthy"):
            deployment = self._deployment(record, record_task.deployment_id)
            if deployment is not None:
                deployment["failedTasks"] = int(deployment.get("failedTasks") or 0) + 1
        if record is not None:
            record.steady_reported_at = None
        if task.last_status in ("PROVISIONING", "PENDING"):
            self._phase(record_task, "STOPPING", now)
            return
        drain_until = now
        for lb_name in sorted(record_task.registered_lbs):
            drain_until = max(drain_until, self._deregister(lb_name, record_task, now, record))
        record_task.registered_lbs.clear()
        record_task.drain_until = drain_until
        self._phase(record_task, "DEACTIVATING", now)

    # -- the ELB side ---------------------------------------------------------------------

    @staticmethod
    def _registered_ids(lb: Any) -> list[str]:
        """Each registered instance once (moto appends an instance registered twice)."""
        if lb is None:
            return []
        return list(dict.fromkeys([*lb.instance_sparse_ids, *lb.instance_autoscaling_ids]))

    def _register_with_lbs(self, record_task: TaskRecord, now: float) -> None:
        record = self._services.get(record_task.service_key)
        if record is None:
            return
        for lb_name in record.lb_names():
            lb = self.elb.get_load_balancer(lb_name)
            if lb is None:
                continue
            instance_id = record_task.ec2_instance_id
            lb_record = self._lbs.setdefault(lb_name, LbRecord())
            lb_record.draining.pop(instance_id, None)
            if instance_id not in self._registered_ids(lb):
                self.elb.register_instances(lb_name, [instance_id])
            self._sync_lb(lb_name, lb, now)
            record_task.registered_lbs.add(lb_name)
            self._event(record, f"registered 1 instances in (elb {lb_name})", now)

    def _deregister(self, lb_name: str, record_task: TaskRecord, now: float,
                    record: ServiceRecord | None) -> float:
        """Take the task's instance out of the ELB; returns when draining ends."""
        lb = self.elb.get_load_balancer(lb_name)
        if lb is None:
            return now
        instance_id = record_task.ec2_instance_id
        lb_record = self._sync_lb(lb_name, lb, now)
        health = lb_record.instances.pop(instance_id, None)
        if instance_id in self._registered_ids(lb):
            self.elb.deregister_instances(lb_name, [instance_id])
        until = now
        if health is not None and health.in_service and _draining(lb) > 0:
            until = now + _draining(lb)
            lb_record.draining[instance_id] = until
        if record is not None:
            self._event(record, f"deregistered 1 instances in (elb {lb_name})", now)
            if until > now:
                self._event(record, "has begun draining connections on 1 tasks.", now)
        return until

    def _sync_lb(self, lb_name: str, lb: Any, now: float) -> LbRecord:
        """Follow registrations made by anyone (API callers too) and end finished draining.

        A (re-)registered instance starts a new health history, even if it was InService or
        still draining a moment ago: "Health checks for your Classic Load Balancer" has an
        instance move to InService only after HealthyThreshold consecutive passing checks
        (until then DescribeInstanceHealth says "Instance registration is still in
        progress."), and a registered instance is no longer deregistering.
        """
        record = self._lbs.setdefault(lb_name, LbRecord())
        if lb is None:
            return record
        interval = _health_settings(lb)["interval"]
        registered = self._registered_ids(lb)
        for instance_id in registered:
            if instance_id not in record.instances:
                record.instances[instance_id] = InstanceHealth(registered_at=now,
                                                               next_check=now + interval)
                record.draining.pop(instance_id, None)
        for instance_id in [i for i in record.instances if i not in registered]:
            health = record.instances.pop(instance_id)
            if health.in_service and _draining(lb) > 0 and instance_id not in record.draining:
                record.draining[instance_id] = now + _draining(lb)
        for instance_id, until in list(record.draining.items()):
            if now >= until:
                del record.draining[instance_id]
        return record

    def _check_passes(self, instance_id: str, port: int | None, at: float) -> bool:
        """Would the health check on `port` of this instance pass at time `at`?"""
        for record_task in self._tasks.values():
            # A DEACTIVATING task's containers still run: ECS stops them only after draining.
            if (record_task.ec2_instance_id != instance_id
                    or record_task.status not in ("RUNNING", "DEACTIVATING")):
                continue
            if port is not None and port not in record_task.ports:
                continue
            if record_task.stop_kind == "crash":
                return False  # its essential container has exited
            if record_task.fault.unhealthy:
                return False
            started = record_task.started or at
            return at - started >= record_task.fault.slow_start_seconds
        return False

    def _run_health_checks(self, lb_name: str, lb: Any, now: float) -> None:
        settings = _health_settings(lb)
        port = _check_port(settings["target"])
        record = self._lbs[lb_name]
        for instance_id, health in record.instances.items():
            while health.next_check <= now + 1e-9:
                if self._check_passes(instance_id, port, health.next_check):
                    health.passes += 1
                    health.fails = 0
                    if health.passes >= settings["healthy_threshold"]:
                        health.in_service, health.failed_out = True, False
                else:
                    health.fails += 1
                    health.passes = 0
                    if health.fails >= settings["unhealthy_threshold"]:
                        health.in_service, health.failed_out = False, True
                health.next_check += settings["interval"]

    def _healthy(self, record: ServiceRecord, record_task: TaskRecord) -> bool:
        """RUNNING and InService on every load balancer of the service."""
        if not record_task.live or record_task.status != "RUNNING":
            return False
        for lb_name in record.lb_names():
            health = self._lbs.get(lb_name, LbRecord()).instances.get(record_task.ec2_instance_id)
            if lb_name not in record_task.registered_lbs or health is None or not health.in_service:
                return False
        return True

    # -- the scheduler --------------------------------------------------------------------

    def _react_to_health(self, record: ServiceRecord, now: float) -> None:
        """Replace tasks the ELB found unhealthy once the grace period is over."""
        for record_task in self._service_tasks(record):
            if not record_task.live or record_task.status != "RUNNING":
                continue
            if now - (record_task.started or now) < record.grace_seconds:
                continue
            for lb_name in sorted(record_task.registered_lbs):
                health = self._lbs.get(lb_name, LbRecord()).instances.get(
                    record_task.ec2_instance_id)
                if health is None or not health.failed_out:
                    continue
                port = _check_port(_health_settings(self.elb.get_load_balancer(lb_name))
                                   ["target"])
                self._event(record, f"(instance {record_task.ec2_instance_id}) (port {port}) "
                            f"is unhealthy in (elb {lb_name}) due to (reason {FAILED_CHECKS})",
                            now)
                self._stop_task(record, record_task, now,
                                f"Task failed ELB health checks in (elb {lb_name})",
                                "ServiceSchedulerInitiated", "unhealthy")
                self._event(record, f"has stopped 1 running tasks: (task {record_task.short_id}).",
                            now)
                break

    def _circuit_breaker(self, record: ServiceRecord, now: float) -> None:
        """Trip (and roll back) a failing deployment; never behind a classic ELB."""
        deployments = record.service.deployments
        if not deployments or not record.breaker.get("enable") or record.behind_classic_elb:
            return
        primary = deployments[0]
        if primary.get("rolloutState") != "IN_PROGRESS":
            return
        if int(primary.get("failedTasks") or 0) < circuit_breaker_threshold(
                record.service.desired_count):
            return
        primary["rolloutState"] = "FAILED"
        primary["rolloutStateReason"] = "ECS deployment circuit breaker: tasks failed to start."
        primary["updatedAt"] = _stamp(now)
        self._event(record, f"(deployment {primary['id']}) deployment failed: "
                    "tasks failed to start.", now)
        if record.breaker.get("rollback") and record.last_completed is not None:
            good_id, good_definition = record.last_completed
            self._start_deployment(
                record, good_definition, now,
                reason=f"ECS deployment circuit breaker: rolling back to deploymentId {good_id}.")
            self._event(record, f"rolling back to deployment {good_id}.", now)

    def _schedule(self, record: ServiceRecord, now: float) -> None:
        service = record.service
        tasks = [t for t in self._service_tasks(record) if t.live]
        if service.status != "ACTIVE":
            for record_task in tasks:
                self._stop_task(record, record_task, now, "Service deleted",
                                "ServiceSchedulerInitiated", "scale")
            return
        if not service.deployments:
            return
        primary = service.deployments[0]
        desired = int(service.desired_count)
        maximum = math.floor(desired * record.maximum_percent / 100)
        minimum = math.ceil(desired * record.minimum_percent / 100)
        mine = [t for t in tasks if t.deployment_id == primary["id"]]
        others = [t for t in tasks if t.deployment_id != primary["id"]]

        started: list[TaskRecord] = []
        if primary.get("rolloutState") != "FAILED" and len(mine) < desired:
            task_definition = self.ecs.describe_task_definition(primary["taskDefinition"])
            cpu, memory, ports = self._requirements(task_definition)
            total = len(tasks)
            while len(mine) + len(started) < desired and total < maximum:
                ci, problem = self._place(record, cpu, memory, ports)
                if ci is None:
                    self._placement_failed(record, problem or "", now)
                    break
                started.append(self._start_task(record, primary, ci, task_definition, now))
                total += 1
        if started:
            ids = " ".join(f"(task {t.short_id})" for t in started)
            self._event(record, f"has started {len(started)} tasks: {ids}.", now)
            record.steady_reported_at = None

        healthy = sum(1 for t in tasks if self._healthy(record, t))
        failed = primary.get("rolloutState") == "FAILED"
        stopping: list[TaskRecord] = []
        # Old deployments: unhealthy or not yet running tasks first, they cost no capacity.
        # A FAILED deployment launches nothing more, so no healthy old task makes room for it.
        for record_task in sorted(others, key=lambda t: self._healthy(record, t)):
            if not self._healthy(record, record_task):
                stopping.append(record_task)
            elif not failed and healthy - 1 >= minimum:
                stopping.append(record_task)
                healthy -= 1
        # Scale in: the primary deployment has more tasks than desired.
        surplus = len(mine) - desired
        for record_task in sorted(mine, key=lambda t: self._healthy(record, t))[:max(surplus, 0)]:
            stopping.append(record_task)
        for record_task in stopping:
            self._stop_task(record, record_task, now,
                            f"Scaling activity initiated by (deployment {primary['id']})",
                            "ServiceSchedulerInitiated", "scale")
        if stopping:
            ids = " ".join(f"(task {t.short_id})" for t in stopping)
            self._event(record, f"has stopped {len(stopping)} running tasks: {ids}.", now)

    def _placement_failed(self, record: ServiceRecord, problem: str, now: float) -> None:
        """Report why a task cannot be placed, unless a stopping task of ours will free room."""
        freeing = any(not t.live and t.holds_resources for t in self._service_tasks(record))
        if freeing and "already using a port" in problem:
            return
        message = ("was unable to place a task because no container instance met all of its "
                   f"requirements. {problem} For more information, see the Troubleshooting "
                   "section.")
        last = record.last_event_at.get(message)
        if last is not None and now - last < PLACEMENT_EVENT_INTERVAL:
            return
        record.last_event_at[message] = now
        self._event(record, message, now)

    def _settle(self, record: ServiceRecord, now: float) -> None:
        """Remove drained deployments; complete the primary one; report steady state."""
        service = record.service
        if not service.deployments:
            return
        primary = service.deployments[0]
        tasks = self._service_tasks(record)
        for deployment in list(service.deployments[1:]):
            if not any(t.deployment_id == deployment["id"] and t.holds_resources for t in tasks):
                service.deployments.remove(deployment)
        mine = [t for t in tasks if t.live and t.deployment_id == primary["id"]]
        desired = int(service.desired_count)
        settled = (len(service.deployments) == 1 and len(mine) == desired
                   and all(self._healthy(record, t) for t in mine)
                   and not any(t.holds_resources and not t.live for t in tasks))
        if not settled:
            return
        if primary.get("rolloutState") == "IN_PROGRESS":
            primary["rolloutState"] = "COMPLETED"
            primary["rolloutStateReason"] = f"ECS deployment {primary['id']} completed."
            primary["updatedAt"] = _stamp(now)
            self._event(record, f"(deployment {primary['id']}) deployment completed.", now)
        if primary.get("rolloutState") == "COMPLETED":
            record.last_completed = (primary["id"], primary["taskDefinition"])
        if (record.steady_reported_at is None
                or now - record.steady_reported_at >= STEADY_EVENT_INTERVAL):
            record.steady_reported_at = now
            self._event(record, "has reached a steady state.", now)

    def _refresh_counts(self, record: ServiceRecord, now: float) -> None:
        service = record.service
        tasks = self._service_tasks(record)
        service.running_count = sum(1 for t in tasks if t.status == "RUNNING")
        service.pending_count = sum(1 for t in tasks if t.status in ("PROVISIONING", "PENDING"))
        for index, deployment in enumerate(service.deployments):
            own = [t for t in tasks if t.deployment_id == deployment["id"]]
            running = sum(1 for t in own if t.status == "RUNNING")
            pending = sum(1 for t in own if t.status in ("PROVISIONING", "PENDING"))
            desired = service.desired_count if index == 0 else sum(1 for t in own if t.live)
            if (running, pending, desired) != (deployment.get("runningCount"),
                                               deployment.get("pendingCount"),
                                               deployment.get("desiredCount")):
                deployment.update(runningCount=running, pendingCount=pending,
                                  desiredCount=desired, updatedAt=_stamp(now))

    def _refresh_instances(self) -> None:
        """Keep describe_container_instances' counts and remaining resources truthful."""
        for instances in self.ecs.container_instances.values():
            for ci in instances.values():
                cpu, memory, ports = self._instance_usage(ci)
                arn = ci.container_instance_arn
                running = pending = 0
                for tasks in self.ecs.tasks.values():
                    for task in tasks.values():
                        if task.container_instance_arn != arn:
                            continue
                        if task.last_status in ("PROVISIONING", "PENDING"):
                            pending += 1
                        elif task.last_status not in ("STOPPED",):
                            running += 1
                ci.running_tasks_count, ci.pending_tasks_count = running, pending
                for resource in ci.remaining_resources:
                    name = resource.get("name")
                    if name == "CPU":
                        resource["integerValue"] = self._registered(ci, "CPU") - cpu
                    elif name == "MEMORY":
                        resource["integerValue"] = self._registered(ci, "MEMORY") - memory
                    elif name == "PORTS":
                        resource["stringSetValue"] = sorted(self._registered(ci, "PORTS") | ports)


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


def _emulated_task_class_once() -> type:
    if _LazyTask.cls is None:
        _LazyTask.cls = _emulated_task_class()
    return _LazyTask.cls
