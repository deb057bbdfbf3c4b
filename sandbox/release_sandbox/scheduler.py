"""The ECS service scheduler: deployments, rolling updates, the circuit breaker, steady state.

What it follows (AWS documentation, by page title):

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
  reference long said) never trips (`world.ServiceRecord.behind_classic_elb`).
* "How the Amazon ECS deployment circuit breaker detects failures": failure
  threshold = 0.5 × desiredCount, at least 3, at most 200; on failure the
  deployment is FAILED and, with rollback enabled, ECS deploys the last
  deployment that COMPLETED (none: the deployment stays FAILED).
* CreateService API reference, healthCheckGracePeriodSeconds: ELB health check
  failures are ignored for that long after a task started.
* "Amazon ECS service event messages": the wording of service events ("has
  started 1 tasks", "has reached a steady state", "was unable to place a task
  because no container instance met all of its requirements ...").
* A task definition whose execution role ECS cannot assume launches no task: "failed
  to launch a task with (error ECS was unable to assume the role ...)" (startup.py).

Sandbox choices (not from AWS): the "unable to place" and "failed to launch" events
repeat at most once a minute while the cause persists; a placement blocked only by a task of the
same service that is already stopping waits silently for it; every task of a
deployment that stops for a reason other than the scheduler (crash, failed ELB
health checks) counts for the circuit breaker.
"""

from __future__ import annotations

import math
import random
from typing import Any

from release_sandbox.native import NativeDeployments
from release_sandbox.placement import Placement, requirements
from release_sandbox.tasks import Tasks
from release_sandbox.world import LoadBalancers, ServiceRecord, TaskRecord, World, stamp

PLACEMENT_EVENT_INTERVAL = 60.0
STEADY_EVENT_INTERVAL = 6 * 3600.0  # a steady service reports it again every six hours
DEFAULT_CONFIGURATION = {"maximumPercent": 200, "minimumHealthyPercent": 100}


def _new_deployment_id() -> str:
    return f"ecs-svc/{random.randint(10**18, 10**19 - 1)}"


def circuit_breaker_threshold(desired_count: int) -> int:
    """0.5 × desired, rounded up, at least 3 and at most 200 (ECS developer guide)."""
    return min(200, max(3, math.ceil(0.5 * desired_count)))


