"""The one way a plan's instructions are run, and the one way they are shown.

A planner (core/plan.py for releases and rollbacks, engine/bootstrap.py for the
platform) emits a list of instructions (core/instructions.py): AWS calls, and a
release's other steps — beforeDeploy, the canary's start, the wait (rolling or
native), the bake, the release record, the canary's removal. `Executor` runs them in
order, each by its `_do_<kind>`; `DisplayOnlyExecutor` shows the same list, one line
per instruction, and runs nothing. Both have `execute(plan)`, so `release plan`,
`--dry-run` and the real run cannot drift apart: what is shown is what would be run.

A wait or bake that fails stops the list there; how the release ends is then the
finisher's (engine/finish.py), which plans the rollback as another list and hands it
to an Executor like this one.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from release.core import instructions as steps
from release.core import records, stability
from release.core.calls import ApiCall, Ref
from release.core.clock import default_clock
from release.core.config import Environment
from release.core.errors import ReleaseError
from release.core.instructions import Instruction
from release.output.events import Reporter

# IAM is eventually consistent: a just-created instance profile or role takes seconds to be
# usable by EC2 or ECR. Calls that name such errors in `retry_on` are retried with backoff.
RETRY_BUDGET_SECONDS = 60.0
FIRST_RETRY_DELAY_SECONDS = 1.0  # doubled after each attempt, up to the next one
MAX_RETRY_DELAY_SECONDS = 16.0

# what must happen right after a call succeeded: (the call, its parameters, its response)
AfterCall = Callable[[ApiCall, dict[str, Any], Any], None]
# what must pass right before a call is made (release.beforeDeploy): raises to stop the plan
BeforeCall = Callable[[ApiCall, dict[str, Any]], None]


class Planned(Protocol):
    """Anything that holds its calls in order: a bootstrap plan (a release or rollback
    plan also has `instructions`, the whole list, which is what is run)."""

    @property
    def calls(self) -> list[ApiCall]: ...


def instructions_of(plan: Planned | Sequence[Instruction]) -> list[Instruction]:
    """A plan's whole list: its `instructions` when it has them, else its calls."""
    if isinstance(plan, Sequence):
        return list(plan)
    listed = getattr(plan, "instructions", None)
    return list(listed) if listed is not None else list(plan.calls)


def call_fields(step: int, total: int, item: Instruction) -> dict[str, Any]:
    """The JSON fields of an instruction's event, the same whether it is shown or run."""
    return {"step": step, "total": total, **steps.fields_of(item)}


def event_of(kind: str, item: Instruction) -> str:
    """`<kind>.call` for an AWS call (as ever), `<kind>.step` for any other instruction."""
    return f"{kind}.call" if isinstance(item, ApiCall) else f"{kind}.step"


def retryable(exc: BaseException, retry_on: tuple[str, ...]) -> bool:
    """Does the error match one of `retry_on`: "Code", or "Code: words in its message"?"""
    from release.adapters.aws import error_code

    code = error_code(exc)
    if not code:
        return False
    message = str(getattr(exc, "response", {}).get("Error", {}).get("Message", ""))
    for entry in retry_on:
        wanted, _, words = (part.strip() for part in entry.partition(":"))
        if wanted == code and words.lower() in message.lower():
            return True
    return False


def retry_delays() -> list[float]:
    """1, 2, 4, 8, 16, 16, ... s, the last one cut so that they add up to the budget."""
    delays: list[float] = []
    delay = FIRST_RETRY_DELAY_SECONDS
    while sum(delays) < RETRY_BUDGET_SECONDS:
        delays.append(min(delay, RETRY_BUDGET_SECONDS - sum(delays)))
        delay = min(delay * 2, MAX_RETRY_DELAY_SECONDS)
    return delays


@dataclass
class Executed:
    """What running a list gave: each call's response in order, those kept by key, and what
    the release's steps found (the service and revision the update left, the wait's and
    bake's verdict or the native deployment followed, a canary that would not go)."""

    responses: list[tuple[ApiCall, dict[str, Any], Any]] = field(default_factory=list)
    results: dict[str, Any] = field(default_factory=dict)
    done: list[Instruction] = field(default_factory=list)
    current: Instruction | None = None  # the one being run (an interruption's place)
    service: dict[str, Any] | None = None
    revision: str | None = None
    verdict: stability.Verdict | None = None
    followed: Any = None  # engine/native_wait.Followed, or native_wait.NOT_FOUND
    canary_left: str | None = None  # why the canary could not be removed
    canary_failed: str | None = None  # why the canary did not serve or failed its bake

    @property
    def stopped(self) -> bool:
        """A wait or bake failed (or a native deployment did not release): the rest of the
        list is not run, the finisher decides what follows."""
        from release.core import service_deployments as native

        if self.canary_failed is not None or (
                self.verdict is not None and self.verdict.state != stability.STABLE):
            return True
        if self.followed is None:
            return False
        verdict = getattr(self.followed, "verdict", None)
        return verdict is None or verdict.state != native.RELEASED


