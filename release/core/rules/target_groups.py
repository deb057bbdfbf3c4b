"""ALB/NLB target groups, awsvpc and Fargate: the service reaches its target group, and runs.

Why: a target group routes to (instance, port) or (IP, port) targets and calls
a target healthy after HealthyThresholdCount × HealthCheckIntervalSeconds; a
task definition whose network mode does not match the target type, a Fargate
task without awsvpc or with a CPU/memory pair Fargate does not offer fails at
CreateService or RegisterTaskDefinition; a grace period that ends while a slow
container is still starting lets ECS replace it (a warning: tg-grace-period).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from release.core.config import TargetGroup
from release.core.findings import ERROR, WARNING, Finding
from release.core.rolling import parse_cpu, parse_memory
from release.core.rules.base import (
    Context,
    ServiceView,
    effective_taskdef,
    finding,
    lb_entries,
    rule,
)
from release.core.rules.load_balancer import grace_pointer, uncovered_message, uncovered_start
from release.core.template_checks import is_opaque

# Valid task-level CPU units → memory (MiB) on Fargate. ECS developer guide, "Troubleshoot
# Amazon ECS task definition invalid CPU or memory errors": "For task definitions that specify
# FARGATE for the requiresCompatibilities parameter (even if EC2 is also specified), you must
# use one of the values in the following table": 256 (.25 vCPU) with 512, 1024 or 2048; 512
# with 1024 to 4096; 1024 with 2048 to 8192; 2048 with 4096 to 16384; 4096 with 8192 to 30720,
# each in 1024 increments; 8192 with 16 GB to 60 GB in 4 GB increments and 16384 with 32 GB to
# 120 GB in 8 GB increments ("This option requires Linux platform 1.4.0 or later").
FARGATE_SIZES: dict[int, tuple[int, ...]] = {
    256: (512, 1024, 2048),
    512: tuple(range(1024, 4097, 1024)),
    1024: tuple(range(2048, 8193, 1024)),
    2048: tuple(range(4096, 16385, 1024)),
    4096: tuple(range(8192, 30721, 1024)),
    8192: tuple(range(16384, 61441, 4096)),
    16384: tuple(range(32768, 122881, 8192)),
}


def on_fargate(view: ServiceView, taskdef: dict[str, Any]) -> bool:
    """The service launches on Fargate (launchType, or a FARGATE capacity provider), or the
    task definition asks for FARGATE compatibility."""
    service = view.spec.service
    providers = [p.get("capacityProvider", "") for p in
                 service.get("capacityProviderStrategy") or []]
    return (service.get("launchType") == "FARGATE"
            or any(str(p).startswith("FARGATE") for p in providers)
            or "FARGATE" in (taskdef.get("requiresCompatibilities") or []))


def _target_group_views(ctx: Context) -> Iterator[tuple[ServiceView, int, dict[str, Any]]]:
    for view in ctx.services:
        if view.env is None or view.env.load_balancer.classic:
            continue
        for index, lb in lb_entries(view):
            yield view, index, lb


def _attached_groups(ctx: Context) -> Iterator[tuple[ServiceView, int, TargetGroup]]:
    """Each loadBalancers entry that names one of its environment's target groups."""
    for view, index, lb in _target_group_views(ctx):
        group = view.env.load_balancer.target_group(lb.get("targetGroupArn", ""))  # type: ignore[union-attr]
        if group is not None:
            yield view, index, group


@rule("tg-reference", ERROR, "behind an ALB/NLB each loadBalancers entry names one of the "
      "environment's target groups (targetGroupArn, and a blue/green entry's "
      "alternateTargetGroupArn: its name or ARN), not a classic ELB",
      "use \"targetGroupArn\": \"<a name from environment.json /loadBalancer/targetGroups>\"")
