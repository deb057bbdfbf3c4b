"""`release run` and `release.beforeDeploy`: one task of a service's revision with a command.

RunTask with the service's own placement (cluster, launch type or capacity provider
strategy, placement constraints and strategy, network configuration), the command as
a container override and the release record's who/commit/build as tags; then the
task's status changes and, with the awslogs driver, its log lines (GetLogEvents),
until it is STOPPED. A container exiting non-zero is exit 6 (its own code is reported,
not passed on: 3, 4 and 5 are the tool's). Ctrl-C leaves the task
running (it is not ours to kill half-way through a migration) and says how to stop it.

A revision whose containers bind a static host port runs in its run variant, the same
without that port, in `<family>-run` (core/oneoff.py, engine/run_variant.py): the
service's tasks hold the port on their instances, and a one-off task of the revision
itself would fit only on an instance without one. beforeDeploy needs it most: it runs
while every old task still holds the port. When ECS starts no task, its `failures`
become one message with the fix of each reason (core/oneoff.refusal).

A beforeDeploy task is started by `release-before-deploy` (RunTask's startedBy) and
tagged with its service's release record, so a deploy can find one an interrupted
deploy left running (ListTasks by startedBy, DescribeTasks with its tags) and refuse
to start a second migration beside it (`refuse_while_running`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NoReturn

from release.adapters import aws as aws_adapter
from release.adapters import live as live_state
from release.core import oneoff, records, stability
from release.core.clock import default_clock
from release.core.config import ConfigRepo, Environment, ServiceSpec
from release.core.deployments import short
from release.core.errors import (
    EXIT_COMMAND_FAILED,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_ROLLED_BACK,
    InvalidInput,
    ReleaseError,
)
from release.core.poll import Again, Pace
from release.core.start_failures import start_failure_fix
from release.engine import run_variant
from release.engine.poll import Contact, poll
from release.output.events import Reporter

POLL_SECONDS = 2.0
STARTED_BY = "release-run"  # RunTask startedBy: letters, numbers, hyphens, underscores
BEFORE_DEPLOY_BY = "release-before-deploy"  # beforeDeploy's startedBy (ListTasks filters on it)
PLACEMENT = ("launchType", "capacityProviderStrategy", "placementConstraints",
             "placementStrategy", "networkConfiguration", "platformVersion")
RECORD_FIELDS = ("env", "service", "commit", "by", "at", "build_url", "build_tag", "job_name")


class NotStarted(InvalidInput):
    """RunTask started no task: ECS's reasons and their fixes; nothing ran."""


class Interrupted(ReleaseError):
    """Ctrl-C while a one-off task runs: the task goes on; the message says how to stop it."""

    exit_code = EXIT_INTERRUPTED


@dataclass(frozen=True)
class TaskRun:
    task_arn: str
    container: str
    exit_code: int | None
    stopped_reason: str


def run_params(env: Environment, service: dict[str, Any], revision: str, container: str,
               command: list[str], tags: list[dict[str, str]],
               started_by: str = STARTED_BY) -> dict[str, Any]:
    """RunTask's input: the service's placement, the command override, the record tags."""
    params: dict[str, Any] = {k: service[k] for k in PLACEMENT if service.get(k)}
    if "capacityProviderStrategy" in params:
        params.pop("launchType", None)  # RunTask takes one or the other
    params.update(cluster=env.cluster, taskDefinition=revision, count=1, startedBy=started_by,
                  overrides={"containerOverrides": [{"name": container, "command": command}]},
                  tags=tags)
    return params


def record_tags(repo: ConfigRepo, spec: ServiceSpec, now: float) -> list[dict[str, str]]:
    """Who ran it, from which commit and build (the release record's fields)."""
    from release.adapters import git

    full = records.new_record(spec.env, spec.service_name,
                              git.repo_commit(repo.root, repo.commit), "", None, now)
    kept = records.Record(**{name: getattr(full, name) for name in RECORD_FIELDS})
    return kept.tags()


