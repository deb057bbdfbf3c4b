"""Optional part of the load-balancer check: the health-check path answers on the live tasks.

Off by default (and in CI: the release's machine rarely reaches the tasks' private
addresses); `release preflight --probe-health` turns it on. Each RUNNING task of the service
is asked `GET <path>` where the load balancer would ask it: the instance's private address
and the task's host port (bridge, host), or the task's own address and container port
(awsvpc). The path is the classic ELB's health check target (`HTTP:80/api/healthcheck`) or
the target group's HealthCheckPath. An answer below 400 is ok; another is a warning (the
live revision, not the one about to run, answered it); no answer is "not checked".
"""

from __future__ import annotations

import urllib.error
import urllib.request
from typing import Any

from release.core import preflight as pf
from release.core.deployments import short
from release.engine.preflight.context import Context

TIMEOUT_SECONDS = 2.0


def check(ctx: Context) -> list[pf.Result]:
    lb = next(iter(ctx.spec.service.get("loadBalancers") or []), {})
    path = _path(ctx, lb)
    if path is None:
        return [pf.placed("load-balancer", pf.NOT_CHECKED, "health probe", "not checked: the "
                          "health check is not HTTP (no path to ask)")]
    addresses = _addresses(ctx, lb)
    if not addresses:
        return [pf.placed("load-balancer", pf.OK, "health probe", "no live task to probe")]
    return [_probe(task, address, path) for task, address in addresses]


def _path(ctx: Context, lb: dict[str, Any]) -> str | None:
    from release.engine import balancers

    kind = balancers.of_entry(lb)
    return None if kind is None else kind.health_check_path(ctx, lb)


def _addresses(ctx: Context, lb: dict[str, Any]) -> list[tuple[str, str]]:
    """(task id, host:port) of each RUNNING task of the service."""
    ecs = ctx.client("ecs")
    arns = ctx.call(ecs, "list_tasks", cluster=ctx.env.cluster,
                    serviceName=ctx.spec.service_name).get("taskArns", [])
    if not arns:
        return []
    tasks = ctx.call(ecs, "describe_tasks", cluster=ctx.env.cluster, tasks=arns[:100])["tasks"]
    instances = sorted({t["containerInstanceArn"] for t in tasks if t.get("containerInstanceArn")})
    hosts: dict[str, str] = {}
    if instances:
        described = ctx.call(ecs, "describe_container_instances", cluster=ctx.env.cluster,
                             containerInstances=instances)["containerInstances"]
        ec2_ids = {c["containerInstanceArn"]: c["ec2InstanceId"] for c in described}
        reservations = ctx.call(ctx.client("ec2"), "describe_instances",
                                InstanceIds=sorted(set(ec2_ids.values())))["Reservations"]
        ips = {i["InstanceId"]: i.get("PrivateIpAddress", "") for r in reservations
               for i in r["Instances"]}
        hosts = {arn: ips.get(ec2, "") for arn, ec2 in ec2_ids.items()}
    found = []
    for task in tasks:
        if task.get("lastStatus") != "RUNNING":
            continue
        address = _address(task, hosts, lb)
        if address:
            found.append((short(task["taskArn"]), address))
    return found


def _address(task: dict[str, Any], hosts: dict[str, str], lb: dict[str, Any]) -> str | None:
    for container in task.get("containers", []):
        if container.get("name") != lb.get("containerName"):
            continue
        for binding in container.get("networkBindings") or []:
            if binding.get("containerPort") == lb.get("containerPort") and \
                    hosts.get(task.get("containerInstanceArn", "")):
                return f"{hosts[task['containerInstanceArn']]}:{binding['hostPort']}"
        for interface in container.get("networkInterfaces") or []:
            if interface.get("privateIpv4Address"):
                return f"{interface['privateIpv4Address']}:{lb.get('containerPort')}"
    return None


def _probe(task: str, address: str, path: str) -> pf.Result:
    url = f"http://{address}{path}"
    resource = f"task {task}"
    try:
        with urllib.request.urlopen(url, timeout=TIMEOUT_SECONDS) as answer:  # noqa: S310
            status = answer.status
    except urllib.error.HTTPError as exc:
        status = exc.code
    except (urllib.error.URLError, OSError) as exc:
        return pf.placed("load-balancer", pf.NOT_CHECKED, resource,
                         f"not checked: GET {url} got no answer ({getattr(exc, 'reason', exc)})")
    if status < 400:
        return pf.placed("load-balancer", pf.OK, resource, f"GET {url} answered {status}")
    return pf.placed("load-balancer", pf.WARNING, resource,
                     f"GET {url} answered {status}: the live revision fails its health check",
                     "look at the task's logs (`release logs`)")
