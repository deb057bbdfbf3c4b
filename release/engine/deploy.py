"""Prepare → register → update, then wait and roll back on failure: the release of one service.

`release_service` is the whole release, shared by `release deploy` and
`release apply`: it raises `ReleaseError` only for what stops a release before
it touches anything (invalid input, AWS unreachable, a deployment already in
progress) and returns a `ReleaseOutcome` for everything that happens after.
`prepare` reads and plans (core/plan.py); the plan's calls are shown by
`show_plan` and run by the one Executor (engine/executor.py); the wait is
engine/wait.py, the rollback engine/rollback.py.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from release.core import plan as planning
from release.core import records, stability
from release.core.calls import ApiCall
from release.core.clock import default_clock
from release.core.config import ConfigRepo, Environment, ServiceSpec
from release.core.deployments import in_progress, short
from release.core.errors import EXIT_OK, InvalidInput
from release.core.instructions import Bake, Instruction, TagRecord, Wait
from release.core.preflight import Report as PreflightReport
from release.core.registration import Where
from release.core.render import pinned_images
from release.core.service_deployments import PAUSED_OUTCOME, is_native
from release.engine import canary, native_wait, unfinished
from release.engine import desired as desired_state
from release.engine.executor import Executed, Executor, Release, calls_runner, display
from release.engine.finish import Ending, conclude, interrupted
from release.engine.outcome import (
    FAILED,
    NOT_RESTORED,
    RELEASED,
    ROLLED_BACK,
    UNCHANGED,
    ReleaseOutcome,
)
from release.engine.wait import Waiter, aws_step, connect
from release.output.events import Reporter

__all__ = ["FAILED", "NOT_RESTORED", "RELEASED", "ROLLED_BACK", "UNCHANGED", "ReleaseOutcome",
           "connect", "prepare", "release_service", "short", "show_plan"]


class DeploymentInProgress(InvalidInput):
    """Another deployment of the service is running: nothing was changed."""


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
    values: tuple[Any, ...] = ()  # values from outside git filled in (engine/values.py)
    held: Any = None  # the release's lease and ledger entries (engine/hold.Hold); None: a plan



def prepare(repo: ConfigRepo, spec: ServiceSpec, *, timeout: str | int | None = None,
            for_plan: bool = False, aws: Any = None) -> Prepared:
    """Fill in values from outside git, render, read the live state, and plan. Reads only;
    whether the release can succeed is preflight's (engine/preflight), asked after this."""
    from release.adapters import autoscaling, git
    from release.adapters import live as live_state
    from release.engine import values

    env = repo.environment(spec.env)
    aws = aws if aws is not None else connect(env)
    resolved = values.resolve(repo, spec, aws)  # templates → values, before anything uses them
    repo, spec, env = resolved.repo, resolved.spec or spec, resolved.env
    clock = default_clock()
    with aws_step(env, f"reading {spec.service_name} in {env.name}"):
        desired = desired_state.render(repo, spec, aws)
        if spec.revision:
            spec = dataclasses.replace(spec, revision=desired["taskDefinitionArn"])
        # names of target groups, subnets and security groups → ARNs and ids, before any use
        spec = desired_state.git_version(aws, repo, spec, desired).spec
        live = live_state.fetch_live(aws.ecs, env, spec)
        # who owns desiredCount (core/autoscaling.py): the plan decides the count with it
        live = dataclasses.replace(live, scaling=autoscaling.read(aws, env, spec))
        resume = None
        going = (native_wait.going_on(env, spec, aws) if not for_plan and live.service and (
            is_native(spec.service) or is_native(live.service)) else [])
        if going:  # a native deployment not finished (paused?): DescribeServices need not say
            first = next((g for g in going if g.hook is not None), going[0])
            tags = _same_revision(aws, env, desired, first.revision)
            if tags is None:
                raise DeploymentInProgress(*native_wait.refusal(env, spec, first))
            resume = {"deployment": {"id": first.arn, "taskDefinition": first.revision},
                      "tags": tags}
        primary = in_progress(live.service)
        if primary is not None and not for_plan and resume is None:
            tags = _same_revision(aws, env, desired, primary["taskDefinition"])
            if tags is None:
                raise _busy(env, spec, live.service or {}, primary)
            resume = {"deployment": primary, "tags": tags}
    image, tag = ((_primary_image(spec, desired), None) if spec.revision
                  else (spec.image.digest or spec.image.reference_in(env), spec.image.tag))
    record = records.new_record(env.name, spec.service_name,
                                git.repo_commit(repo.root, repo.commit), image,
                                live.revision_arn, clock.now(), tag,
                                _recorded_images(env, repo, spec, desired))
    plan = planning.make_plan(env, spec, desired, live, timeout, tags=record.tags())
    plan = canary.with_canary(plan, env, spec, aws)  # release.canary: its calls in the plan
    return Prepared(env, spec, aws, desired, live, plan, record, resume, resolved.values)