class LogFollower:
    """The awslogs stream of one container: new lines on each read, one note when it cannot."""

    def __init__(self, logs: Any, taskdef: dict[str, Any], container: str, task_id: str,
                 say: Callable[[str, str], None]) -> None:
        definition = next(c for c in taskdef["containerDefinitions"] if c["name"] == container)
        config = definition.get("logConfiguration") or {}
        options = config.get("options") or {}
        self.logs, self.say = logs, say
        self.group = options.get("awslogs-group") if config.get("logDriver") == "awslogs" else None
        prefix = options.get("awslogs-stream-prefix")
        self.stream = f"{prefix}/{container}/{task_id}" if prefix else None
        self.token: str | None = None
        if self.group and not self.stream:
            say("logs.unavailable", "no log lines: awslogs without awslogs-stream-prefix names "
                "no stream by task")
            self.group = None

    def read(self, final: bool = False) -> None:
        """New lines; a missing stream is normal until the container starts, so it is
        reported only on the `final` read after the task stopped."""
        if not self.group or not self.stream:
            return
        args: dict[str, Any] = {"logGroupName": self.group, "logStreamName": self.stream,
                                "startFromHead": True}
        if self.token:
            args["nextToken"] = self.token
        try:
            answer = self.logs.get_log_events(**args)
        except self.logs.exceptions.ResourceNotFoundException as exc:
            if final:
                message = exc.response.get("Error", {}).get("Message", "")
                self._give_up(f"{self.group} {self.stream}: {message or 'does not exist'}")
            return
        except Exception as exc:  # AccessDenied and the like: the task still runs
            self._give_up(f"cannot read {self.group}: {aws_adapter.error_code(exc) or exc}")
            return
        for event in answer.get("events", []):
            self.say("run.log", str(event.get("message", "")).rstrip("\n"))
        self.token = answer.get("nextForwardToken") or self.token

    def _give_up(self, why: str) -> None:
        self.say("logs.unavailable", f"no log lines: {why} (the task goes on)")
        self.group = None


def in_variant(ecs: Any, taskdef: dict[str, Any], revision: str, reporter: Reporter) -> str:
    """The revision a one-off task of `revision` runs in: itself, or its run variant when
    it binds a static host port (found by content, else registered)."""
    variant = oneoff.variant_of(taskdef)
    if variant is None:
        return revision
    arn, registered = run_variant.ensure(ecs, variant)
    ports = ", ".join(str(p) for p in variant.ports)
    reporter.emit("run.variant", f"{short(revision)} binds host port {ports}, which the "
                  f"service's tasks hold: the command runs in {short(arn)}, the same task "
                  f"definition without that port ({'registered now' if registered else 'reused'})",
                  revision=arn, source=revision, registered=registered)
    return arn


def run_once(aws: Any, env: Environment, service: dict[str, Any], revision: str,
             container: str | None, command: list[str], tags: list[dict[str, str]],
             reporter: Reporter, started_by: str = STARTED_BY) -> TaskRun:
    """Run one task and follow it until it stops."""
    taskdef, _ = live_state.describe_revision(aws.ecs, revision)
    names = [c["name"] for c in taskdef["containerDefinitions"]]
    chosen = container or next((b["containerName"] for b in service.get("loadBalancers") or []
                                if b.get("containerName")), names[0])
    if chosen not in names:
        raise InvalidInput(f"{revision.rsplit('/', 1)[-1]} has no container {chosen!r}",
                           f"pass --container with one of: {', '.join(names)}")
    runs = in_variant(aws.ecs, taskdef, revision, reporter)
    try:
        answer = aws.ecs.run_task(**run_params(env, service, runs, chosen, command, tags,
                                               started_by))
    except aws.ecs.exceptions.InvalidParameterException as exc:
        message = exc.response.get("Error", {}).get("Message", "")
        hint = (f"register container instances with cluster {env.cluster} (EC2 instances "
                f"whose ECS agent names it) or run on Fargate; nothing ran"
                if "No Container Instances" in message else "fix the request; nothing ran")
        raise NotStarted(f"ECS refused to run a task of {short(runs)}: {message}",
                         hint) from None
    if not answer.get("tasks"):
        refused = oneoff.refusal(answer.get("failures", []), taskdef, runs)
        raise NotStarted(refused.message, refused.hint)
    task = answer["tasks"][0]
    arn = task["taskArn"]
    stop = f"aws ecs stop-task --cluster {env.cluster} --task {arn.rsplit('/', 1)[-1]}"
    of = short(runs) + ("" if runs == revision else f" (the run variant of {short(revision)})")
    reporter.emit("run.started", f"started {arn.rsplit('/', 1)[-1]} of {of}: "
                  f"{' '.join(command)}", task=arn, revision=runs)

    def say(kind: str, text: str) -> None:
        reporter.emit(kind, text, "dim" if kind == "run.log" else "warn")

    follower = LogFollower(aws.client("logs"), taskdef, chosen, short(arn), say)
    status = ""

    def judge(_now: float, task: dict[str, Any]) -> dict[str, Any] | Again:
        nonlocal status
        if task.get("lastStatus") != status:
            status = task.get("lastStatus", "")
            reporter.emit("run.status", f"{arn.rsplit('/', 1)[-1]}: {status}", status=status)
        if status == "STOPPED":
            return task
        follower.read()
        return Again()

    contact = Contact(env, f"following task {arn.rsplit('/', 1)[-1]}", f"the task goes on; "
                      f"stop it with `{stop}`", reporter, "run")
    try:
        task = poll(lambda _now: aws.ecs.describe_tasks(cluster=env.cluster, tasks=[arn])
                    ["tasks"][0], judge, pace=Pace(POLL_SECONDS), contact=contact)
    except KeyboardInterrupt:
        raise Interrupted(f"interrupted: task {arn} is still running",
                          f"it goes on; stop it with `{stop}`") from None
    follower.read(final=True)
    exit_code = next((c.get("exitCode") for c in task.get("containers", [])
                      if c.get("name") == chosen), None)
    return TaskRun(arn, chosen, exit_code, stability.describe_stop(task))


