"""Is a rolling update done, still going, or failed? Decided from one snapshot at a time.

Pure: the input is what DescribeServices, DescribeTasks and DescribeContainerInstances
return (plain dicts, botocore shapes), the load balancer's `serving.HealthView` of the
tasks (whatever its kind), plus the time: the target, the snapshot, the verdict and what
a task's stop or a service event means. core/rollout_watch.py's `Watch` turns successive
snapshots into verdicts.

"Stable" is connection-draining-safe, not the boto3 waiter's "one deployment and
running == desired", which also holds while old tasks still drain and after the
ECS circuit breaker rolled the service back:

- the PRIMARY deployment is the one this release created, runs this release's
  revision, has rolloutState COMPLETED when ECS reports one, and is the only one;
- runningCount == desiredCount and pendingCount == 0;
- every task of the service that is not STOPPED runs the new revision (so no old
  task is still running, draining or stopping);
- the load balancer serves every new task (its health source decides what proves
  that for a task, not for the task before it on the same instance), and drains
  nothing.

Behind a classic ELB, ECS reports neither rolloutState nor a circuit breaker (ECS
API reference, Deployment.rolloutState: "only returned for services that use the
rolling update (ECS) deployment type that aren't behind a Classic Load
Balancer"), so the verdict never needs them: crash loops, failing ELB health
checks and unplaceable tasks are read from the tasks, the events and the ELB.
When ECS does report a rolloutState, it is used as well.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from release.core.serving import HealthView, epoch

PROGRESSING = "progressing"
STABLE = "stable"
FAILED = "failed"

# Failure causes (stable strings: they appear in JSON output and release records).
CIRCUIT_BREAKER = "circuit_breaker"
ROLLED_BACK_BY_ECS = "rolled_back_by_ecs"
SUPERSEDED = "superseded"
TASKS_STOPPING = "tasks_stopping"
ELB_UNHEALTHY = "elb_unhealthy"
UNPLACEABLE_PORT = "unplaceable_port"
UNPLACEABLE_RESOURCES = "unplaceable_resources"
UNPLACEABLE = "unplaceable"
LAUNCH_FAILED = "launch_failed"  # ECS launches no task at all (its execution role)
BUDGET_EXHAUSTED = "budget_exhausted"
SERVICE_GONE = "service_gone"
ALARM = "alarm"  # an alarm went into ALARM during the bake after stable (engine/bake.py)

UNPLACEABLE_MARKER = "was unable to place a task"
# ECS cannot assume the task definition's execution role: no task starts, the service says
# "(service S) failed to launch a task with (error ECS was unable to assume the role
# '<arn>' that was provided for this task. Please verify that the role being passed has the
# proper trust relationship and permissions ...)." (the event users report; IAM is
# eventually consistent, so a role created a moment ago may fail once: the same grace as
# an unplaceable task applies).
LAUNCH_FAILED_MARKER = "failed to launch a task"

STOPPING_STATES = {"DEACTIVATING", "STOPPING", "DEPROVISIONING"}
_BENIGN_STOP_CODES = {"UserInitiated", "SpotInterruption", "TerminationNotice"}
_BENIGN_STOP_REASONS = ("Scaling activity initiated", "Service scheduler initiated")
# A task the scheduler stops gets the stop signal, then SIGKILL after stopTimeout (ECS API
# reference, StopTask: "This results in a stop signal value and a default 30-second
# timeout, after which the SIGKILL value is sent and the containers are forcibly stopped
# ... will default to SIGTERM"). A JVM exits 128 + 15 = 143 on SIGTERM; a container that
# outlives stopTimeout exits 128 + 9 = 137. Either is the scheduler's stop, not the
# revision failing: the task ran until ECS decided to stop it (a slow shutdown is worth
# fixing, but says nothing about the release). 137 from the kernel's OOM killer comes
# with ECS's own "Essential container in task exited" / "OutOfMemoryError", not a
# scheduler reason, so it still counts.
_SIGNAL_EXIT_CODES = {0, 143, 137}


@dataclass(frozen=True)
class Target:
    """What one wait is waiting for: this release's revision, deployment and limits."""

    task_definition_arn: str
    started_at: float
    deadline: float
    desired_count: int
    deployment_id: str | None = None  # None: recognise ours by its task definition
    previous_task_definition_arn: str | None = None  # tells an ECS rollback from a takeover
    draining_timeout: float = 0.0
    unhealthy_after: float | None = None  # OutOfService this long after RUNNING → failed
    stop_failures_allowed: int = 3
    unplaceable_grace: float = 60.0
    unplaceable_polls: int = 3
    host_port: int | None = None
    cluster: str = ""
    events_before: frozenset[str] = frozenset()  # service event ids older than this wait


