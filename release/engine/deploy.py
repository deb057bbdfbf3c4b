"""Register → update → wait → roll back on failure: the release of one service.

`release_service` is the whole release, shared by `release deploy` and
`release apply`: it raises `ReleaseError` only for what stops a release before
it touches anything (invalid input, AWS unreachable, a deployment already in
progress) and returns a `ReleaseOutcome` for everything that happens after.

The wait is a loop over `stability.Watch`: one snapshot per poll
(live.SnapshotReader: a single DescribeServices), polling fast while things
change and backing off while they do not, waking up when the watch expects
something (a drain ending, a task due InService). Throttling is absorbed by
botocore's adaptive retry mode; a dropped connection is retried here for up to
a minute before the wait gives up with exit 5. Ctrl-C or SIGTERM leaves the
service as it is and prints how to resume waiting or roll back.
"""

from __future__ import annotations

import contextlib
import math
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from release.core import plan as planning
from release.core import records, stability
from release.core.clock import default_clock
from release.core.config import ConfigRepo, Environment, ServiceSpec
from release.core.errors import (
    EXIT_NOT_RESTORED,
    EXIT_OK,
    EXIT_ROLLED_BACK,
    InvalidInput,
    Unreachable,
)
from release.core.render import render_service
from release.output.events import Reporter

UNCHANGED, RELEASED, ROLLED_BACK, NOT_RESTORED, FAILED = (
    "unchanged", "released", "rolled_back", "not_restored", "failed")

MIN_POLL_SECONDS = 1.0
CHANGED_POLL_SECONDS = 2.0
MAX_POLL_SECONDS = 10.0
EXPECTED_SLACK_SECONDS = 0.25
RECONNECT_SECONDS = 60.0
COUNTDOWN_EVERY_SECONDS = 30.0  # a draining countdown alone is reprinted at most this often
_COUNTDOWN = re.compile(r" \(\d+ s left\)")
THROTTLING_CODES = {"ThrottlingException", "Throttling", "RequestLimitExceeded",
                    "TooManyRequestsException"}


@dataclass
class ReleaseOutcome:
    """How one service's release ended; `exit_code` follows the tool's exit codes."""

    env: str
    service: str
    status: str  # unchanged | released | rolled_back | not_restored | failed
    revision_arn: str | None
    previous_arn: str | None
    message: str
    exit_code: int
    cause: str | None = None
    hint: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {"env": self.env, "service": self.service, "status": self.status,
                "revision": self.revision_arn, "previous": self.previous_arn,
                "message": self.message, "exit_code": self.exit_code, "cause": self.cause,
                "hint": self.hint}


class DeploymentInProgress(InvalidInput):
    """Another deployment of the service is running: nothing was changed."""


def short(arn: str | None) -> str:
    """`akka-demo:7` out of a task-definition ARN."""
    return str(arn or "none").rsplit("/", 1)[-1]


# ---------------------------------------------------------------------------- AWS access


def connect(env: Environment) -> Any:
    """Clients for `env`, after STS has confirmed the credentials are its account."""
    from release.adapters.aws import connect as connect_checked

    return connect_checked(env)


@contextlib.contextmanager
def aws_step(env: Environment, doing: str) -> Iterator[None]:
    from release.adapters.aws import aws_errors

    with aws_errors(env, doing):
        yield


def _retryable(exc: BaseException) -> bool:
    """Lost connections and throttling that outlasted botocore's own retries."""
    import botocore.exceptions as bx

    if isinstance(exc, bx.ConnectionError | bx.HTTPClientError):
        return True
    if isinstance(exc, bx.ClientError):
        return exc.response.get("Error", {}).get("Code", "") in THROTTLING_CODES
    return False


# ---------------------------------------------------------------------------- preparing


@dataclass
class Prepared:
    """Everything a release decides before it changes anything."""

    env: Environment
    spec: ServiceSpec
    aws: Any
    desired: dict[str, Any]
    live: planning.Live
    plan: planning.ReleasePlan
    record: records.Record
    resume: dict[str, Any] | None = None  # the in-progress deployment this release continues