def _same_revision(aws: Any, env: Environment, desired: dict[str, Any], revision: str
                   ) -> list[dict[str, str]] | None:
    """The tags of `revision` when it is what git asks for (its deployment in progress is
    resumed, not refused), else None."""
    from release.adapters import live as live_state

    if not revision:
        return None
    taskdef, tags = live_state.describe_revision(aws.ecs, revision)
    tagged = {t["key"]: t.get("value", "") for t in tags}
    changed = planning.taskdef_changes(taskdef, desired, tagged, Where(env.account, env.region))
    return None if changed else tags


def _recorded_images(env: Environment, repo: ConfigRepo, spec: ServiceSpec,
                     desired: dict[str, Any]) -> dict[str, str]:
    """{container: image} of every pinned container: git's pins, or what a named revision
    (`deploy --revision`) runs in those containers."""
    running = {str(c.get("name")): str(c.get("image") or "")
               for c in desired.get("containerDefinitions") or []}
    if spec.taskdef_file is None:  # the spec names a revision: it pins nothing, runs its own
        return {name: image for name, image in running.items() if image}
    pinned = pinned_images(env, spec, repo.taskdef_for(spec))
    if not spec.revision:
        return pinned
    return {name: running[name] for name in pinned if running.get(name)}


def with_revision(specs: list[ServiceSpec], given: str, service: str | None) -> ServiceSpec:
    """`deploy --revision`: the one named service, to release an existing revision of its
    family (N, family:N or an ARN) as it is."""
    from release.core.errors import UsageError

    if service is None or len(specs) != 1:
        raise UsageError("--revision releases one service", "name it with --service")
    spec = specs[0]
    name = f"{spec.family}:{given}" if given.isdigit() else given
    return dataclasses.replace(spec, revision=name)


def _primary_image(spec: ServiceSpec, taskdef: dict[str, Any]) -> str:
    """The image a revision runs in the load balancer's container (else its first)."""
    containers = taskdef.get("containerDefinitions") or [{}]
    named = planning.load_balanced_container(spec)
    chosen = next((c for c in containers if c.get("name") == named), containers[0])
    return str(chosen.get("image", ""))


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


@dataclass
class PlannedRelease:
    """What `release plan` shows of one service: the plan and what would stop a release."""

    plan: planning.ReleasePlan
    preflight: PreflightReport
    busy: dict[str, Any] | None
    values: tuple[Any, ...] = ()  # values from outside git, with their sources


def plan_service(repo: ConfigRepo, spec: ServiceSpec, timeout: str | int | None = None
                 ) -> PlannedRelease:
    """The plan of one service and its preflight (why `deploy` would refuse). Reads only."""
    from release.engine import preflight

    prepared = prepare(repo, spec, timeout=timeout, for_plan=True)
    report = preflight.of_prepared(repo, prepared, preflight.PLAN)
    busy = in_progress(prepared.live.service)
    return PlannedRelease(prepared.plan, report, dict(busy) if busy else None,
                          prepared.values)


