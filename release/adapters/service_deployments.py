"""ECS service deployments (the native strategies' API): list, describe, stop, continue.

ListServiceDeployments finds the deployment a release started (the newest one
created since the UpdateService), DescribeServiceDeployments reads its status,
lifecycleStage, traffic weights, hooks and rollback; StopServiceDeployment with
stopType ROLLBACK rolls it back ("You can use this option even if you didn't
configure the service deployment for the rollback option", API reference);
ContinueServiceDeployment acts on a paused lifecycle hook (serviceDeploymentArn,
hookId, action CONTINUE | ROLLBACK). A deployment names service revisions, not task
definitions: DescribeServiceRevisions says which task definition each uses
(ServiceRevision.taskDefinition, "The task definition the service revision uses").
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
    return native.newest(listed(ecs, cluster, service, after, active_only), after)


def listed(ecs: Any, cluster: str, service: str, after: float | None = None,
           active_only: bool = False) -> list[Mapping[str, Any]]:
    """ListServiceDeployments of `service`, every page (briefs, as ECS orders them)."""
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
    return briefs


def describe(ecs: Any, arn: str) -> Mapping[str, Any] | None:
    """The full ServiceDeployment, or None when ECS reports it among `failures`."""
    found = describe_all(ecs, [arn])
    return found[0] if found else None


def describe_all(ecs: Any, arns: list[str]) -> list[Mapping[str, Any]]:
    """The full ServiceDeployments of `arns` (20 a call, the API's maximum)."""
    found: list[Mapping[str, Any]] = []
    for start in range(0, len(arns), 20):
        answer = ecs.describe_service_deployments(serviceDeploymentArns=arns[start:start + 20])
        found += answer.get("serviceDeployments") or []
    return found


def task_definitions(ecs: Any, revision_arns: list[str]) -> dict[str, str]:
    """{service revision ARN: the task definition it uses}; ARNs ECS does not describe (its
    `failures`) are left out."""
    wanted = list(dict.fromkeys(a for a in revision_arns if a))
    found: dict[str, str] = {}
    for start in range(0, len(wanted), 20):
        answer = ecs.describe_service_revisions(serviceRevisionArns=wanted[start:start + 20])
        for revision in answer.get("serviceRevisions") or []:
            if revision.get("serviceRevisionArn") and revision.get("taskDefinition"):
                found[revision["serviceRevisionArn"]] = revision["taskDefinition"]
    return found


def stop_with_rollback(ecs: Any, arn: str) -> None:
    ecs.stop_service_deployment(serviceDeploymentArn=arn, stopType="ROLLBACK")


def continue_hook(ecs: Any, arn: str, hook_id: str, action: str = "CONTINUE") -> None:
    ecs.continue_service_deployment(serviceDeploymentArn=arn, hookId=hook_id, action=action)
