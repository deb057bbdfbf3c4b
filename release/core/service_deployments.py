"""ECS's own deployment strategies (BLUE_GREEN, LINEAR, CANARY): what a service deployment says.

A service whose `deploymentConfiguration.strategy` is one of these is deployed by
ECS in lifecycle stages (ServiceDeployment.lifecycleStage) with its own bake time,
traffic shift, alarms and rollback; the tool follows that deployment
(DescribeServiceDeployments) instead of judging task counts itself. This module
is the judgement: one ServiceDeployment → progressing (what stage, how much
traffic, how much bake left), paused at a hook, released, or rolled back.

ServiceDeploymentStatus in the ECS model: PENDING, IN_PROGRESS, SUCCESSFUL,
STOPPED, STOP_REQUESTED, ROLLBACK_REQUESTED, ROLLBACK_IN_PROGRESS,
ROLLBACK_SUCCESSFUL, ROLLBACK_FAILED.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from release.core.serving import epoch

ROLLING = "ROLLING"
NATIVE_STRATEGIES = ("BLUE_GREEN", "LINEAR", "CANARY")

# what the tool makes of a deployment's status
PROGRESSING, PAUSED, RELEASED, ROLLING_BACK, ROLLED_BACK, NOT_RESTORED, STOPPED = (
    "progressing", "paused", "released", "rolling_back", "rolled_back", "not_restored",
    "stopped")
_STATES = {
    "PENDING": PROGRESSING, "IN_PROGRESS": PROGRESSING, "SUCCESSFUL": RELEASED,
    "ROLLBACK_REQUESTED": ROLLING_BACK, "ROLLBACK_IN_PROGRESS": ROLLING_BACK,
    "ROLLBACK_SUCCESSFUL": ROLLED_BACK, "ROLLBACK_FAILED": NOT_RESTORED,
    "STOP_REQUESTED": PROGRESSING, "STOPPED": STOPPED,
}
DONE = (RELEASED, ROLLED_BACK, NOT_RESTORED, STOPPED)
PAUSED_OUTCOME = "paused"  # a release entry's outcome while a PAUSE hook awaits `release continue`

# API defaults (ECS model: LinearConfiguration, CanaryConfiguration documentation)
LINEAR_STEP_PERCENT, LINEAR_STEP_BAKE_MINUTES = 10.0, 6
CANARY_PERCENT, CANARY_BAKE_MINUTES = 5.0, 10


def strategy(deployment_configuration: Mapping[str, Any] | None) -> str:
    """The strategy a deploymentConfiguration asks for (ROLLING when unset, as in the API)."""
    return str((deployment_configuration or {}).get("strategy") or ROLLING)


def is_native(service: Mapping[str, Any] | None) -> bool:
    """Does this create-service-shaped block ask ECS to run blue/green, linear or canary?"""
    return strategy((service or {}).get("deploymentConfiguration")) in NATIVE_STRATEGIES


def shift_steps(configuration: Mapping[str, Any]) -> list[tuple[float, int]]:
    """The production traffic shift as (percent on the new revision, bake minutes after it).

    LINEAR: stepPercent at a time, stepBakeTimeInMinutes between steps, "not applied after
    reaching 100 percent traffic"; CANARY: canaryPercent, canaryBakeTimeInMinutes, then the
    rest at once; BLUE_GREEN: all at once.
    """
    kind = strategy(configuration)
    if kind == "LINEAR":
        linear = configuration.get("linearConfiguration") or {}
        step = float(linear.get("stepPercent", LINEAR_STEP_PERCENT))
        bake = int(linear.get("stepBakeTimeInMinutes", LINEAR_STEP_BAKE_MINUTES))
        count = max(1, math.ceil(100.0 / step - 1e-9))
        return [(min(100.0, round(step * (i + 1), 1)), bake if i + 1 < count else 0)
                for i in range(count)]
    if kind == "CANARY":
        canary = configuration.get("canaryConfiguration") or {}
        percent = float(canary.get("canaryPercent", CANARY_PERCENT))
        return [(percent, int(canary.get("canaryBakeTimeInMinutes", CANARY_BAKE_MINUTES))),
                (100.0, 0)]
    return [(100.0, 0)]


def native_seconds(configuration: Mapping[str, Any]) -> int:
    """What a native strategy adds to a release's time budget: the bakes between traffic
    steps and the bake time after the shift (bakeTimeInMinutes)."""
    steps = sum(bake for _percent, bake in shift_steps(configuration))
    return 60 * (steps + int(configuration.get("bakeTimeInMinutes") or 0))


def newest(briefs: Sequence[Mapping[str, Any]], after: float | None = None
           ) -> Mapping[str, Any] | None:
    """The newest ServiceDeploymentBrief (by createdAt), created at or after `after`."""
    dated = [(epoch(b.get("createdAt")) or 0.0, b) for b in briefs]
    dated = [(t, b) for t, b in dated if after is None or t >= after - 1.0]
    return max(dated, key=lambda pair: pair[0])[1] if dated else None


def paused_hook(deployment: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """The PAUSE lifecycle hook waiting for ContinueServiceDeployment, if any."""
    for hook in deployment.get("lifecycleHookDetails") or []:
        if hook.get("targetType") == "PAUSE" and hook.get("status") == "AWAITING_ACTION":
            return hook
    return None


def traffic(deployment: Mapping[str, Any]) -> float | None:
    """Percent of production traffic on the target revision, when ECS reports it."""
    weight = (deployment.get("targetServiceRevision") or {}).get(
        "requestedProductionTrafficWeight")
    return None if weight is None else float(weight)


@dataclass
class NativeVerdict:
    state: str
    summary: str
    reason: str = ""
    hook_id: str | None = None
    traffic: float | None = None
    changed: bool = False

    @property
    def done(self) -> bool:
        return self.state in DONE


@dataclass
class NativeWatch:
    """Successive DescribeServiceDeployments answers of one deployment → verdicts.

    Remembers when the BAKE_TIME stage was first seen, because ECS reports the stage
    but not when it ends: the bake left is bakeTimeInMinutes after that moment.
    """

    bake_minutes: int = 0
    bake_since: float | None = None
    last: str = ""
    seen: list[str] = field(default_factory=list)

    def observe(self, deployment: Mapping[str, Any], now: float) -> NativeVerdict:
        status = str(deployment.get("status") or "PENDING")
        stage = str(deployment.get("lifecycleStage") or "")
        config = deployment.get("deploymentConfiguration") or {}
        if config.get("bakeTimeInMinutes") is not None:
            self.bake_minutes = int(config["bakeTimeInMinutes"])
        if stage == "BAKE_TIME" and self.bake_since is None:
            self.bake_since = now
        state = _STATES.get(status, PROGRESSING)
        hook = paused_hook(deployment) if state == PROGRESSING else None
        if hook is not None:
            state = PAUSED
        share = traffic(deployment)
        summary = self._summary(status, stage, share, hook, deployment, now)
        changed = summary != self.last
        self.last = summary
        if stage and stage not in self.seen:
            self.seen.append(stage)
        reason = str(deployment.get("statusReason") or "")
        rollback = deployment.get("rollback") or {}
        if state in (ROLLING_BACK, ROLLED_BACK, NOT_RESTORED) and rollback.get("reason"):
            reason = str(rollback["reason"])
        alarms = (deployment.get("alarms") or {}).get("triggeredAlarmNames") or []
        if alarms and state != RELEASED:
            reason = (reason + "; " if reason else "") + "alarm(s) " + ", ".join(alarms)
        return NativeVerdict(state, summary, reason, hook.get("hookId") if hook else None,
                             share, changed)

    def _summary(self, status: str, stage: str, share: float | None,
                 hook: Mapping[str, Any] | None, deployment: Mapping[str, Any],
                 now: float) -> str:
        parts = [f"{status.lower().replace('_', ' ')}" + (f", {stage}" if stage else "")]
        target = deployment.get("targetServiceRevision") or {}
        if target.get("runningTaskCount") is not None:
            parts.append(f"{target.get('runningTaskCount')}/{target.get('requestedTaskCount', '?')}"
                         " new tasks running")
        if share is not None:
            parts.append(f"{share:g}% of production traffic on the new revision")
        if stage == "BAKE_TIME" and self.bake_since is not None and status == "IN_PROGRESS":
            left = max(0, math.ceil(self.bake_minutes * 60 - (now - self.bake_since)))
            parts.append(f"bake time {self.bake_minutes} min ({left} s left)")
        if hook is not None:
            parts.append(f"paused by a lifecycle hook (hook {hook.get('hookId')}): waiting for "
                         "`release continue`")
        return "; ".join(parts)