def plan_services(repo: ConfigRepo, specs: list[ServiceSpec], timeout: str | int | None = None
                  ) -> list[PlannedRelease]:
    """`release plan` of several services on one client set: each source of values from
    outside git is read once for all of them."""
    from release.adapters.aws import shared

    if not specs:
        return []
    with shared(repo.environment(specs[0].env)):
        return [plan_service(repo, spec, timeout) for spec in specs]


def show_plan(plan: planning.ReleasePlan, reporter: Reporter, kind: str = "plan", *,
              calls: bool = True, **fields: Any) -> None:
    """The one display of a release plan: headline (the plan as JSON), the changes, the calls
    (executor.display), the budget and what blocks it. A release shows it without the calls:
    its executor shows each as it runs it."""
    where = f"{plan.env}/{plan.service}"
    lines = [c.one_line() for c in plan.taskdef_changes + plan.setting_changes
             + plan.recreate_changes]
    headline = (f"{where}: no change (live revision {short(plan.live_revision)} matches git)"
                if plan.unchanged else f"{where}: {len(lines)} change(s) against live "
                f"revision {short(plan.live_revision)}; budget {plan.budget.seconds} s")
    reporter.emit(kind, headline, "success" if plan.unchanged else "info", **plan.as_dict(),
                  **fields)
    for line in lines:
        reporter.emit(f"{kind}.change", f"  {line}", "dim")
    if calls:
        display(plan.instructions, reporter, kind)
    if not plan.unchanged:
        reporter.emit(f"{kind}.budget", f"  time budget: {plan.budget.explanation}", "dim")
    if plan.count is not None and plan.count.worth_showing:  # who owns desiredCount
        reporter.emit(f"{kind}.count", f"  {plan.count.note}",
                      "warn" if plan.count.unknown else "dim", **plan.count.as_dict())
    if plan.suspension is not None:  # release.autoscaling.suspendScaleIn
        reporter.emit(f"{kind}.autoscaling", f"  {plan.suspension.note}", "dim",
                      **plan.suspension.as_dict())
    for blocker in plan.blockers:
        reporter.emit(f"{kind}.blocker", f"  cannot release: {blocker}", "error")


def show_planned(planned: PlannedRelease, reporter: Reporter) -> None:
    """`release plan`'s display: the plan, values from outside git, the preflight table."""
    from release.engine import preflight, values

    show_plan(planned.plan, reporter, deployment_in_progress=(planned.busy or {}).get("id"))
    values.show(planned.values, reporter, "plan")
    preflight.show(planned.preflight, reporter, "plan.preflight")
    if planned.busy:
        reporter.emit("plan.warning", f"  deployment {planned.busy.get('id')} is still in "
                      "progress: `release deploy` would wait for it or refuse", "warn")


# -------------------------------------------------------------------------- the release


def _guards(prepared: Prepared, reporter: Reporter) -> dict[str, Any]:
    """The executor's hooks around the release's calls: the lock still ours before each
    change (not taken over), the ledger told the new revision right after it is registered."""
    held = prepared.held

    def registered(_call: ApiCall, _params: dict[str, Any], response: Any) -> None:
        revision = response["taskDefinition"]["taskDefinitionArn"]
        held.ledger.registered(revision)
        reporter.emit("release.registered", f"registered {short(revision)} with its release "
                      "record", revision=revision)

    def still_ours(_call: ApiCall, _params: dict[str, Any]) -> None:
        held.lease.ensure()  # not taken over

    return {"after": {"register_task_definition": registered},
            "before": {op: still_ours for op in ("register_task_definition", "create_service",
                                                 "update_service")}}


def _context(prepared: Prepared, waiter: Waiter, previous: str | None, rollback: bool, *,
             started: float | None = None, revision: str | None = None,
             deployment: str | None = None) -> Release:
    """What the release's steps act on (engine/executor.Release)."""
    return Release(prepared.env, prepared.spec, prepared.aws, waiter, prepared.desired,
                   prepared.live.service, previous, revision, deployment, started,
                   _count(prepared.plan), rollback, prepared, prepared.held)


