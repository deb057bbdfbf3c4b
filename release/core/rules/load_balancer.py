"""Any load balancer: the service's entry reaches a container that serves, and starts in time.

Why: a container name or port that does not line up makes every new task fail its
health check, and a grace period shorter than a slow start lets ECS replace tasks
that are still starting (`uncovered_start`, judged by each kind's grace-period rule).
What only one kind of load balancer needs is that kind's module in release/core/balancers/.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from release.core.config import HealthCheck
from release.core.findings import ERROR, Finding
from release.core.rolling import containers
from release.core.rules.base import (
    Context,
    ServiceView,
    container_index,
    finding,
    hint,
    lb_entries,
    rule,
)


@dataclass(frozen=True)
class UncoveredStart:
    """A load-balanced container that may still be starting when its load balancer calls it
    unhealthy, and a grace period that ends before it can be healthy again."""

    container: str
    start: int  # its healthCheck.startPeriod: how long it says it may take to start
    unhealthy_after: int  # UnhealthyThreshold × Interval: failed checks before "unhealthy"
    needed: int  # start + HealthyThreshold × Interval: healthy again at the latest
    grace: int  # the service's healthCheckGracePeriodSeconds (0 when left out)


def uncovered_start(view: ServiceView, taskdef: dict[str, Any], container: str,
                    hc: HealthCheck) -> UncoveredStart | None:
    """Would ECS replace a task of `view` that is still starting? (lb- and tg-grace-period)

    What the documents say, and nothing more:

    - CreateService, healthCheckGracePeriodSeconds (ECS API reference): "The period of
      time, in seconds, that the Amazon ECS service scheduler ignores unhealthy Elastic
      Load Balancing, VPC Lattice, and container health checks after a task has first
      started. If you do not specify a health check grace period value, the default value
      of 0 is used." So grace 0 is valid, and the grace period is about *unhealthy* checks.
    - Amazon ECS services (developer guide): "The service scheduler also replaces tasks
      determined to be unhealthy after a container health check or a load balancer target
      group health check fails." A target still in its first checks is `initial`
      (TargetHealth, Elb.InitialHealthChecking: "The load balancer is still sending the
      target the minimum number of health checks required to determine its health
      status"), not unhealthy: nothing says ECS stops it.
    - A target becomes unhealthy after UnhealthyThresholdCount "consecutive health check
      failures" (CreateTargetGroup; the classic ELB's UnhealthyThreshold: "before moving
      the instance to the Unhealthy state"), one per interval, and healthy again after
      HealthyThresholdCount "consecutive health check successes".
    - HealthCheck.startPeriod (RegisterTaskDefinition): "The optional grace period to
      provide containers time to bootstrap before failed health checks count towards the
      maximum number of retries." It is the one place a document says how long the app
      may take to start ("This value applies only when you specify a command").

    So a task is at risk only when its container may take longer to start (startPeriod)
    than its load balancer takes to call it unhealthy (UnhealthyThreshold × Interval):
    then the target is unhealthy from then until HealthyThreshold × Interval after the
    app is up, and a grace period that ends before that lets ECS replace a task that
    was only starting. Without a startPeriod the documents do not say how long the app
    takes; the release's wait still sees tasks that are replaced (engine/wait.py).
    """
    index = next((i for i, c in enumerate(containers(taskdef))
                  if c.get("name") == container), None)
    if index is None:
        return None  # lb-container-name reports it
    check = containers(taskdef)[index].get("healthCheck") or {}
    start = check.get("startPeriod")
    if not check.get("command") or not isinstance(start, int) or isinstance(start, bool):
        return None
    unhealthy_after = hc.unhealthy_threshold * hc.interval
    needed = start + hc.healthy_after
    grace = view.spec.service.get("healthCheckGracePeriodSeconds", 0)
    if start <= unhealthy_after or not isinstance(grace, int) or grace >= needed:
        return None
    return UncoveredStart(container, start, unhealthy_after, needed, grace)


def grace_pointer(view: ServiceView) -> str:
    """Where the grace period is written, or the service when it is left out (0)."""
    written = "healthCheckGracePeriodSeconds" in view.spec.service
    return "/service/healthCheckGracePeriodSeconds" if written else "/service"


def uncovered_message(found: UncoveredStart, view: ServiceView, balancer: str,
                      hc: HealthCheck) -> str:
    """The finding's sentence: who may be replaced, and the figures that say why."""
    return (f"container {found.container!r} may take up to {found.start} s to start (its "
            f"healthCheck.startPeriod in {view.taskdef_rel}), but {balancer} calls a target "
            f"that fails {hc.unhealthy_threshold} checks {hc.interval} s apart unhealthy "
            f"after {found.unhealthy_after} s, and healthy again only "
            f"{hc.healthy_threshold} passing checks ({hc.healthy_after} s) after the app is "
            f"up: with a grace period of {found.grace} s ECS may replace tasks that are "
            f"still starting")


@rule("lb-container-name", ERROR, "each load balancer's containerName is a container of the task "
      "definition", "use the name of the container that serves the traffic")
def lb_container_name(ctx: Context) -> Iterator[Finding]:
    for view in ctx.services:
        if view.taskdef is None:
            continue
        names = [c["name"] for c in containers(view.taskdef)]
        for index, lb in lb_entries(view):
            if lb["containerName"] not in names:
                yield finding("lb-container-name", view.rel,
                              f"/service/loadBalancers/{index}/containerName",
                              f"container {lb['containerName']!r} is not in {view.taskdef_rel}"
                              + hint(lb["containerName"], names),
                              f"use one of: {', '.join(names)}")


@rule("lb-container-port", ERROR, "each load balancer's containerPort is in that container's "
      "portMappings", "add the port mapping or use a mapped containerPort")
def lb_container_port(ctx: Context) -> Iterator[Finding]:
    for view in ctx.services:
        if view.taskdef is None:
            continue
        for index, lb in lb_entries(view):
            ci = container_index(view.taskdef, lb["containerName"])
            if ci is None:
                continue
            mapped = [m.get("containerPort") for m in
                      containers(view.taskdef)[ci].get("portMappings", [])]
            if lb["containerPort"] not in mapped:
                yield finding(
                    "lb-container-port", view.rel,
                    f"/service/loadBalancers/{index}/containerPort",
                    f"container {lb['containerName']!r} does not map port "
                    f"{lb['containerPort']} (its portMappings: "
                    f"{', '.join(map(str, mapped)) or 'none'})",
                    f"use a mapped port or add {{\"containerPort\": {lb['containerPort']}, "
                    f"\"hostPort\": <the ELB's instance port>}} to "
                    f"{view.taskdef_rel}#/containerDefinitions/{ci}/portMappings")


@rule("lb-container-essential", ERROR, "the load-balanced container is essential (else the "
      "task keeps running, and stays registered with the ELB, after it stops)",
      "set \"essential\": true on the container that serves the traffic")
def lb_container_essential(ctx: Context) -> Iterator[Finding]:
    for view in ctx.services:
        if view.taskdef is None:
            continue
        for _, lb in lb_entries(view):
            ci = container_index(view.taskdef, lb["containerName"])
            if ci is not None and not containers(view.taskdef)[ci].get("essential", True):
                yield finding(
                    "lb-container-essential", view.taskdef_rel,
                    f"/containerDefinitions/{ci}/essential",
                    f"container {lb['containerName']!r} serves {view.rel}'s load balancer "
                    "but is not essential: when it stops the task keeps running without it")


CHECKS = (lb_container_name, lb_container_port, lb_container_essential)
