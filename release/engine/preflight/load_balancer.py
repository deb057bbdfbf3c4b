"""Preflight's load-balancer check: the classic ELB or each target group exists and fits the
container's port mapping.

Classic ELB: a listener must forward to the instance port the task binds (the mapping's
static hostPort: "Classic Load Balancers ... require static host port mappings", ECS
developer guide), over TCP (a classic ELB has no UDP), and its health check should probe
that port. Target groups (ALB/NLB): the target type fits the network mode ("ip" for awsvpc,
"instance" otherwise), the protocol fits the mapping's (UDP needs UDP or TCP_UDP), the group
is attached to a load balancer (ECS refuses one that is not: "The target group ... does not
have an associated load balancer"), and a fixed health-check port is the task's own.
Probing the health-check path on the live tasks is `probe.py`, off unless asked.
"""

from __future__ import annotations

from typing import Any

from release.core import preflight as pf
from release.core.rolling import host_port
from release.engine.preflight.context import Context, Denied, not_checked


def check(ctx: Context) -> list[pf.Result]:
    balancers = ctx.spec.service.get("loadBalancers") or []
    if not balancers:
        return [pf.placed("load-balancer", pf.OK, "load balancer",
                          "the service is behind no load balancer")]
    results = []
    for index, lb in enumerate(balancers):
        mapping = _mapping(ctx.taskdef, lb)
        if lb.get("loadBalancerName"):
            results.append(_classic(ctx, index, lb, mapping))
        elif lb.get("targetGroupArn"):
            results.append(_target_group(ctx, index, lb, mapping))
    if ctx.probe_health:
        from release.engine.preflight.probe import check as probe_health

        results += probe_health(ctx)
    return results


def _mapping(taskdef: dict[str, Any], lb: dict[str, Any]) -> dict[str, Any] | None:
    for container in taskdef.get("containerDefinitions") or []:
        if container.get("name") != lb.get("containerName"):
            continue
        for mapping in container.get("portMappings") or []:
            if mapping.get("containerPort") == lb.get("containerPort"):
                return dict(mapping)
    return None


def _no_mapping(ctx: Context, lb: dict[str, Any], resource: str, at: tuple[str, str]
                ) -> pf.Result:
    return pf.placed("load-balancer", pf.PROBLEM, resource,
                     f"container {lb.get('containerName')} has no port mapping for container "
                     f"port {lb.get('containerPort')}: ECS cannot register its tasks",
                     "add the mapping to the task definition or fix the loadBalancers entry",
                     at)


def _classic(ctx: Context, index: int, lb: dict[str, Any], mapping: dict[str, Any] | None
             ) -> pf.Result:
    name = str(lb["loadBalancerName"])
    resource = f"classic ELB {name}"
    at = ctx.origin.service("loadBalancers", index, "loadBalancerName")
    elb = ctx.client("elb")
    try:
        answer = ctx.call(elb, "describe_load_balancers", LoadBalancerNames=[name])
    except elb.exceptions.AccessPointNotFoundException:
        return pf.placed("load-balancer", pf.PROBLEM, resource,
                         f"classic ELB {name} does not exist in {ctx.env.region}",
                         f"`release bootstrap --env {ctx.env.name}` creates it, or fix "
                         "loadBalancerName", at)
    except Denied as exc:
        return not_checked("load-balancer", resource, exc, at)
    if mapping is None:
        return _no_mapping(ctx, lb, resource, at)
    described = answer["LoadBalancerDescriptions"][0]
    port = host_port(ctx.taskdef, mapping)
    if str(mapping.get("protocol", "tcp")).lower() == "udp":
        return pf.placed("load-balancer", pf.PROBLEM, resource, "the mapping is UDP; a "
                         "classic ELB forwards TCP only", "use an NLB target group for UDP", at)
    if not port:
        return pf.placed("load-balancer", pf.PROBLEM, resource,
                         f"container port {mapping.get('containerPort')} has no static host "
                         "port: a classic ELB forwards to one fixed instance port",
                         "set hostPort to the listener's instance port", at)
    listeners = [d["Listener"] for d in described.get("ListenerDescriptions", [])]
    if not any(int(listener["InstancePort"]) == port for listener in listeners):
        shown = ", ".join(f"{x['LoadBalancerPort']}→{x['InstancePort']}/{x['InstanceProtocol']}"
                          for x in listeners) or "none"
        return pf.placed("load-balancer", pf.PROBLEM, resource,
                         f"no listener of {name} forwards to instance port {port}, the host "
                         f"port of {lb.get('containerName')}:{mapping.get('containerPort')} "
                         f"(listeners: {shown})",
                         "add a listener to that instance port, or change the hostPort", at)
    target = str((described.get("HealthCheck") or {}).get("Target", ""))
    checked = _target_port(target)
    if checked is not None and checked != port:
        return pf.placed("load-balancer", pf.WARNING, resource,
                         f"the health check {target} probes port {checked}, but the tasks "
                         f"listen on host port {port}: they may never be InService",
                         f"point the health check at port {port}", at)
    return pf.placed("load-balancer", pf.OK, resource,
                     f"forwards to instance port {port} ({lb.get('containerName')}:"
                     f"{mapping.get('containerPort')}); health check {target}", "", at)