def in_progress(service: dict[str, Any] | None) -> dict[str, Any] | None:
    """The PRIMARY deployment when a rollout is still going on, else None."""
    if not service:
        return None
    deployments = service.get("deployments", [])
    primary = next((d for d in deployments if d.get("status") == "PRIMARY"), None)
    if primary is None:
        return None
    if len(deployments) > 1 or primary.get("rolloutState") == "IN_PROGRESS":
        return primary
    if "rolloutState" not in primary and not int(primary.get("failedTasks") or 0) and (
            int(primary.get("runningCount") or 0) != int(primary.get("desiredCount") or 0)
            or int(primary.get("pendingCount") or 0)):
        # Behind a classic ELB ECS reports no rolloutState: a lone deployment that has not
        # got all its tasks running (a first rollout, a scale-up) is still going on. One
        # whose tasks keep failing is not: a release of a fix must not be refused.
        return primary
    return None


def prepare(repo: ConfigRepo, spec: ServiceSpec, *, timeout: str | int | None = None,
            check_image: bool = True, for_plan: bool = False, aws: Any = None) -> Prepared:
    """Render, read the live state, and plan. Reads only."""
    from release.adapters import live as live_state

    env = repo.environment(spec.env)
    desired = render_service(repo, spec)
    aws = aws if aws is not None else connect(env)
    clock = default_clock()
    with aws_step(env, f"reading {spec.service_name} in {env.name}"):
        if check_image:
            live_state.check_image(aws.ecr, env, spec)
        live = live_state.fetch_live(aws.ecs, env, spec)
        resume = None
        primary = in_progress(live.service)
        if primary is not None and not for_plan:
            taskdef, tags = live_state.describe_revision(aws.ecs, primary["taskDefinition"])
            if planning.taskdef_changes(taskdef, desired):
                raise _busy(env, spec, live.service or {}, primary)
            resume = {"deployment": primary, "tags": tags}
    record = records.new_record(env.name, spec.service_name, repo.root,
                                spec.image.digest or image_reference(env, spec),
                                live.revision_arn, clock.now(), spec.image.tag,
                                commit=repo.commit)
    plan = planning.make_plan(env, spec, desired, live, timeout, tags=record.tags())
    return Prepared(env, spec, aws, desired, live, plan, record, resume)


def image_reference(env: Environment, spec: ServiceSpec) -> str:
    return spec.image.reference(env.repository_uri)


def _busy(env: Environment, spec: ServiceSpec, service: dict[str, Any],
          primary: dict[str, Any]) -> DeploymentInProgress:
    others = [d for d in service.get("deployments", []) if d is not primary]
    started = stability.epoch(primary.get("createdAt"))
    since = f", started {records.iso(started)}" if started else ""
    return DeploymentInProgress(
        f"{spec.service_name} in {env.name} has a deployment in progress: {primary.get('id')} "
        f"on {short(primary.get('taskDefinition'))} ({primary.get('rolloutState', 'IN_PROGRESS')}"
        f"{since}; {len(others)} older deployment(s) still draining); nothing was changed",
        f"watch it with `release status --env {env.name} --service {spec.name}` and run "
        f"`release deploy --env {env.name} --service {spec.name}` again when it is done, "
        f"or roll it back with `release rollback --env {env.name} --service {spec.name}`")


# ------------------------------------------------------------------------------ waiting


def make_target(env: Environment, spec: ServiceSpec, revision: str, deployment_id: str | None,
                previous: str | None, budget_seconds: int, service: dict[str, Any] | None,
                taskdef: dict[str, Any], draining: float | None = None) -> stability.Target:
    now = default_clock().now()
    hc = env.load_balancer.health_check
    grace = int(spec.service.get("healthCheckGracePeriodSeconds", 0))
    return stability.Target(
        task_definition_arn=revision, started_at=now, deadline=now + budget_seconds,
        desired_count=spec.desired_count, deployment_id=deployment_id,
        previous_task_definition_arn=previous,
        draining_timeout=env.load_balancer.effective_draining if draining is None else draining,
        healthy_after=hc.healthy_threshold * hc.interval,
        unhealthy_after=grace + 2 * (hc.healthy_threshold + hc.unhealthy_threshold) * hc.interval
        + 30,
        # as many failed tasks as the ECS circuit breaker tolerates (half, 3..200)
        stop_failures_allowed=min(200, max(3, math.ceil(spec.desired_count / 2))),
        host_port=planning.static_host_port(taskdef, planning.load_balanced_container(spec)),
        cluster=env.cluster,
        events_before=frozenset(e.get("id", "") for e in (service or {}).get("events", [])))


