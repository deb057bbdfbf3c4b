"""`release logs`: a service's container log lines on demand, from CloudWatch Logs.

Which tasks: `--task ID`, else the service's running tasks, else (a service that
crashed down to none) its most recently stopped ones — ECS lists stopped tasks for
at least an hour. Which stream: the task definition's awslogs settings
(core/awslogs.py). What: the last N lines of each (GetLogEvents); with `--since`, every
line from then on (FilterLogEvents); with `--follow`, new lines as they come, on the
clock, until Ctrl-C (exit 130, as for any interrupted verb). Exit 1 when there is nothing
to read (no such service or task, no awslogs driver, a missing group), 5 when the
credentials may not read the logs (logs:GetLogEvents, logs:FilterLogEvents).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from release.core import awslogs, records
from release.core.clock import default_clock
from release.core.config import ConfigRepo, Environment, ServiceSpec
from release.core.deployments import short
from release.core.errors import EXIT_INTERRUPTED, InvalidInput, ReleaseError, Unreachable
from release.core.poll import Again, Pace
from release.engine.poll import Contact, poll
from release.engine.task_logs import TaskLogs
from release.output.events import Reporter

POLL_SECONDS = 2.0
NEWEST_STOPPED = 3  # stopped tasks shown when none runs: the latest crashes
DESCRIBE_TASKS_MAX = 100


class StoppedFollowing(ReleaseError):
    """Ctrl-C ends `--follow`: nothing was changed, there is nothing to resume."""

    exit_code = EXIT_INTERRUPTED


@dataclass(frozen=True)
class Options:
    task: str | None = None
    since_seconds: int | None = None
    follow: bool = False
    lines: int = awslogs.DEFAULT_LINES
    container: str | None = None


def pick_tasks(ecs: Any, cluster: str, service: str, task: str | None) -> list[dict[str, Any]]:
    """`task`, else the running tasks newest first, else the newest stopped ones."""
    if task:
        found = ecs.describe_tasks(cluster=cluster, tasks=[task]).get("tasks", [])
        if not found:
            raise InvalidInput(f"no task {task} in cluster {cluster}",
                               "pass a task ID of this service (`release status` lists them); "
                               "ECS forgets stopped tasks after about an hour")
        return found
    for status in ("RUNNING", "STOPPED"):
        arns = ecs.list_tasks(cluster=cluster, serviceName=service,
                              desiredStatus=status).get("taskArns", [])[:DESCRIBE_TASKS_MAX]
        tasks = ecs.describe_tasks(cluster=cluster, tasks=arns).get("tasks", []) if arns else []
        if tasks:
            when = "startedAt" if status == "RUNNING" else "stoppedAt"
            tasks.sort(key=lambda t: str(t.get(when) or t.get("createdAt") or ""), reverse=True)
            return tasks if status == "RUNNING" else tasks[:NEWEST_STOPPED]
    raise InvalidInput(f"{service} has no running or recently stopped task",
                       "release it (`release deploy`), or look in CloudWatch Logs for older "
                       "streams: ECS forgets stopped tasks after about an hour")


def _problem_error(kind: str, problem: str) -> ReleaseError:
    from release.adapters import cloudwatch_logs

    if kind == cloudwatch_logs.DENIED:
        return Unreachable(problem, "allow logs:GetLogEvents and logs:FilterLogEvents on the "
                           "log group to the role that runs release")
    if kind == cloudwatch_logs.MISSING:
        return InvalidInput(problem, "`release bootstrap` creates the log groups the task "
                            "definitions name; a stream appears once its container starts")
    return Unreachable(problem, "retry; check the network and the CloudWatch Logs endpoint")


class LogsView:
    """Prints lines of the chosen tasks' streams; remembers what it printed (--follow)."""

    def __init__(self, reporter: Reporter, logs: TaskLogs,
                 streams: dict[str, tuple[Mapping[str, Any], awslogs.Stream]]) -> None:
        self.reporter, self.logs, self.streams = reporter, logs, streams
        self.seen: set[tuple[str, int, str]] = set()
        self.newest = 0

    def show(self, task_arn: str, line: Any) -> None:
        key = (line.stream, line.timestamp, line.event_id or line.message)
        if key in self.seen:
            return
        self.seen.add(key)
        self.newest = max(self.newest, line.timestamp)
        at = records.iso(line.timestamp / 1000)
        ident = awslogs.task_id(task_arn)
        self.reporter.emit("logs.line", f"{at} {ident[:8]} | {line.message}", "info",
                           task=task_arn, stream=line.stream, timestamp=at, line=line.message)

    def tail(self, limit: int) -> None:
        """The last `limit` lines of each stream, one task after the other."""
        failures = []
        for arn, (task, stream) in self.streams.items():
            self.reporter.emit("logs.task", f"task {awslogs.task_id(arn)} "
                               f"({task.get('lastStatus')}, {short(task.get('taskDefinitionArn'))}"
                               f"): {stream.group} {stream.stream}", "dim", task=arn,
                               group=stream.group, stream=stream.stream)
            read = self.logs.tail(stream, limit)
            if read.problem:
                failures.append(read)
                self.reporter.emit("logs.unavailable", f"  {read.problem}", "warn", task=arn,
                                   cause=read.kind)
            for line in read.lines:
                self.show(arn, line)
        if failures and len(failures) == len(self.streams):
            raise _problem_error(failures[0].kind, failures[0].problem)

    def since(self, start_ms: int, strict: bool = True) -> None:
        """Every line from `start_ms` on, per log group, oldest first."""
        from release.adapters import cloudwatch_logs

        by_group: dict[tuple[str, str | None], dict[str, str]] = {}
        for arn, (_, stream) in self.streams.items():
            by_group.setdefault((stream.group, stream.region), {})[stream.stream] = arn
        for (group, region), owners in by_group.items():
            read = cloudwatch_logs.since(self.logs.client(region), group, owners, start_ms)
            for line in read.lines:
                self.show(owners.get(line.stream, ""), line)
            if read.problem and strict:
                raise _problem_error(read.kind, read.problem)
            if read.problem:
                self.reporter.emit("logs.unavailable", f"  {read.problem}", "warn",
                                   cause=read.kind)


