"""The canary (`release.canary`): a second service on the same classic ELB that can place.

Why: the canary is `<serviceName>-canary`, N tasks of the new revision registered
with the service's classic ELB. With a static host port (what a classic ELB needs)
each of its tasks holds an instance of its own while the service runs beside it and
then rolls, so the instances must hold desiredCount + N tasks and still leave the
service's rolling update a first move; a canary of all the tasks is a release, not a
canary; the name must be free. Target groups have ECS's own canary strategy instead.
"""

from __future__ import annotations

import math
from collections.abc import Iterator

from release.core import canary as canaries
from release.core import rolling
from release.core.findings import ERROR, WARNING, Finding
from release.core.rules.base import Context, ServiceView, finding, rule, with_taskdef

POINTER = "/release/canary"
MAX_SERVICE_NAME = 255  # CreateService serviceName: "Up to 255 letters ..."


def _with_canary(ctx: Context) -> Iterator[tuple[ServiceView, canaries.Canary]]:
    for view in ctx.services:
        canary = canaries.canary_of(view.spec)
        if canary is not None:
            yield view, canary


@rule("canary-classic-elb", ERROR, "release.canary needs the service behind a classic ELB "
      "(loadBalancerName): the canary is a second service registered with the same ELB",
      "put the service behind the environment's classic ELB, or with an ALB/NLB target group "
      "use ECS's own canary (deploymentConfiguration.strategy) and remove release.canary")
def canary_classic_elb(ctx: Context) -> Iterator[Finding]:
    for view, _ in _with_canary(ctx):
        from release.core import balancers  # here: see strategies._kind_of

        kinds = balancers.of_entries(view.spec.service.get("loadBalancers"))
        if not any(k.task_count_canary for k in kinds):
            kind = kinds[0].label if kinds else "no load balancer"
            yield finding("canary-classic-elb", view.rel, POINTER,
                          f"release.canary splits a classic ELB's traffic by task count, but "
                          f"{view.spec.service_name} is behind {kind}")


@rule("canary-count", ERROR, "release.canary.count is less than desiredCount (a canary is a part "
      "of the traffic)", "lower release.canary.count, or release without a canary")
def canary_count(ctx: Context) -> Iterator[Finding]:
    for view, canary in _with_canary(ctx):
        if canary.count >= view.spec.desired_count:
            yield finding("canary-count", view.rel, f"{POINTER}/count",
                          f"a canary of {canary.count} task(s) for a service of desiredCount "
                          f"{view.spec.desired_count} would take "
                          f"{canary.count}/{canary.count + view.spec.desired_count} of the "
                          "traffic or more: that is a release, not a canary")


@rule("canary-capacity", ERROR, "the instances hold the service and its canary (one task per "
      "instance per static host port), and the service's rolling update can still start while "
      "the canary holds its instances", "add instances (environment.json /instances/count) or "
      "lower release.canary.count")
def canary_capacity(ctx: Context) -> Iterator[Finding]:
    for view, taskdef in with_taskdef(ctx):
        canary = canaries.canary_of(view.spec)
        if canary is None or view.env is None:
            continue
        problem = _capacity_problem(view, canary, taskdef)
        if problem:
            yield finding("canary-capacity", view.rel, f"{POINTER}/count", problem)


def _capacity_problem(view: ServiceView, canary: canaries.Canary, taskdef: dict) -> str:
    """Why the canary or the rolling update beside it cannot place ("" when both can)."""
    assert view.env is not None
    spec, env = view.spec, view.env
    per = rolling.tasks_per_instance(env.instance_type, taskdef)
    if per is None or per <= 0 or spec.desired_count > env.instance_count * per:
        return ""  # unbounded, or deploy-capacity already says the service alone does not fit
    why = (" (a static host port allows one task per instance)"
           if rolling.static_host_ports(taskdef) else "")
    capacity = env.instance_count * per
    if spec.desired_count + canary.count > capacity:
        return (f"desiredCount {spec.desired_count} + a canary of {canary.count} need "
                f"{spec.desired_count + canary.count} task slot(s), but the "
                f"{env.instance_count} instance(s) of environment {view.env_name} hold "
                f"{capacity}{why}: ECS could not place the canary")
    held = math.ceil(canary.count / per)
    plan = rolling.rolling_plan(spec.desired_count, spec.minimum_healthy_percent,
                                spec.maximum_percent, env.instance_count - held, per)
    if plan.stuck:
        return (f"while the canary holds {held} of the {env.instance_count} instance(s), a "
                f"rolling update of {spec.desired_count} task(s) with minimumHealthyPercent "
                f"{spec.minimum_healthy_percent} and maximumPercent {spec.maximum_percent} "
                f"cannot start{why}: add an instance or lower minimumHealthyPercent")
    return ""


@rule("canary-name", ERROR, "the canary's service name (<serviceName>-canary) is a valid ECS "
      "service name that no other service of the environment uses",
      "rename the other service, or shorten serviceName")
def canary_name(ctx: Context) -> Iterator[Finding]:
    for view, _ in _with_canary(ctx):
        name = canaries.canary_name(view.spec)
        if len(name) > MAX_SERVICE_NAME:
            yield finding("canary-name", view.rel, "/service/serviceName",
                          f"the canary's name {name[:40]}… has {len(name)} characters; ECS "
                          f"allows {MAX_SERVICE_NAME}")
        for other in ctx.services:
            if other.env_name == view.env_name and other.spec.service_name == name:
                yield finding("canary-name", view.rel, "/service/serviceName",
                              f"the canary {name} would be the service of {other.rel}: a "
                              "release would take it over and delete it")


@rule("canary-bake", WARNING, "a canary with bakeMinutes 0 and no alarms (release.bake.alarms) is "
      "promoted as soon as its tasks serve", "set release.canary.bakeMinutes, or alarms in "
      "release.bake.alarms")
def canary_bake(ctx: Context) -> Iterator[Finding]:
    for view, canary in _with_canary(ctx):
        if canary.bake_minutes <= 0 and not canary.alarms:
            yield finding("canary-bake", view.rel, f"{POINTER}/bakeMinutes",
                          "bakeMinutes 0 and no alarms: nothing watches the canary once it "
                          "serves; the service is released right away")


CHECKS = (canary_classic_elb, canary_count, canary_capacity, canary_name, canary_bake)