def _has_load_balancer(spec: ServiceSpec) -> str | None:
    for lb in spec.service.get("loadBalancers", []):
        if lb.get("loadBalancerName"):
            return lb["loadBalancerName"]
    return None


@dataclass
class Waiter:
    """The wait loop of one service: polls, prints what is new, returns the final verdict."""

    env: Environment
    spec: ServiceSpec
    aws: Any
    reporter: Reporter
    reader: Any = None
    describe_calls: int = 0
    stable_at: list[float] = field(default_factory=list)

    def __post_init__(self) -> None:
        from release.adapters.live import SnapshotReader

        self.reader = SnapshotReader(self.aws, self.env.cluster, self.spec.service_name,
                                     _has_load_balancer(self.spec))
        self._draining: float | None = None

    def draining(self) -> float | None:
        """The live ELB's draining timeout, read once: the document may not match AWS."""
        if self._draining is None and _has_load_balancer(self.spec):
            from release.adapters.live import draining_seconds

            self._draining = draining_seconds(self.aws.elb, self.env)
        return self._draining

    def wait(self, target: stability.Target, label: str, just_updated: bool = True
             ) -> stability.Verdict:
        """Poll until stable or failed. Right after an UpdateService its answer is the
        freshest state there is, so the first poll waits for ECS to act on it."""
        clock = default_clock()
        watch = stability.Watch(target)
        printed: set[str] = set(target.events_before)
        interval = CHANGED_POLL_SECONDS
        last_summary = last_shape = ""
        last_printed = 0.0
        outage_since: float | None = None
        retries = 0
        where = f"{self.env.name}/{self.spec.service_name}"
        self.reporter.emit("wait.start", f"{where}: waiting for {short(target.task_definition_arn)}"
                           f" to be stable ({label}, budget "
                           f"{math.ceil(target.deadline - target.started_at)} s)",
                           env=self.env.name, service=self.spec.service_name,
                           revision=target.task_definition_arn,
                           deadline=records.iso(target.deadline))
        if just_updated:
            clock.sleep(CHANGED_POLL_SECONDS)
        while True:
            now = clock.now()
            try:
                snap = self.reader.read(now)
            except Exception as exc:
                if not _retryable(exc):
                    with aws_step(self.env, f"waiting for {self.spec.service_name}"):
                        raise
                    raise  # aws_step re-raised it as a ReleaseError; this line is not reached
                if outage_since is None:
                    outage_since = now
                    self.reporter.emit("wait.retry", f"{where}: lost contact with AWS "
                                       f"({type(exc).__name__}); retrying", "warn",
                                       env=self.env.name, service=self.spec.service_name)
                if now - outage_since > RECONNECT_SECONDS or now >= target.deadline:
                    raise Unreachable(
                        f"lost contact with AWS for {int(now - outage_since)} s while waiting "
                        f"for {self.spec.service_name}: {exc}",
                        resume_hint(self.env, self.spec, target.task_definition_arn,
                                    target.task_definition_arn if label == "rollback" else None)
                    ) from None
                clock.sleep(min(2.0 ** min(retries, 3), 8.0))
                retries += 1
                continue
            if outage_since is not None:
                self.reporter.emit("wait.reconnected", f"{where}: back in contact with AWS",
                                   env=self.env.name, service=self.spec.service_name)
                outage_since, retries = None, 0
            self.describe_calls = self.reader.describe_services_calls
            verdict = watch.observe(snap)
            self._print_events(snap, printed)
            self._print_failed_tasks(snap, target, printed)
            shape = _COUNTDOWN.sub("", verdict.summary)
            if shape != last_shape or (verdict.summary != last_summary
                                       and now - last_printed >= COUNTDOWN_EVERY_SECONDS):
                last_summary, last_shape, last_printed = verdict.summary, shape, now
                self.reporter.emit("wait.progress", f"{where}: {verdict.summary}",
                                   "dim" if verdict.state == stability.PROGRESSING else "info",
                                   env=self.env.name, service=self.spec.service_name,
                                   summary=verdict.summary, counts=verdict.counts)
            if verdict.state == stability.STABLE:
                self.stable_at.append(now)
                self.reporter.emit("wait.stable", f"{where}: stable on "
                                   f"{short(target.task_definition_arn)} after "
                                   f"{int(now - target.started_at)} s", "success",
                                   env=self.env.name, service=self.spec.service_name,
                                   revision=target.task_definition_arn,
                                   seconds=round(now - target.started_at, 1))
                return verdict
            if verdict.state == stability.FAILED:
                self.reporter.emit("wait.failed", f"{where}: {verdict.reason}", "error",
                                   env=self.env.name, service=self.spec.service_name,
                                   cause=verdict.cause, reason=verdict.reason, fix=verdict.fix,
                                   revision=target.task_definition_arn)
                return verdict
            interval = next_interval(interval, verdict.changed)
            clock.sleep(pause_before_next_poll(interval, verdict.next_change_at, now,
                                               target.deadline, verdict.moving_on_its_own))

    def _print_events(self, snap: stability.Snapshot, printed: set[str]) -> None:
        for event in reversed(list(snap.service.get("events", []))):
            event_id = event.get("id", "")
            if event_id in printed:
                continue
            printed.add(event_id)
            when = stability.epoch(event.get("createdAt"))
            self.reporter.emit("service.event", f"  {event.get('message', '')}",
                               env=self.env.name, service=self.spec.service_name,
                               id=event_id, at=records.iso(when) if when else None)


    def _print_failed_tasks(self, snap: stability.Snapshot, target: stability.Target,
                            printed: set[str]) -> None:
        """Each task of the new revision that stopped for a failure, once, with ECS's reason and
        the exit code: the diagnosis operators look for first."""
        for task in snap.tasks:
            arn = task.get("taskArn", "")
            if (task.get("lastStatus") != "STOPPED" or arn in printed
                    or task.get("taskDefinitionArn") != target.task_definition_arn
                    or not stability.stopped_during(task, target)
                    or not stability.is_failure_stop(task)):
                continue
            printed.add(arn)
            reason = stability.describe_stop(task)
            self.reporter.emit("task.stopped", f"  task {short(arn)} stopped: {reason}", "warn",
                               env=self.env.name, service=self.spec.service_name, task=arn,
                               reason=reason)


