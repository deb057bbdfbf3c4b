"""The one finisher: how a release ends, whatever its strategy.

The executor runs a release's list (engine/executor.py) until it is done or a wait or
bake fails. `conclude` then decides the outcome from what was executed: released; paused
at a native lifecycle hook; rolled back by ECS (a native deployment, or the circuit
breaker); or failed — then it records the failure, plans the rollback as another
instruction list (engine/rollback.py: update, wait, the records) and hands it to an
Executor. A rolling and a native release end here alike; `release continue` too.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from release.core import records, stability
from release.core import service_deployments as native
from release.core.config import Environment, ServiceSpec
from release.core.deployments import short
from release.core.errors import EXIT_NOT_RESTORED, EXIT_OK, EXIT_ROLLED_BACK
from release.core.instructions import Instruction, TagRecord
from release.engine.executor import Executed, Executor, Release, calls_runner
from release.engine.outcome import (
    FAILED,
    NOT_RESTORED,
    RELEASED,
    ROLLED_BACK,
    ReleaseOutcome,
)
from release.output.events import Reporter

PAUSED = native.PAUSED_OUTCOME


@dataclass
class Ending:
    """What the finisher needs besides what was executed."""

    ctx: Release
    reporter: Reporter
    revision: str
    previous: str | None
    rollback: bool  # roll back on failure (--no-rollback, release.rollbackOnFailure)
    registered: bool  # the release registered `revision`: its record is ours to write

    @property
    def where(self) -> str:
        return f"{self.ctx.env.name}/{self.ctx.spec.service_name}"


def record(ctx: Release, reporter: Reporter, listed: list[Instruction]) -> None:
    """Run record instructions (engine/executor `_do_tag_record`)."""
    if listed:
        Executor(ctx.aws, reporter, ctx.env, kind="release", release=ctx).execute(listed)


def conclude(end: Ending, executed: Executed) -> ReleaseOutcome:
    """The outcome of a release whose list ran (to its end, or to a failed wait or bake)."""
    from release.engine import canary

    revision = executed.revision or end.revision
    end = dataclasses.replace(end, revision=revision)
    if executed.canary_failed is not None:  # removed, recorded, the release stopped: exit 3
        canary.abort(end.ctx.prepared, _registered(executed), executed.canary_failed,
                     end.reporter, calls_runner(end.ctx.aws, end.reporter, end.ctx.env,
                                                "canary"))
    if executed.followed is not None:
        outcome = native_outcome(end, executed.followed, recorded=True)
    else:
        outcome = _rolling(end, executed.verdict)
    if executed.canary_left is not None:
        outcome = canary.not_removed(end.ctx.env, end.ctx.spec, outcome, executed.canary_left)
    return outcome


def _registered(executed: Executed) -> str:
    """The revision the release registered (the canary ran it; the update was not made)."""
    from release.core.plan import REGISTER_KEY

    return str(executed.results[REGISTER_KEY]["taskDefinition"]["taskDefinitionArn"])


def _released(end: Ending) -> ReleaseOutcome:
    env, name = end.ctx.env, end.ctx.spec.service_name
    message = f"{end.where}: released {short(end.revision)}"
    end.reporter.emit("release.released", message, "success", env=env.name, service=name,
                      revision=end.revision, previous=end.previous)
    return ReleaseOutcome(env.name, name, RELEASED, end.revision, end.previous, message, EXIT_OK)


def _rolling(end: Ending, verdict: stability.Verdict | None) -> ReleaseOutcome:
    """A rolling release: released, or failed and rolled back (by ECS's circuit breaker or
    by the rollback list), or left as it is."""
    from release.engine.rollback import plan_rollback, restore_target, run_rollback

    ctx, reporter, revision, previous = end.ctx, end.reporter, end.revision, end.previous
    env, spec, aws, name = ctx.env, ctx.spec, ctx.aws, ctx.spec.service_name
    assert verdict is not None, "a rolling release ends with the wait's verdict"
    ctx.guard()  # paused past the lease? then nothing more is ours
    if verdict.state == stability.STABLE:
        return _released(end)

    failure = verdict.reason
    why = f"{verdict.cause}: {failure}"
    mine = revision if end.registered else None
    record(ctx, reporter, [TagRecord(mine, records.FAILED, why)] if mine else [])
    if ctx.held is not None:
        ctx.held.ledger.failing(why)  # kept if the rollback is cut short
    restore_to, deployment_id = restore_target(aws, env, spec, verdict, previous, revision)
    if restore_to == revision and deployment_id is None:
        restore_to = None  # a settings-only release: there is no other revision to go back to
    if restore_to is None or not (end.rollback or deployment_id):
        if verdict.cause == stability.SUPERSEDED:
            hint = ""  # another deployment is the service's now: its fix says what to do
        elif restore_to is None:
            hint = ("there is no earlier revision to go back to (first release of this service):"
                    " fix the cause above and release again, or scale the service down")
        else:
            hint = (f"left as it is (rollback disabled); restore the previous revision with "
                    f"`release rollback --env {env.name} --service {spec.name} --yes`")
        message = f"{end.where}: release of {short(revision)} failed: {failure}"
        return ReleaseOutcome(env.name, name, FAILED if restore_to is not None else NOT_RESTORED,
                              revision, previous, message, EXIT_NOT_RESTORED, verdict.cause,
                              "; ".join(p for p in (verdict.fix, hint) if p))

    # the rollback, planned as a list: update (unless ECS rolls back), wait, the records
    rollback = plan_rollback(env, spec, aws, restore_to, deployment_id)
    if mine:
        rollback.plan = dataclasses.replace(rollback.plan, after_stable=[
            *rollback.plan.after_stable, TagRecord(mine, records.ROLLED_BACK, why)])
    try:
        rolled = run_rollback(rollback, ctx.waiter, reporter,
                              f"release of {short(revision)} failed "
                              f"({verdict.cause.replace('_', ' ') if verdict.cause else 'failed'})",
                              ctx.held)
    except KeyboardInterrupt:
        interrupted(env, spec, reporter, restore_to, rolling_back=True)
        raise
    if rolled.state == stability.STABLE:
        # who rolled back: ECS only when it did (circuit breaker); behind a classic ELB it
        # never does, and the rollback is this tool's own
        by = "by ECS" if verdict.cause == stability.ROLLED_BACK_BY_ECS else "by release"
        message = (f"{end.where}: release of {short(revision)} failed ({failure}); "
                   f"rolled back {by} to {short(restore_to)}, which is serving")
        reporter.emit("release.rolled_back", f"{end.where}: rolled back {by} to "
                      f"{short(restore_to)}, which is serving again", "warn", env=env.name,
                      service=name, revision=revision, restored=restore_to, cause=verdict.cause)
        return ReleaseOutcome(env.name, name, ROLLED_BACK, revision, restore_to, message,
                              EXIT_ROLLED_BACK, verdict.cause, verdict.fix)
    serving = rolled.counts.get("new_in_service", 0)
    if serving and serving >= rolled.counts.get("desired", 0):
        state = (f"all {serving} tasks of {short(restore_to)} are serving, but ECS cannot finish "
                 f"the rollback deployment: {rolled.reason}")
    else:
        state = f"the rollback to {short(restore_to)} did not settle: {rolled.reason}"
    message = f"{end.where}: release of {short(revision)} failed ({failure}); {state}"
    hint = (f"{rolled.fix}; then " if rolled.fix else "") + (
        f"check `release status --env {env.name} --service {spec.name}` and the events above; "
        f"if the service is not serving, roll back to a known-good revision with `release "
        f"rollback --env {env.name} --service {spec.name} --to REVISION --yes` (`release "
        f"history` lists them) and page the service owner")
    return ReleaseOutcome(env.name, name, NOT_RESTORED, revision, restore_to, message,
                          EXIT_NOT_RESTORED, verdict.cause, hint)


def native_outcome(end: Ending, followed: Any, recorded: bool = False) -> ReleaseOutcome:
    """A native release from how its deployment ended; the record tags follow it. With
    `recorded` the list already wrote "completed" (its TagRecord ran after the wait)."""
    from release.engine.native_wait import NOT_FOUND

    ctx, reporter, revision, previous = end.ctx, end.reporter, end.revision, end.previous
    env, spec, name = ctx.env, ctx.spec, ctx.spec.service_name
    where = end.where
    if followed == NOT_FOUND:
        message = f"{where}: ECS lists no deployment of {short(revision)}"
        return ReleaseOutcome(env.name, name, NOT_RESTORED, revision, previous,
                              message, EXIT_NOT_RESTORED, "native_not_found",
                              f"check `release status --env {env.name} --service {spec.name}`")
    ctx.guard()  # paused past the lease: nothing more
    verdict = followed.verdict
    mine = revision if end.registered else None
    if verdict.state == native.RELEASED:
        if not recorded:
            record(ctx, reporter, [TagRecord(mine, records.COMPLETED, "stable")] if mine else [])
        reporter.emit("wait.stable", f"{where}: deployment successful on {short(revision)}",
                      "success", env=env.name, service=name, revision=revision)
        return _released(end)
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
        record(ctx, reporter, [TagRecord(mine, records.ROLLED_BACK, failure)] if mine else [])
        message = (f"{where}: release of {short(revision)} failed ({failure}); rolled back "
                   f"{by} to {short(previous)}, which is serving")
        reporter.emit("release.rolled_back", f"{where}: rolled back {by} to {short(previous)},"
                      " which is serving again", "warn", env=env.name, service=name,
                      revision=revision, restored=previous, cause="rolled_back_by_ecs")
        return ReleaseOutcome(env.name, name, ROLLED_BACK, revision, previous, message,
                              EXIT_ROLLED_BACK, "rolled_back_by_ecs")
    record(ctx, reporter, [TagRecord(mine, records.FAILED, failure)] if mine else [])
    message = (f"{where}: release of {short(revision)} failed and the service is not "
               f"restored: {failure} (deployment {verdict.summary})")
    hint = (f"check `release status --env {env.name} --service {spec.name}` and the "
            f"deployment in the ECS console; roll back with `release rollback --env {env.name} "
            f"--service {spec.name} --yes` and page the service owner")
    return ReleaseOutcome(env.name, name, NOT_RESTORED, revision, previous, message,
                          EXIT_NOT_RESTORED, "native_not_restored", hint)


def interrupted(env: Environment, spec: ServiceSpec, reporter: Reporter,
                revision: str | None, rolling_back: bool = False) -> None:
    """Ctrl-C (or a CI abort) during a wait: say how to resume or roll back."""
    from release.engine.wait import resume_commands, resume_hint

    rollback_to = revision if rolling_back else None
    resume, back = resume_commands(env, spec, rollback_to)
    hint = resume_hint(env, spec, revision, rollback_to)
    reporter.emit("release.interrupted", f"{env.name}/{spec.service_name}: interrupted while "
                  f"waiting for {short(revision)}; {hint}", "warn", env=env.name,
                  service=spec.service_name, revision=revision, resume=resume, rollback=back)