def run(repo: ConfigRepo, spec: ServiceSpec, command: list[str], reporter: Reporter,
        container: str | None = None, revision: str | None = None) -> int:
    """`release run`: 0 when the container exited 0, EXIT_COMMAND_FAILED (6) when it exited
    with another code (its own code is in run.summary), 1 when it never ran. The container's
    code is not passed through: its 3, 4 or 5 would read as the tool's own codes."""
    from release.engine import values

    env = repo.environment(spec.env)
    if revision:  # an ARN of another account would name the local revision of its name
        from release.core.revisions import check_revision_arn

        check_revision_arn(env, spec.family, revision, "--revision")
    aws = aws_adapter.connect(env)
    resolved = values.resolve(repo, spec, aws)  # values from outside git
    repo, spec, env = resolved.repo, resolved.spec or spec, resolved.env
    with aws_adapter.aws_errors(env, f"running a task of {spec.service_name}"):
        service = live_state.describe_service(aws.ecs, env.cluster, spec.service_name, env.name)
        if service is None:
            raise InvalidInput(f"{env.name}/{spec.service_name} does not exist",
                               f"release it first: `release deploy --env {env.name}`")
        chosen = (live_state.resolve_revision(aws.ecs, spec.family, revision) if revision
                  else service["taskDefinition"])
        tags = record_tags(repo, spec, default_clock().now())
        done = run_once(aws, env, service, chosen, container, command, tags, reporter)
    if done.exit_code is None:
        reporter.error(f"the task stopped before its container ran: {done.stopped_reason}",
                       (start_failure_fix(done.stopped_reason) or "see the task's stoppedReason")
                       + "; nothing was changed", exit_code=1)
        return 1
    code = EXIT_OK if done.exit_code == 0 else EXIT_COMMAND_FAILED
    if code != EXIT_OK:
        reporter.error(f"the command failed: {done.container} exited {done.exit_code}",
                       f"its output is above; `release run` exits {EXIT_COMMAND_FAILED} when "
                       "the command fails, whatever the container's own code (in the JSON "
                       "event run.summary, container_exit_code)", exit_code=code,
                       container_exit_code=done.exit_code)
    reporter.emit("run.summary", f"{done.container} exited {done.exit_code}",
                  "success" if code == EXIT_OK else "error", exit_code=code,
                  container_exit_code=done.exit_code, task=done.task_arn)
    return code


class BeforeDeployFailed(ReleaseError):
    """The beforeDeploy task failed: the service was not touched, the last good revision
    serves (exit 3, as for a release that failed and is rolled back)."""

    exit_code = EXIT_ROLLED_BACK