def next_interval(interval: float, changed: bool) -> float:
    """Back off while nothing moves; after a change, look again soon (changes come in runs)."""
    return CHANGED_POLL_SECONDS if changed else min(interval * 2, MAX_POLL_SECONDS)


def pause_before_next_poll(interval: float, expected_at: float | None, now: float,
                           deadline: float, moving_on_its_own: bool = True) -> float:
    """How long to sleep before the next poll.

    When all that is left to happen is due at a known moment (a drain ending after
    the ELB's timeout, a task turning InService after HealthyThreshold × Interval),
    sleep until just after it, up to MAX_POLL_SECONDS: nothing else can change the
    verdict before then. When tasks are starting or stopping on ECS's own schedule,
    use the backoff interval (but still wake for a due moment). Never sleep past the
    deadline. The moment a rollout becomes stable is almost always one of the known
    ones, so it is seen within a fraction of a second without polling every second.
    """
    due = None if expected_at is None else max(MIN_POLL_SECONDS / 2,
                                               expected_at - now + EXPECTED_SLACK_SECONDS)
    if due is not None and not moving_on_its_own:
        pause = min(due, MAX_POLL_SECONDS)
    elif due is not None:
        pause = min(interval, due)
    else:
        pause = interval
    return max(min(pause, deadline - now + 0.1), 0.1)


