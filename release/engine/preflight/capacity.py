"""Preflight's capacity check: the release's first wave can be placed.

EC2: the ACTIVE container instances' remainingResources (DescribeContainerInstances: CPU
units, MiB, and the host ports in use) and where the service's old tasks run (ListTasks,
DescribeTasks) go through the rolling plan's arithmetic (core/rolling.first_wave): how
many new tasks ECS can start beside the old ones (maximumPercent) or after stopping those
minimumHealthyPercent lets it stop. None → the release would wait for ever ("unable to
place a task"), so it is refused before it starts; while a deployment of the service is
under way (tasks starting and draining) the room is not known: "not checked". A capacity
provider strategy: every provider is the cluster's (DescribeClusters) and ACTIVE
(DescribeCapacityProviders; the reserved FARGATE and FARGATE_SPOT are every account's), and
its Auto Scaling group, not the instances registered now, bounds the room. Fargate places
each task on its own.
"""

from __future__ import annotations

from typing import Any

from release.core import preflight as pf
from release.core.deployments import in_progress, short
from release.core.rolling import Need, Room, Wave, first_wave, need_of, on_instances
from release.engine.preflight.context import Context, Denied, not_checked

FARGATE_PROVIDERS = ("FARGATE", "FARGATE_SPOT")
PER_CALL = 100  # DescribeContainerInstances and DescribeTasks: at most 100 a call


def check(ctx: Context) -> list[pf.Result]:
    strategy = ctx.spec.service.get("capacityProviderStrategy") or []
    if strategy:
        return _providers(ctx, strategy)
    launch = ctx.spec.service.get("launchType")
    if launch == "EXTERNAL":
        return [pf.placed("capacity", pf.OK, "ECS Anywhere", "external instances: their room "
                          "is not reported to check", "", ctx.origin.service("launchType"))]
    if not on_instances(ctx.taskdef, launch):
        return [pf.placed("capacity", pf.OK, "Fargate", "Fargate places each task: no "
                          "container instance to check", "",
                          ctx.origin.service("launchType"))]
    return [_instances(ctx)]


# ------------------------------------------------------------------------------ providers


def _providers(ctx: Context, strategy: list[dict[str, Any]]) -> list[pf.Result]:
    ecs = ctx.client("ecs")
    answer = ctx.call(ecs, "describe_clusters", clusters=[ctx.env.cluster])
    cluster = next(iter(answer.get("clusters") or []), {})
    known = list(cluster.get("capacityProviders") or [])
    results = []
    custom = [i["capacityProvider"] for i in strategy
              if i["capacityProvider"] in known and i["capacityProvider"] not in
              FARGATE_PROVIDERS]
    described = _describe_providers(ctx, custom) if custom else {}
    for index, item in enumerate(strategy):
        name = item["capacityProvider"]
        at = ctx.origin.service("capacityProviderStrategy", index, "capacityProvider")
        resource = f"capacity provider {name}"
        if name not in known:
            results.append(pf.placed(
                "capacity", pf.PROBLEM, resource,
                f"cluster {ctx.env.cluster!r} has no capacity provider {name!r} (its "
                f"providers: {', '.join(known) or 'none'})",
                "associate it with PutClusterCapacityProviders (or your infrastructure code), "
                "or use one of those", at))
        elif name in FARGATE_PROVIDERS:
            results.append(pf.placed("capacity", pf.OK, resource, "the cluster's; Fargate "
                                     "places each task", "", at))
        elif isinstance(described, Denied):
            results.append(not_checked("capacity", resource, described, at))
        else:
            results.append(_provider(resource, described.get(name), at))
    return results


def _describe_providers(ctx: Context, names: list[str]) -> dict[str, Any] | Denied:
    try:
        answer = ctx.call(ctx.client("ecs"), "describe_capacity_providers",
                          capacityProviders=names)
    except Denied as exc:
        return exc
    return {p["name"]: p for p in answer.get("capacityProviders", [])}