def _target_port(target: str) -> int | None:
    """`HTTP:80/path`, `TCP:80` → 80."""
    _, _, rest = target.partition(":")
    digits = rest.split("/", 1)[0]
    return int(digits) if digits.isdigit() else None


def _target_group(ctx: Context, index: int, lb: dict[str, Any],
                  mapping: dict[str, Any] | None) -> pf.Result:
    reference = str(lb["targetGroupArn"])
    resource = f"target group {reference.rsplit('/', 2)[-2] if '/' in reference else reference}"
    at = ctx.origin.service("loadBalancers", index, "targetGroupArn")
    elbv2 = ctx.client("elbv2")
    key = {"TargetGroupArns": [reference]} if reference.startswith("arn:") else \
        {"Names": [reference]}
    try:
        answer = ctx.call(elbv2, "describe_target_groups", **key)
    except elbv2.exceptions.TargetGroupNotFoundException:
        return pf.placed("load-balancer", pf.PROBLEM, resource,
                         f"{resource} does not exist in {ctx.env.region}",
                         f"`release bootstrap --env {ctx.env.name}` creates it, or fix "
                         "targetGroupArn", at)
    except Denied as exc:
        return not_checked("load-balancer", resource, exc, at)
    if mapping is None:
        return _no_mapping(ctx, lb, resource, at)
    group = answer["TargetGroups"][0]
    problem = _group_problem(ctx.taskdef, group, mapping)
    if problem:
        return pf.placed("load-balancer", pf.PROBLEM, resource, problem[0], problem[1], at)
    port = _registered_port(ctx.taskdef, mapping)
    checked = str(group.get("HealthCheckPort") or "traffic-port")
    if checked != "traffic-port" and port and checked != str(port):
        return pf.placed("load-balancer", pf.WARNING, resource,
                         f"its health check probes port {checked}, but targets register on "
                         f"port {port}", "set the health check port to traffic-port", at)
    return pf.placed("load-balancer", pf.OK, resource,
                     f"{group.get('Protocol')} {group.get('TargetType')} targets on port "
                     f"{port or 'chosen by ECS'}; attached to "
                     f"{len(group.get('LoadBalancerArns') or [])} load balancer(s)", "", at)


def _registered_port(taskdef: dict[str, Any], mapping: dict[str, Any]) -> int:
    """The port ECS registers a task's target with: the container port under awsvpc, the
    host port (0 when dynamic) otherwise."""
    if (taskdef.get("networkMode") or "bridge") == "awsvpc":
        return int(mapping.get("containerPort") or 0)
    return host_port(taskdef, mapping)


def _group_problem(taskdef: dict[str, Any], group: dict[str, Any], mapping: dict[str, Any]
                   ) -> tuple[str, str] | None:
    name = group.get("TargetGroupName")
    awsvpc = (taskdef.get("networkMode") or "bridge") == "awsvpc"
    wanted = "ip" if awsvpc else "instance"
    if group.get("TargetType") != wanted:
        return (f"target group {name} has target type {group.get('TargetType')}, but "
                f"{taskdef.get('networkMode') or 'bridge'} tasks register as {wanted} targets",
                f"use a target group of target type {wanted}")
    if not group.get("LoadBalancerArns"):
        return (f"target group {name} is attached to no load balancer: ECS refuses it",
                "add a listener (or rule) forwarding to it")
    udp = str(mapping.get("protocol", "tcp")).lower() == "udp"
    protocol = str(group.get("Protocol", ""))
    if udp and protocol not in ("UDP", "TCP_UDP"):
        return (f"the mapping is UDP, but target group {name} is {protocol}",
                "use a UDP or TCP_UDP target group")
    if not udp and protocol == "UDP":
        return (f"the mapping is TCP, but target group {name} is UDP",
                "use a target group of the mapping's protocol")
    return None
