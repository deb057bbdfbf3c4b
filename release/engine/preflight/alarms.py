"""Preflight's alarm check: every CloudWatch alarm the release watches exists.

The bake's alarms (`release.bake.alarms`) and ECS's deployment alarms
(`deploymentConfiguration.alarms.alarmNames`): a missing one would make the bake watch
nothing, or ECS refuse the deployment. DescribeAlarms by name (at most 100 names a call,
metric and composite alarms: engine/bake.py's ALARM_TYPES); one problem per missing alarm,
at the pointer that names it.
"""

from __future__ import annotations

from typing import Any

from release.core import bake as baking
from release.core import preflight as pf
from release.engine.bake import ALARM_TYPES
from release.engine.preflight.context import Context, Denied, not_checked


def check(ctx: Context) -> list[pf.Result]:
    names = baking.watched_alarms(ctx.spec)
    if not names:
        return [pf.placed("alarms", pf.OK, "alarms", "the release watches no alarm")]
    try:
        found = _found(ctx, list(names))
    except Denied as exc:
        return [not_checked("alarms", f"alarm {', '.join(names)}", exc)]
    results = []
    for name in names:
        at = _pointer(ctx, name)
        if name in found:
            results.append(pf.placed("alarms", pf.OK, f"alarm {name}", "exists ("
                                     f"{found[name].get('StateValue', '?')})", "", at))
        else:
            results.append(pf.placed(
                "alarms", pf.PROBLEM, f"alarm {name}",
                f"CloudWatch alarm {name} does not exist in {ctx.env.name} "
                f"({ctx.env.region})",
                f"create it (`release bootstrap --env {ctx.env.name}` creates the alarms "
                f"environment.json /alarms defines) or fix the name", at))
    return results


def _found(ctx: Context, names: list[str]) -> dict[str, dict[str, Any]]:
    cloudwatch = ctx.client("cloudwatch")
    found: dict[str, dict[str, Any]] = {}
    for batch in baking.batches(names):
        token = None
        while True:
            params: dict[str, Any] = {"AlarmNames": batch, "AlarmTypes": ALARM_TYPES}
            if token:
                params["NextToken"] = token
            page = ctx.call(cloudwatch, "describe_alarms", **params)
            for alarm in page.get("MetricAlarms", []) + page.get("CompositeAlarms", []):
                found[alarm["AlarmName"]] = alarm
            token = page.get("NextToken")
            if not token:
                break
    return found


def _pointer(ctx: Context, name: str) -> tuple[str, str]:
    bake = ((ctx.spec.doc.get("release") or {}).get("bake") or {}).get("alarms") or []
    if name in bake:
        return ctx.origin.spec_doc("release", "bake", "alarms", bake.index(name))
    ecs = (ctx.spec.deployment_configuration.get("alarms") or {}).get("alarmNames") or []
    return ctx.origin.service("deploymentConfiguration", "alarms", "alarmNames",
                              ecs.index(name) if name in ecs else 0)
