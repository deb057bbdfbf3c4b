"""The pure interface of a load-balancer kind (release/core/balancers/__init__.py lists them)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from release.core.rules.base import Context, RuleFn, ServiceView


@dataclass(frozen=True)
class LoadBalancerKind:
    """The pure half of a kind: how documents name it, its rules, what ECS lets it do."""

    name: str  # its module's name, here and in engine/balancers (the key of EFFECTS)
    env_types: tuple[str, ...]  # environment.json /loadBalancer/type values of this kind
    service_key: str  # the key of a service's loadBalancers entry that names it
    label: str  # how a finding names it: "a target group (targetGroupArn)"
    called: str  # how a sentence names one: "the classic ELB", "the target group"
    rules: tuple[RuleFn, ...]  # its validation rules (run after the families')
    # ECS's own BLUE_GREEN/LINEAR/CANARY strategies shift its traffic (listener rules)
    native_strategies: bool
    # release.canary: a second service registered with the same load balancer
    task_count_canary: bool
    # UpdateService changes a service's loadBalancers of this kind in place
    updatable_in_place: bool


def behind(ctx: Context, env_types: tuple[str, ...]) -> Iterator[ServiceView]:
    """The services whose environment's load balancer is of these types (a kind's own)."""
    for view in ctx.services:
        if view.env is not None and view.env.load_balancer.kind in env_types:
            yield view
