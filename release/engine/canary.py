"""The canary's part of a release: start it, wait until it serves, bake, and remove it.

Its start and removal are instructions of the release's list (core/instructions.py),
run by the one Executor under the main service's lock: `before_update` right before
the main service's UpdateService (after beforeDeploy), `take_away` at the end; `settle`
removes a canary still live when the release has ended, whatever its outcome.
The calls are core/canary.py's, run by the one Executor; the waits are the
Waiter's, on the canary service's own target, so "serving" and "drained" mean
what they mean for the main service (classic ELB InService for the task, no
instance draining).

If the canary never becomes stable or fails its bake, it is removed and nothing
else changes: the main service still runs the revision it ran, exit 3. A canary
an interrupted run left behind is looked for whatever the spec says now (an ACTIVE
`<serviceName>-canary` tagged `release:canary-of`): `release status` shows it, the
next release reuses it (a new revision, the spec still asks for a canary) or removes
it, and `release rollback` removes it once the service is back; each says so.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any, NoReturn

from release.core import autoscaling, records, rollout_watch, stability
from release.core import canary as canaries
from release.core import plan as planning
from release.core.calls import ApiCall
from release.core.clock import default_clock
from release.core.config import Environment, ServiceSpec
from release.core.deployments import deployment_for, primary, short
from release.core.errors import EXIT_NOT_RESTORED, EXIT_ROLLED_BACK, ReleaseError
from release.engine.outcome import NOT_RESTORED, ReleaseOutcome, tag_record
from release.engine.wait import Waiter, aws_step, make_target
from release.output.events import Reporter

# Runs plain calls and returns what the executor returns (engine/executor.calls_runner):
# handed in by whoever calls, so this module does not import the executor that calls it.
RunCalls = Callable[[list[ApiCall]], Any]


class CanaryFailed(ReleaseError):
    """The canary did not serve or failed its bake; it was removed, nothing else changed."""

    exit_code = EXIT_ROLLED_BACK


class CanaryNotRemoved(ReleaseError):
    """The canary could not be removed: tasks of a revision that failed may still serve."""

    exit_code = EXIT_NOT_RESTORED


def with_canary(plan: planning.ReleasePlan, env: Environment, spec: ServiceSpec,
                aws: Any) -> planning.ReleasePlan:
    """The plan with its canary part (core/canary.py). Reads the canary service whatever
    the spec says: one left by an interrupted run is reused or removed, and the plan says
    which (removed too when `release.canary` was taken out of the spec since)."""
    with aws_step(env, f"reading the canary of {spec.service_name}"):
        left_over = live_canary(env, spec, aws)
    if canaries.canary_of(spec) is None and left_over is None:
        return plan
    revision = next((c.params.get("taskDefinition") for c in plan.calls
                     if c.operation == "update_service"), None)
    part = canaries.plan_canary(env, _counted(spec, plan), revision, plan.registers,
                                plan.service_exists and revision is not None, left_over)
    budget = plan.budget
    if part is not None and part.runs and part.canary is not None:
        canary = part.canary
        zero = canaries.canary_spec(spec, canaries.Canary(count=0, bake_minutes=0))
        serve = planning.budget_for(env, canaries.canary_spec(spec, canary),
                                    plan.desired_taskdef).seconds
        drain = planning.budget_for(env, zero, plan.desired_taskdef).seconds
        budget = dataclasses.replace(budget, explanation=(
            f"{budget.explanation}; before it the canary: up to {serve} s to serve, bake "
            f"{canary.bake_minutes:g} min, and after it up to {drain} s to drain and go"))
    return dataclasses.replace(plan, canary=part, budget=budget)


def _counted(spec: ServiceSpec, plan: planning.ReleasePlan) -> ServiceSpec:
    """The spec with the count the release decided (core/autoscaling.py): the traffic share
    is the canary's tasks against the tasks the service really has."""
    return autoscaling.with_count(spec, plan.count) if plan.count is not None else spec