def before_deploy(prepared: Any, revision: str, reporter: Reporter) -> None:
    """Run release.beforeDeploy with the new `revision`, before update_service (engine/deploy.py).

    Only when this release registered that revision: a settings-only change has no new
    code to prepare for. A non-zero exit raises, so update_service is never called.
    """
    hook = (prepared.spec.doc.get("release") or {}).get("beforeDeploy")
    if not hook or not prepared.plan.registers or prepared.live.service is None:
        return
    where = f"{prepared.env.name}/{prepared.spec.service_name}"
    reporter.emit("release.before_deploy", f"{where}: beforeDeploy with "
                  f"{revision.rsplit('/', 1)[-1]}: {' '.join(hook['command'])}")
    tags = [t for t in prepared.record.tags() if t["key"] in
            {records.PREFIX + k for k in ("env", "service", "commit", "by", "at", "build-url",
                                          "build-tag", "job")}]
    try:
        done = run_once(prepared.aws, prepared.env, prepared.live.service, revision,
                        hook.get("container"), list(hook["command"]), tags, reporter,
                        BEFORE_DEPLOY_BY)
    except NotStarted as exc:  # a task that never ran stops the release as a failing one
        _before_deploy_failed(prepared, revision, f"beforeDeploy never ran: {exc.message}",
                              f"{exc.hint}; {short(revision)} is registered but not released",
                              reporter)
    except Interrupted as exc:
        raise Interrupted(f"{where}: beforeDeploy {exc.message}", f"{exc.hint}; until it "
                          "stops, `release deploy` of this service refuses to start another"
                          ) from None
    if done.exit_code != 0:
        _before_deploy_failed(
            prepared, revision,
            f"beforeDeploy exited {done.exit_code if done.exit_code is not None else '-'}"
            f"{': ' + done.stopped_reason if done.exit_code is None else ''}",
            f"{short(revision)} is registered but not released; fix the cause and "
            f"deploy again (its logs: `release run` shows them)", reporter)


def _before_deploy_failed(prepared: Any, revision: str, what: str, hint: str,
                          reporter: Reporter) -> NoReturn:
    """Close the ledger entry and the revision's record as failed and stop the release
    before update_service (exit 3)."""
    from release.engine.outcome import tag_record

    where = f"{prepared.env.name}/{prepared.spec.service_name}"
    failed = BeforeDeployFailed(
        f"{where}: {what}; the service was not updated and still runs "
        f"{short(str(prepared.live.revision_arn))}", hint)
    prepared.held.ledger.finish_release(records.FAILED, failed.message)
    tag_record(prepared.aws, reporter, revision,
               records.outcome_tags(records.FAILED, what, default_clock().now()))
    raise failed


class BeforeDeployRunning(InvalidInput):
    """A beforeDeploy task of the service still runs (an interrupted deploy left it): no
    second one is started beside it; nothing was changed."""


def running_before_deploy(aws: Any, env: Environment, service_name: str
                          ) -> list[dict[str, Any]]:
    """The service's beforeDeploy tasks whose desired status is still RUNNING (PROVISIONING,
    PENDING, RUNNING): ListTasks by startedBy ("it must be the only filter"), then
    DescribeTasks with their tags, kept when their release record names this service."""
    arns: list[str] = []
    for page in aws.ecs.get_paginator("list_tasks").paginate(cluster=env.cluster,
                                                             startedBy=BEFORE_DEPLOY_BY):
        arns += page.get("taskArns", [])
    found: list[dict[str, Any]] = []
    for start in range(0, len(arns), 100):
        answer = aws.ecs.describe_tasks(cluster=env.cluster, tasks=arns[start:start + 100],
                                        include=["TAGS"])
        for task in answer.get("tasks", []):
            tags = {t.get("key"): t.get("value") for t in task.get("tags") or []}
            if tags.get(records.PREFIX + "service") == service_name and \
                    tags.get(records.PREFIX + "env", env.name) == env.name:
                found.append(task)
    return found


def refuse_while_running(prepared: Any) -> None:
    """Before a release that would run release.beforeDeploy: refuse while one an earlier,
    interrupted deploy started still runs (two migrations at once)."""
    hook = (prepared.spec.doc.get("release") or {}).get("beforeDeploy")
    if not hook or prepared.live.service is None:
        return
    env, name = prepared.env, prepared.spec.service_name
    with aws_adapter.aws_errors(env, f"looking for beforeDeploy tasks of {name}"):
        running = running_before_deploy(prepared.aws, env, name)
    if not running:
        return
    task = running[0]
    task_id = short(task.get("taskArn"), "")
    tags = {t.get("key"): t.get("value") for t in task.get("tags") or []}
    by = tags.get(records.PREFIX + "by")
    since = tags.get(records.PREFIX + "at")
    started = ", ".join(p for p in (f"started {since}" if since else "",
                                    f"by {by}" if by else "") if p)
    raise BeforeDeployRunning(
        f"{env.name}/{name}: a beforeDeploy task is still running: {task_id} of "
        f"{short(str(task.get('taskDefinitionArn', '')))} ({task.get('lastStatus')}"
        f"{', ' + started if started else ''}; an interrupted deploy left it); nothing was "
        "changed",
        f"wait for it to stop (`aws ecs describe-tasks --cluster {env.cluster} --tasks "
        f"{task_id}`) and deploy again; if it must not finish, stop it with `aws ecs stop-task "
        f"--cluster {env.cluster} --task {task_id}` first")
