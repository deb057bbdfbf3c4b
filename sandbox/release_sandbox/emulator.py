"""An ECS service scheduler and classic-ELB emulator acting on moto's backends.

moto stores ECS services, tasks and container instances and classic load
balancers, but never schedules anything: a service stays at runningCount 0
forever. `EcsEmulator.tick(now)` moves that state the way ECS and ELB do, on a
clock that tests can make virtual. It is a test double and demo engine, never a
production path. Its parts, each citing the AWS pages it follows:

* `scheduler` — deployments, rolling updates, the circuit breaker, steady state;
* `tasks` — the task lifecycle, stops and exit codes;
* `placement` — container instances, CPU units, memory, host ports;
* `elb` — the classic ELB: registration, health checks, draining;
* `target_groups` — ALB/NLB target groups: targets, health, deregistration delay;
* `agent` — the container agent's registration of the instances EC2 runs;
* `startup` — what a task's start needs (execution role, secrets, image, log group) and
  how it fails without it;
* `faults` — what a task does wrong, declared on its container definition;
* `alarms` — the alarm fault: CloudWatch alarms in ALARM while such tasks serve.
* `autoscaling` — the scale fault: desiredCount moved as a scaling policy moves it.
* `native` — blue/green, linear and canary deployments and their service-deployment API.

A load-balancer kind is one class with `world.LoadBalancers`' methods, listed
in `balancers` below under the key of the loadBalancers entry that names it.
"""

from __future__ import annotations

import threading
from typing import Any

from release.core.clock import Clock
from release_sandbox.agent import Agent
from release_sandbox.alarms import AlarmFaults
from release_sandbox.autoscaling import ScalingFaults
from release_sandbox.elb import ClassicElb
from release_sandbox.oneoff import OneOffTasks
from release_sandbox.placement import Placement, requirements
from release_sandbox.scheduler import Scheduler
from release_sandbox.startup import StartChecks
from release_sandbox.target_groups import TargetGroups
from release_sandbox.tasks import Tasks, emulated_task_class
from release_sandbox.world import LoadBalancers, World


