"""A rolling update watched poll by poll: successive snapshots become verdicts.

A `Watch` keeps the little memory a verdict needs across polls (how many new tasks
stopped, since when ECS cannot place a task, since when a new task fails its health
checks) so the wait loop stays a loop. What "stable" means, the snapshot it reads and
what a task's stop says are core/stability.py's.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from release.core import deployments as deployments_of
from release.core.deployments import short
from release.core.serving import DRAINING, SERVING
from release.core.stability import (
    BUDGET_EXHAUSTED,
    CIRCUIT_BREAKER,
    ELB_UNHEALTHY,
    FAILED,
    LAUNCH_FAILED,
    PROGRESSING,
    ROLLED_BACK_BY_ECS,
    SERVICE_GONE,
    STABLE,
    STOPPING_STATES,
    SUPERSEDED,
    TASKS_STOPPING,
    UNPLACEABLE,
    UNPLACEABLE_PORT,
    UNPLACEABLE_RESOURCES,
    Snapshot,
    Target,
    Verdict,
    describe_stop,
    is_failure_stop,
    placement_problem,
    plural,
    stopped_during,
)
from release.core.start_failures import start_failure_fix


@dataclass
class _Counts:
    desired: int = 0
    new_running: int = 0
    new_pending: int = 0
    new_in_service: int = 0
    new_out_of_service: int = 0
    old_running: int = 0
    old_draining: int = 0
    old_stopping: int = 0
    old_pending: int = 0
    deployments: int = 0
    draining_instances: int = 0

    def as_dict(self) -> dict[str, int]:
        return dict(self.__dict__)


class Watch:
    """Turns successive snapshots into verdicts; remembers only what one snapshot cannot say."""

    def __init__(self, target: Target) -> None:
        self.target = target
        self.out_of_service_since: dict[str, float] = {}  # new task ARN → failing since
        self.failed_tasks: dict[str, str] = {}  # new-revision task ARN → why it stopped
        self.unplaceable_since: float | None = None
        self.unplaceable_polls = 0
        self.unplaceable_message = ""
        self.seen_events: set[str] = set(target.events_before)
        self.last_fingerprint: tuple[Any, ...] | None = None
        self.last_progress_at = target.started_at
        self.stable_declared_at: float | None = None
        self.serving_due: list[float] = []  # when new tasks not served yet are due to be

    # -- the verdict -------------------------------------------------------------------------

    def observe(self, snap: Snapshot) -> Verdict:
        target, now, service = self.target, snap.taken_at, snap.service
        fingerprint = self._fingerprint(snap)
        changed = fingerprint != self.last_fingerprint
        if changed:
            self.last_fingerprint = fingerprint
            self.last_progress_at = now
            self.unplaceable_since = None
            self.unplaceable_polls = 0
        counts, stops = self._count(snap)
        self._remember_failed_stops(stops)
        self._remember_placement_events(snap, now)
        summary = self._summary(counts, snap)
        verdict_args = {"summary": summary, "changed": changed, "counts": counts.as_dict(),
                        "next_change_at": self._next_change(snap),
                        "moving_on_its_own": bool(counts.new_pending + counts.old_stopping
                                                  + counts.old_pending)}

        if service.get("status") not in (None, "ACTIVE"):
            return Verdict(FAILED, summary, SERVICE_GONE,
                           f"the service is {service.get('status')}",
                           "re-create it with `release deploy` after checking who deleted it",
                           **_without(verdict_args, "summary"))

        failed = (self._deployment_failure(service) or self._stop_failure()
                  or self._placement_failure(counts, now)
                  or self._health_failure(snap, now))
        if failed is not None:
            cause, reason, fix = failed
            return Verdict(FAILED, summary, cause, reason, fix, **_without(verdict_args, "summary"))

        if self._is_stable(snap, counts):
            self.stable_declared_at = now
            return Verdict(STABLE, summary, **_without(verdict_args, "summary"))

        if now >= target.deadline:
            waited = int(now - target.started_at)
            return Verdict(
                FAILED, summary, BUDGET_EXHAUSTED,
                f"not stable after {waited} s (the time budget): {summary}",
                _budget_fix(counts, target),
                **_without(verdict_args, "summary"))
        return Verdict(PROGRESSING, **verdict_args)

    # -- pieces ----------------------------------------------------------------------------

    def _ours(self, service: Mapping[str, Any]) -> Mapping[str, Any] | None:
        deployments = service.get("deployments", [])
        if self.target.deployment_id:
            return next((d for d in deployments if d.get("id") == self.target.deployment_id),
                        None)
        return next((d for d in deployments
                     if d.get("taskDefinition") == self.target.task_definition_arn), None)

    def _deployment_failure(self, service: Mapping[str, Any]) -> tuple[str, str, str] | None:
        target = self.target
        primary = deployments_of.primary(service)
        ours = self._ours(service)
        if ours is not None and ours.get("rolloutState") == "FAILED":
            why = ours.get("rolloutStateReason") or "the deployment circuit breaker tripped"
            if primary is not None and primary is not ours:
                return (ROLLED_BACK_BY_ECS, f"rolled back by ECS: {why}",
                        "see the stopped tasks' reasons above; fix the revision and release "
                        "again")
            return (CIRCUIT_BREAKER, f"circuit breaker: {why}",
                    "see the stopped tasks' reasons above; fix the revision and release again")
        if primary is None or primary is ours:
            return None
        if primary.get("taskDefinition") == target.task_definition_arn:
            return None  # a forced redeploy of the same revision still counts
        if (target.previous_task_definition_arn
                and primary.get("taskDefinition") == target.previous_task_definition_arn):
            why = self._why_ecs_gave_up(service)
            return (ROLLED_BACK_BY_ECS,
                    f"rolled back by ECS to {short(primary.get('taskDefinition'))}: {why}",
                    "see the stopped tasks' reasons above; fix the revision and release again")
        return (SUPERSEDED,
                f"another deployment took over the service: {primary.get('id')} on "
                f"{short(primary.get('taskDefinition'))}",
                "someone else is releasing this service; check `release status` before acting")

    def _why_ecs_gave_up(self, service: Mapping[str, Any]) -> str:
        """The circuit breaker's own event and the new tasks' stop reasons, when known."""
        parts = []
        for event in service.get("events", []):
            message = str(event.get("message", ""))
            if "deployment failed" in message and event.get("id") not in self.target.events_before:
                parts.append("circuit breaker: "
                             + message[message.index("deployment failed"):].rstrip("."))
                break
        if self.failed_tasks:
            latest = list(self.failed_tasks.values())[-1]
            parts.append(f"{plural(len(self.failed_tasks), 'new task')} failed, the last: "
                         f"{latest}")
        return "; ".join(parts) or "the primary deployment is the previous revision again"

    def _remember_failed_stops(self, stops: list[Mapping[str, Any]]) -> None:
        for task in stops:
            arn = task.get("taskArn", "")
            if arn not in self.failed_tasks and is_failure_stop(task):
                self.failed_tasks[arn] = describe_stop(task)

    def _remember_placement_events(self, snap: Snapshot, now: float) -> None:
        for event in reversed(list(snap.service.get("events", []))):
            event_id = event.get("id") or f"{event.get('createdAt')}:{event.get('message')}"
            if event_id in self.seen_events:
                continue
            self.seen_events.add(event_id)
            if placement_problem(str(event.get("message", ""))):
                if self.unplaceable_since is None:
                    self.unplaceable_since = now
                self.unplaceable_message = str(event.get("message"))
        if self.unplaceable_since is not None:
            self.unplaceable_polls += 1

    def _stop_failure(self) -> tuple[str, str, str] | None:
        if len(self.failed_tasks) < self.target.stop_failures_allowed:
            return None
        stopped = [self.failed_tasks[a] for a in self.failed_tasks]
        by_health = sum(1 for r in stopped if "health check" in r.lower())
        latest = stopped[-1]
        if by_health * 2 >= len(stopped):
            return (ELB_UNHEALTHY,
                    f"{len(stopped)} new tasks failed ELB health checks: {latest}",
                    "the new revision does not answer the ELB health check "
                    "(target and port in environment.json's loadBalancer.healthCheck); "
                    "check the container's logs and its health endpoint")
        return (TASKS_STOPPING, f"{len(stopped)} new tasks stopped: {latest}",
                start_failure_fix(latest)
                or "the new revision crashes on start: check the container's logs and its "
                "configuration (environment, secrets, command), then release a fixed image")

    def _placement_failure(self, counts: _Counts, now: float) -> tuple[str, str, str] | None:
        if self.unplaceable_since is None:
            return None
        cause, _ = placement_problem(self.unplaceable_message) or (UNPLACEABLE, "")
        in_transition = (counts.old_draining + counts.old_stopping + counts.new_pending
                         + counts.old_pending + counts.draining_instances)
        if in_transition and cause != LAUNCH_FAILED:
            return None  # a stopping or draining task will free the port or the memory
        if (now - self.unplaceable_since < self.target.unplaceable_grace
                or self.unplaceable_polls < self.target.unplaceable_polls):
            return None
        if cause == LAUNCH_FAILED:
            error = _launch_error(self.unplaceable_message)
            return (cause, f"ECS cannot launch the new tasks: {error}", _launch_fix(error))
        detail = _placement_detail(self.unplaceable_message)
        return (cause, f"ECS cannot place the new tasks: {detail}",
                _placement_fix(cause, self.target))

    def _health_failure(self, snap: Snapshot, now: float) -> tuple[str, str, str] | None:
        limit = self.target.unhealthy_after
        if limit is None or snap.health is None:
            return None
        for arn, since in self.out_of_service_since.items():
            if now - since >= limit:
                return (ELB_UNHEALTHY,
                        f"a new task ({short(arn)}) has been OutOfService on the ELB for "
                        f"{int(now - since)} s",
                        "the new revision does not pass the ELB health check: check its "
                        "health endpoint and the health check target in environment.json")
        return None

    def _is_stable(self, snap: Snapshot, counts: _Counts) -> bool:
        service, target = snap.service, self.target
        deployments = service.get("deployments", [])
        if len(deployments) != 1:
            return False
        only = deployments[0]
        if deployments_of.primary(service) is not only:
            return False
        if only.get("taskDefinition") != target.task_definition_arn:
            return False
        if target.deployment_id and only.get("id") != target.deployment_id:
            return False
        if only.get("rolloutState") not in (None, "COMPLETED"):
            return False
        desired = int(service.get("desiredCount", target.desired_count))
        if int(service.get("runningCount", -1)) != desired or int(service.get("pendingCount", 0)):
            return False
        if "runningCount" in only and int(only["runningCount"]) != desired:
            return False
        if counts.old_running + counts.old_draining + counts.old_stopping + counts.old_pending:
            return False
        if counts.new_running != desired or counts.new_pending:
            return False
        if snap.health is not None:
            if counts.draining_instances:
                return False
            if counts.new_in_service != counts.new_running:
                return False
        return True

    # -- bookkeeping -----------------------------------------------------------------------

    def _fingerprint(self, snap: Snapshot) -> tuple[Any, ...]:
        service = snap.service
        deployments = tuple(sorted(
            (d.get("id"), d.get("status"), d.get("runningCount"), d.get("pendingCount"),
             d.get("rolloutState"), d.get("failedTasks"))
            for d in service.get("deployments", [])))
        tasks = tuple(sorted((t.get("taskArn"), t.get("lastStatus"), t.get("desiredStatus"))
                             for t in snap.tasks))
        health = snap.health.fingerprint() if snap.health is not None else None
        return (service.get("status"), service.get("runningCount"), service.get("pendingCount"),
                deployments, tasks, health)

    def _count(self, snap: Snapshot) -> tuple[_Counts, list[Mapping[str, Any]]]:
        target, now, health = self.target, snap.taken_at, snap.health
        counts = _Counts(desired=int(snap.service.get("desiredCount", target.desired_count)),
                         deployments=len(snap.service.get("deployments", [])),
                         draining_instances=len(health.draining) if health else 0)
        stops: list[Mapping[str, Any]] = []
        failing_now: set[str] = set()
        self.serving_due = []
        for task in snap.tasks:
            arn = task.get("taskArn", "")
            last, wanted = task.get("lastStatus"), task.get("desiredStatus")
            new = task.get("taskDefinitionArn") == target.task_definition_arn
            serving = health.of(arn) if health is not None else None
            if last == "STOPPED":
                if new and stopped_during(task, target):
                    stops.append(task)
                continue
            if not new:
                if serving is not None and serving.state == DRAINING:
                    counts.old_draining += 1
                elif wanted == "STOPPED" or last in STOPPING_STATES:
                    counts.old_stopping += 1
                elif last == "RUNNING":
                    counts.old_running += 1
                else:
                    counts.old_pending += 1
                continue
            if last == "RUNNING" and wanted != "STOPPED":
                counts.new_running += 1
                if serving is None:
                    continue
                if serving.state == SERVING:
                    counts.new_in_service += 1
                    continue
                counts.new_out_of_service += 1
                if serving.failing:
                    failing_now.add(arn)
                if serving.until is not None:
                    self.serving_due.append(serving.until)
            elif wanted == "STOPPED":
                pass  # a new task on its way out: its STOPPED record will tell why
            else:
                counts.new_pending += 1
        for arn in failing_now:
            self.out_of_service_since.setdefault(arn, now)
        for arn in list(self.out_of_service_since):
            if arn not in failing_now:
                del self.out_of_service_since[arn]
        return counts, stops

    @staticmethod
    def _draining_left(snap: Snapshot) -> int | None:
        ends = [u for u in (snap.health.draining.values() if snap.health else ()) if u is not None]
        return max(0, math.ceil(max(ends) - snap.taken_at)) if ends else None

    def _next_change(self, snap: Snapshot) -> float | None:
        """Moments something should move without anything new happening: drain end, serving."""
        moments = [u for u in (snap.health.draining.values() if snap.health else ())
                   if u is not None]
        upcoming = [m for m in moments + self.serving_due if m > snap.taken_at]
        return min(upcoming) if upcoming else None

    def _summary(self, c: _Counts, snap: Snapshot) -> str:
        if snap.health is not None:
            parts = [f"{c.new_in_service}/{c.desired} new tasks InService"]
            if c.new_out_of_service:
                parts.append(f"{c.new_out_of_service} in ELB health checks")
        else:
            parts = [f"{c.new_running}/{c.desired} new tasks running"]
        if c.new_pending:
            parts.append(f"{c.new_pending} pending")
        if c.old_running:
            parts.append(f"{plural(c.old_running, 'old task')} running")
        if c.old_draining:
            left = self._draining_left(snap)
            suffix = f" ({left} s left)" if left is not None else ""
            parts.append(f"{plural(c.old_draining, 'old task')} draining{suffix}")
        elif c.draining_instances:
            left = self._draining_left(snap)
            suffix = f" ({left} s left)" if left is not None else ""
            parts.append(f"{plural(c.draining_instances, 'instance')} draining{suffix}")
        if c.old_stopping:
            parts.append(f"{plural(c.old_stopping, 'old task')} stopping")
        if c.old_pending:
            parts.append(f"{plural(c.old_pending, 'old task')} starting")
        if self.unplaceable_since is not None:
            cause = placement_problem(self.unplaceable_message)
            what = {UNPLACEABLE_PORT: "port in use", UNPLACEABLE_RESOURCES: "no cpu/memory"}
            if cause and cause[0] == LAUNCH_FAILED:
                parts.append("ECS cannot launch a task")
            else:
                parts.append("ECS cannot place a task"
                             + (f" ({what[cause[0]]})" if cause and cause[0] in what else ""))
        if self.failed_tasks:
            parts.append(f"{plural(len(self.failed_tasks), 'new task')} failed")
        if c.deployments > 1:
            parts.append(f"{c.deployments} deployments")
        return ", ".join(parts)


def _placement_detail(message: str) -> str:
    """The informative middle of ECS's "unable to place" event."""
    detail = message.split("met all of its requirements.", 1)[-1]
    detail = detail.split("For more information", 1)[0].strip()
    return (detail[:1].lower() + detail[1:]).rstrip(".") if detail else message


