"""Which wait a release of a service runs, chosen in one place from its deployment settings.

As ecspresso's `WaitFunc` picks the wait from the deployment controller, `choose` maps a
create-service-shaped block (git's, or the live service) to its wait:

- strategy ROLLING (or none): the rolling wait (engine/wait.py `Waiter`): task counts and
  the load balancer's view judged by core/stability.py, stable only once the old tasks
  have drained ("Stable" is connection-draining-safe, docs/design.md). Its health source
  is the kind of load balancer the service is behind (core/balancers: the classic ELB,
  target groups), or none.
- strategy BLUE_GREEN, LINEAR or CANARY: the native wait (engine/native_wait.py): ECS runs
  the deployment in lifecycle stages, so the wait follows the service deployment.

The deployment controller must be ECS: CODE_DEPLOY and EXTERNAL services are refused by
validation (`service-controller`), so they have no wait here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from release.core import balancers
from release.core.service_deployments import NATIVE_STRATEGIES, strategy

ROLLING_WAIT = "rolling"
NATIVE_WAIT = "native"


@dataclass(frozen=True)
class WaitStrategy:
    """The wait of one service: its kind, the ECS strategy, and (rolling) its health source."""

    kind: str  # ROLLING_WAIT or NATIVE_WAIT
    strategy: str  # deploymentConfiguration.strategy: ROLLING, BLUE_GREEN, LINEAR, CANARY
    # the load-balancer kind whose view of the tasks the rolling wait reads (None: none)
    health: balancers.LoadBalancerKind | None = None

    @property
    def native(self) -> bool:
        return self.kind == NATIVE_WAIT

    def describe(self) -> str:
        """One line for a plan: what "done" means for this wait."""
        if self.native:
            return f"follow ECS's {self.strategy} service deployment to its end"
        behind = f"behind {self.health.called}" if self.health else "behind no load balancer"
        return (f"rolling: stable when the new revision runs the desired count, healthy, "
                f"and the old tasks have drained ({behind})")


def choose(service: Mapping[str, Any] | None) -> WaitStrategy:
    """The wait a service with this create-service-shaped block is released with."""
    block = service or {}
    controller = str((block.get("deploymentController") or {}).get("type") or "ECS")
    if controller != "ECS":
        raise ValueError(f"deployment controller {controller} has no wait: the tool releases "
                         "ECS-controlled services only (validation rule service-controller)")
    kind = strategy(block.get("deploymentConfiguration"))
    if kind in NATIVE_STRATEGIES:
        return WaitStrategy(NATIVE_WAIT, kind)
    behind = balancers.of_entries(block.get("loadBalancers"))
    return WaitStrategy(ROLLING_WAIT, kind, behind[0] if behind else None)
