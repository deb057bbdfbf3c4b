"""The wait of a service on an ECS-native strategy (blue/green, linear, canary).

ECS runs such a deployment itself, in lifecycle stages, with its own traffic
shift, bake time, alarms and rollback; so the wait follows the service
deployment (ListServiceDeployments to find it, DescribeServiceDeployments each
poll, judged by core/service_deployments.py) instead of counting tasks. A
deployment that ECS rolls back is a failed release (ROLLBACK_SUCCESSFUL: exit 3;
ROLLBACK_FAILED: exit 4). A failure only the tool sees (the time budget ran out)
is rolled back with StopServiceDeployment(stopType=ROLLBACK) — ECS's own
rollback to the blue revision, still running — rather than a second
deployment. A PAUSE lifecycle hook ends the wait with "paused": the pipeline's
approval then runs `release continue` (engine/continue_.py), which follows the
same deployment to its end.

While a deployment is paused (or still going on), DescribeServices need not say so:
the service deployment is the authority. `going_on` reads it (ListServiceDeployments
of the active statuses, DescribeServiceDeployments, DescribeServiceRevisions for the
task definitions), so that `deploy` refuses a changed spec instead of starting a
second deployment beside the paused one, and `continue` names the revision it
continues: the paused deployment's target, not git's.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from release.core import records
from release.core import service_deployments as native
from release.core.clock import default_clock
from release.core.config import Environment, ServiceSpec
from release.core.deployments import short
from release.core.errors import EXIT_NOT_RESTORED, EXIT_OK, EXIT_ROLLED_BACK
from release.core.poll import CHANGED_POLL_SECONDS, COUNTDOWN_EVERY_SECONDS, Again, Pace, shape
from release.core.serving import epoch
from release.engine.outcome import NOT_RESTORED, RELEASED, ROLLED_BACK, ReleaseOutcome, tag_record
from release.engine.poll import Contact, poll
from release.engine.wait import aws_step
from release.output.events import Reporter

if TYPE_CHECKING:
    from release.adapters.lease import ServiceLease

PAUSED = native.PAUSED_OUTCOME
POLL_SECONDS = 5.0  # while looking for a just-started deployment
FIND_SECONDS = 60.0  # how long a just-started deployment may take to be listed
ROLLBACK_SECONDS = 600  # the budget of the rollback the tool asked for


@dataclass
class GoingOn:
    """A native service deployment not finished yet, with the task definitions it moves
    between (empty when ECS does not describe the service revision)."""

    deployment: Mapping[str, Any]
    revision: str  # the target service revision's task definition
    previous: str  # the (first) source service revision's task definition

    @property
    def arn(self) -> str:
        return str(self.deployment.get("serviceDeploymentArn", ""))

    @property
    def hook(self) -> Mapping[str, Any] | None:
        return native.paused_hook(self.deployment)


def going_on(env: Environment, spec: ServiceSpec, aws: Any) -> list[GoingOn]:
    """The service's native deployments still going on (PENDING, IN_PROGRESS, stopping,
    rolling back), newest first: three calls when there is one, one when there is none."""
    from release.adapters import service_deployments as api

    with aws_step(env, f"listing the deployments of {spec.service_name}"):
        briefs = api.listed(aws.ecs, env.cluster, spec.service_name, active_only=True)
        if not briefs:
            return []
        found = api.describe_all(aws.ecs, [str(b["serviceDeploymentArn"]) for b in briefs])
        sources = [str(((d.get("sourceServiceRevisions") or [{}])[0]).get("arn") or "")
                   for d in found]
        targets = [str((d.get("targetServiceRevision") or {}).get("arn") or "") for d in found]
        taskdefs = api.task_definitions(aws.ecs, targets + sources)
    moving = [GoingOn(d, taskdefs.get(t, ""), taskdefs.get(s, ""))
              for d, t, s in zip(found, targets, sources, strict=True)]
    return sorted(moving, key=lambda g: epoch(g.deployment.get("createdAt")) or 0.0,
                  reverse=True)


def refusal(env: Environment, spec: ServiceSpec, going: GoingOn) -> tuple[str, str]:
    """(message, hint) of a release refused because `going` has not finished."""
    deployment = going.deployment
    started = epoch(deployment.get("createdAt"))
    since = f", started {records.iso(started)}" if started else ""
    where = f"{spec.service_name} in {env.name}"
    options = f"--env {env.name} --service {spec.name}"
    stage = deployment.get("lifecycleStage") or "its first stage"
    of = f"{short(going.arn)} of {short(going.revision, 'a revision ECS does not describe')}"
    hook = going.hook
    if hook is not None:
        return (f"{where} has a deployment paused at a lifecycle hook: {of} at {stage} (hook "
                f"{hook.get('hookId')}{since}); nothing was changed",
                f"approve it with `release continue {options}` or roll it back with `release "
                f"continue {options} --rollback`, then run `release deploy {options}` again")
    return (f"{where} has a deployment in progress: {of} ({deployment.get('status')}, "
            f"{stage}{since}); nothing was changed",
            f"watch it with `release status {options}` and run `release deploy {options}` "
            "again when it is done")


@dataclass
class Followed:
    """How following one service deployment ended."""

    verdict: native.NativeVerdict
    arn: str
    stopped_by_release: bool = False


def find_deployment(env: Environment, spec: ServiceSpec, aws: Any, after: float | None,
                    active_only: bool = False) -> Mapping[str, Any] | None:
    """The service deployment a release started; looked for up to FIND_SECONDS."""
    from release.adapters import service_deployments as api

    clock = default_clock()
    pace = Pace(POLL_SECONDS, clock.now() + FIND_SECONDS)

    def read(_now: float) -> Mapping[str, Any] | None:
        return api.find(aws.ecs, env.cluster, spec.service_name, after, active_only)

    def judge(now: float, found: Mapping[str, Any] | None) -> Mapping[str, Any] | None | Again:
        return found if found is not None or pace.due(now) else Again()

    return poll(read, judge, pace=pace, clock=clock,
                contact=_contact(env, spec, f"listing the deployments of {spec.service_name}"))


def _contact(env: Environment, spec: ServiceSpec, doing: str, reporter: Reporter | None = None,
             ) -> Contact:
    """The native wait's side of an outage: ECS goes on with the deployment regardless."""
    return Contact(env, doing, "ECS goes on with the deployment on its own; watch it with "
                   f"`release status --env {env.name} --service {spec.name}`", reporter,
                   "wait", f"{env.name}/{spec.service_name}: ",
                   fields={"env": env.name, "service": spec.service_name})


