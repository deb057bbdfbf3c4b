"""Load-balancer kinds: what differs between a classic ELB and ALB/NLB target groups, pure.

A kind is one module here (its validation rules and what it can do) and one module
of effects in release/engine/balancers/ (its health source, bootstrap calls, smoke-check
base URL and preflight check), each listed once in its registry: `KINDS` below and
`engine/balancers.EFFECTS`. Everything else asks the registry, never "is it classic?":
an environment's kind by its `loadBalancer.type`, a service's by the key of its
`loadBalancers` entry. A service behind no load balancer has no kind (None).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from release.core.balancers import classic, target_groups
from release.core.balancers.kind import LoadBalancerKind
from release.core.rules.base import RuleFn

# The registry: one line per kind.
KINDS: tuple[LoadBalancerKind, ...] = (
    classic.KIND,
    target_groups.KIND,
)


def of_environment(env_type: str) -> LoadBalancerKind:
    """The kind of an environment's `loadBalancer.type` (config.LoadBalancer.kind)."""
    for kind in KINDS:
        if env_type in kind.env_types:
            return kind
    raise KeyError(f"no load-balancer kind for type {env_type!r}")


def of_entry(entry: Mapping[str, Any]) -> LoadBalancerKind | None:
    """The kind a service's loadBalancers entry names (None: it names none)."""
    return next((kind for kind in KINDS if entry.get(kind.service_key)), None)


def of_entries(entries: Iterable[Mapping[str, Any]] | None) -> list[LoadBalancerKind]:
    """The kinds a service's loadBalancers entries name, in their order (no repeats)."""
    found = [of_entry(entry) for entry in entries or []]
    return list(dict.fromkeys(kind for kind in found if kind is not None))


def rules() -> tuple[RuleFn, ...]:
    """Every kind's validation rules, in registry order."""
    return tuple(check for kind in KINDS for check in kind.rules)
