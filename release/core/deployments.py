"""Two facts about ECS services that every part of the tool reads the same way."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def short(arn: Any, missing: str = "none") -> str:
    """`akka-demo:7` out of a task-definition ARN (a task id out of a task ARN), for messages."""
    return str(arn).rsplit("/", 1)[-1] if arn else missing


def primary(service: Mapping[str, Any] | None) -> Mapping[str, Any] | None:
    """The service's PRIMARY deployment: the one ECS is rolling out (or has rolled out)."""
    deployments = (service or {}).get("deployments", [])
    return next((d for d in deployments if d.get("status") == "PRIMARY"), None)


def in_progress(service: Mapping[str, Any] | None) -> Mapping[str, Any] | None:
    """The PRIMARY deployment when a rollout is still going on, else None."""
    if not service:
        return None
    deployments = service.get("deployments", [])
    found = primary(service)
    if found is None:
        return None
    if len(deployments) > 1 or found.get("rolloutState") == "IN_PROGRESS":
        return found
    if "rolloutState" not in found and not int(found.get("failedTasks") or 0) and (
            int(found.get("runningCount") or 0) != int(found.get("desiredCount") or 0)
            or int(found.get("pendingCount") or 0)):
        # Behind a classic ELB ECS reports no rolloutState: a lone deployment that has not
        # got all its tasks running (a first rollout, a scale-up) is still going on. One
        # whose tasks keep failing is not: a release of a fix must not be refused.
        return found
    return None


def deployment_for(service: Mapping[str, Any], revision: str) -> str | None:
    """The id of the PRIMARY deployment when it runs `revision` (what a wait then follows)."""
    found = primary(service)
    return found.get("id") if found is not None and found.get("taskDefinition") == revision \
        else None
