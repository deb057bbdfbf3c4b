"""Load-balancer kinds' effects: one module a kind, listed once in `EFFECTS`.

Each module implements `KindEffects`: the health source the wait reads, the bootstrap
calls that create and repair the load balancer, the base URL the smoke checks call, and
preflight's check of a service's entry (with the path its health check asks, for
`--probe-health`). The pure half of each kind (its validation rules, what ECS lets it
do) is release/core/balancers/<kind>.py, keyed by the same name. Callers dispatch
through `of_environment` / `of_entry` / `health_source` here, never on the kind.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from release.core import balancers as kinds
from release.core import preflight as pf
from release.core.config import Environment, ServiceSpec
from release.core.serving import HealthSource
from release.engine.balancers import classic, target_groups


class KindEffects(Protocol):
    """What a kind's effects module defines (a test checks every module in `EFFECTS`)."""

    def health_source(self, aws: Any, env: Environment, reference: str) -> HealthSource:
        """The wait's view of the tasks behind the load balancer the entry names."""
        ...

    def base_url(self, aws: Any, env: Environment) -> str | None:
        """The environment's load balancer as a URL for smoke checks (None: no DNS name)."""
        ...

    def plan_bootstrap(self, planner: Any) -> None:
        """Add the calls that create or repair the load balancer to a bootstrap.Planner."""
        ...

    def preflight(self, ctx: Any, index: int, lb: dict[str, Any],
                  mapping: dict[str, Any] | None) -> pf.Result:
        """Preflight's check of the service's loadBalancers[index] against live AWS."""
        ...

    def health_check_path(self, ctx: Any, lb: dict[str, Any]) -> str | None:
        """The path the load balancer's health check asks (None: not an HTTP check)."""
        ...

    def resolve(self, aws: Any, env: Environment, spec: ServiceSpec) -> ServiceSpec:
        """The spec with what its entries of this kind name by name made what ECS takes."""
        ...


# The registry: one line per kind, keyed by its core kind's name.
EFFECTS: dict[str, KindEffects] = {
    kinds.classic.KIND.name: classic,  # type: ignore[dict-item]
    kinds.target_groups.KIND.name: target_groups,  # type: ignore[dict-item]
}


def of_environment(env: Environment) -> KindEffects:
    """The effects of the environment's load balancer (its loadBalancer.type)."""
    return EFFECTS[kinds.of_environment(env.load_balancer.kind).name]


def of_entry(entry: Mapping[str, Any]) -> KindEffects | None:
    """The effects of the kind a service's loadBalancers entry names (None: none)."""
    kind = kinds.of_entry(entry)
    return None if kind is None else EFFECTS[kind.name]


def resolve(aws: Any, env: Environment, spec: ServiceSpec) -> ServiceSpec:
    """Every kind's names in the spec's loadBalancers resolved (engine/desired.git_version)."""
    for effects in EFFECTS.values():
        spec = effects.resolve(aws, env, spec)
    return spec


def health_source(aws: Any, env: Environment, spec: ServiceSpec) -> HealthSource | None:
    """The health source of the load balancer the service is behind (None: behind none)."""
    for lb in spec.service.get("loadBalancers", []):
        kind = kinds.of_entry(lb)
        if kind is not None:
            return EFFECTS[kind.name].health_source(aws, env, lb[kind.service_key])
    return None