def tg_reference(ctx: Context) -> Iterator[Finding]:
    for view, index, lb in _target_group_views(ctx):
        lbs = view.env.load_balancer  # type: ignore[union-attr]
        names = [tg.name for tg in lbs.target_groups]
        here = f"/service/loadBalancers/{index}"
        if "targetGroupArn" not in lb:
            yield finding("tg-reference", view.rel, here,
                          f"environment {view.env_name}'s load balancer is the {lbs.kind} load "
                          f"balancer {lbs.name!r}: a service attaches one of its target groups",
                          f"use \"targetGroupArn\": \"{names[0] if names else 'NAME'}\" instead "
                          "of loadBalancerName")
        elif lbs.target_group(lb["targetGroupArn"]) is None and not is_opaque(
                lb["targetGroupArn"]):  # a value from outside git: not known offline
            yield finding("tg-reference", view.rel, f"{here}/targetGroupArn",
                          f"target group {lb['targetGroupArn']!r} is not one of environment "
                          f"{view.env_name}'s ({', '.join(names) or 'none'})",
                          f"use one of: {', '.join(names)}")
        alternate = (lb.get("advancedConfiguration") or {}).get("alternateTargetGroupArn")
        if isinstance(alternate, str) and lbs.target_group(alternate) is None \
                and not is_opaque(alternate):
            yield finding("tg-reference", view.rel,
                          f"{here}/advancedConfiguration/alternateTargetGroupArn",
                          f"alternate target group {alternate!r} is not one of environment "
                          f"{view.env_name}'s ({', '.join(names) or 'none'})",
                          f"use one of: {', '.join(names)} (add the green target group to "
                          "environment.json /loadBalancer/targetGroups)")


@rule("tg-target-type", ERROR, "the target group's targetType fits the task's networkMode: "
      "awsvpc (and so Fargate) needs ip, bridge and host need instance",
      "set targetType in environment.json /loadBalancer/targetGroups, or change networkMode")
def tg_target_type(ctx: Context) -> Iterator[Finding]:
    for view, index, group in _attached_groups(ctx):
        if view.taskdef is None:
            continue
        mode = view.taskdef.get("networkMode", "bridge")
        wanted = "ip" if mode == "awsvpc" else "instance"
        if group.target_type != wanted:
            at = view.env.load_balancer.target_groups.index(group)  # type: ignore[union-attr]
            yield finding("tg-target-type", view.env_rel or view.rel,
                          f"/loadBalancer/targetGroups/{at}/targetType",
                          f"target group {group.name!r} has target type {group.target_type!r} "
                          f"but {view.taskdef_rel} uses networkMode {mode!r} ({view.rel}, "
                          f"loadBalancers/{index}): ECS registers "
                          + ("each task's IP address" if wanted == "ip"
                             else "the container instance and host port"),
                          f"set \"targetType\": \"{wanted}\"")


@rule("tg-grace-period", WARNING, "behind a target group, when the load-balanced container may "
      "take longer to start (its healthCheck.startPeriod) than the target group needs to call "
      "it unhealthy (UnhealthyThresholdCount × interval), healthCheckGracePeriodSeconds lasts "
      "until it can be healthy again (startPeriod + HealthyThresholdCount × interval); else "
      "ECS may replace tasks that are still starting. Grace 0 is valid (ECS's default)",
      "raise healthCheckGracePeriodSeconds to startPeriod + HealthyThresholdCount × interval, "
      "or lower startPeriod to what the app needs")
def tg_grace_period(ctx: Context) -> Iterator[Finding]:
    """ECS ignores *unhealthy* target group checks during the grace period ("the Amazon ECS
    service scheduler ignores unhealthy Elastic Load Balancing, VPC Lattice, and container
    health checks after a task has first started", CreateService; "If you do not specify a
    health check grace period value, the default value of 0 is used") and replaces tasks
    "determined to be unhealthy after ... a load balancer target group health check fails"
    (developer guide, Amazon ECS services). A target in its first checks is `initial`
    ("The load balancer is still sending the target the minimum number of health checks
    required to determine its health status", TargetHealth), not unhealthy: a grace
    period shorter than HealthyThresholdCount × interval is no error. The judgement and
    the documentation behind it: load_balancer.uncovered_start."""
    for view, index, group in _attached_groups(ctx):
        if view.taskdef is None:
            continue
        lb = view.spec.service["loadBalancers"][index]
        hc = group.health_check
        found = uncovered_start(view, effective_taskdef(view), lb.get("containerName", ""), hc)
        if found is not None:
            yield finding("tg-grace-period", view.rel, grace_pointer(view),
                          uncovered_message(found, view, f"target group {group.name!r} "
                                            f"({view.env_rel})", hc),
                          f"set \"healthCheckGracePeriodSeconds\": {found.needed} (or more), "
                          "or a shorter startPeriod if the app starts sooner")


