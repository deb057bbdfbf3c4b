"""Placement of a rolling update: the instances hold the tasks, and the first wave can start.

Why: with static host ports (a classic ELB) one task fits per instance, so
desiredCount, instance count, minimumHealthyPercent and maximumPercent decide
whether ECS can ever start a new task. The arithmetic is release/core/rolling.py's.
"""

from __future__ import annotations

from collections.abc import Iterator

from release.core import rolling
from release.core.findings import ERROR, WARNING, Finding
from release.core.rules.base import (
    Context,
    finding,
    rule,
    service_plan,
    with_taskdef,
)


@rule("deploy-capacity", ERROR, "the instances can hold desiredCount tasks (one per instance "
      "with a static host port; cpu/memory per instance type)",
      "lower desiredCount or add instances (environment.json /instances/count)")
def deploy_capacity(ctx: Context) -> Iterator[Finding]:
    for view, taskdef in with_taskdef(ctx):
        plan = service_plan(view, taskdef)
        if (plan is not None and view.env is not None and plan.capacity is not None
                and plan.desired > plan.capacity):
            yield finding("deploy-capacity", view.rel, "/service/desiredCount",
                          f"desiredCount {plan.desired} but the {view.env.instance_count} "
                          f"instance(s) of environment {view.env_name} can hold only "
                          f"{plan.capacity} task(s)"
                          + (" (a static host port allows one task per instance)"
                             if rolling.static_host_ports(taskdef) else ""))


@rule("deploy-placement", ERROR, "a rolling update can place its first new task: with static "
      "host ports, desiredCount, instance count, minimumHealthyPercent and maximumPercent must "
      "leave a free instance or allow stopping an old task first",
      "set minimumHealthyPercent ≤ 50 (ECS stops an old task first), or run more instances "
      "than desiredCount with maximumPercent > 100; a classic ELB cannot use dynamic host ports")
def deploy_placement(ctx: Context) -> Iterator[Finding]:
    for view, taskdef in with_taskdef(ctx):
        plan = service_plan(view, taskdef)
        if (plan is None or plan.capacity is None or plan.desired > plan.capacity
                or not plan.stuck):
            continue
        dc = view.spec.deployment_configuration
        pointer = ("/service/deploymentConfiguration/minimumHealthyPercent"
                   if "minimumHealthyPercent" in dc else "/service/deploymentConfiguration"
                   if dc else "/service")
        yield finding(
            "deploy-placement", view.rel, pointer,
            f"a rolling update can never start: {plan.desired} task(s) fill the "
            f"{plan.capacity} slot(s) of environment {view.env_name}'s instances, "
            f"minimumHealthyPercent {view.spec.minimum_healthy_percent} forbids stopping an "
            f"old task first and maximumPercent {view.spec.maximum_percent} "
            + ("leaves no free instance" if plan.capacity <= plan.desired else
               "forbids starting an extra one")
            + "; ECS would report 'unable to place a task' until the release times out")


@rule("deploy-zero-tasks", WARNING, "desiredCount 0 is meant: the service then runs no tasks, "
      "the ELB has no instance InService, and smoke checks cannot pass",
      "set desiredCount to the number of tasks to run, or remove the smoke checks while the "
      "service is scaled to zero")
def deploy_zero_tasks(ctx: Context) -> Iterator[Finding]:
    for view in ctx.services:
        if view.spec.service.get("desiredCount", 1) == 0 and view.spec.service.get(
                "schedulingStrategy") != "DAEMON":
            checks = len(view.spec.smoke_checks)
            yield finding(
                "deploy-zero-tasks", view.rel, "/service/desiredCount",
                "desiredCount 0: a release registers the revision and stops every task "
                "(old tasks still drain)" + (f"; the {checks} smoke check(s) will fail with "
                                              "nothing to answer them" if checks else ""))


CHECKS = (deploy_capacity, deploy_placement, deploy_zero_tasks)
