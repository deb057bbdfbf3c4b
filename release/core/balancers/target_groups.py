"""ALB/NLB target groups, the second load-balancer kind: its rules and what it can do.

Why: a target group routes to (instance, port) or (IP, port) targets and calls
a target healthy after HealthyThresholdCount × HealthCheckIntervalSeconds; a
service must name one of its environment's target groups, whose target type
matches the task's network mode; a grace period that ends while a slow container
is still starting lets ECS replace it (a warning: tg-grace-period). Its effects
(health source, bootstrap, smoke base URL, preflight) are engine/balancers/target_groups.py.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from release.core.balancers.kind import LoadBalancerKind, behind
from release.core.config import TARGET_GROUP_KINDS, TargetGroup
from release.core.findings import ERROR, WARNING, Finding
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


def _target_group_views(ctx: Context) -> Iterator[tuple[ServiceView, int, dict[str, Any]]]:
    for view in behind(ctx, TARGET_GROUP_KINDS):
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


KIND = LoadBalancerKind(
    name="target_groups", env_types=TARGET_GROUP_KINDS, service_key="targetGroupArn",
    called="the target group",
    label="a target group (targetGroupArn)",
    rules=(tg_reference, tg_target_type, tg_grace_period, tg_health_check),
    native_strategies=True, task_count_canary=False, updatable_in_place=True)