@rule("tg-health-check", ERROR, "each target group's health check timeout is less than its "
      "interval (CreateTargetGroup refuses it otherwise)",
      "lower timeoutSeconds below intervalSeconds")
def tg_health_check(ctx: Context) -> Iterator[Finding]:
    for _, (rel, env) in ctx.environments.items():
        for index, group in enumerate(env.load_balancer.target_groups):
            hc = group.health_check
            if hc.timeout >= hc.interval:
                yield finding("tg-health-check", rel,
                              f"/loadBalancer/targetGroups/{index}/healthCheck/timeoutSeconds",
                              f"timeout {hc.timeout} s is not less than interval {hc.interval} s "
                              f"in target group {group.name!r}",
                              f"use a timeout below {hc.interval}")


@rule("awsvpc-network-configuration", ERROR, "a service whose task definition uses networkMode "
      "awsvpc has networkConfiguration.awsvpcConfiguration (its subnets)",
      "add \"networkConfiguration\": {\"awsvpcConfiguration\": {\"subnets\": [...], "
      "\"securityGroups\": [...]}} to the service")
def awsvpc_network_configuration(ctx: Context) -> Iterator[Finding]:
    for view in ctx.services:
        if view.taskdef is None or view.taskdef.get("networkMode") != "awsvpc":
            continue
        if not (view.spec.service.get("networkConfiguration") or {}).get("awsvpcConfiguration"):
            yield finding("awsvpc-network-configuration", view.rel, "/service",
                          f"{view.taskdef_rel} uses networkMode awsvpc: each task gets its own "
                          "network interface, and CreateService needs its subnets")


@rule("fargate-network-mode", ERROR, "a Fargate service's task definition uses networkMode "
      "awsvpc (the only mode Fargate supports)", "set \"networkMode\": \"awsvpc\"")
def fargate_network_mode(ctx: Context) -> Iterator[Finding]:
    for view in ctx.services:
        if view.taskdef is None or not on_fargate(view, view.taskdef):
            continue
        mode = view.taskdef.get("networkMode", "bridge")
        if mode != "awsvpc":
            yield finding("fargate-network-mode", view.taskdef_rel, "/networkMode",
                          f"{view.rel} runs on Fargate, which supports only networkMode awsvpc, "
                          f"not {mode!r}")


@rule("fargate-task-size", ERROR, "a Fargate task definition sets task-level cpu and memory to "
      "one of the pairs Fargate offers (256 with 512-2048 MiB, 512 with 1024-4096, 1024 with "
      "2048-8192, 2048 with 4096-16384, 4096 with 8192-30720, ...)",
      "set task-level \"cpu\" and \"memory\" to a valid Fargate pair")
def fargate_task_size(ctx: Context) -> Iterator[Finding]:
    for view in ctx.services:
        if view.taskdef is None or not on_fargate(view, view.taskdef):
            continue
        taskdef = effective_taskdef(view)
        cpu = parse_cpu(taskdef["cpu"]) if "cpu" in taskdef else None
        memory = parse_memory(taskdef["memory"]) if "memory" in taskdef else None
        if cpu is None or memory is None:
            missing = " and ".join(w for w, v in (("cpu", cpu), ("memory", memory)) if v is None)
            yield finding("fargate-task-size", view.taskdef_rel, "",
                          f"{view.rel} runs on Fargate, which needs task-level {missing}",
                          "add e.g. \"cpu\": \"256\", \"memory\": \"512\" at the top level")
        elif memory not in FARGATE_SIZES.get(cpu, ()):
            offered = FARGATE_SIZES.get(cpu)
            choices = (f"with cpu {cpu}: memory {offered[0]} to {offered[-1]} MiB"
                       + (f" in steps of {offered[1] - offered[0]}" if len(offered) > 3 else
                          f" ({', '.join(map(str, offered))})") if offered else
                       f"cpu must be one of {', '.join(map(str, FARGATE_SIZES))}")
            yield finding("fargate-task-size", view.taskdef_rel, "/memory" if offered else "/cpu",
                          f"cpu {cpu} with memory {memory} MiB is not a Fargate task size "
                          f"({view.rel} runs on Fargate): {choices}")


CHECKS = (tg_reference, tg_target_type, tg_grace_period, tg_health_check,
          awsvpc_network_configuration, fargate_network_mode, fargate_task_size)
