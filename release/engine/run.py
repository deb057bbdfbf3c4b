"""`release run` and `release.beforeDeploy`: one task of a service's revision with a command.

RunTask with the service's own placement (cluster, launch type or capacity provider
strategy, placement constraints and strategy, network configuration), the command as
a container override and the release record's who/commit/build as tags; then the
task's status changes and, with the awslogs driver, its log lines (GetLogEvents),
until it is STOPPED. The exit code is the container's own. Ctrl-C leaves the task
running (it is not ours to kill half-way through a migration) and says how to stop it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from release.adapters import aws as aws_adapter
from release.adapters import live as live_state
from release.core import records
from release.core.clock import default_clock
from release.core.config import ConfigRepo, Environment, ServiceSpec
from release.core.errors import EXIT_INTERRUPTED, EXIT_ROLLED_BACK, InvalidInput, ReleaseError
from release.output.events import Reporter

POLL_SECONDS = 2.0
STARTED_BY = "release-run"  # RunTask startedBy: letters, numbers, hyphens, underscores
PLACEMENT = ("launchType", "capacityProviderStrategy", "placementConstraints",
             "placementStrategy", "networkConfiguration", "platformVersion")
RECORD_FIELDS = ("env", "service", "commit", "by", "at", "build_url", "build_tag", "job_name")


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
               command: list[str], tags: list[dict[str, str]]) -> dict[str, Any]:
    """RunTask's input: the service's placement, the command override, the record tags."""
    params: dict[str, Any] = {k: service[k] for k in PLACEMENT if service.get(k)}
    if "capacityProviderStrategy" in params:
        params.pop("launchType", None)  # RunTask takes one or the other
    params.update(cluster=env.cluster, taskDefinition=revision, count=1, startedBy=STARTED_BY,
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


def run_once(aws: Any, env: Environment, service: dict[str, Any], revision: str,
             container: str | None, command: list[str], tags: list[dict[str, str]],
             reporter: Reporter) -> TaskRun:
    """Run one task and follow it until it stops."""
    taskdef, _ = live_state.describe_revision(aws.ecs, revision)
    names = [c["name"] for c in taskdef["containerDefinitions"]]
    chosen = container or next((b["containerName"] for b in service.get("loadBalancers") or []
                                if b.get("containerName")), names[0])
    if chosen not in names:
        raise InvalidInput(f"{revision.rsplit('/', 1)[-1]} has no container {chosen!r}",
                           f"pass --container with one of: {', '.join(names)}")
    answer = aws.ecs.run_task(**run_params(env, service, revision, chosen, command, tags))
    if not answer.get("tasks"):
        reasons = "; ".join(f"{f.get('reason')} {f.get('detail') or ''}".strip()
                            for f in answer.get("failures", [])) or "no reason given"
        raise InvalidInput(f"ECS did not start the task: {reasons}",
                           "free capacity on the cluster (a static host port needs an instance "
                           "where it is free) or fix the placement; nothing ran")
    task = answer["tasks"][0]
    arn = task["taskArn"]
    stop = f"aws ecs stop-task --cluster {env.cluster} --task {arn.rsplit('/', 1)[-1]}"
    reporter.emit("run.started", f"started {arn.rsplit('/', 1)[-1]} of "
                  f"{revision.rsplit('/', 1)[-1]}: {' '.join(command)}", task=arn)

    def say(kind: str, text: str) -> None:
        reporter.emit(kind, text, "dim" if kind == "run.log" else "warn")

    follower = LogFollower(aws.client("logs"), taskdef, chosen, arn.rsplit("/", 1)[-1], say)
    clock, status = default_clock(), ""
    try:
        while True:
            task = aws.ecs.describe_tasks(cluster=env.cluster, tasks=[arn])["tasks"][0]
            if task.get("lastStatus") != status:
                status = task.get("lastStatus", "")
                reporter.emit("run.status", f"{arn.rsplit('/', 1)[-1]}: {status}", status=status)
            if status != "STOPPED":
                follower.read()
            if status == "STOPPED":
                break
            clock.sleep(POLL_SECONDS)
    except KeyboardInterrupt:
        raise Interrupted(f"interrupted: task {arn} is still running",
                          f"it goes on; stop it with `{stop}`") from None
    follower.read(final=True)
    exit_code = next((c.get("exitCode") for c in task.get("containers", [])
                      if c.get("name") == chosen), None)
    return TaskRun(arn, chosen, exit_code, str(task.get("stoppedReason") or ""))


def run(repo: ConfigRepo, spec: ServiceSpec, command: list[str], reporter: Reporter,
        container: str | None = None, revision: str | None = None) -> int:
    """`release run`: the exit code is the container's (1 when it never ran)."""
    from release.engine import values

    env = repo.environment(spec.env)
    aws = aws_adapter.connect(env)
    resolved = values.resolve(repo, spec, aws)  # values from outside git
    repo, spec, env = resolved.repo, resolved.spec or spec, resolved.env
    with aws_adapter.aws_errors(env, f"running a task of {spec.service_name}"):
        service = live_state.describe_service(aws.ecs, env.cluster, spec.service_name)
        if service is None:
            raise InvalidInput(f"{env.name}/{spec.service_name} does not exist",
                               f"release it first: `release deploy --env {env.name}`")
        chosen = (live_state.resolve_revision(aws.ecs, spec.family, revision) if revision
                  else service["taskDefinition"])
        tags = record_tags(repo, spec, default_clock().now())
        done = run_once(aws, env, service, chosen, container, command, tags, reporter)
    if done.exit_code is None:
        reporter.error(f"the task stopped before its container ran: {done.stopped_reason}",
                       "see the task's stoppedReason; nothing was changed", exit_code=1)
        return 1
    level = "success" if done.exit_code == 0 else "error"
    reporter.emit("run.summary", f"{done.container} exited {done.exit_code}", level,
                  exit_code=done.exit_code, task=done.task_arn)
    return int(done.exit_code)


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
    done = run_once(prepared.aws, prepared.env, prepared.live.service, revision,
                    hook.get("container"), list(hook["command"]), tags, reporter)
    if done.exit_code != 0:
        from release.adapters import ledger

        failed = BeforeDeployFailed(
            f"{where}: beforeDeploy exited {done.exit_code if done.exit_code is not None else '-'}"
            f"{': ' + done.stopped_reason if done.exit_code is None else ''}; the service was "
            f"not updated and still runs {str(prepared.live.revision_arn).rsplit('/', 1)[-1]}",
            f"{revision.rsplit('/', 1)[-1]} is registered but not released; fix the cause and "
            f"deploy again (its logs: `release run` shows them)")
        ledger.finish_release(prepared.env, prepared.spec.service_name, records.FAILED,
                              failed.message)
        raise failed