def before_update(prepared: Any, revision: str, reporter: Reporter, run_calls: RunCalls,
                  calls: list[ApiCall] | None = None) -> str | None:
    """Run the canary on `revision` (its start `calls`, as the plan lists them: the
    executor's `_do_canary_start`) and bake it. Why it failed, else None: the finisher
    (engine/finish.py) then removes it and stops the release (`abort`: the main service not
    updated). Nothing to do when the plan runs no canary."""
    part = prepared.plan.canary
    if part is None or not part.runs or part.canary is None:
        return None
    env, spec = prepared.env, prepared.spec
    canary = part.canary
    cspec = canaries.canary_spec(spec, canary)
    where = f"{env.name}/{spec.service_name}"
    reporter.emit("canary.start", f"{where}: canary {part.name}: "
                  f"{canaries.traffic_share(_counted(spec, prepared.plan), canary)} on "
                  f"{short(revision)}",
                  env=env.name, service=spec.service_name, canary=part.name, revision=revision,
                  count=canary.count, reused=part.left_over is not None)
    try:
        failure = _run(prepared, cspec, canary, revision, part.left_over, reporter, run_calls,
                       calls)
    except KeyboardInterrupt:
        reporter.emit("canary.interrupted", f"{where}: interrupted; the canary {part.name} is "
                      f"left running {short(revision)}: `release status` shows it and the next "
                      "`release deploy` reuses or removes it", "warn", env=env.name,
                      service=spec.service_name, canary=part.name)
        raise
    if failure is None:
        reporter.emit("canary.passed", f"{where}: canary {part.name} served and baked "
                      f"{canary.bake_minutes:g} min: releasing {spec.service_name}", "success",
                      env=env.name, service=spec.service_name, canary=part.name)
    return failure


def _run(prepared: Any, cspec: ServiceSpec, canary: canaries.Canary, revision: str,
         left_over: dict[str, Any] | None, reporter: Reporter, run_calls: RunCalls,
         calls: list[ApiCall] | None = None) -> str | None:
    """Start, wait, bake; the reason it failed, or None when it passed."""
    env, spec, aws = prepared.env, prepared.spec, prepared.aws
    if calls is None:
        calls = canaries.start_calls(env, spec, canary, revision, left_over)
    with aws_step(env, f"starting the canary of {spec.service_name}"):
        executed = run_calls(calls)
    service = executed.responses[-1][2]["service"]
    waiter = Waiter(env, cspec, aws, reporter)
    budget = planning.budget_for(env, cspec, prepared.desired).seconds
    target = make_target(env, cspec, revision, deployment_for(service, revision), None, budget,
                         left_over or service, prepared.desired, waiter.draining())
    verdict = waiter.wait(target, "canary")
    if verdict.state != stability.STABLE:
        return f"the canary did not serve: {verdict.reason}"
    return _bake(env, cspec, aws, reporter, canary, waiter, target)


def _bake(env: Environment, cspec: ServiceSpec, aws: Any, reporter: Reporter,
          canary: canaries.Canary, waiter: Waiter, target: stability.Target) -> str | None:
    """Bake the serving canary: `bakeMinutes` watching its alarms (engine/bake.py), then
    one look at its tasks: one that stopped for a failure meanwhile (ECS replaced it, so
    the ELB may look fine) fails the bake too."""
    from release.engine.bake import watch_bake

    result = watch_bake(env, cspec, aws, reporter, minutes=canary.bake_minutes,
                        alarms=canary.alarms, label="canary")
    if not result.ok:
        return f"alarm {result.alarm} went into ALARM during the canary's bake: {result.reason}"
    with aws_step(env, f"watching the canary {cspec.service_name}"):
        snap = waiter.reader.read(default_clock().now())
    stopped = _failed_stops(snap, target)
    verdict = rollout_watch.Watch(dataclasses.replace(target, deadline=snap.taken_at + 10**6)
                              ).observe(snap)
    if stopped or verdict.state != stability.STABLE:
        return (f"the canary failed during its bake: "
                f"{stopped[0] if stopped else verdict.reason or verdict.summary}")
    return None