def _launch_error(message: str) -> str:
    """The error inside ECS's "failed to launch a task with (error ...)." event."""
    error = message.split("(error ", 1)[-1]
    return error[:-2] if error.endswith(").") else error.rstrip(").")


def _launch_fix(error: str) -> str:
    if "unable to assume the role" in error:
        return ("ECS cannot assume the role the error names (the task definition's "
                "executionRoleArn or taskRoleArn): create it with a trust policy that allows "
                "ecs-tasks.amazonaws.com to sts:AssumeRole (an execution role with "
                "AmazonECSTaskExecutionRolePolicy attached), or correct the ARN; the deploying "
                "identity needs iam:PassRole on it")
    return "ECS refuses to launch the revision's tasks: fix what the error names, then release"


def _placement_fix(cause: str, target: Target) -> str:
    if cause == UNPLACEABLE_PORT:
        port = f" {target.host_port}" if target.host_port else ""
        return (f"every container instance already uses host port{port}: lower "
                "deploymentConfiguration.minimumHealthyPercent (e.g. to 50) so ECS may stop "
                "an old task first, add a container instance to the cluster, or use a "
                "dynamic host port (hostPort 0)")
    if cause == UNPLACEABLE_RESOURCES:
        return ("the container instances lack free cpu or memory for a new task: add an "
                "instance (or a larger type), or lower the task's cpu/memory "
                "(overrides in the service spec)")
    cluster = f" {target.cluster}" if target.cluster else ""
    return (f"no container instance in the cluster{cluster} meets the task's requirements: "
            "check that instances are registered and ACTIVE, and the placement constraints")


def _budget_fix(c: _Counts, target: Target) -> str:
    if c.old_draining or c.draining_instances:
        return (f"connection draining ({int(target.draining_timeout)} s) is the slow part: "
                "raise release.timeout in the service spec (or pass --timeout), or lower "
                "the ELB's connectionDraining.timeout")
    if c.new_running and c.new_in_service < c.new_running:
        return ("new tasks run but are not InService on the ELB yet: check the health check "
                "target, or raise release.timeout")
    return "raise release.timeout (or --timeout) if the rollout is just slow; see the events above"


def _without(args: dict[str, Any], *keys: str) -> dict[str, Any]:
    return {k: v for k, v in args.items() if k not in keys}
