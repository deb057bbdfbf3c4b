"""The last lines a failing task's container wrote, printed by the wait as the task fails.

"Essential container in task exited (exit code 137)" says that a task died, not why; the
why is usually in the container's last lines. So for each task of the new revision that
stops for a failure (a crash, failed ELB health checks) — and, when the wait gives up,
each one still failing its health checks — the wait prints the last N lines (default 20,
`release.logs.lines` in the service spec, 0 for none) of that container's awslogs stream,
once per task, on the console and as a `task.logs` event. When there is nothing to read
(no awslogs driver, no stream prefix, a missing group or stream, no permission) it says
so in one line; the release goes on exactly as it would have.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from release.core import awslogs, stability
from release.core.config import Environment, ServiceSpec
from release.core.deployments import short
from release.output.events import Reporter

STATE_ATTRIBUTE = "_failing_task_logs"  # where the wait's Waiter keeps this module's memory


class TaskLogs:
    """Finds and reads a task's container stream; task definitions and clients cached."""

    def __init__(self, aws: Any, env: Environment) -> None:
        self.aws, self.env = aws, env
        self.taskdefs: dict[str, Mapping[str, Any]] = {}
        self.clients: dict[str | None, Any] = {}

    def locate(self, task: Mapping[str, Any], container: str | None = None) -> awslogs.Located:
        """The stream of `container` (default: the failing one, else the first essential)."""
        arn = str(task.get("taskDefinitionArn", ""))
        try:
            if arn not in self.taskdefs:
                self.taskdefs[arn] = self.aws.ecs.describe_task_definition(
                    taskDefinition=arn)["taskDefinition"]
        except Exception as exc:  # the diagnosis must not end the release
            from release.adapters.aws import error_code

            return awslogs.Located(why=f"cannot read {short(arn)}: {error_code(exc) or exc}")
        definition = awslogs.container_definition(self.taskdefs[arn],
                                                  container or _failed_container(task))
        if definition is None:
            return awslogs.no_container(self.taskdefs[arn], short(arn), container)
        return awslogs.locate(definition, str(task.get("taskArn", "")))

    def client(self, region: str | None) -> Any:
        """A CloudWatch Logs client in the stream's region (awslogs-region may differ)."""
        region = region or self.env.region
        if region not in self.clients:
            if region == self.env.region:
                self.clients[region] = self.aws.logs
            else:
                self.clients[region] = self.aws.session.client(
                    "logs", region_name=region, endpoint_url=self.aws.endpoint,
                    config=self.aws.config)
        return self.clients[region]

    def tail(self, stream: awslogs.Stream, limit: int) -> Any:
        from release.adapters import cloudwatch_logs

        return cloudwatch_logs.tail(self.client(stream.region), stream, limit)


def _failed_container(task: Mapping[str, Any]) -> str | None:
    """The container whose exit failed the task (a crash), if any."""
    return next((str(c.get("name")) for c in task.get("containers", [])
                 if c.get("exitCode") not in (None, 0)), None)


def emit_tail(reporter: Reporter, logs: TaskLogs, task: Mapping[str, Any], limit: int,
              container: str | None = None, **fields: Any) -> None:
    """One `task.logs` event: the last `limit` lines of the task's container, or why none."""
    arn = str(task.get("taskArn", ""))
    located = logs.locate(task, container)
    where = f"task {awslogs.task_id(arn)}"
    if located.stream is None:
        reporter.emit("task.logs", f"  no log lines for {where}: {located.why}", "warn",
                      task=arn, lines=[], unavailable=located.why, **fields)
        return
    stream = located.stream
    read = logs.tail(stream, limit)
    ids = {"task": arn, "container": stream.container, "group": stream.group,
           "stream": stream.stream, **fields}
    if read.problem:
        reporter.emit("task.logs", f"  no log lines for {where}: {read.problem}", "warn",
                      lines=[], unavailable=read.problem, cause=read.kind, **ids)
        return
    lines = [line.message for line in read.lines]
    if not lines:
        reporter.emit("task.logs", f"  no log lines for {where}: {stream.group} "
                      f"{stream.stream} is empty", "warn", lines=[], **ids)
        return
    text = "\n".join(f"    | {line}" for line in lines)
    reporter.emit("task.logs", f"  last {len(lines)} log lines of {stream.container} in {where} "
                  f"({stream.group} {stream.stream}):\n{text}", "info", lines=lines, **ids)


class FailingTaskLogs:
    """The wait's memory: which tasks' lines were shown already."""

    def __init__(self, aws: Any, env: Environment, spec: ServiceSpec,
                 reporter: Reporter) -> None:
        self.reporter, self.env, self.spec = reporter, env, spec
        self.limit = awslogs.failure_lines(spec.doc)
        self.logs = TaskLogs(aws, env)
        self.shown: set[str] = set()

    def observe(self, snap: stability.Snapshot, target: stability.Target,
                verdict: stability.Verdict) -> None:
        if not self.limit:
            return
        for task in snap.tasks:
            arn = str(task.get("taskArn", ""))
            if arn in self.shown or task.get("taskDefinitionArn") != target.task_definition_arn:
                continue
            if _failed_stop(task, target) or (verdict.state == stability.FAILED
                                              and _failing_checks(task, snap)):
                self.shown.add(arn)
                try:
                    emit_tail(self.reporter, self.logs, task, self.limit, env=self.env.name,
                              service=self.spec.service_name)
                except Exception as exc:  # noqa: BLE001 - a diagnosis never ends a release
                    self.reporter.emit("task.logs", f"  no log lines for task "
                                       f"{awslogs.task_id(arn)}: {type(exc).__name__}: {exc}",
                                       "warn", task=arn, lines=[], unavailable=str(exc),
                                       env=self.env.name, service=self.spec.service_name)


def _failed_stop(task: Mapping[str, Any], target: stability.Target) -> bool:
    """A failure stop of a task whose containers ran: one ECS stopped before they started
    (stopCode TaskFailedToStart: its image, secrets or log group) printed nothing."""
    return (task.get("lastStatus") == "STOPPED" and stability.stopped_during(task, target)
            and stability.is_failure_stop(task) and task.get("stopCode") != "TaskFailedToStart")


def _failing_checks(task: Mapping[str, Any], snap: stability.Snapshot) -> bool:
    return (task.get("lastStatus") == "RUNNING" and snap.health is not None
            and snap.health.of(str(task.get("taskArn", ""))).failing)


def show_failing_task_logs(waiter: Any, snap: stability.Snapshot, target: stability.Target,
                           verdict: stability.Verdict) -> None:
    """The wait's one call, once per poll: its memory rides on the Waiter."""
    shower = getattr(waiter, STATE_ATTRIBUTE, None)
    if shower is None:
        shower = FailingTaskLogs(waiter.aws, waiter.env, waiter.spec, waiter.reporter)
        setattr(waiter, STATE_ATTRIBUTE, shower)
    shower.observe(snap, target, verdict)