def _run_and_finish(prepared: Prepared, reporter: Reporter, ctx: Release,
                    listed: list[Instruction], revision: str, registered: bool
                    ) -> ReleaseOutcome:
    """Run the release's list with the one Executor, then conclude through the one
    finisher (engine/finish.py): released, paused, or failed and rolled back."""
    executed = Executed()
    executor = Executor(prepared.aws, reporter, prepared.env, kind="release", release=ctx,
                        **_guards(prepared, reporter))
    try:
        with aws_step(prepared.env, f"releasing {prepared.spec.service_name}"):
            executor.execute(listed, executed)
    except KeyboardInterrupt:
        if isinstance(executed.current, Wait | Bake):  # a wait: say how to resume it
            interrupted(prepared.env, prepared.spec, reporter, executed.revision or revision)
        raise
    return conclude(Ending(ctx, reporter, revision, ctx.previous, ctx.rollback, registered),
                    executed)


def wait_and_finish(prepared: Prepared, waiter: Waiter, reporter: Reporter, revision: str,
                    previous: str | None, rollback: bool, registered: bool,
                    deployment: str | None) -> ReleaseOutcome:
    """The wait, bake and record of a deployment already under way (resumed, or a release
    an earlier run left unfinished), as a list of its own, then the finisher."""
    plan = prepared.plan
    listed: list[Instruction] = [planning.wait_step(prepared.spec, plan.budget, resumed=True)]
    bake_step = planning.bake_step(prepared.spec)
    if bake_step is not None:
        listed.append(bake_step)
    if registered:
        listed.append(TagRecord(revision, records.COMPLETED, "stable"))
    ctx = _context(prepared, waiter, previous, rollback, revision=revision,
                   deployment=deployment)
    return _run_and_finish(prepared, reporter, ctx, listed, revision, registered)


# how a release's outcome is written in its ledger entry
LEDGER_OUTCOMES = {RELEASED: records.COMPLETED, ROLLED_BACK: records.ROLLED_BACK,
                   NOT_RESTORED: records.FAILED, FAILED: records.FAILED,
                   PAUSED_OUTCOME: PAUSED_OUTCOME}  # a native deployment at a PAUSE hook


def release_service(repo: ConfigRepo, spec: ServiceSpec, reporter: Reporter, *,
                    timeout: int | str | None = None, rollback: bool = True,
                    command: str = "deploy") -> ReleaseOutcome:
    """Release one service under its lock (engine/hold.py), which is taken before the live
    state is read: a second release of the same service is refused, nothing changed."""
    from release.engine import values
    from release.engine.autoscaling import ScaleIn
    from release.engine.hold import hold

    env = repo.environment(spec.env)
    aws = connect(env)  # the account is checked before the lock is written
    resolved = values.resolve(repo, spec, aws)  # a missing value: exit 1 before the lock
    repo, spec, env = resolved.repo, resolved.spec or spec, resolved.env
    with hold(env, spec.service_name, reporter, command, aws) as held:
        with ScaleIn(reporter) as scale_in:  # suspended scale-in restored on every way out
            outcome = _release_service(repo, spec, reporter, aws, held, timeout=timeout,
                                       rollback=rollback, scale_in=scale_in)
        outcome = canary.settle(env, spec, aws, reporter, outcome,  # a canary left live
                                calls_runner(aws, reporter, env, "canary"))
        if outcome.status in LEDGER_OUTCOMES:
            held.ledger.finish_release(LEDGER_OUTCOMES[outcome.status], outcome.message)
        return outcome


