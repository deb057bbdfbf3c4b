"""Preflight's role check: the task and execution roles exist and trust ecs-tasks, the service
role (a classic ELB's) exists and trusts ecs.

ECS developer guide: the task execution role and the task role are assumed by
"ecs-tasks.amazonaws.com" (their trust relationship); the service role of a classic ELB
service ("Service-linked role for Amazon ECS", the older ecsServiceRole) by
"ecs.amazonaws.com". A role that does not exist or that ECS may not assume stops every task
at start (or, for the service role, CreateService and the ELB registrations).
"""

from __future__ import annotations

from typing import Any

from release.core import policies
from release.core import preflight as pf
from release.core.references import role_name
from release.engine.preflight.context import Context, Denied, not_checked

ECS_TASKS = "ecs-tasks.amazonaws.com"
ECS = "ecs.amazonaws.com"
TASK_ROLES = (("executionRoleArn", "execution role"), ("taskRoleArn", "task role"))


def check(ctx: Context) -> list[pf.Result]:
    results = []
    for key, label in TASK_ROLES:
        if ctx.taskdef.get(key):
            results.append(_role(ctx, str(ctx.taskdef[key]), label, ECS_TASKS,
                                 ctx.origin.taskdef(key), key))
    balancers = ctx.spec.service.get("loadBalancers") or []
    role = ctx.spec.service.get("role")
    if role:
        results.append(_role(ctx, str(role), "service role", ECS, ctx.origin.service("role"),
                             "role"))
    elif any(lb.get("loadBalancerName") for lb in balancers):
        results.append(pf.placed("roles", pf.OK, "service role", "none named: ECS uses its "
                                 "service-linked role (AWSServiceRoleForECS)",
                                 at=ctx.origin.service("loadBalancers")))
    if not results:
        results.append(pf.placed("roles", pf.OK, "roles", "the revision names no role"))
    return results


def _role(ctx: Context, reference: str, label: str, principal: str, at: tuple[str, str],
          key: str) -> pf.Result:
    name, account = role_name(reference)
    resource = f"{label} {name}"
    if account and account != ctx.env.account:
        return pf.placed("roles", pf.NOT_CHECKED, resource, f"not checked: the role is in "
                         f"account {account}, not {ctx.env.account}", "", at)
    try:
        role = ctx.role(name)
    except Denied as exc:
        return not_checked("roles", resource, exc, at)
    if role is None:
        return pf.placed("roles", pf.PROBLEM, resource,
                         f"{label} {name} does not exist in account {ctx.env.account}",
                         _create_fix(label, name, principal, key), at)
    document = role.get("AssumeRolePolicyDocument") or {}
    if not policies.trusts(document, principal):
        return pf.placed("roles", pf.PROBLEM, resource,
                         f"{label} {name} does not trust {principal}: ECS cannot assume it "
                         f"(it trusts {_trusted(document) or 'no service'})",
                         f"add {principal} as a Service principal with sts:AssumeRole to the "
                         f"trust policy of {name} (`aws iam update-assume-role-policy`)", at)
    return pf.placed("roles", pf.OK, resource, f"exists and trusts {principal}", "", at)


def _create_fix(label: str, name: str, principal: str, key: str) -> str:
    extra = (" with the AmazonECSTaskExecutionRolePolicy managed policy"
             if label == "execution role" else "")
    where = "the service spec's /service/role" if key == "role" else key
    return (f"create role {name} trusting {principal}{extra}, or name an existing role in "
            f"{where}")


def _trusted(document: Any) -> str:
    services: list[str] = []
    for statement in policies.statements_of(document or {}):
        principal = statement.get("Principal")
        if isinstance(principal, dict) and statement.get("Effect") == "Allow":
            found = principal.get("Service", [])
            services += found if isinstance(found, list) else [found]
    return ", ".join(dict.fromkeys(str(s) for s in services))