class Scheduler:
    """Runs each service's deployments toward its desired count, as the ECS scheduler does."""

    def __init__(self, world: World, placement: Placement, tasks: Tasks,
                 balancers: list[LoadBalancers], native: NativeDeployments | None = None
                 ) -> None:
        self.world = world
        self.placement = placement
        self.tasks = tasks
        self.balancers = balancers
        self.native = native or NativeDeployments(world)  # blue/green, linear, canary

    # -- hooks from the API (moto_hooks) ------------------------------------------------

    def service_created(self, service: Any, params: dict[str, Any]) -> None:
        now = self.world.clock.now()
        config = {**DEFAULT_CONFIGURATION,
                  "deploymentCircuitBreaker": {"enable": False, "rollback": False}}
        config.update(params.get("deploymentConfiguration") or {})
        service.deployment_configuration = config
        grace = params.get("healthCheckGracePeriodSeconds")
        if grace is not None or service.load_balancers:
            service.health_check_grace_period_seconds = int(grace or 0)
        service.created_at = stamp(now)
        record = ServiceRecord(service=service, key=f"{service.cluster_name}:{service.name}")
        self.world.services[record.key] = record
        for deployment in service.deployments:
            # moto's own deployment carries rolloutState whatever the load balancer.
            deployment.pop("rolloutState", None)
            deployment.pop("rolloutStateReason", None)
            deployment.update(createdAt=stamp(now), updatedAt=stamp(now),
                              runningCount=0, pendingCount=0, failedTasks=0,
                              **record.rollout(deployment["id"]))
        if service.deployments:
            self.native.deployment_started(record, None, service.deployments[0], now)
        self.refresh_counts(record, now)

    def service_updated(self, service: Any, params: dict[str, Any],
                        before: dict[str, Any]) -> None:
        now = self.world.clock.now()
        key = f"{service.cluster_name}:{service.name}"
        record = self.world.services.setdefault(key, ServiceRecord(service=service, key=key))
        # moto rewrites the primary deployment's id on forceNewDeployment: undo that,
        # a new deployment is ours to make.
        service.deployments = [dict(d) for d in before["deployments"]]
        if params.get("deploymentConfiguration") is not None:
            # Fields the update leaves out keep their values.
            service.deployment_configuration = {
                **DEFAULT_CONFIGURATION, **(before.get("deployment_configuration") or {}),
                **params["deploymentConfiguration"]}
        if service.task_definition and not service.task_definition.startswith("arn:"):
            service.task_definition = self.world.ecs.describe_task_definition(
                service.task_definition).arn
        primary = service.deployments[0] if service.deployments else None
        changed = primary is None or primary.get("taskDefinition") != service.task_definition
        if changed or params.get("forceNewDeployment"):
            green = self._start_deployment(record, service.task_definition, now)
            self.native.deployment_started(record, primary, green, now)
        elif primary is not None:
            primary["desiredCount"] = service.desired_count
        record.steady_reported_at = None
        self.refresh_counts(record, now)

    # -- one tick ------------------------------------------------------------------------

    def tick(self, now: float) -> None:
        for record in list(self.world.services.values()):
            self._react_to_health(record, now)
            self._circuit_breaker(record, now)
            self._schedule(record, now)
            self._settle(record, now)
            self.refresh_counts(record, now)
        self.native.tick(now, self.healthy, self._start_deployment)

    def healthy(self, record: ServiceRecord, task: TaskRecord) -> bool:
        """RUNNING and passing the checks of every load balancer of the service."""
        if not task.live or task.status != "RUNNING":
            return False
        return all(b.serving(record, task) for b in self.balancers)

    def _react_to_health(self, record: ServiceRecord, now: float) -> None:
        """Replace tasks a load balancer found unhealthy once the grace period is over."""
        for task in self.world.service_tasks(record):
            if not task.live or task.status != "RUNNING":
                continue
            if now - (task.started or now) < record.grace_seconds:
                continue
            failure = next((f for b in self.balancers if (f := b.failure(task))), None)
            if failure is None:
                continue
            event, reason = failure
            self.world.event(record, event, now)
            self.tasks.stop(record, task, now, reason, "ServiceSchedulerInitiated", "unhealthy")
            self.world.event(record, f"has stopped 1 running tasks: (task {task.short_id}).",
                             now)

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
        primary["updatedAt"] = stamp(now)
        self.world.event(record, f"(deployment {primary['id']}) deployment failed: "
                         "tasks failed to start.", now)
        if record.breaker.get("rollback") and record.last_completed is not None:
            good_id, good_definition = record.last_completed
            self._start_deployment(
                record, good_definition, now,
                reason=f"ECS deployment circuit breaker: rolling back to deploymentId {good_id}.")
            self.world.event(record, f"rolling back to deployment {good_id}.", now)

    def _schedule(self, record: ServiceRecord, now: float) -> None:
        service = record.service
        tasks = [t for t in self.world.service_tasks(record) if t.live]
        if service.status != "ACTIVE":
            for task in tasks:
                self.tasks.stop(record, task, now, "Service deleted",
                                "ServiceSchedulerInitiated", "scale")
            return
        if not service.deployments:
            return
        self._launch(record, tasks, now)
        self._stop_surplus(record, tasks, now)

    def _launch(self, record: ServiceRecord, tasks: list[TaskRecord], now: float) -> None:
        """Start primary tasks up to desired, within ⌊desired × maximumPercent⌋ in all."""
        primary = record.service.deployments[0]
        desired = int(record.service.desired_count)
        maximum = math.floor(desired * record.maximum_percent / 100)
        if self.native.scales_to_double(record):  # green scales up beside all of blue
            maximum = 2 * desired
        mine = sum(1 for t in tasks if t.deployment_id == primary["id"])
        if (primary.get("rolloutState") == "FAILED" or mine >= desired
                or self.native.holds_launch(record)):
            return
        task_definition = self.world.ecs.describe_task_definition(primary["taskDefinition"])
        refusal = self.tasks.startup.role_refusal(task_definition)
        if refusal is not None:
            self._event_at_most_each_minute(
                record, f"failed to launch a task with (error {refusal}).", now)
            return
        needs = requirements(task_definition)
        started: list[TaskRecord] = []
        total = len(tasks)
        while mine + len(started) < desired and total < maximum:
            ci, problem = (None, None) if record.on_fargate else self.placement.place(
                record, needs)
            if ci is None and not record.on_fargate:
                self._placement_failed(record, problem or "", now)
                break
            started.append(self.tasks.start(record, primary, ci, task_definition, now))
            total += 1
        if started:
            ids = " ".join(f"(task {t.short_id})" for t in started)
            self.world.event(record, f"has started {len(started)} tasks: {ids}.", now)
            record.steady_reported_at = None

    def _stop_surplus(self, record: ServiceRecord, tasks: list[TaskRecord], now: float) -> None:
        """Stop old tasks while ⌈desired × minimumHealthyPercent⌉ stay healthy; scale in."""
        primary = record.service.deployments[0]
        desired = int(record.service.desired_count)
        minimum = math.ceil(desired * record.minimum_percent / 100)
        mine = [t for t in tasks if t.deployment_id == primary["id"]]
        others = [t for t in tasks if t.deployment_id != primary["id"]]
        healthy = sum(1 for t in tasks if self.healthy(record, t))
        failed = primary.get("rolloutState") == "FAILED"
        stopping: list[TaskRecord] = []
        # Old deployments: unhealthy or not yet running tasks first, they cost no capacity.
        # A FAILED deployment launches nothing more, so no healthy old task makes room for it.
        held = self.native.holds_blue(record)  # blue runs until the native CLEAN_UP stage
        for task in sorted(others, key=lambda t: self.healthy(record, t)):
            if held:
                break
            if not self.healthy(record, task):
                stopping.append(task)
            elif not failed and healthy - 1 >= minimum:
                stopping.append(task)
                healthy -= 1
        # Scale in: the primary deployment has more tasks than desired.
        surplus = max(len(mine) - desired, 0)
        stopping.extend(sorted(mine, key=lambda t: self.healthy(record, t))[:surplus])
        for task in stopping:
            self.tasks.stop(record, task, now,
                            f"Scaling activity initiated by (deployment {primary['id']})",
                            "ServiceSchedulerInitiated", "scale")
        if stopping:
            ids = " ".join(f"(task {t.short_id})" for t in stopping)
            self.world.event(record, f"has stopped {len(stopping)} running tasks: {ids}.", now)

    def _placement_failed(self, record: ServiceRecord, problem: str, now: float) -> None:
        """Report why a task cannot be placed, unless a stopping task of ours will free room."""
        freeing = any(not t.live and t.holds_resources for t in self.world.service_tasks(record))
        if freeing and "already using a port" in problem:
            return
        self._event_at_most_each_minute(
            record, "was unable to place a task because no container instance met all of its "
            f"requirements. {problem} For more information, see the Troubleshooting section.",
            now)

    def _event_at_most_each_minute(self, record: ServiceRecord, message: str,
                                   now: float) -> None:
        """A service event that repeats while its cause persists (ECS repeats it periodically)."""
        last = record.last_event_at.get(message)
        if last is not None and now - last < PLACEMENT_EVENT_INTERVAL:
            return
        record.last_event_at[message] = now
        self.world.event(record, message, now)

    def _settle(self, record: ServiceRecord, now: float) -> None:
        """Remove drained deployments; complete the primary one; report steady state."""
        service = record.service
        if not service.deployments:
            return
        primary = service.deployments[0]
        tasks = self.world.service_tasks(record)
        for deployment in list(service.deployments[1:]):
            if not any(t.deployment_id == deployment["id"] and t.holds_resources for t in tasks):
                service.deployments.remove(deployment)
        mine = [t for t in tasks if t.live and t.deployment_id == primary["id"]]
        settled = (len(service.deployments) == 1 and len(mine) == int(service.desired_count)
                   and all(self.healthy(record, t) for t in mine)
                   and not any(t.holds_resources and not t.live for t in tasks))
        if not settled:
            return
        if primary.get("rolloutState") == "IN_PROGRESS":
            primary["rolloutState"] = "COMPLETED"
            primary["rolloutStateReason"] = f"ECS deployment {primary['id']} completed."
            primary["updatedAt"] = stamp(now)
            self.world.event(record, f"(deployment {primary['id']}) deployment completed.", now)
        if primary.get("rolloutState") == "COMPLETED":
            record.last_completed = (primary["id"], primary["taskDefinition"])
        if (record.steady_reported_at is None
                or now - record.steady_reported_at >= STEADY_EVENT_INTERVAL):
            record.steady_reported_at = now
            self.world.event(record, "has reached a steady state.", now)

    def refresh_counts(self, record: ServiceRecord, now: float) -> None:
        """runningCount/pendingCount of the service and of each deployment."""
        service = record.service
        tasks = self.world.service_tasks(record)
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
                                  desiredCount=desired, updatedAt=stamp(now))

    def _start_deployment(self, record: ServiceRecord, task_definition: str, now: float,
                          reason: str | None = None) -> dict[str, Any]:
        service = record.service
        for deployment in service.deployments:
            if deployment["status"] == "PRIMARY":
                deployment["status"] = "ACTIVE"
                deployment["updatedAt"] = stamp(now)
        deployment_id = _new_deployment_id()
        deployment = {
            "id": deployment_id, "status": "PRIMARY", "taskDefinition": task_definition,
            "desiredCount": service.desired_count, "pendingCount": 0, "runningCount": 0,
            "failedTasks": 0, "createdAt": stamp(now), "updatedAt": stamp(now),
            "launchType": service.launch_type or "EC2",
            **({"platformFamily": "Linux", "platformVersion": "1.4.0"} if record.on_fargate
               else {"platformFamily": "EC2"}),
            **record.rollout(deployment_id, reason),
        }
        service.deployments.insert(0, deployment)
        service.task_definition = task_definition
        record.steady_reported_at = None
        return deployment