def _release_service(repo: ConfigRepo, spec: ServiceSpec, reporter: Reporter, aws: Any,
                     held: Any, *, timeout: int | str | None = None, rollback: bool = True,
                     scale_in: Any = None) -> ReleaseOutcome:
    """Release one service under `held` (engine/hold.Hold): plan, then run the release's list
    and conclude it (the one finisher). `scale_in` (autoscaling.ScaleIn) acts once the
    entry is open."""
    from release.engine import preflight, run, values

    prepared = prepare(repo, spec, timeout=timeout, aws=aws)
    prepared.held = held
    env, plan, spec = prepared.env, prepared.plan, prepared.spec
    where = f"{env.name}/{spec.service_name}"
    clock = default_clock()
    if plan.blockers:
        raise InvalidInput(f"{where}: " + "; ".join(plan.blockers),
                           "nothing was changed; see `release plan`")
    report = preflight.of_prepared(repo, prepared, preflight.DEPLOY, reporter)
    preflight.enforce(report, reporter)  # every problem at once, before the first change
    rollback = rollback and spec.rollback_on_failure
    waiter = Waiter(env, spec, aws, reporter, lease=held.lease)

    if prepared.resume is not None:
        deployment = prepared.resume["deployment"]
        revision = deployment["taskDefinition"]
        record = records.Record.from_tags(revision, prepared.resume["tags"])
        previous = (record.previous if record else None) or None
        reporter.emit("release.resume", f"{where}: a deployment of {short(revision)} (the same "
                      f"revision git asks for) is in progress: waiting for it",
                      revision=revision, deployment=deployment.get("id"), env=env.name,
                      service=spec.service_name, commit=prepared.record.commit,
                      image=prepared.record.image, images=prepared.record.image_map)
        held.ledger.begin_release(prepared.record, revision)
        if scale_in is not None:
            scale_in.suspend(prepared)
        return wait_and_finish(prepared, waiter, reporter, revision, previous, rollback,
                               record is not None, deployment.get("id"))

    if plan.unchanged and not is_native(spec.service):  # a release an earlier run left open
        left = unfinished.left_open(prepared)
        if left is not None:
            return unfinished.finish(prepared, waiter, reporter, left, rollback,
                                     wait_and_finish, scale_in)
    if plan.unchanged:
        message = (f"{where}: nothing to change (live revision {short(plan.live_revision)} "
                   "matches git)")
        reporter.emit("release.unchanged", message, "success", env=env.name,
                      service=spec.service_name, revision=plan.live_revision)
        return ReleaseOutcome(env.name, spec.service_name, UNCHANGED, plan.live_revision,
                              plan.live_revision, message, EXIT_OK)

    run.refuse_while_running(prepared)  # an interrupted deploy's beforeDeploy still runs
    values.show(prepared.values, reporter, "release")
    show_plan(plan, reporter, "release.plan", calls=False, commit=prepared.record.commit,
              image=prepared.record.image,  # what notifications (engine/notify.py) tell
              images=prepared.record.image_map)
    previous = prepared.live.revision_arn
    started = clock.now()
    held.ledger.begin_release(prepared.record,
                              None if plan.registers else prepared.spec.revision or previous)
    if scale_in is not None:
        scale_in.suspend(prepared)
    ctx = _context(prepared, waiter, previous, rollback, started=started)
    return _run_and_finish(prepared, reporter, ctx, plan.instructions, previous or "",
                           plan.registers)


def _count(plan: planning.ReleasePlan) -> int | None:
    """The desiredCount the plan decided (core/autoscaling.py): what the wait counts with."""
    return plan.count.effective if plan.count is not None else None


def release_services(repo: ConfigRepo, specs: list[ServiceSpec], reporter: Reporter, *,
                     timeout: int | str | None = None, rollback: bool = True
                     ) -> list[ReleaseOutcome]:
    """`release deploy` of several services of one environment, one after another on one
    client set (adapters/aws.shared); the first that does not release stops the rest."""
    from release.adapters.aws import shared

    outcomes: list[ReleaseOutcome] = []
    specs = list(specs)
    if not specs:
        return outcomes
    with shared(repo.environment(specs[0].env)):
        for spec in specs:
            outcomes.append(release_service(repo, spec, reporter, timeout=timeout,
                                            rollback=rollback))
            if outcomes[-1].exit_code != EXIT_OK:
                break  # do not release more services on top of a failed one
    return outcomes
