"""ECS-native deployment strategies (BLUE_GREEN, LINEAR, CANARY): where they work, what they need.

Why: ECS shifts traffic between the blue and green revisions through listener
rules of an ALB or NLB, or Service Connect ("Your service uses an Application
Load Balancer, Network Load Balancer, or Service Connect", ECS developer guide,
"Required resources for Amazon ECS blue/green deployments"); a classic ELB has
no listener rules or target groups to shift. The fields each strategy needs are
the API reference's: bakeTimeInMinutes "You must provide this parameter when you
use the BLUE_GREEN deployment strategy"; AdvancedConfiguration's
alternateTargetGroupArn, productionListenerRule and roleArn for the traffic
shift; LinearConfiguration.stepPercent "multiples of 0.1 from 3.0 to 100.0",
CanaryConfiguration.canaryPercent "multiples of 0.1 from 0.1 to 100.0", bake
times "0 to 1440 minutes"; "PAUSE hooks cannot be configured at
TEST_TRAFFIC_SHIFT or PRODUCTION_TRAFFIC_SHIFT stages"; an AWS_LAMBDA hook
needs hookTargetArn ("You must provide this parameter when configuring an
AWS_LAMBDA lifecycle hook").
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from release.core.findings import ERROR, Finding
from release.core.rules.base import Context, ServiceView, finding, lb_entries, rule
from release.core.service_deployments import NATIVE_STRATEGIES, strategy

CONFIG = "/service/deploymentConfiguration"
ADVANCED = ("alternateTargetGroupArn", "productionListenerRule", "roleArn")
PAUSE_REFUSED = ("TEST_TRAFFIC_SHIFT", "PRODUCTION_TRAFFIC_SHIFT")
SHIFTS = {"LINEAR": ("linearConfiguration", "stepPercent", 3.0, "stepBakeTimeInMinutes"),
          "CANARY": ("canaryConfiguration", "canaryPercent", 0.1, "canaryBakeTimeInMinutes")}


def _kind_of(lb: dict[str, Any]) -> Any:
    """The load-balancer kind of an entry (imported here: the kinds' rules import rules.base,
    and the catalogue's order must not depend on which is imported first)."""
    from release.core import balancers

    return balancers.of_entry(lb)


def _native(ctx: Context) -> Iterator[tuple[ServiceView, str, dict[str, Any]]]:
    for view in ctx.services:
        config = view.spec.service.get("deploymentConfiguration") or {}
        if strategy(config) in NATIVE_STRATEGIES:
            yield view, strategy(config), config


@rule("strategy-load-balancer", ERROR, "blue/green, linear and canary deployments need an ALB or "
      "NLB target group (or Service Connect), not a classic ELB",
      "keep the ROLLING strategy behind the classic ELB (or use `release.canary`, which runs a "
      "canary service on the same classic ELB), or move the service to an ALB/NLB target group")
def strategy_load_balancer(ctx: Context) -> Iterator[Finding]:
    for view, kind, _config in _native(ctx):
        for index, lb in lb_entries(view):
            balancer = _kind_of(lb)
            if balancer is not None and not balancer.native_strategies:
                yield finding("strategy-load-balancer", view.rel, f"{CONFIG}/strategy",
                              f"strategy {kind} with {balancer.called} "
                              f"{lb[balancer.service_key]!r} (/service/loadBalancers/{index}): "
                              "ECS shifts traffic through ALB/NLB listener rules or Service "
                              f"Connect, which {balancer.called} does not have")


@rule("strategy-traffic-shift", ERROR, "a native strategy on a target group names the alternate "
      "target group, the production listener rule and the role ECS shifts traffic with",
      "add advancedConfiguration {alternateTargetGroupArn, productionListenerRule, roleArn} to "
      "the service's loadBalancers entry")
def strategy_traffic_shift(ctx: Context) -> Iterator[Finding]:
    for view, kind, _config in _native(ctx):
        for index, lb in lb_entries(view):
            balancer = _kind_of(lb)
            if balancer is None or not balancer.native_strategies:
                continue
            advanced = lb.get("advancedConfiguration") or {}
            missing = [name for name in ADVANCED if not advanced.get(name)]
            if missing:
                yield finding("strategy-traffic-shift", view.rel,
                              f"/service/loadBalancers/{index}",
                              f"strategy {kind} needs advancedConfiguration."
                              f"{', '.join(missing)} on this target group")


@rule("strategy-settings", ERROR, "each native strategy has the settings it needs and only "
      "those (bakeTimeInMinutes for BLUE_GREEN; step or canary percent in multiples of 0.1; "
      "bakes of 0 to 1440 minutes)", "set the value the message names")
def strategy_settings(ctx: Context) -> Iterator[Finding]:
    for view, kind, config in _native(ctx):
        if kind == "BLUE_GREEN" and config.get("bakeTimeInMinutes") is None:
            yield finding("strategy-settings", view.rel, CONFIG, "strategy BLUE_GREEN needs "
                          "bakeTimeInMinutes (how long blue stays up after the traffic shift)",
                          "add \"bakeTimeInMinutes\": 5 (0 to 1440)")
        for other, (section, percent, low, bake) in SHIFTS.items():
            found = config.get(section)
            if found is not None and other != kind:
                yield finding("strategy-settings", view.rel, f"{CONFIG}/{section}",
                              f"{section} is only valid with strategy {other} (this is {kind})",
                              f"remove {section} or set strategy {other}")
            if found is None or other != kind:
                continue
            value = found.get(percent)
            if value is not None and (not low <= float(value) <= 100.0
                                      or abs(float(value) * 10 - round(float(value) * 10)) > 1e-6):
                yield finding("strategy-settings", view.rel, f"{CONFIG}/{section}/{percent}",
                              f"{percent} {value} is not a multiple of 0.1 from {low:g} to 100",
                              f"use a value such as {max(low, 10.0):g}")
            minutes = found.get(bake)
            if minutes is not None and not 0 <= int(minutes) <= 1440:
                yield finding("strategy-settings", view.rel, f"{CONFIG}/{section}/{bake}",
                              f"{bake} {minutes} is outside 0 to 1440 minutes")


@rule("strategy-hooks", ERROR, "lifecycle hooks are allowed where they run: no PAUSE hook at "
      "TEST_TRAFFIC_SHIFT or PRODUCTION_TRAFFIC_SHIFT; an AWS_LAMBDA hook names its function",
      "move the PAUSE hook to POST_TEST_TRAFFIC_SHIFT or POST_PRODUCTION_TRAFFIC_SHIFT (the "
      "pipeline's approval runs `release continue`), or give the Lambda hook its hookTargetArn")
def strategy_hooks(ctx: Context) -> Iterator[Finding]:
    for view, _kind, config in _native(ctx):
        for index, hook in enumerate(config.get("lifecycleHooks") or []):
            here = f"{CONFIG}/lifecycleHooks/{index}"
            kind = hook.get("targetType") or "AWS_LAMBDA"
            stages = [s for s in hook.get("lifecycleStages") or [] if s in PAUSE_REFUSED]
            if kind == "PAUSE" and stages:
                yield finding("strategy-hooks", view.rel, f"{here}/lifecycleStages",
                              f"a PAUSE hook cannot run at {', '.join(stages)} (ECS runs only "
                              "AWS_LAMBDA hooks there)")
            if kind == "AWS_LAMBDA" and not hook.get("hookTargetArn"):
                yield finding("strategy-hooks", view.rel, here,
                              "an AWS_LAMBDA hook needs hookTargetArn (the function to invoke)")


CHECKS = (strategy_load_balancer, strategy_traffic_shift, strategy_settings, strategy_hooks)