def resume_commands(env: Environment, spec: ServiceSpec, rollback_to: str | None = None
                    ) -> tuple[str, str]:
    """(resume waiting, roll back): a release resumes with `deploy`, a rollback with itself."""
    where = f"--env {env.name} --service {spec.name}"
    if rollback_to:
        number = short(rollback_to).rsplit(":", 1)[-1]
        resume = f"release rollback {where} --to {number} --yes"
    else:
        resume = f"release deploy {where}"
    return resume, f"release rollback {where}"


def resume_hint(env: Environment, spec: ServiceSpec, revision: str | None,
                rollback_to: str | None = None) -> str:
    resume, back = resume_commands(env, spec, rollback_to)
    return (f"the service was left as it is; to resume waiting run `{resume}` (it continues "
            f"the deployment in progress) or watch `release status --env {env.name} --service "
            f"{spec.name}`" + ("" if rollback_to else f"; to roll back run `{back}`"))


# -------------------------------------------------------------------------- the release


def _tag(aws: Any, reporter: Reporter, arn: str | None, tags: list[dict[str, str]]) -> None:
    """Best effort: a record that cannot be updated must not turn a release into a failure."""
    if not arn:
        return
    try:
        aws.ecs.tag_resource(resourceArn=arn, tags=tags)
    except Exception as exc:  # the release itself already happened; say so and go on
        reporter.emit("record.warning", f"could not update the release record on {short(arn)}: "
                      f"{exc}", "warn", revision=arn)


def _execute(prepared: Prepared, reporter: Reporter) -> tuple[str, dict[str, Any]]:
    """Run the plan's calls in order; (revision the service now runs, its service dict)."""
    from release.adapters import ledger
    from release.engine import run

    results: dict[str, Any] = {}
    service: dict[str, Any] = prepared.live.service or {}
    revision = prepared.live.revision_arn or ""
    ecs = prepared.aws.ecs
    for call in prepared.plan.calls:
        params = call.resolved_params(results)
        if call.operation == "update_service":  # release.beforeDeploy (engine/run.py)
            run.before_deploy(prepared, params["taskDefinition"], reporter)
        reporter.emit("release.call", f"{call.operation} {call.target}: {call.reason}",
                      operation=call.operation, target=call.target, reason=call.reason)
        response = getattr(ecs, call.operation)(**params)
        if call.key:
            results[call.key] = response
        if call.operation == "register_task_definition":
            revision = response["taskDefinition"]["taskDefinitionArn"]
            ledger.registered(prepared.env, prepared.spec.service_name, revision)
            reporter.emit("release.registered", f"registered {short(revision)} with its release "
                          "record", revision=revision)
        elif call.operation in ("create_service", "update_service"):
            service = response["service"]
            revision = params["taskDefinition"]
    return revision, service


def _deployment_for(service: dict[str, Any], revision: str) -> str | None:
    primary = next((d for d in service.get("deployments", []) if d.get("status") == "PRIMARY"),
                   None)
    if primary is not None and primary.get("taskDefinition") == revision:
        return primary.get("id")
    return None


def _show_plan(plan: planning.ReleasePlan, reporter: Reporter) -> None:
    where = f"{plan.env}/{plan.service}"
    lines = [c.one_line() for c in plan.taskdef_changes + plan.setting_changes]
    reporter.emit("release.plan", f"{where}: {len(lines)} change(s) from "
                  f"{short(plan.live_revision)}; budget {plan.budget.seconds} s",
                  **plan.as_dict())
    for line in lines:
        reporter.emit("release.change", f"  {line}", "dim")


# how a release's outcome is written in its ledger entry
LEDGER_OUTCOMES = {RELEASED: records.COMPLETED, ROLLED_BACK: records.ROLLED_BACK,
                   NOT_RESTORED: records.FAILED, FAILED: records.FAILED}