@dataclass(frozen=True)
class Snapshot:
    """One poll's worth of state: ECS's in the shapes its API returns, the load balancer's
    in the neutral view."""

    taken_at: float
    service: Mapping[str, Any]  # DescribeServices → services[0]
    tasks: Sequence[Mapping[str, Any]]  # DescribeTasks → tasks of this service
    instance_ids: Mapping[str, str] = field(default_factory=dict)  # containerInstanceArn → EC2 id
    health: HealthView | None = None  # None: no load balancer to check


@dataclass(frozen=True)
class Verdict:
    state: str  # progressing | stable | failed
    summary: str  # one line for people: "1/2 new tasks InService, 1 old task draining (212 s left)"
    cause: str | None = None
    reason: str = ""  # why it failed, with ECS's own words where it gave any
    fix: str = ""  # what to do about it
    changed: bool = False  # anything moved since the previous snapshot (drives poll backoff)
    next_change_at: float | None = None  # when something is expected to move (drain end, ...)
    moving_on_its_own: bool = False  # tasks starting/stopping on ECS's schedule, not a known one
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def done(self) -> bool:
        return self.state != PROGRESSING


def belongs_to(task: Mapping[str, Any], service: Mapping[str, Any]) -> bool:
    """Tasks a service started carry group "service:NAME" and its deployment id as startedBy."""
    name = service.get("serviceName", "")
    if task.get("group") == f"service:{name}":
        return True
    deployment_ids = {d.get("id") for d in service.get("deployments", [])}
    return bool(task.get("startedBy")) and task.get("startedBy") in deployment_ids


def placement_problem(message: str) -> tuple[str, str] | None:
    """(cause, fix) for an ECS event saying it cannot place ("unable to place a task") or
    launch ("failed to launch a task") a task, None for any other event."""
    if LAUNCH_FAILED_MARKER in message:
        return LAUNCH_FAILED, ""
    if UNPLACEABLE_MARKER not in message:
        return None
    lowered = message.lower()
    if "already using a port" in lowered:
        return UNPLACEABLE_PORT, ""
    if "insufficient" in lowered:
        return UNPLACEABLE_RESOURCES, ""
    return UNPLACEABLE, ""


def plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def _failed_container(task: Mapping[str, Any]) -> Mapping[str, Any] | None:
    for container in task.get("containers", []):
        code = container.get("exitCode")
        if code not in (None, 0):
            return container
    return None


def describe_stop(task: Mapping[str, Any]) -> str:
    """ECS's reason for a stopped task, with the failing container's exit code when known,
    else the reason a container that never ran gives (a task that failed to start: ECS
    may put "CannotPullContainerError: ..." on the container only)."""
    reason = task.get("stoppedReason") or task.get("stopCode") or "stopped"
    container = _failed_container(task)
    if container is not None:
        reason += f" (container {container.get('name')} exit code {container.get('exitCode')}"
        if container.get("reason"):
            reason += f": {container['reason']}"
        reason += ")"
        return reason
    for other in task.get("containers", []):
        said = str(other.get("reason") or "")
        if said and said not in reason:
            return f"{reason} (container {other.get('name')}: {said})"
    return reason


def is_failure_stop(task: Mapping[str, Any]) -> bool:
    """A stop that says the revision is bad (crash, failed health checks), not a scale-in.

    A scheduler stop (scale-in, replacement) whose containers exited on the stop signal
    (143 SIGTERM, 137 SIGKILL after stopTimeout) is not a failure; a crash is, whatever
    its exit code, and so is a scheduler stop for failed ELB health checks."""
    if task.get("stopCode") in _BENIGN_STOP_CODES:
        return False
    reason = str(task.get("stoppedReason", ""))
    if not reason.startswith(_BENIGN_STOP_REASONS):
        return True
    return any(c.get("exitCode") not in (None, *_SIGNAL_EXIT_CODES)
               or "outofmemory" in str(c.get("reason", "")).lower()
               for c in task.get("containers", []))


def stopped_during(task: Mapping[str, Any], target: Target) -> bool:
    """Stopped since this wait began: older stops (ECS lists them for an hour) say nothing."""
    stopped_at = epoch(task.get("stoppedAt"))
    return stopped_at is None or stopped_at >= target.started_at - 1