def follow(env: Environment, spec: ServiceSpec, aws: Any, reporter: Reporter, arn: str,
           deadline: float, rollback: bool = True, *, lease: ServiceLease | None = None
           ) -> Followed:
    """Poll the deployment until it is done or paused; past `deadline`, roll it back. `lease`:
    the release's, checked at each poll and ensured before the rollback call (None: a wait
    that holds no lock, which checks none)."""
    from release.adapters import service_deployments as api

    watch = native.NativeWatch()
    where = f"{env.name}/{spec.service_name}"
    stopped = False
    shown, shown_at = "", 0.0
    pace = Pace(CHANGED_POLL_SECONDS, deadline, backoff=True)

    def read(_now: float) -> Mapping[str, Any] | None:
        if lease is not None:
            lease.check()  # the lock still ours?
        return api.describe(aws.ecs, arn)

    def judge(now: float, deployment: Mapping[str, Any] | None) -> Followed | Again:
        nonlocal stopped, shown, shown_at
        if deployment is None:
            return Followed(native.NativeVerdict(
                native.NOT_RESTORED, "", f"ECS no longer describes deployment {arn}"), arn,
                stopped)
        verdict = watch.observe(deployment, now)
        moved = shape(verdict.summary) != shown
        if moved or (verdict.changed and now - shown_at >= COUNTDOWN_EVERY_SECONDS):
            shown, shown_at = shape(verdict.summary), now  # a bake countdown: every 30 s
            reporter.emit("wait.progress", f"{where}: {verdict.summary}", "dim",
                          env=env.name, service=spec.service_name, summary=verdict.summary,
                          stage=deployment.get("lifecycleStage"),
                          status=deployment.get("status"), traffic=verdict.traffic)
        if verdict.done or verdict.state == native.PAUSED:
            return Followed(verdict, arn, stopped)
        if pace.due(now) and (stopped or not rollback):
            reason = ("the rollback did not finish in time" if stopped
                      else "the time budget ran out (rollback disabled)")
            return Followed(native.NativeVerdict(native.NOT_RESTORED, verdict.summary,
                                                 reason), arn, stopped)
        if pace.due(now) and verdict.state == native.PROGRESSING:
            reporter.emit("wait.failed", f"{where}: the time budget ran out in "
                          f"{deployment.get('lifecycleStage') or 'the deployment'}; stopping "
                          "it with a rollback (StopServiceDeployment ROLLBACK)", "error",
                          env=env.name, service=spec.service_name, cause="budget_exhausted")
            if lease is not None:
                lease.ensure()
            with aws_step(env, f"rolling back the deployment of {spec.service_name}"):
                api.stop_with_rollback(aws.ecs, arn)
            stopped, pace.deadline = True, now + ROLLBACK_SECONDS
        return Again(changed=moved)

    return poll(read, judge, pace=pace, contact=_contact(
        env, spec, f"reading the deployment of {spec.service_name}", reporter))