class EcsEmulator:
    """Moves moto's ECS services/tasks and classic-ELB health for one account and region.

    Call `tick(now)` as time passes (a VirtualClock's `on_tick`, or a thread on the
    real clock). The moto hooks call the methods below inside the API call, so a
    caller sees, say, the new deployment at once, as with ECS.
    """

    def __init__(self, account: str, region: str, clock: Clock) -> None:
        self.account = account
        self.region = region
        self.clock = clock
        self.lock = threading.RLock()
        self.world = World(account, region, clock)
        self.elb = ClassicElb(self.world)
        self.target_groups = TargetGroups(self.world)
        # the key of a service's loadBalancers entry → the kind of load balancer it names
        self.balancers: dict[str, LoadBalancers] = {"loadBalancerName": self.elb,
                                                    "targetGroupArn": self.target_groups}
        kinds = list(self.balancers.values())
        self.placement = Placement(self.world)
        self.startup = StartChecks(account, region)
        self.tasks = Tasks(self.world, kinds, self.startup)
        self.scheduler = Scheduler(self.world, self.placement, self.tasks, kinds)
        self.agent = Agent(self.world, self.placement)
        self.oneoff = OneOffTasks(emulated_task_class, account, region, self.startup)
        self.alarms = AlarmFaults(self.world, kinds)
        self.scaling = ScalingFaults(self.world, kinds)

    @property
    def ecs(self) -> Any:
        return self.world.ecs

    # -- hooks from the API (moto_hooks) ----------------------------------------------

    def service_created(self, service: Any, params: dict[str, Any]) -> None:
        with self.lock:
            self.scheduler.service_created(service, params)

    def service_updated(self, service: Any, params: dict[str, Any],
                        before: dict[str, Any]) -> None:
        with self.lock:
            self.scheduler.service_updated(service, params, before)

    def instance_health(self, lb_name: str, instance_ids: list[str]) -> list[dict[str, str]]:
        with self.lock:
            return self.elb.instance_health(lb_name, instance_ids)

    def registrations_changed(self, lb_name: str) -> None:
        with self.lock:
            self.elb.registrations_changed(lb_name)

    def target_health(self, arn: str, targets: list[dict[str, Any]]) -> list[dict[str, Any]]:
        with self.lock:
            return self.target_groups.target_health(arn, targets)

    def targets_changed(self, arn: str, targets: list[dict[str, Any]], registered: bool) -> None:
        """RegisterTargets / DeregisterTargets by an API caller."""
        with self.lock:
            if registered:
                self.target_groups.api_registered(arn, targets)
            else:
                self.target_groups.api_deregistered(arn, targets)

    def instance_registered(self, container_instance: Any,
                            total_resources: list[dict[str, Any]]) -> None:
        with self.lock:
            self.placement.instance_registered(container_instance, total_resources)

    def instances_changed(self) -> None:
        """RunInstances or CreateCluster: the agents of running instances register."""
        with self.lock:
            self.agent.sync()

    def stop_requested(self, task: str, reason: str) -> Any:
        with self.lock:
            return self.tasks.stop_requested(task, reason)

    def service_deployment_call(self, action: str, params: dict[str, Any]) -> dict[str, Any]:
        """ListServiceDeployments and the four others moto lacks (release_sandbox/native.py)."""
        with self.lock:
            return self.scheduler.native.call(action, params, self.clock.now(),
                                              self.scheduler._start_deployment)

    def registry_served(self, host: str) -> None:
        """Images pinned to `host` (the sandbox registry, mirrored into ECR) are looked up
        in moto's ECR when a task starts (startup.py)."""
        with self.lock:
            self.startup.registry_hosts.add(host)

    def run_task_refused(self, params: dict[str, Any]) -> list[dict[str, str]] | None:
        """RunTask's `failures` when the task fits on no container instance (else None).

        moto answers such a RunTask with no task and no failure; ECS names, per
        instance, the resource it lacks (placement.py). An EC2 task on a cluster with
        no ACTIVE instance is refused as ECS refuses it: InvalidParameterException
        "No Container Instances were found in your cluster." (moto raises a bare
        exception there, a 500). Fargate tasks need no instance. A task definition whose
        execution role ECS cannot assume is refused with ECS's ClientException (startup.py).
        """
        from moto.ecs.exceptions import EcsClientException, InvalidParameterException

        with self.lock:
            ecs = self.world.ecs
            refusal = self.startup.role_refusal(
                ecs.describe_task_definition(params["taskDefinition"]))
            if refusal is not None:
                raise EcsClientException(refusal)
            cluster = ecs._get_cluster(params.get("cluster") or "default")
            strategy = (params.get("capacityProviderStrategy")
                        or (None if params.get("launchType")
                            else cluster.default_capacity_provider_strategy) or [])
            if params.get("launchType") == "FARGATE" or (
                    strategy and strategy[0].get("capacityProvider") in ("FARGATE",
                                                                         "FARGATE_SPOT")):
                return None
            needs = requirements(ecs.describe_task_definition(params["taskDefinition"]))
            if not any(ci.status == "ACTIVE" for ci in
                       ecs.container_instances.get(cluster.name, {}).values()):
                raise InvalidParameterException(
                    "No Container Instances were found in your cluster.")
            return self.placement.run_task_failures(cluster.name, needs)

    def tasks_run(self, tasks: list[Any]) -> None:
        """RunTask: one-off tasks, which moto leaves RUNNING for ever (oneoff.py)."""
        with self.lock:
            self.oneoff.started(tasks, self.clock.now())

    # -- the clock ------------------------------------------------------------------------

    def tick(self, now: float) -> None:
        """Advance the world to `now`: task phases, ELB checks, scheduler, deployments."""
        with self.lock:
            self.world.forget_vanished()
            for balancers in self.balancers.values():
                balancers.forget_vanished()
            self.tasks.advance(now)
            for balancers in self.balancers.values():
                balancers.tick(now)
            self.scheduler.tick(now)
            self.placement.refresh()
            self.oneoff.tick(now)
            self.alarms.tick(now)
            self.scaling.tick(now)