def release_service(repo: ConfigRepo, spec: ServiceSpec, reporter: Reporter, *,
                    timeout: int | str | None = None, rollback: bool = True,
                    command: str = "deploy") -> ReleaseOutcome:
    """Release one service under its lock (release/ledger.py), which is taken before the live
    state is read: a second release of the same service is refused, nothing changed."""
    from release.adapters import ledger

    env = repo.environment(spec.env)
    aws = connect(env)  # the account is checked before the lock is written
    with ledger.hold(env, spec.service_name, reporter, command, aws):
        outcome = _release_service(repo, spec, reporter, aws, timeout=timeout,
                                   rollback=rollback)
        if outcome.status in LEDGER_OUTCOMES:
            ledger.finish_release(env, spec.service_name, LEDGER_OUTCOMES[outcome.status],
                                  outcome.message)
        return outcome


def _release_service(repo: ConfigRepo, spec: ServiceSpec, reporter: Reporter, aws: Any, *,
                     timeout: int | str | None = None, rollback: bool = True) -> ReleaseOutcome:
    """Release one service: plan, register, update, wait, and roll back when it fails."""
    from release.adapters import ledger

    prepared = prepare(repo, spec, timeout=timeout, aws=aws)
    env, plan = prepared.env, prepared.plan
    where = f"{env.name}/{spec.service_name}"
    clock = default_clock()
    if plan.blockers:
        raise InvalidInput(f"{where}: " + "; ".join(plan.blockers),
                           "nothing was changed; see `release plan`")
    rollback = rollback and spec.rollback_on_failure
    waiter = Waiter(env, spec, aws, reporter)

    if prepared.resume is not None:
        deployment = prepared.resume["deployment"]
        revision = deployment["taskDefinition"]
        record = records.Record.from_tags(revision, prepared.resume["tags"])
        previous = (record.previous if record else None) or None
        reporter.emit("release.resume", f"{where}: a deployment of {short(revision)} (the same "
                      f"revision git asks for) is in progress: waiting for it",
                      revision=revision, deployment=deployment.get("id"))
        ledger.begin_release(env, spec.service_name, prepared.record, revision)
        target = make_target(env, spec, revision, deployment.get("id"), previous,
                             plan.budget.seconds, prepared.live.service, prepared.desired,
                             waiter.draining())
        return _wait_and_finish(prepared, waiter, reporter, target, revision, previous,
                                rollback, registered=record is not None, resumed=True)

    if plan.unchanged:
        message = (f"{where}: nothing to change (live revision {short(plan.live_revision)} "
                   "matches git)")
        reporter.emit("release.unchanged", message, "success", env=env.name,
                      service=spec.service_name, revision=plan.live_revision)
        return ReleaseOutcome(env.name, spec.service_name, UNCHANGED, plan.live_revision,
                              plan.live_revision, message, EXIT_OK)

    _show_plan(plan, reporter)
    previous = prepared.live.revision_arn
    started = clock.now()
    ledger.begin_release(env, spec.service_name, prepared.record,
                         None if plan.registers else previous)
    with aws_step(env, f"releasing {spec.service_name}"):
        revision, service = _execute(prepared, reporter)
    target = make_target(env, spec, revision, _deployment_for(service, revision), previous,
                         plan.budget.seconds, prepared.live.service, prepared.desired,
                         waiter.draining())
    target = _replace(target, started_at=started)
    return _wait_and_finish(prepared, waiter, reporter, target, revision, previous, rollback,
                            registered=plan.registers)


def _replace(target: stability.Target, **changes: Any) -> stability.Target:
    import dataclasses

    return dataclasses.replace(target, **changes)