def _failed_stops(snap: stability.Snapshot, target: stability.Target) -> list[str]:
    return [stability.describe_stop(t) for t in snap.tasks
            if t.get("lastStatus") == "STOPPED"
            and t.get("taskDefinitionArn") == target.task_definition_arn
            and stability.stopped_during(t, target) and stability.is_failure_stop(t)]


def abort(prepared: Any, revision: str, failure: str, reporter: Reporter,
          run_calls: RunCalls) -> NoReturn:
    """The finisher's end of a failed canary: remove it, record the outcome, and stop the
    release: exit 3 (or 4)."""
    env, spec, aws = prepared.env, prepared.spec, prepared.aws
    where = f"{env.name}/{spec.service_name}"
    reporter.emit("canary.failed", f"{where}: {failure}; removing the canary", "error",
                  env=env.name, service=spec.service_name, reason=failure)
    removed = remove(env, spec, aws, reporter, run_calls, prepared.desired)
    live = short(prepared.live.revision_arn)
    if removed is not None:
        message = (f"{where}: canary of {short(revision)} failed ({failure}) and could not be "
                   f"removed: {removed}")
        prepared.held.ledger.finish_release(records.FAILED, message)
        raise CanaryNotRemoved(message, f"remove it by hand (`aws ecs update-service --service "
                               f"{canaries.canary_name(spec)} --desired-count 0`, then "
                               f"delete-service) and page the service owner; "
                               f"{spec.service_name} still runs {live}")
    tag_record(aws, reporter, revision,
               records.outcome_tags(records.ROLLED_BACK, f"canary: {failure}",
                                    default_clock().now()))
    message = (f"{where}: canary of {short(revision)} failed ({failure}); the canary was "
               f"removed and {spec.service_name} was not updated: it still runs {live}")
    prepared.held.ledger.finish_release(records.ROLLED_BACK, message)
    reporter.emit("canary.removed", f"{where}: canary removed; {spec.service_name} still runs "
                  f"{live}", "warn", env=env.name, service=spec.service_name, revision=live)
    raise CanaryFailed(message, f"{short(revision)} is registered but not released; see the "
                       "canary's events above, fix the cause and release again")


def remove(env: Environment, spec: ServiceSpec, aws: Any, reporter: Reporter,
           run_calls: RunCalls, taskdef: dict[str, Any] | None = None,
           calls: list[ApiCall] | None = None) -> str | None:
    """Scale the canary to 0, wait until its tasks stopped and its instances drained, then
    delete it (`calls`: those two, as a plan lists them). None when done, else why it is
    still there."""
    name = canaries.canary_name(spec)
    scale_down, delete = calls or [canaries.scale_down_call(env, name),
                                   canaries.delete_call(env, name)]
    with aws_step(env, f"removing the canary {name}"):
        scaled = run_calls([scale_down])
    service = scaled.responses[-1][2]["service"]
    zero = canaries.canary_spec(spec, canaries.Canary(count=0, bake_minutes=0))
    revision = service.get("taskDefinition") or ""
    waiter = Waiter(env, zero, aws, reporter)
    budget = planning.budget_for(env, zero, taskdef or {}).seconds
    target = make_target(env, zero, revision, (primary(service) or {}).get("id"), None, budget,
                         service, taskdef or {}, waiter.draining())
    verdict = waiter.wait(target, "canary removal")
    if verdict.state != stability.STABLE:
        return verdict.reason
    with aws_step(env, f"removing the canary {name}"):
        run_calls([delete])
    return None


def take_away(env: Environment, spec: ServiceSpec, aws: Any, reporter: Reporter,
              run_calls: RunCalls, calls: list[ApiCall],
              taskdef: dict[str, Any] | None = None) -> str | None:
    """The executor's `_do_canary_removal`: remove the canary with the plan's calls, saying
    so. None when it is gone, else why it is still there (`not_removed`)."""
    where, name = f"{env.name}/{spec.service_name}", canaries.canary_name(spec)
    reporter.emit("canary.remove", f"{where}: removing the canary {name}", env=env.name,
                  service=spec.service_name, canary=name)
    left = remove(env, spec, aws, reporter, run_calls, taskdef, calls)
    if left is None:
        reporter.emit("canary.removed", f"{where}: canary {name} removed", "success",
                      env=env.name, service=spec.service_name, canary=name)
    return left


