"""The classic ELB: the service's load balancer reaches a container on a fixed instance port.

Why: a classic ELB routes to one instance port and calls an instance healthy
after HealthyThreshold × Interval; a container name, port, host port or grace
period that does not line up makes every new task fail its health check.
"""

from __future__ import annotations

from collections.abc import Iterator

from release.core.findings import ERROR, Finding
from release.core.rolling import containers, host_port
from release.core.rules.base import (
    Context,
    container_index,
    finding,
    hint,
    lb_entries,
    rule,
)


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


@rule("lb-grace-period", ERROR, "healthCheckGracePeriodSeconds ≥ HealthyThreshold × Interval "
      "when an ELB is attached (else ECS stops new tasks before the ELB can call them healthy)",
      "raise healthCheckGracePeriodSeconds to at least HealthyThreshold × Interval")
def lb_grace_period(ctx: Context) -> Iterator[Finding]:
    for view in ctx.services:
        if (view.env is None or not view.spec.service.get("loadBalancers")
                or not view.env.load_balancer.classic):  # target groups: tg-grace-period
            continue
        hc = view.env.load_balancer.health_check
        needed = hc.healthy_after
        grace = view.spec.service.get("healthCheckGracePeriodSeconds", 0)
        if grace < needed:
            yield finding("lb-grace-period", view.rel, "/service/healthCheckGracePeriodSeconds",
                          f"grace period {grace} s is shorter than the {needed} s the ELB needs to "
                          f"mark a new instance healthy (HealthyThreshold {hc.healthy_threshold} × "
                          f"Interval {hc.interval} s in {view.env_rel})",
                          f"set \"healthCheckGracePeriodSeconds\": {needed} (or more)")


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