@dataclass
class Release:
    """What a release's (or rollback's) steps other than calls act on: the service, the
    wait's inputs, and the checks that the lock is still ours (`guard`)."""

    env: Environment
    spec: Any
    aws: Any
    waiter: Any  # engine/wait.Waiter
    taskdef: dict[str, Any]  # what the wait reads the target port from
    before: dict[str, Any] | None  # the service as it was (its events are not news)
    previous: str | None = None
    revision: str | None = None  # known beforehand when resuming a deployment
    deployment: str | None = None
    started: float | None = None  # when the release began (the wait's start)
    count: int | None = None  # the desiredCount the wait counts with
    rollback: bool = True  # may a native wait roll back past its budget?
    prepared: Any = None  # engine/deploy.Prepared, for beforeDeploy and the canary
    held: Any = None  # engine/hold.Hold: the lease a change is made under (None: no lock)

    def guard(self) -> None:
        """Right before a change: the lease still ours (not taken over, not expired)."""
        if self.held is not None:
            self.held.lease.ensure()


class DisplayOnlyExecutor:
    """Shows each instruction of a plan (`<kind>.call` events for calls, `<kind>.step` for
    the other steps, one line each) and runs none."""

    def __init__(self, reporter: Reporter, kind: str = "plan") -> None:
        self.reporter = reporter
        self.kind = kind

    def execute(self, plan: Planned | Sequence[Instruction]) -> Executed:
        listed = instructions_of(plan)
        for step, item in enumerate(listed, 1):
            self.reporter.emit(event_of(self.kind, item), f"  {step}. {item.describe()}",
                               **call_fields(step, len(listed), item))
        return Executed()


def display(plan: Planned | Sequence[Instruction], reporter: Reporter, kind: str = "plan"
            ) -> None:
    """The one plan display: `  N. what: why` per instruction, `<kind>.call`/`.step` events."""
    DisplayOnlyExecutor(reporter, kind).execute(plan)