def finish(env: Environment, spec: ServiceSpec, aws: Any, reporter: Reporter,
           followed: Followed, revision: str, previous: str | None, registered: bool, *,
           lease: ServiceLease) -> ReleaseOutcome:
    """The release's outcome from how its deployment ended; the record tags follow it."""
    lease.ensure()  # paused past the lease: nothing more
    verdict, name, now = followed.verdict, spec.service_name, default_clock().now()
    where = f"{env.name}/{name}"
    tagged = revision if registered else None
    if verdict.state == native.RELEASED:
        tag_record(aws, reporter, tagged, records.outcome_tags(records.COMPLETED, "stable", now))
        reporter.emit("wait.stable", f"{where}: deployment successful on {short(revision)}",
                      "success", env=env.name, service=name, revision=revision)
        message = f"{where}: released {short(revision)}"
        reporter.emit("release.released", message, "success", env=env.name, service=name,
                      revision=revision, previous=previous)
        return ReleaseOutcome(env.name, name, RELEASED, revision, previous, message, EXIT_OK)
    if verdict.state == native.PAUSED:
        command = f"release continue --env {env.name} --service {spec.name}"
        message = f"{where}: deployment of {short(revision)} paused at a lifecycle hook"
        reporter.emit("release.paused", f"{message}; approve it with `{command}`", "warn",
                      env=env.name, service=name, revision=revision, hook=verdict.hook_id,
                      deployment=followed.arn, resume=command)
        return ReleaseOutcome(env.name, name, PAUSED, revision, previous, message, EXIT_OK,
                              hint=f"approve with `{command}`")
    by = "by release" if followed.stopped_by_release else "by ECS"
    failure = verdict.reason or verdict.summary
    if verdict.state == native.ROLLED_BACK:
        tag_record(aws, reporter, tagged, records.outcome_tags(records.ROLLED_BACK, failure, now))
        message = (f"{where}: release of {short(revision)} failed ({failure}); rolled back "
                   f"{by} to {short(previous)}, which is serving")
        reporter.emit("release.rolled_back", f"{where}: rolled back {by} to {short(previous)},"
                      " which is serving again", "warn", env=env.name, service=name,
                      revision=revision, restored=previous, cause="rolled_back_by_ecs")
        return ReleaseOutcome(env.name, name, ROLLED_BACK, revision, previous, message,
                              EXIT_ROLLED_BACK, "rolled_back_by_ecs")
    tag_record(aws, reporter, tagged, records.outcome_tags(records.FAILED, failure, now))
    message = (f"{where}: release of {short(revision)} failed and the service is not "
               f"restored: {failure} (deployment {verdict.summary})")
    hint = (f"check `release status --env {env.name} --service {spec.name}` and the "
            f"deployment in the ECS console; roll back with `release rollback --env {env.name} "
            f"--service {spec.name} --yes` and page the service owner")
    return ReleaseOutcome(env.name, name, NOT_RESTORED, revision, previous, message,
                          EXIT_NOT_RESTORED, "native_not_restored", hint)


def wait_and_finish(env: Environment, spec: ServiceSpec, aws: Any, reporter: Reporter,
                    revision: str, previous: str | None, started: float, budget: Any,
                    rollback: bool, registered: bool, resumed: bool, lease: ServiceLease
                    ) -> ReleaseOutcome:
    """deploy.py's wait for a native strategy: find the deployment, follow it, finish.

    An `auto` budget grows by the strategy's bakes (core/service_deployments.native_seconds);
    a timeout the operator gave is the whole budget."""
    where = f"{env.name}/{spec.service_name}"
    found = find_deployment(env, spec, aws, None if resumed else started, active_only=resumed)
    if found is None:
        message = f"{where}: ECS lists no deployment of {short(revision)}"
        return ReleaseOutcome(env.name, spec.service_name, NOT_RESTORED, revision, previous,
                              message, EXIT_NOT_RESTORED, "native_not_found",
                              f"check `release status --env {env.name} --service {spec.name}`")
    arn = str(found["serviceDeploymentArn"])
    config = spec.service.get("deploymentConfiguration") or {}
    seconds = budget.seconds + (native.native_seconds(config) if budget.source == "auto" else 0)
    reporter.emit("wait.start", f"{where}: following ECS deployment {short(arn)} "
                  f"({native.strategy(config)}, budget {seconds} s)", env=env.name,
                  service=spec.service_name, revision=revision, deployment=arn,
                  deadline=records.iso(started + seconds))
    followed = follow(env, spec, aws, reporter, arn, started + seconds, rollback, lease=lease)
    return finish(env, spec, aws, reporter, followed, revision, previous, registered,
                  lease=lease)