def _provider(resource: str, provider: dict[str, Any] | None, at: tuple[str, str]
              ) -> pf.Result:
    if provider is None:
        return pf.placed("capacity", pf.PROBLEM, resource, f"{resource} does not exist",
                         "create it, or fix the strategy", at)
    if provider.get("status") != "ACTIVE":
        return pf.placed("capacity", pf.PROBLEM, resource, f"{resource} is "
                         f"{provider.get('status')} ({provider.get('updateStatus', '')})",
                         "use an ACTIVE capacity provider", at)
    group = provider.get("autoScalingGroupProvider") or {}
    scaling = (group.get("managedScaling") or {}).get("status", "DISABLED")
    return pf.placed("capacity", pf.OK, resource, f"ACTIVE (Auto Scaling group "
                     f"{short(group.get('autoScalingGroupArn'))}, managed scaling {scaling})",
                     "", at)


# ------------------------------------------------------------------------------ instances


def _instances(ctx: Context) -> pf.Result:
    env, spec = ctx.env, ctx.spec
    resource = f"cluster {env.cluster}"
    at = ctx.origin.service("deploymentConfiguration")
    going = in_progress(ctx.live.service)
    if going is not None:  # tasks starting, draining, stopping: their room is not known yet
        return pf.placed("capacity", pf.NOT_CHECKED, resource, "not checked: deployment "
                         f"{going.get('id')} of the service is under way, so the room its "
                         "tasks will leave is not known yet", "", at)
    rooms, names = _rooms(ctx)
    if not rooms:
        return pf.placed("capacity", pf.PROBLEM, resource,
                         f"cluster {env.cluster} has no ACTIVE container instance: no task can "
                         "be placed", f"start container instances (`release bootstrap --env "
                         f"{env.name}`) or run on Fargate", at)
    new = need_of(ctx.taskdef)
    old = _old_tasks(ctx, names)
    desired = ctx.desired if ctx.desired is not None else int(spec.service.get(
        "desiredCount", (ctx.live.service or {}).get("desiredCount", 1)))
    wave = first_wave(rooms, old, new, desired, spec.minimum_healthy_percent,
                      spec.maximum_percent)
    where = (f"{len(rooms)} ACTIVE instance(s), {len(old)} old task(s); maximumPercent "
             f"{spec.maximum_percent} lets ECS start {wave.can_start} beside them, "
             f"minimumHealthyPercent {spec.minimum_healthy_percent} stop {wave.can_stop} first")
    if wave.stuck:
        return pf.placed("capacity", pf.PROBLEM, resource,
                         f"no new task can be placed: {_shortfalls(wave, new)} ({where}); the "
                         "release would wait until its budget runs out",
                         _fix(wave, new, desired), _place(ctx, wave, at))
    if wave.all_fit < desired:
        return pf.placed("capacity", pf.PROBLEM, resource,
                         f"the instances hold {wave.all_fit} of the {desired} new tasks even "
                         f"once the old ones stop ({_size(new)} each)",
                         _fix(wave, new, desired), _place(ctx, wave, at))
    return pf.placed("capacity", pf.OK, resource,
                     f"the first wave places {wave.placed} of {desired} new task(s) ({where}); "
                     f"all {desired} fit once the old ones stop", "", at)


def _rooms(ctx: Context) -> tuple[list[Room], dict[str, str]]:
    """The ACTIVE instances' room, and container instance ARN → the name shown."""
    ecs = ctx.client("ecs")
    arns: list[str] = []
    token = None
    while True:
        params: dict[str, Any] = {"cluster": ctx.env.cluster, "status": "ACTIVE"}
        if token:
            params["nextToken"] = token
        answer = ctx.call(ecs, "list_container_instances", **params)
        arns += answer.get("containerInstanceArns", [])
        token = answer.get("nextToken")
        if not token:
            break
    rooms, names = [], {}
    for start in range(0, len(arns), PER_CALL):
        answer = ctx.call(ecs, "describe_container_instances", cluster=ctx.env.cluster,
                          containerInstances=arns[start:start + PER_CALL])
        for instance in answer.get("containerInstances", []):
            name = str(instance.get("ec2InstanceId") or short(instance["containerInstanceArn"]))
            names[instance["containerInstanceArn"]] = name
            rooms.append(_room(name, instance.get("remainingResources") or []))
    return rooms, names


