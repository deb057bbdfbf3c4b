"""Which wait a release of a service runs, chosen in one place from its deployment settings.

As ecspresso's `WaitFunc` picks the wait from the deployment controller, `choose` maps a
create-service-shaped block (git's, or the live service) to its wait:

- strategy ROLLING (or none): the rolling wait (engine/wait.py `Waiter`): task counts and
  the load balancer's view judged by core/stability.py, stable only once the old tasks
  have drained ("Stable" is connection-draining-safe, docs/design.md). Its health source
  is the load balancer the service is behind: a classic ELB (`loadBalancerName`), target
  groups (`targetGroupArn`), or none.
- strategy BLUE_GREEN, LINEAR or CANARY: the native wait (engine/native_wait.py): ECS runs
  the deployment in lifecycle stages, so the wait follows the service deployment.

The deployment controller must be ECS: CODE_DEPLOY and EXTERNAL services are refused by
validation (`service-controller`), so they have no wait here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from release.core.service_deployments import NATIVE_STRATEGIES, strategy

ROLLING_WAIT = "rolling"
NATIVE_WAIT = "native"
# the key of a loadBalancers entry → what the rolling wait reads the tasks' health from
HEALTH_KEYS = {"loadBalancerName": "classic ELB", "targetGroupArn": "target groups"}


@dataclass(frozen=True)
class WaitStrategy:
    """The wait of one service: its kind, the ECS strategy, and (rolling) its health key."""

    kind: str  # ROLLING_WAIT or NATIVE_WAIT
    strategy: str  # deploymentConfiguration.strategy: ROLLING, BLUE_GREEN, LINEAR, CANARY
    health: str | None = None  # the loadBalancers key the rolling wait reads, None: no LB

    @property
    def native(self) -> bool:
        return self.kind == NATIVE_WAIT

    def describe(self) -> str:
        """One line for a plan: what "done" means for this wait."""
        if self.native:
            return f"follow ECS's {self.strategy} service deployment to its end"
        behind = f"behind {HEALTH_KEYS[self.health]}" if self.health else "behind no load balancer"
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
    health = next((key for lb in block.get("loadBalancers") or [] for key in HEALTH_KEYS
                   if lb.get(key)), None)
    return WaitStrategy(ROLLING_WAIT, kind, health)
