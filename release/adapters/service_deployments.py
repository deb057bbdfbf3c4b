"""ECS service deployments (the native strategies' API): list, describe, stop, continue.

ListServiceDeployments finds the deployment a release started (the newest one
created since the UpdateService), DescribeServiceDeployments reads its status,
lifecycleStage, traffic weights, hooks and rollback; StopServiceDeployment with
stopType ROLLBACK rolls it back ("You can use this option even if you didn't
configure the service deployment for the rollback option", API reference);
ContinueServiceDeployment acts on a paused lifecycle hook (serviceDeploymentArn,
hookId, action CONTINUE | ROLLBACK).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from release.core import service_deployments as native

ACTIVE_STATUSES = ["PENDING", "IN_PROGRESS", "STOP_REQUESTED", "ROLLBACK_REQUESTED",
                   "ROLLBACK_IN_PROGRESS"]


def find(ecs: Any, cluster: str, service: str, after: float | None = None,
         active_only: bool = False) -> Mapping[str, Any] | None:
    """The newest service deployment of `service` (created at or after `after`, when given)."""
    params: dict[str, Any] = {"cluster": cluster, "service": service}
    if active_only:
        params["status"] = ACTIVE_STATUSES
    if after is not None:
        params["createdAt"] = {"after": datetime.fromtimestamp(after - 1.0, tz=UTC)}
    briefs: list[Mapping[str, Any]] = []
    while True:
        page = ecs.list_service_deployments(**params)
        briefs.extend(page.get("serviceDeployments") or [])
        if not page.get("nextToken"):
            break
        params["nextToken"] = page["nextToken"]
    return native.newest(briefs, after)


def describe(ecs: Any, arn: str) -> Mapping[str, Any] | None:
    """The full ServiceDeployment, or None when ECS reports it among `failures`."""
    answer = ecs.describe_service_deployments(serviceDeploymentArns=[arn])
    found = answer.get("serviceDeployments") or []
    return found[0] if found else None


def stop_with_rollback(ecs: Any, arn: str) -> None:
    ecs.stop_service_deployment(serviceDeploymentArn=arn, stopType="ROLLBACK")


def continue_hook(ecs: Any, arn: str, hook_id: str, action: str = "CONTINUE") -> None:
    ecs.continue_service_deployment(serviceDeploymentArn=arn, hookId=hook_id, action=action)
