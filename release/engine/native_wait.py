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
same deployment to its end. How the release ends is the one finisher's
(engine/finish.py), as for a rolling release.

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
from release.core.poll import CHANGED_POLL_SECONDS, COUNTDOWN_EVERY_SECONDS, Again, Pace, shape
from release.core.serving import epoch
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


NOT_FOUND = "not_found"  # ECS listed no deployment of the release


def wait_for(env: Environment, spec: ServiceSpec, aws: Any, reporter: Reporter,
             revision: str, started: float, seconds: int, rollback: bool, resumed: bool,
             lease: ServiceLease | None = None) -> Followed | str:
    """The executor's wait for a native strategy: find the deployment the release started
    (or the one in progress, `resumed`) and follow it for `seconds` from `started`
    (core/plan.wait_step grew an `auto` budget by the strategy's bakes). NOT_FOUND when
    ECS lists none; how it ended is the finisher's (engine/finish.py)."""
    where = f"{env.name}/{spec.service_name}"
    found = find_deployment(env, spec, aws, None if resumed else started, active_only=resumed)
    if found is None:
        return NOT_FOUND
    arn = str(found["serviceDeploymentArn"])
    config = spec.service.get("deploymentConfiguration") or {}
    reporter.emit("wait.start", f"{where}: following ECS deployment {short(arn)} "
                  f"({native.strategy(config)}, budget {seconds} s)", env=env.name,
                  service=spec.service_name, revision=revision, deployment=arn,
                  deadline=records.iso(started + seconds))
    return follow(env, spec, aws, reporter, arn, started + seconds, rollback, lease=lease)
