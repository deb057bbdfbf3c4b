"""The classic ELB, the first load-balancer kind: its rules and what it can do.

Why: a classic ELB routes to one fixed instance port and calls an instance healthy
after HealthyThreshold × Interval; a host port that does not line up with the
listener's instance port makes every new task fail its health check, and a service
names the environment's one ELB. Its effects (health source, bootstrap, smoke base URL,
preflight) are engine/balancers/classic.py.
"""

from __future__ import annotations

from collections.abc import Iterator

from release.core.balancers.kind import LoadBalancerKind, behind
from release.core.config import CLASSIC
from release.core.findings import ERROR, WARNING, Finding
from release.core.rolling import containers, host_port
from release.core.rules.base import (
    Context,
    container_index,
    effective_taskdef,
    finding,
    lb_entries,
    rule,
)
from release.core.rules.load_balancer import grace_pointer, uncovered_message, uncovered_start
from release.core.template_checks import is_opaque

TYPES = (CLASSIC,)


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
    for view in behind(ctx, TYPES):
        if view.taskdef is None:
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


@rule("lb-health-check", ERROR, "the classic ELB health check's Timeout is less than its "
      "Interval and its target port is 1-65535 (ConfigureHealthCheck)",
      "lower timeout below interval; use a port from 1 to 65535 in the target")
def lb_health_check(ctx: Context) -> Iterator[Finding]:
    for _, (rel, env) in ctx.environments.items():
        if env.load_balancer.kind not in TYPES:
            continue  # target groups: tg-health-check
        hc = env.load_balancer.health_check
        if hc.timeout >= hc.interval:
            yield finding("lb-health-check", rel, "/loadBalancer/healthCheck/timeout",
                          f"timeout {hc.timeout} s is not less than interval {hc.interval} s; "
                          "ConfigureHealthCheck refuses it", f"use a timeout below {hc.interval}")
        if hc.port is not None and not 1 <= hc.port <= 65535:
            yield finding("lb-health-check", rel, "/loadBalancer/healthCheck/target",
                          f"port {hc.port} is outside 1-65535", "use the listener's instance port")


@rule("ref-load-balancer", ERROR, "the service's loadBalancerName is the environment's classic "
      "ELB (target groups belong to an ALB/NLB environment)",
      "use the ELB name from environment.json /loadBalancer")
def ref_load_balancer(ctx: Context) -> Iterator[Finding]:
    for view in behind(ctx, TYPES):  # behind an ALB/NLB: tg-reference (balancers/target_groups)
        for index, lb in lb_entries(view):
            here = f"/service/loadBalancers/{index}"
            if "targetGroupArn" in lb:
                yield finding("ref-load-balancer", view.rel, f"{here}/targetGroupArn",
                              "a target group belongs to an ALB/NLB; this environment uses the "
                              f"classic ELB {view.env.load_balancer.name!r}",
                              f"replace it with \"loadBalancerName\": "
                              f"\"{view.env.load_balancer.name}\"")
            elif "loadBalancerName" not in lb:
                yield finding("ref-load-balancer", view.rel, here,
                              "the load balancer entry names no load balancer",
                              f"add \"loadBalancerName\": \"{view.env.load_balancer.name}\"")
            elif lb["loadBalancerName"] != view.env.load_balancer.name and not is_opaque(
                    lb["loadBalancerName"]) and not is_opaque(view.env.load_balancer.name):
                yield finding("ref-load-balancer", view.rel, f"{here}/loadBalancerName",
                              f"load balancer {lb['loadBalancerName']!r} is not environment "
                              f"{view.env_name}'s ELB {view.env.load_balancer.name!r}",
                              f"use {view.env.load_balancer.name!r}")


@rule("timing-draining", WARNING, "connection draining is on when an ELB is attached (else "
      "in-flight requests are cut when old tasks stop)",
      "enable connectionDraining in environment.json /loadBalancer (300 s is the default)")
def timing_draining(ctx: Context) -> Iterator[Finding]:
    for view in behind(ctx, TYPES):
        if (view.spec.service.get("loadBalancers")
                and not view.env.load_balancer.draining_enabled):  # type: ignore[union-attr]
            yield finding("timing-draining", view.env_rel or view.rel,
                          "/loadBalancer/connectionDraining",
                          "connection draining is off: requests in flight on an old task are cut "
                          "when ECS deregisters it")


KIND = LoadBalancerKind(
    name="classic", env_types=TYPES, service_key="loadBalancerName",
    called="the classic ELB",
    label="a classic ELB (loadBalancerName)",
    rules=(lb_instance_port, lb_health_check_port, lb_grace_period, lb_health_check,
           ref_load_balancer, timing_draining),
    native_strategies=False, task_count_canary=True, updatable_in_place=False)
