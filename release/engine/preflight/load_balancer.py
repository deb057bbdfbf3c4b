"""Preflight's load-balancer check: what each loadBalancers entry names exists and fits the
container's port mapping, checked by the entry's kind (engine/balancers/<kind>.py `preflight`).

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
from release.engine import balancers as kinds
from release.engine.preflight.context import Context


def check(ctx: Context) -> list[pf.Result]:
    balancers = ctx.spec.service.get("loadBalancers") or []
    if not balancers:
        return [pf.placed("load-balancer", pf.OK, "load balancer",
                          "the service is behind no load balancer")]
    results = []
    for index, lb in enumerate(balancers):
        kind = kinds.of_entry(lb)  # each kind's own check: engine/balancers/<kind>.py
        if kind is not None:
            results.append(kind.preflight(ctx, index, lb, _mapping(ctx.taskdef, lb)))
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