def _wait_and_finish(prepared: Prepared, waiter: Waiter, reporter: Reporter,
                     target: stability.Target, revision: str, previous: str | None,
                     rollback: bool, registered: bool, resumed: bool = False
                     ) -> ReleaseOutcome:
    env, spec, aws = prepared.env, prepared.spec, prepared.aws
    clock = default_clock()
    name = spec.service_name
    try:
        verdict = waiter.wait(target, "release", just_updated=not resumed)
    except KeyboardInterrupt:
        _interrupted(env, spec, reporter, revision)
        raise
    if verdict.state == stability.STABLE:
        if registered:
            _tag(aws, reporter, revision, records.outcome_tags(records.COMPLETED, "stable",
                                                               clock.now()))
        message = f"{env.name}/{name}: released {short(revision)}"
        reporter.emit("release.released", message, "success", env=env.name, service=name,
                      revision=revision, previous=previous)
        return ReleaseOutcome(env.name, name, RELEASED, revision, previous, message, EXIT_OK)

    failure = verdict.reason
    _tag(aws, reporter, revision if registered else None,
         records.outcome_tags(records.FAILED, f"{verdict.cause}: {failure}", clock.now()))
    restore_to, deployment_id = _restore_target(aws, env, spec, verdict, previous, revision)
    if restore_to == revision and deployment_id is None:
        restore_to = None  # a settings-only release: there is no other revision to go back to
    if restore_to is None or not (rollback or deployment_id):
        if restore_to is None:
            hint = ("there is no earlier revision to go back to (first release of this service):"
                    " fix the cause above and release again, or scale the service down")
        else:
            hint = (f"left as it is (rollback disabled); restore the previous revision with "
                    f"`release rollback --env {env.name} --service {spec.name} --yes`")
        message = f"{env.name}/{name}: release of {short(revision)} failed: {failure}"
        return ReleaseOutcome(env.name, name, FAILED if restore_to is not None else NOT_RESTORED,
                              revision, previous, message, EXIT_NOT_RESTORED, verdict.cause,
                              f"{verdict.fix}; {hint}" if verdict.fix else hint)

    try:
        rolled = roll_back(env, spec, aws, waiter, reporter, restore_to, deployment_id,
                           f"release of {short(revision)} failed "
                           f"({verdict.cause.replace('_', ' ') if verdict.cause else 'failed'})")
    except KeyboardInterrupt:
        _interrupted(env, spec, reporter, restore_to, rolling_back=True)
        raise
    if rolled.state == stability.STABLE:
        _tag(aws, reporter, revision if registered else None,
             records.outcome_tags(records.ROLLED_BACK, f"{verdict.cause}: {failure}",
                                  clock.now()))
        # who rolled back: ECS only when it did (circuit breaker); behind a classic ELB it
        # never does, and the rollback is this tool's own
        by = "by ECS" if verdict.cause == stability.ROLLED_BACK_BY_ECS else "by release"
        message = (f"{env.name}/{name}: release of {short(revision)} failed ({failure}); "
                   f"rolled back {by} to {short(restore_to)}, which is serving")
        reporter.emit("release.rolled_back", f"{env.name}/{name}: rolled back {by} to "
                      f"{short(restore_to)}, which is serving again", "warn", env=env.name,
                      service=name,
                      revision=revision, restored=restore_to, cause=verdict.cause)
        return ReleaseOutcome(env.name, name, ROLLED_BACK, revision, restore_to, message,
                              EXIT_ROLLED_BACK, verdict.cause, verdict.fix)
    serving = rolled.counts.get("new_in_service", 0)
    if serving and serving >= rolled.counts.get("desired", 0):
        state = (f"all {serving} tasks of {short(restore_to)} are serving, but ECS cannot finish "
                 f"the rollback deployment: {rolled.reason}")
    else:
        state = f"the rollback to {short(restore_to)} did not settle: {rolled.reason}"
    message = f"{env.name}/{name}: release of {short(revision)} failed ({failure}); {state}"
    hint = (f"{rolled.fix}; then " if rolled.fix else "") + (
        f"check `release status --env {env.name} --service {spec.name}` and the events above; "
        f"if the service is not serving, roll back to a known-good revision with `release "
        f"rollback --env {env.name} --service {spec.name} --to REVISION --yes` (`release "
        f"history` lists them) and page the service owner")
    return ReleaseOutcome(env.name, name, NOT_RESTORED, revision, restore_to, message,
                          EXIT_NOT_RESTORED, verdict.cause, hint)