def _streams(reporter: Reporter, logs: TaskLogs, tasks: list[dict[str, Any]],
             container: str | None) -> dict[str, tuple[Mapping[str, Any], awslogs.Stream]]:
    streams = {}
    whys = []
    named: list[str] = []  # the containers there are, when --container names none of them
    for task in tasks:
        located = logs.locate(task, container)
        if located.stream is None:
            whys.append(located.why)
            named += [n for n in located.containers if n not in named]
            reporter.emit("logs.unavailable", f"task {awslogs.task_id(task['taskArn'])}: "
                          f"{located.why}", "warn", task=task["taskArn"])
        else:
            streams[task["taskArn"]] = (task, located.stream)
    if not streams and named:
        raise InvalidInput(whys[0], f"name one of the service's containers: --container "
                           f"{' | '.join(named)}")
    if not streams:
        raise InvalidInput(whys[0] if whys else "no task to read",
                           "give the container a logConfiguration with the awslogs driver, "
                           "awslogs-group and awslogs-stream-prefix (docs/user-guide.md, Logs)")
    return streams


def show_logs(repo: ConfigRepo, spec: ServiceSpec, reporter: Reporter, options: Options
              ) -> None:
    """`release logs`: tail, `--since`, `--follow`."""
    from release.adapters import aws as aws_adapter
    from release.adapters import live
    from release.engine import values

    env: Environment = repo.environment(spec.env)
    aws = aws_adapter.connect(env)
    resolved = values.resolve(repo, spec, aws)  # values from outside git (the cluster, ...)
    spec, env = resolved.spec or spec, resolved.env
    clock = default_clock()
    with aws_adapter.aws_errors(env, f"reading the logs of {spec.service_name}"):
        if live.describe_service(aws.ecs, env.cluster, spec.service_name, env.name) is None:
            raise InvalidInput(f"{env.name}/{spec.service_name} does not exist",
                               f"release it first: `release deploy --env {env.name}`")
        logs = TaskLogs(aws, env)
        tasks = pick_tasks(aws.ecs, env.cluster, spec.service_name, options.task)
        view = LogsView(reporter, logs, _streams(reporter, logs, tasks, options.container))
        if options.since_seconds is not None:
            view.since(int((clock.now() - options.since_seconds) * 1000))
        else:
            view.tail(options.lines)
        if not options.follow:
            return
        _follow(view, aws, env, spec, options, clock)


def _follow(view: LogsView, aws: Any, env: Environment, spec: ServiceSpec, options: Options,
            clock: Any) -> None:
    """New lines every POLL_SECONDS, from new tasks too, until Ctrl-C."""
    view.reporter.emit("logs.following", f"following {env.name}/{spec.service_name} "
                       "(Ctrl-C to stop)", "dim")
    start = view.newest or int(clock.now() * 1000)

    def read(_now: float) -> None:
        nonlocal start
        if not options.task:  # a replacement task's stream joins the view
            try:
                tasks = pick_tasks(aws.ecs, env.cluster, spec.service_name, None)
            except InvalidInput:  # none right now: the next poll looks again
                tasks = []
            fresh = [t for t in tasks if t["taskArn"] not in view.streams]
            for task in fresh:
                located = view.logs.locate(task, options.container)
                if located.stream is not None:
                    view.streams[task["taskArn"]] = (task, located.stream)
        view.since(start, strict=False)
        start = max(start, view.newest)

    contact = Contact(env, f"following the logs of {spec.service_name}", "nothing was "
                      "changed; run `release logs --follow` again", view.reporter, "logs")
    try:
        clock.sleep(POLL_SECONDS)
        poll(read, lambda _now, _read: Again(), pace=Pace(POLL_SECONDS), contact=contact,
             clock=clock)
    except KeyboardInterrupt:
        raise StoppedFollowing("stopped following the logs", "nothing was changed") from None