def not_removed(env: Environment, spec: ServiceSpec, outcome: ReleaseOutcome, left: str
                ) -> ReleaseOutcome:
    """The outcome of a release whose canary will not go: exit 4, and how to remove it."""
    name = canaries.canary_name(spec)
    return dataclasses.replace(
        outcome, status=NOT_RESTORED, exit_code=max(outcome.exit_code, EXIT_NOT_RESTORED),
        message=f"{outcome.message}; the canary {name} could not be removed: {left}",
        hint=f"scale {name} to 0 and delete it, then check `release status --env {env.name} "
             f"--service {spec.name}`")


def settle(env: Environment, spec: ServiceSpec, aws: Any, reporter: Reporter,
           outcome: ReleaseOutcome, run_calls: RunCalls) -> ReleaseOutcome:
    """After the release, whatever its outcome: remove the canary if one is live (this run's,
    or one left by an interrupted run, whether or not the spec still asks for a canary). A
    canary that will not go is exit 4."""
    name = canaries.canary_name(spec)
    with aws_step(env, f"reading the canary {name}"):
        found = live_canary(env, spec, aws)
    if found is None:
        return outcome
    reporter.emit("canary.remove", f"{env.name}/{spec.service_name}: removing the canary "
                  f"{name} ({short(found.get('taskDefinition'))}, {found.get('runningCount', 0)}"
                  " task(s))", env=env.name, service=spec.service_name, canary=name,
                  revision=found.get("taskDefinition"))
    left = remove(env, spec, aws, reporter, run_calls)
    if left is None:
        reporter.emit("canary.removed", f"{env.name}/{spec.service_name}: canary {name} removed",
                      "success", env=env.name, service=spec.service_name, canary=name)
        return outcome
    return not_removed(env, spec, outcome, left)



def explain(env: Environment, spec: ServiceSpec, aws: Any) -> dict[str, Any] | None:
    """A live canary of the service, as `release status` explains it (None: there is none).

    Outside a release a canary is always one an interrupted run left behind."""
    name = canaries.canary_name(spec)
    found = live_canary(env, spec, aws)
    if found is None:
        return None
    revision = short(found.get("taskDefinition"))
    deploy = f"`release deploy --env {env.name} --service {spec.name}`"
    then = (f"the next {deploy} reuses it for a new revision or removes it"
            if canaries.canary_of(spec) is not None else
            f"release.canary is no longer in the spec: the next {deploy} removes it, "
            f"as does `release rollback`")
    return {"service": name, "revision": found.get("taskDefinition"),
            "desired": found.get("desiredCount"), "running": found.get("runningCount"),
            "note": f"{found.get('runningCount', 0)} task(s) of {revision} take part of the "
                    f"ELB's traffic beside {spec.service_name}, left by a release that did not "
                    f"finish (or one in progress); {then}"}


def live_canary(env: Environment, spec: ServiceSpec, aws: Any) -> dict[str, Any] | None:
    """The service's canary when it is ACTIVE and tagged as its canary (core/canary.py
    `is_canary_of`), whatever the spec says now. DescribeServices answers a missing one
    with a MISSING failure, a deleted one as DRAINING (tasks still stopping) and then
    INACTIVE: neither is a canary to reuse or remove."""
    from release.adapters import live

    found = live.describe_service(aws.ecs, env.cluster, canaries.canary_name(spec),
                                  env.name, tags=True)
    if found is None or found.get("status") != "ACTIVE" or not canaries.is_canary_of(found,
                                                                                     spec):
        return None
    return found


def left_over(env: Environment, spec: ServiceSpec, aws: Any) -> canaries.CanaryPlan | None:
    """`release rollback`'s canary part: the removal of a live canary (None: there is none)."""
    with aws_step(env, f"reading the canary of {spec.service_name}"):
        return canaries.removal_plan(env, spec, live_canary(env, spec, aws))
