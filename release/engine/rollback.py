"""Rolling a service back: to the revision before a failed release, or to one an operator names.

Rollback is plan-as-data like a release: `plan_rollback` reads and decides
the list (the UpdateService call, none when ECS already rolls back on its own;
the wait; the records that mark the restored revision — and the failed one —
once it is stable); `run_rollback` shows nothing new and runs exactly that list
with the one Executor. The automatic rollback after a failed release (planned by
the finisher, engine/finish.py) and `release rollback` take this same path.
`release rollback` also removes a canary service an interrupted release left serving
(engine/canary.py), once the service is back: its removal is the list's last
instruction.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from release.core import deployments, records, stability
from release.core import plan as planning
from release.core.canary import CanaryPlan
from release.core.clock import default_clock
from release.core.config import ConfigRepo, Environment, ServiceSpec
from release.core.deployments import short
from release.core.errors import EXIT_NOT_RESTORED, EXIT_OK, InvalidInput
from release.core.revisions import check_revision_arn
from release.engine import canary
from release.engine.executor import Executed, Executor, Release, calls_runner, display
from release.engine.outcome import NOT_RESTORED, ROLLED_BACK, UNCHANGED, ReleaseOutcome
from release.engine.wait import Waiter, aws_step, connect, resume_commands
from release.output.events import Reporter


@dataclass
class Rollback:
    """A rollback decided before anything changes: the plan shown is the plan run."""

    env: Environment
    spec: ServiceSpec
    aws: Any
    plan: planning.ReleasePlan  # calls, then after_stable (the record's "restored" tags)
    before: dict[str, Any] | None  # the service as it was
    taskdef: dict[str, Any]  # the revision rolled back to
    deployment_id: str | None  # ECS's own rollback deployment, when it started one
    to_revision: str
    canary: CanaryPlan | None = None  # a live canary `release rollback` removes afterwards
    canary_left: str | None = None  # why that canary could not be removed (None: gone)

    @property
    def current(self) -> str | None:
        return (self.before or {}).get("taskDefinition")


def plan_rollback(env: Environment, spec: ServiceSpec, aws: Any, to_revision: str,
                  deployment_id: str | None = None, timeout: str | int | None = None
                  ) -> Rollback:
    """Read the revision to go back to and the service; plan the calls. Reads only."""
    from release.adapters.live import describe_revision, describe_service

    with aws_step(env, f"rolling back {spec.service_name}"):
        taskdef, _ = describe_revision(aws.ecs, to_revision)
        before = describe_service(aws.ecs, env.cluster, spec.service_name, env.name)
    current = (before or {}).get("taskDefinition")
    plan = planning.rollback_plan(
        env, spec, planning.Live(before, None), to_revision, timeout, to_taskdef=taskdef,
        ecs_rolls_back=deployment_id is not None,
        restored_tags=records.restored_tags(current, default_clock().now()))
    return Rollback(env, spec, aws, plan, before, taskdef, deployment_id, to_revision)


def run_rollback(rollback: Rollback, waiter: Waiter, reporter: Reporter, why: str,
                 held: Any) -> stability.Verdict:
    """Run the planned list with the one Executor — the update (none when ECS rolls back),
    the wait under the same rules as a release, the records once stable, the removal of a
    left-over canary — and close the ledger's restore entry with how the wait ended.
    `held` (engine/hold.Hold): the lease it changes the service under, the ledger its
    restore or rollback entry goes in."""
    env, spec, plan = rollback.env, rollback.spec, rollback.plan
    to_revision, current = rollback.to_revision, rollback.current
    where = f"{env.name}/{spec.service_name}"
    held.lease.ensure()  # taken over meanwhile: not ours to undo
    ctx = Release(env, spec, rollback.aws, waiter, rollback.taskdef, rollback.before, current,
                  to_revision, rollback.deployment_id, None,
                  plan.count.effective if plan.count else None)  # the live count
    executor = Executor(rollback.aws, reporter, env, kind="rollback", release=ctx)
    with aws_step(env, f"rolling back {spec.service_name}"):
        entry = held.ledger.begin_restore(to_revision, current, why)
        if plan.calls:
            reporter.emit("release.rollback", f"{where}: {why}; rolling back to "
                          f"{short(to_revision)}", "warn", env=env.name,
                          service=spec.service_name, revision=to_revision)
        else:
            reporter.emit("release.rollback", f"{where}: {why}; ECS is rolling back to "
                          f"{short(to_revision)}: waiting for it", "warn", env=env.name,
                          service=spec.service_name, revision=to_revision)
    executed = Executed()
    try:
        with aws_step(env, f"rolling back {spec.service_name}"):
            executor.execute(plan.instructions, executed)
    finally:
        verdict = executed.verdict
        if verdict is not None:
            held.ledger.finish(entry, records.COMPLETED if verdict.state == stability.STABLE
                               else records.FAILED, verdict.reason or "stable")
    rollback.canary_left = executed.canary_left
    assert verdict is not None, "a rollback's list waits"
    return verdict


def restore_target(aws: Any, env: Environment, spec: ServiceSpec, verdict: stability.Verdict,
                    previous: str | None, failed: str) -> tuple[str | None, str | None]:
    """(revision to go back to, ECS's own rollback deployment when it already started one)."""
    if verdict.cause == stability.ROLLED_BACK_BY_ECS:
        from release.adapters.live import describe_service

        with aws_step(env, f"reading {spec.service_name}"):
            service = describe_service(aws.ecs, env.cluster, spec.service_name, env.name) or {}
        primary = deployments.primary(service)
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


def show(rollback: Rollback, reporter: Reporter) -> None:
    """The rollback plan: from where to where, the budget, and the calls it will make."""
    plan, part = rollback.plan, rollback.canary
    if part is not None:  # its removal is the list's last instruction
        plan = dataclasses.replace(plan, canary=part)
    then = f", then remove the canary {part.name} ({_canary_text(part)})" if part else ""
    reporter.emit("rollback.plan", f"{plan.env}/{plan.service}: roll back from "
                  f"{short(plan.live_revision)} to {short(rollback.to_revision)}{then} (budget "
                  f"{plan.budget.seconds} s)",
                  **{**plan.as_dict(), "canary": part.as_dict() if part else None})
    for change in plan.taskdef_changes:
        reporter.emit("plan.change", f"  {change.one_line()}")
    display(plan, reporter)


def _canary_text(part: CanaryPlan) -> str:
    found = part.left_over or {}
    return f"{found.get('runningCount', 0)} task(s) of {short(found.get('taskDefinition'))}"


# ------------------------------------------------------------------ `release rollback`


def rollback_services(config_repo: ConfigRepo, specs: list[ServiceSpec], reporter: Reporter, *,
                      to: str | None, timeout: str | int | None, commit: Path | None,
                      confirm: Callable[[str], bool]) -> list[ReleaseOutcome]:
    """Roll each service back (to --to, else to the revision live before the current release);
    stop at the first that does not settle. `confirm` asks before anything is changed; with
    `commit` (the repository's root) the restored image is pinned in git. Each service's
    lock, once taken, is held until every service is done (`locks`), and given back on
    every way out."""
    from release.adapters.aws import shared

    outcomes: list[ReleaseOutcome] = []
    if not specs:
        return outcomes
    with (contextlib.ExitStack() as locks,
          shared(config_repo.environment(specs[0].env))):  # each value's source read once
        for spec in specs:
            outcome = _rollback_one(config_repo, spec, reporter, to, timeout, commit, confirm,
                                    locks)
            outcomes.append(outcome)
            if outcome.status == NOT_RESTORED:
                break
    return outcomes


def _target_of(env: Environment, spec: ServiceSpec, aws: Any, reporter: Reporter,
               to: str | None) -> tuple[planning.Live, str, str | None]:
    """(live state, revision to roll back to, a caution about it), read under the rollback's
    lock (taken before anything is read)."""
    from release.adapters import ledger, live

    where = f"{env.name}/{spec.service_name}"
    with aws_step(env, f"reading {spec.service_name}"):
        current = live.fetch_live(aws.ecs, env, spec)
        if current.service is None:
            raise InvalidInput(f"{where} does not exist", "nothing to roll back")
        history = live.records_of(aws.ecs, spec.family, limit=50)
        entries = ledger.history(env, spec.service_name, history, aws)
        if to:
            check_revision_arn(env, spec.family, to)
        target = (live.resolve_revision(aws.ecs, spec.family, to) if to
                  else records.rollback_target_of(current.revision_arn, entries))
    if target is None:
        raise InvalidInput(f"{where}: no earlier release is recorded to roll back to",
                           "name one with --to REVISION (see `release history`)")
    return current, target, records.caution_about(target, entries)


def _rollback_one(config_repo: ConfigRepo, spec: ServiceSpec, reporter: Reporter,
                  to: str | None, timeout: str | int | None, commit: Path | None,
                  confirm: Callable[[str], bool], locks: contextlib.ExitStack
                  ) -> ReleaseOutcome:
    from release.engine import values
    from release.engine.hold import hold

    env = config_repo.environment(spec.env)
    aws = connect(env)
    resolved = values.resolve(config_repo, spec, aws)  # a missing value: exit 1, before the lock
    spec, env = resolved.spec or spec, resolved.env
    where = f"{env.name}/{spec.service_name}"
    held = locks.enter_context(hold(env, spec.service_name, reporter, "rollback", aws))
    current, target, caution = _target_of(env, spec, aws, reporter, to)
    busy = deployments.in_progress(current.service)
    part = canary.left_over(env, spec, aws)  # a canary an interrupted release left serving
    if target == current.revision_arn and busy is None and part is not None:
        return _remove_canary_only(env, spec, aws, reporter, part, target, confirm)
    if target == current.revision_arn and busy is None:
        message = f"{where}: already on {short(target)}; nothing to do"
        reporter.emit("rollback.unchanged", message, "success", revision=target)
        return ReleaseOutcome(env.name, spec.service_name, UNCHANGED, target, target, message,
                              EXIT_OK)
    if caution:
        reporter.emit("rollback.warning", f"{where}: {short(target)}: {caution}; rolling "
                      "back to it anyway, as asked", "warn", revision=target)
    if target != current.revision_arn:
        _preflight(env, spec, aws, reporter, target, current)
    resume = busy is not None and busy.get("taskDefinition") == target
    rollback = plan_rollback(env, spec, aws, target, busy.get("id") if resume and busy else None,
                             timeout)
    rollback.canary = part
    if part is not None:  # removed at the end of the list, once the service is back
        rollback.plan = dataclasses.replace(rollback.plan, canary=part)
    show(rollback, reporter)
    if not confirm(f"Roll {where} back to {short(target)}?"):
        raise InvalidInput("rollback cancelled", "nothing was changed")
    try:
        verdict = run_rollback(rollback, Waiter(env, spec, aws, reporter, lease=held.lease),
                               reporter, "operator rollback", held)
    except KeyboardInterrupt:
        again, _ = resume_commands(env, spec, target)
        reporter.emit("release.interrupted", f"{where}: interrupted; the service was left "
                      f"as it is; to resume waiting run `{again}`, or watch `release "
                      f"status --env {env.name} --service {spec.name}`", "warn",
                      revision=target, resume=again)
        raise
    if verdict.state != stability.STABLE:
        kept = (f"; the canary {part.name} ({_canary_text(part)}) was left as it is"
                if part else "")
        return ReleaseOutcome(
            env.name, spec.service_name, NOT_RESTORED, target, current.revision_arn,
            f"{where}: rollback to {short(target)} did not settle: {verdict.reason}{kept}",
            EXIT_NOT_RESTORED, verdict.cause,
            f"{verdict.fix}; check `release status --env {env.name} --service {spec.name}`, "
            "try another revision with --to (see `release history`), and page the owner")
    message = f"{where}: rolled back to {short(target)}, which is serving"
    outcome = ReleaseOutcome(env.name, spec.service_name, ROLLED_BACK, target,
                             current.revision_arn, message, EXIT_OK)
    if part is not None and rollback.canary_left is not None:  # its tasks still take traffic
        return canary.not_removed(env, spec, outcome, rollback.canary_left)
    if part is not None:
        outcome.message = message = (f"{message}; the canary {part.name} "
                                     f"({_canary_text(part)}) was removed")
    reporter.emit("rollback.done", message, "success", revision=target,
                  previous=current.revision_arn)
    if commit is not None:
        commit_pin(commit, env, spec, aws, target, reporter)
    return outcome


def _preflight(env: Environment, spec: ServiceSpec, aws: Any, reporter: Reporter,
               target: str, current: planning.Live) -> None:
    """Preflight of the revision rolled back to (its roles, secrets, images — a lifecycle
    policy may have deleted one —, log groups, load balancer, capacity): every problem at
    once, before anything changes. The automatic rollback of a failed release does not ask:
    going back is then better than staying."""
    from release.adapters import live
    from release.engine import preflight

    with aws_step(env, f"reading {short(target)}"):
        taskdef, _ = live.describe_revision(aws.ecs, target)
    ctx = preflight.for_revision(env, spec, aws, taskdef, current, preflight.ROLLBACK, reporter)
    preflight.enforce(preflight.run(ctx), reporter, "rollback.preflight")


def _remove_canary_only(env: Environment, spec: ServiceSpec, aws: Any, reporter: Reporter,
                        part: CanaryPlan, target: str, confirm: Callable[[str], bool]
                        ) -> ReleaseOutcome:
    """The service already runs `target`; a canary left by an interrupted release does not:
    the rollback is its removal alone (shown, asked, run)."""
    where = f"{env.name}/{spec.service_name}"
    reporter.emit("rollback.plan", f"{where}: already on {short(target)}; remove the canary "
                  f"{part.name} ({_canary_text(part)})", revision=target,
                  canary=part.as_dict())
    display(part.remove, reporter)
    if not confirm(f"Remove the canary {part.name} of {where}?"):
        raise InvalidInput("rollback cancelled", "nothing was changed")
    message = f"{where}: already on {short(target)}"
    outcome = canary.settle(env, spec, aws, reporter, ReleaseOutcome(
        env.name, spec.service_name, UNCHANGED, target, target, message, EXIT_OK),
        calls_runner(aws, reporter, env, "canary"))
    if outcome.exit_code == EXIT_OK:
        outcome.message = f"{message}; the canary {part.name} ({_canary_text(part)}) was removed"
        reporter.emit("rollback.done", outcome.message, "success", revision=target)
    return outcome


def commit_pin(root: Path, environment: Any, spec: Any, aws: Any, revision: str,
                reporter: Any) -> None:
    """Pin the restored images in git (every container the service pins) so that the next
    `release deploy` does not undo the rollback."""
    from release.adapters import live
    from release.core.records import Record
    from release.engine.promote import promote_pins

    taskdef, tags = live.describe_revision(aws.ecs, revision)
    record = Record.from_tags(revision, tags)
    refs = restored_refs(spec, taskdef, record)
    missing = [name for name, image in refs.items() if not image]
    if missing:
        raise InvalidInput(f"{short(revision)} has no image for container {missing[0]}",
                           "pin the image by hand with `release promote`")
    result = promote_pins(root, environment.name, spec.name, refs, commit=True,
                          message=f"rollback {spec.service_name} in {environment.name} to "
                                  f"{short(revision)}")
    shown = ", ".join(str(image) for image in refs.values())
    reporter.emit("rollback.committed", f"pinned {shown} in {result.path}"
                  + (f" (commit {result.commit[:12]})" if result.commit else " (already pinned)"),
                  commit=result.commit, image=next(iter(refs.values())),
                  images={str(k): v for k, v in refs.items()})


def restored_refs(spec: Any, taskdef: dict[str, Any], record: Any) -> dict[str | None, str]:
    """{container: image reference} the restored revision runs for each pinned container, the
    primary's first. The primary keeps the record's tag next to its digest; another
    container keeps git's tag when it names the same digest, else is pinned by digest."""
    from release.core.render import pinned_container

    view = _TaskdefView(taskdef)
    images = {c.get("name"): str(c.get("image") or "") for c in view.containers}
    refs: dict[str | None, str] = {}
    for pin in (spec.image, *(p for p in spec.images if p is not spec.image)):
        name = pinned_container(spec, pin, view)
        image = images.get(name, "")
        location, _, digest = image.partition("@")
        tag = record.image_tag if pin is spec.image and record else (
            pin.tag if pin.digest == digest else None)
        if image and tag and digest.startswith("sha256:"):
            image = f"{location.rsplit(':', 1)[0] if _has_tag(location) else location}:{tag}" \
                    f"@{digest}"
        refs[name if len(spec.images) > 1 else None] = image
    return refs


def _has_tag(location: str) -> bool:
    """`registry/repo:tag` (a colon after the last slash; a registry's port comes before it)."""
    return ":" in location.rsplit("/", 1)[-1]


class _TaskdefView:
    """The little of config.TaskDefinition that render.image_container reads."""

    def __init__(self, doc: dict[str, Any]) -> None:
        self.containers = doc.get("containerDefinitions", [])
