"""The classic ELB: the service's load balancer reaches a container on a fixed instance port.

Why: a classic ELB routes to one instance port and calls an instance healthy
after HealthyThreshold × Interval; a container name, port or host port that does
not line up makes every new task fail its health check, and a grace period
shorter than a slow start lets ECS replace tasks that are still starting.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from release.core.config import HealthCheck
from release.core.findings import ERROR, WARNING, Finding
from release.core.rolling import containers, host_port
from release.core.rules.base import (
    Context,
    ServiceView,
    container_index,
    effective_taskdef,
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


@rule("lb-instance-port", ERROR, "the classic ELB's instancePort equals the static hostPort of "
      "the load-balanced mapping (a classic ELB routes to a fixed instance port)",
      "set the mapping's hostPort to the listener's instancePort (dynamic host ports and awsvpc "
      "do not work with a classic ELB)")
def lb_instance_port(ctx: Context) -> Iterator[Finding]:
    for view in ctx.services:
        if view.taskdef is None or view.env is None:
            continue
        mode = view.taskdef.get("networkMode", "bridge")
        for index, lb in lb_entries(view):
            if "loadBalancerName" not in lb:
                continue
            ci = container_index(view.taskdef, lb["containerName"])
            if ci is None:
                continue
            here = f"/service/loadBalancers/{index}"
            if mode not in ("bridge", "host"):
                yield finding("lb-instance-port", view.taskdef_rel, "/networkMode",
                              f"networkMode {mode!r} cannot be used with a classic ELB "
                              f"({view.rel} attaches {lb['loadBalancerName']!r})",
                              "use networkMode bridge with a static hostPort")
                continue
            mappings = [(mi, m) for mi, m in enumerate(
                containers(view.taskdef)[ci].get("portMappings", []))
                if m.get("containerPort") == lb["containerPort"]]
            if not mappings:
                continue  # lb-container-port reports it
            mi, mapping = mappings[0]
            port = host_port(view.taskdef, mapping)
            instance_port = view.env.load_balancer.instance_port
            mapping_ptr = f"{view.taskdef_rel}#/containerDefinitions/{ci}/portMappings/{mi}"
            if port == 0:
                yield finding("lb-instance-port", view.rel, here,
                              f"container port {lb['containerPort']} has a dynamic host port "
                              f"({mapping_ptr}); the classic ELB {lb['loadBalancerName']!r} only "
                              f"routes to instance port {instance_port}",
                              f"set \"hostPort\": {instance_port} at {mapping_ptr}")
            elif port != instance_port:
                yield finding("lb-instance-port", view.rel, here,
                              f"the ELB routes to instance port {instance_port} but container port "
                              f"{lb['containerPort']} is published on host port {port} "
                              f"({mapping_ptr})",
                              f"set \"hostPort\": {instance_port} at {mapping_ptr}, or change "
                              f"{view.env_rel}#/loadBalancer/listener/instancePort to {port}")


@rule("lb-health-check-port", ERROR, "the ELB health check pings a port a container publishes "
      "on the instance", "point the health check target at the listener's instance port")
def lb_health_check_port(ctx: Context) -> Iterator[Finding]:
    for view in ctx.services:
        if view.taskdef is None or view.env is None or not any(
                "loadBalancerName" in lb for _, lb in lb_entries(view)):
            continue
        port = view.env.load_balancer.health_check.port
        published = {host_port(view.taskdef, m) for c in containers(view.taskdef)
                     for m in c.get("portMappings", [])}
        if port is not None and port not in published:
            yield finding("lb-health-check-port", view.env_rel or view.rel,
                          "/loadBalancer/healthCheck/target",
                          f"the health check pings instance port {port}, which no container of "
                          f"{view.taskdef_rel} publishes (host ports: "
                          f"{', '.join(map(str, sorted(p for p in published if p))) or 'none'})",
                          f"use port {view.env.load_balancer.instance_port} in the target")


@rule("lb-grace-period", WARNING, "behind a classic ELB, when the load-balanced container may "
      "take longer to start (its healthCheck.startPeriod) than the ELB needs to call it "
      "unhealthy (UnhealthyThreshold × Interval), healthCheckGracePeriodSeconds lasts until it "
      "can be healthy again (startPeriod + HealthyThreshold × Interval); else ECS may replace "
      "tasks that are still starting. Grace 0 is valid (ECS's default)",
      "raise healthCheckGracePeriodSeconds to startPeriod + HealthyThreshold × Interval, or "
      "lower startPeriod to what the app needs")
def lb_grace_period(ctx: Context) -> Iterator[Finding]:
    """ECS ignores *unhealthy* ELB checks during the grace period ("the Amazon ECS service
    scheduler ignores unhealthy Elastic Load Balancing, VPC Lattice, and container health
    checks after a task has first started", CreateService) and replaces tasks "determined to
    be unhealthy after ... a load balancer ... health check fails" (developer guide, Amazon
    ECS services); an instance the ELB is still registering is not unhealthy, so a grace
    period shorter than HealthyThreshold × Interval is no error. ECS does not run the
    container's own check here ("Container health checks aren't supported for tasks that
    are part of a service that's configured to use a Classic Load Balancer", HealthCheck),
    but its startPeriod still says how long the app may take to start. The judgement and
    the documentation behind it: uncovered_start above."""
    for view in ctx.services:
        if (view.env is None or view.taskdef is None or not view.env.load_balancer.classic):
            continue  # target groups: tg-grace-period
        hc = view.env.load_balancer.health_check
        taskdef = effective_taskdef(view)
        for _, lb in lb_entries(view):
            if "loadBalancerName" not in lb:
                continue
            found = uncovered_start(view, taskdef, lb["containerName"], hc)
            if found is not None:
                yield finding("lb-grace-period", view.rel, grace_pointer(view),
                              uncovered_message(found, view, f"the ELB {lb['loadBalancerName']!r}"
                                                f" ({view.env_rel})", hc),
                              f"set \"healthCheckGracePeriodSeconds\": {found.needed} (or "
                              "more), or a shorter startPeriod if the app starts sooner")


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


@rule("lb-health-check", ERROR, "the classic ELB health check's Timeout is less than its "
      "Interval and its target port is 1-65535 (ConfigureHealthCheck)",
      "lower timeout below interval; use a port from 1 to 65535 in the target")
def lb_health_check(ctx: Context) -> Iterator[Finding]:
    for _, (rel, env) in ctx.environments.items():
        if not env.load_balancer.classic:
            continue  # target groups: tg-health-check
        hc = env.load_balancer.health_check
        if hc.timeout >= hc.interval:
            yield finding("lb-health-check", rel, "/loadBalancer/healthCheck/timeout",
                          f"timeout {hc.timeout} s is not less than interval {hc.interval} s; "
                          "ConfigureHealthCheck refuses it", f"use a timeout below {hc.interval}")
        if hc.port is not None and not 1 <= hc.port <= 65535:
            yield finding("lb-health-check", rel, "/loadBalancer/healthCheck/target",
                          f"port {hc.port} is outside 1-65535", "use the listener's instance port")


CHECKS = (
    lb_container_name, lb_container_port, lb_instance_port, lb_health_check_port,
    lb_grace_period, lb_container_essential, lb_health_check,
)