def _room(name: str, remaining: list[dict[str, Any]]) -> Room:
    values = {r.get("name"): r for r in remaining}

    def number(key: str) -> int:
        return int((values.get(key) or {}).get("integerValue") or 0)

    ports = {str(p) for p in (values.get("PORTS") or {}).get("stringSetValue") or []}
    ports |= {f"{p}/udp" for p in (values.get("PORTS_UDP") or {}).get("stringSetValue") or []}
    return Room(name, number("CPU"), number("MEMORY"), frozenset(ports))


def _old_tasks(ctx: Context, names: dict[str, str]) -> list[tuple[str, Need]]:
    """(instance, Need) of each task of the service holding room now."""
    service = ctx.live.service or {}
    if not service or not (service.get("runningCount") or service.get("pendingCount")):
        return []
    ecs = ctx.client("ecs")
    arns: list[str] = []
    token = None
    while True:  # ListTasks: at most 100 a page
        params: dict[str, Any] = {"cluster": ctx.env.cluster,
                                  "serviceName": ctx.spec.service_name}
        if token:
            params["nextToken"] = token
        answer = ctx.call(ecs, "list_tasks", **params)
        arns += answer.get("taskArns", [])
        token = answer.get("nextToken")
        if not token:
            break
    need = need_of(ctx.live.taskdef) if ctx.live.taskdef else need_of(ctx.taskdef)
    old = []
    for start in range(0, len(arns), PER_CALL):
        answer = ctx.call(ecs, "describe_tasks", cluster=ctx.env.cluster,
                          tasks=arns[start:start + PER_CALL])
        for task in answer.get("tasks", []):
            host = names.get(str(task.get("containerInstanceArn")))
            if host and task.get("lastStatus") != "STOPPED":
                old.append((host, need))
    return old


def _size(need: Need) -> str:
    ports = f", host port(s) {', '.join(sorted(need.ports))}" if need.ports else ""
    return f"{need.cpu} CPU units, {need.memory} MiB{ports}"


def _shortfalls(wave: Wave, new: Need) -> str:
    parts = [f"{name} lacks {'/'.join(what)}" for name, what in wave.lacking.items()]
    return f"each task needs {_size(new)}; " + ("; ".join(parts) or "no instance has room")


def _fix(wave: Wave, new: Need, desired: int) -> str:
    binding = wave.binding
    fixes = []
    if "PORTS" in binding:
        fixes.append("lower minimumHealthyPercent so ECS may stop an old task first (or "
                     "raise maximumPercent with a spare instance), add an instance, or use "
                     "dynamic host ports (hostPort 0, behind target groups)")
    if "MEMORY" in binding:
        most = max((r.memory for r in wave.rooms), default=0)
        fixes.append(f"no instance has {new.memory} MiB free (the most: {most} MiB, once ECS "
                     "stopped what it may): add instances or a larger type, or lower the "
                     "task's memory")
    if "CPU" in binding:
        most = max((r.cpu for r in wave.rooms), default=0)
        fixes.append(f"no instance has {new.cpu} CPU units free (the most: {most}): add "
                     "instances or lower the task's cpu")
    return "; ".join(fixes) or f"add instances so that {desired} tasks fit"


def _place(ctx: Context, wave: Wave, at: tuple[str, str]) -> tuple[str, str]:
    """The document to change: the task's size when memory or CPU is what binds, else the
    service's deploymentConfiguration."""
    binding = wave.binding
    if "PORTS" not in binding and binding & {"MEMORY", "CPU"}:
        return ctx.origin.size("memory" if "MEMORY" in binding else "cpu")
    return at
