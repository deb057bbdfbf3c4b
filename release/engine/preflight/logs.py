"""Preflight's log check: each awslogs group exists, in the Region its options name, or the
driver will create it.

ECS developer guide, "Using the awslogs log driver": awslogs-create-group "If this option
isn't specified, it defaults to false", and without its group the container fails to start
(CannotStartContainerError). `release bootstrap` creates the groups of an environment's
services in the environment's Region (engine/bootstrap_logs.py), so a missing one there is
fixed by bootstrap; a group in another Region is the operator's.
"""

from __future__ import annotations

from release.core import preflight as pf
from release.core.references import LogGroupRef, log_group_refs
from release.engine.preflight.context import Context, Denied, not_checked


def check(ctx: Context) -> list[pf.Result]:
    refs = log_group_refs(ctx.taskdef, ctx.env)
    if not refs:
        return [pf.placed("logs", pf.OK, "log groups", "no container logs with awslogs")]
    results = []
    seen: dict[tuple[str, str], pf.Result] = {}
    for ref in refs:
        at = ctx.origin.taskdef("containerDefinitions", ref.index, "logConfiguration",
                                "options", "awslogs-group")
        key = (ref.group, ref.region)
        if key not in seen:
            seen[key] = _group(ctx, ref, at)
            results.append(seen[key])
    return results


def _group(ctx: Context, ref: LogGroupRef, at: tuple[str, str]) -> pf.Result:
    resource = f"log group {ref.group} ({ref.region})"
    try:
        exists = _exists(ctx, ref)
    except Denied as exc:
        return not_checked("logs", resource, exc, at)
    if exists:
        return pf.placed("logs", pf.OK, resource, "exists", "", at)
    if ref.creates:
        return pf.placed("logs", pf.OK, resource, "does not exist yet: the driver creates it "
                         "(awslogs-create-group true; the role writing the logs needs "
                         "logs:CreateLogGroup)", "", at)
    if ref.region == ctx.env.region:
        fix = (f"`release bootstrap --env {ctx.env.name}` creates it, or set "
               "awslogs-create-group to \"true\"")
    else:
        fix = (f"create it in {ref.region} (`aws logs create-log-group --log-group-name "
               f"{ref.group} --region {ref.region}`), or fix awslogs-region")
    return pf.placed("logs", pf.PROBLEM, resource,
                     f"log group {ref.group} does not exist in {ref.region}: container "
                     f"{ref.container} would fail to start", fix, at)


def _exists(ctx: Context, ref: LogGroupRef) -> bool:
    """DescribeLogGroups by prefix, every page until the exact name is seen."""
    logs = ctx.client("logs", ref.region)
    token = None
    while True:
        params = {"logGroupNamePrefix": ref.group}
        if token:
            params["nextToken"] = token
        answer = ctx.call(logs, "describe_log_groups", **params)
        if any(g.get("logGroupName") == ref.group for g in answer.get("logGroups", [])):
            return True
        token = answer.get("nextToken")
        if not token:
            return False