def _restore_target(aws: Any, env: Environment, spec: ServiceSpec, verdict: stability.Verdict,
                    previous: str | None, failed: str) -> tuple[str | None, str | None]:
    """(revision to go back to, ECS's own rollback deployment when it already started one)."""
    if verdict.cause == stability.ROLLED_BACK_BY_ECS:
        from release.adapters.live import describe_service

        with aws_step(env, f"reading {spec.service_name}"):
            service = describe_service(aws.ecs, env.cluster, spec.service_name) or {}
        primary = next((d for d in service.get("deployments", [])
                        if d.get("status") == "PRIMARY"), None)
        if primary is not None and primary.get("taskDefinition"):
            return primary["taskDefinition"], primary.get("id")
    if verdict.cause == stability.SUPERSEDED:
        return None, None
    with aws_step(env, f"reading the release records of {spec.service_name}"):
        return last_completed(aws, env, spec, previous, failed), None


def last_completed(aws: Any, env: Environment, spec: ServiceSpec, previous: str | None,
                   failed: str) -> str | None:
    """What the tool rolls back to: the revision live before, when its release completed
    (or no release of this tool made it), else the newest release that did complete,
    as the ledger tells."""
    from release.adapters import ledger
    from release.adapters.live import describe_revision, records_of

    if not previous or previous == failed:
        return previous
    _, tags = describe_revision(aws.ecs, previous)
    record = records.Record.from_tags(previous, tags)
    if record is None or record.outcome == records.COMPLETED or record.restored_at:
        return previous
    history = [r for r in records_of(aws.ecs, spec.family, limit=20) if r.revision != failed]
    entries = [e for e in ledger.history(env, spec.service_name, history, aws)
               if e.revision != failed]
    return records.rollback_target_of(failed, entries) or previous


def roll_back(env: Environment, spec: ServiceSpec, aws: Any, waiter: Waiter, reporter: Reporter,
              to_revision: str, deployment_id: str | None, why: str,
              timeout: str | int | None = None) -> stability.Verdict:
    """Point the service at `to_revision` (unless ECS already did) and wait under the same rules."""
    from release.adapters import ledger
    from release.adapters.live import describe_revision, describe_service

    with aws_step(env, f"rolling back {spec.service_name}"):
        taskdef, _ = describe_revision(aws.ecs, to_revision)
        budget = planning.budget_for(env, spec, taskdef, timeout).seconds
        before = describe_service(aws.ecs, env.cluster, spec.service_name)
        current = (before or {}).get("taskDefinition")
        updated = deployment_id is None
        entry = ledger.begin_restore(env, spec.service_name, to_revision, current, why)
        if updated:
            reporter.emit("release.rollback", f"{env.name}/{spec.service_name}: {why}; rolling "
                          f"back to {short(to_revision)}", "warn", env=env.name,
                          service=spec.service_name, revision=to_revision)
            service = aws.ecs.update_service(cluster=env.cluster, service=spec.service_name,
                                             taskDefinition=to_revision)["service"]
            deployment_id = _deployment_for(service, to_revision)
        else:
            reporter.emit("release.rollback", f"{env.name}/{spec.service_name}: {why}; ECS is "
                          f"rolling back to {short(to_revision)}: waiting for it", "warn",
                          env=env.name, service=spec.service_name, revision=to_revision)
    target = make_target(env, spec, to_revision, deployment_id, current, budget, before, taskdef,
                         waiter.draining())
    verdict = waiter.wait(target, "rollback", just_updated=updated)
    ledger.finish(env, spec.service_name, entry, records.COMPLETED if verdict.state ==
                  stability.STABLE else records.FAILED, verdict.reason or "stable")
    if verdict.state == stability.STABLE:
        _tag(aws, reporter, to_revision, records.restored_tags(current, default_clock().now()))
    return verdict


def _interrupted(env: Environment, spec: ServiceSpec, reporter: Reporter,
                 revision: str | None, rolling_back: bool = False) -> None:
    rollback_to = revision if rolling_back else None
    resume, back = resume_commands(env, spec, rollback_to)
    hint = resume_hint(env, spec, revision, rollback_to)
    reporter.emit("release.interrupted", f"{env.name}/{spec.service_name}: interrupted while "
                  f"waiting for {short(revision)}; {hint}", "warn", env=env.name,
                  service=spec.service_name, revision=revision, resume=resume, rollback=back)


def first_failure(outcomes: list[ReleaseOutcome]) -> ReleaseOutcome | None:
    return next((o for o in outcomes if o.exit_code != EXIT_OK), None)