class Executor:
    """Runs a plan's instructions in order, each by `_do_<kind>`; calls on `clients`
    (attributes named like `ApiCall.service`).

    `Ref`s are filled in from earlier responses; a call that names error codes in
    `retry_on` is retried with backoff on the clock; `after` hooks (by operation) run
    right after a call succeeded, `before` hooks right before it is made (one that raises
    stops the plan there, that call not made). A failure names the step; with `rerun` it also says
    that running that command again resumes (the planner plans only what is missing).
    A release's other steps act on `release` (engine/executor.Release).
    """

    def __init__(self, clients: Any, reporter: Reporter, env: Environment, *,
                 kind: str = "release", after: Mapping[str, AfterCall] | None = None,
                 before: Mapping[str, BeforeCall] | None = None, clock: Any = None,
                 rerun: str | None = None, release: Release | None = None) -> None:
        self.clients = clients
        self.reporter = reporter
        self.env = env
        self.kind = kind
        self.after = dict(after or {})
        self.before = dict(before or {})
        self.clock = clock or default_clock()
        self.rerun = rerun
        self.release = release

    def execute(self, plan: Planned | Sequence[Instruction],
                executed: Executed | None = None) -> Executed:
        """Run the list (on `executed`, to go on from an earlier list's results); a failed
        wait or bake stops it."""
        listed = instructions_of(plan)
        executed = executed if executed is not None else Executed()
        for step, item in enumerate(listed, 1):
            executed.current = item
            getattr(self, f"_do_{steps.kind_of(item)}")(step, len(listed), item, executed)
            executed.done.append(item)
            if executed.stopped:
                break
        return executed

    def _say(self, step: int, total: int, item: Instruction) -> None:
        self.reporter.emit(event_of(self.kind, item), f"[{step}/{total}] {item.describe()}",
                           **call_fields(step, total, item))

    def _context(self) -> Release:
        if self.release is None:
            raise TypeError("a release step needs the executor's `release`")
        return self.release

    def _resolve(self, value: Any, executed: Executed) -> Any:
        return value.resolve(executed.results) if isinstance(value, Ref) else value

    # ------------------------------------------------------------------ instructions

    def _do_call(self, step: int, total: int, call: ApiCall, executed: Executed) -> None:
        params = call.resolved_params(executed.results)
        check = self.before.get(call.operation)
        if check is not None:
            check(call, params)
        self._say(step, total, call)
        try:
            response = self._run(step, total, call, params)
        except Exception as exc:
            if not isinstance(exc, ReleaseError) or self.rerun is None:
                raise
            done = (f"{step - 1} of {total} steps were applied" if step > 1
                    else "nothing was applied")
            raise type(exc)(exc.message, f"{done}; fix the cause and run `{self.rerun}` "
                            f"again: it plans only what is still missing ({exc.hint})"
                            ) from None
        if call.key:
            executed.results[call.key] = response
        executed.responses.append((call, params, response))
        if call.operation in ("create_service", "update_service") and isinstance(
                response, Mapping) and "service" in response and "taskDefinition" in params:
            executed.service, executed.revision = response["service"], params["taskDefinition"]
        hook = self.after.get(call.operation)
        if hook is not None:
            hook(call, params, response)

    def _do_tag_record(self, step: int, total: int, item: steps.TagRecord,
                       executed: Executed) -> None:
        """The release record on a revision, best effort (engine/outcome.tag_record)."""
        from release.engine.outcome import tag_record

        if self.release is not None:
            self.release.guard()  # paused past the lease? then nothing more is ours
        self._say(step, total, item)
        tags = list(item.tags) or records.outcome_tags(item.outcome, item.reason,
                                                       self.clock.now())
        tag_record(self.clients, self.reporter, self._resolve(item.revision, executed), tags)

    def _do_run_before_deploy(self, step: int, total: int, item: steps.RunBeforeDeploy,
                              executed: Executed) -> None:
        from release.engine import run

        ctx = self._context()
        ctx.guard()
        self._say(step, total, item)
        run.before_deploy(ctx.prepared, self._resolve(item.revision, executed), self.reporter)

    def _do_canary_start(self, step: int, total: int, item: steps.CanaryStart,
                         executed: Executed) -> None:
        from release.engine import canary

        ctx = self._context()
        ctx.guard()
        self._say(step, total, item)
        calls = [dataclasses.replace(c, params=c.resolved_params(executed.results))
                 for c in item.calls]
        executed.canary_failed = canary.before_update(
            ctx.prepared, calls[0].params["taskDefinition"], self.reporter,
            calls_runner(ctx.aws, self.reporter, ctx.env, "canary"), calls)

    def _do_wait(self, step: int, total: int, item: steps.Wait, executed: Executed) -> None:
        from release.core.deployments import deployment_for
        from release.engine import native_wait
        from release.engine.wait import make_target

        ctx = self._context()
        self._say(step, total, item)
        revision = executed.revision or ctx.revision or ""
        if item.strategy != steps.ROLLING:
            started = ctx.started if ctx.started is not None else self.clock.now()
            executed.followed = native_wait.wait_for(
                ctx.env, ctx.spec, ctx.aws, self.reporter, revision, started, item.seconds,
                ctx.rollback, item.resumed, ctx.held.lease if ctx.held is not None else None)
            return
        deployment = (deployment_for(executed.service, revision) if executed.service
                      else ctx.deployment)
        target = make_target(ctx.env, ctx.spec, revision, deployment, ctx.previous,
                             item.seconds, ctx.before, ctx.taskdef, ctx.waiter.draining(),
                             ctx.count)
        if ctx.started is not None:
            target = dataclasses.replace(target, started_at=ctx.started)
        executed.verdict = ctx.waiter.wait(target, item.purpose,
                                           just_updated=not item.resumed)

    def _do_bake(self, step: int, total: int, item: steps.Bake, executed: Executed) -> None:
        from release.engine import bake

        ctx = self._context()
        self._say(step, total, item)
        if executed.verdict is not None:
            executed.verdict = bake.after_stable(ctx.env, ctx.spec, ctx.aws, self.reporter,
                                                 executed.verdict)

    def _do_canary_removal(self, step: int, total: int, item: steps.CanaryRemoval,
                           executed: Executed) -> None:
        from release.engine import canary

        ctx = self._context()
        self._say(step, total, item)
        executed.canary_left = canary.take_away(
            ctx.env, ctx.spec, ctx.aws, self.reporter,
            calls_runner(ctx.aws, self.reporter, ctx.env, "canary"), list(item.calls),
            ctx.taskdef)

    # ------------------------------------------------------------------------ calls

    def _run(self, step: int, total: int, call: ApiCall, params: dict[str, Any]) -> Any:
        import botocore.exceptions

        from release.adapters.aws import aws_errors, error_code

        method = getattr(getattr(self.clients, call.service), call.operation)
        with aws_errors(self.env, f"step {step} of {total} ({call.operation} {call.target})"):
            delays = iter(retry_delays())
            while True:
                try:
                    return method(**params)
                except botocore.exceptions.ClientError as exc:
                    delay = next(delays, None) if retryable(exc, call.retry_on) else None
                    if delay is None:
                        raise
                    error = f"{error_code(exc)}: {exc.response['Error'].get('Message', '')}"
                    self.reporter.emit(
                        f"{self.kind}.retry", f"[{step}/{total}] {call.operation} "
                        f"{call.target}: {error}; retrying in {delay:.0f} s (a just-created "
                        f"resource takes a while to be visible; up to "
                        f"{RETRY_BUDGET_SECONDS:.0f} s)", "warn", step=step, delay=delay,
                        error=error)
                    self.clock.sleep(delay)


def calls_runner(clients: Any, reporter: Reporter, env: Environment, kind: str
                 ) -> Callable[[Sequence[Instruction]], Executed]:
    """Plain calls run by a new Executor of `kind` each time: what the code the executor
    dispatches to (the canary's start and removal) is handed, so it never imports the
    executor back."""
    return lambda calls: Executor(clients, reporter, env, kind=kind).execute(calls)
