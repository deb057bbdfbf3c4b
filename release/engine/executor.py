"""The one way a plan's calls are run, and the one way they are shown.

A planner (core/plan.py for releases and rollbacks, engine/bootstrap.py for the
platform) emits a list of `ApiCall`s. `Executor` runs them in order;
`DisplayOnlyExecutor` shows the same list, one line per call, and runs
nothing. Both have `execute(plan)`, so `release plan`, `--dry-run` and the
real run cannot drift apart: what is shown is what would be run.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from release.core.calls import ApiCall
from release.core.clock import default_clock
from release.core.config import Environment
from release.core.deployments import short
from release.core.errors import ReleaseError
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
    """Anything that holds its calls in order: a release, rollback or bootstrap plan."""

    @property
    def calls(self) -> list[ApiCall]: ...


def calls_of(plan: Planned | Sequence[ApiCall]) -> list[ApiCall]:
    return list(plan) if isinstance(plan, Sequence) else list(plan.calls)


def call_fields(step: int, total: int, call: ApiCall) -> dict[str, Any]:
    """The JSON fields of a call's event, the same whether it is shown or run."""
    return {"step": step, "total": total, **call.as_dict()}


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
    """What running a plan gave: each call's response in order, and those kept by key."""

    responses: list[tuple[ApiCall, dict[str, Any], Any]] = field(default_factory=list)
    results: dict[str, Any] = field(default_factory=dict)


class DisplayOnlyExecutor:
    """Shows each call of a plan (`<kind>.call` events, one line each) and runs none."""

    def __init__(self, reporter: Reporter, kind: str = "plan") -> None:
        self.reporter = reporter
        self.kind = kind

    def execute(self, plan: Planned | Sequence[ApiCall]) -> Executed:
        calls = calls_of(plan)
        for step, call in enumerate(calls, 1):
            self.reporter.emit(f"{self.kind}.call", f"  {step}. {call.describe()}",
                               **call_fields(step, len(calls), call))
        return Executed()


def display(plan: Planned | Sequence[ApiCall], reporter: Reporter, kind: str = "plan") -> None:
    """The one plan display: `  N. operation target: reason` per call, `<kind>.call` events."""
    DisplayOnlyExecutor(reporter, kind).execute(plan)


class Executor:
    """Runs a plan's calls in order on `clients` (attributes named like `ApiCall.service`).

    `Ref`s are filled in from earlier responses; a call that names error codes in
    `retry_on` is retried with backoff on the clock; `after` hooks (by operation) run
    right after a call succeeded, `before` hooks right before it is made (one that raises
    stops the plan there, that call not made). A failure names the step; with `rerun` it also says
    that running that command again resumes (the planner plans only what is missing).
    """

    def __init__(self, clients: Any, reporter: Reporter, env: Environment, *,
                 kind: str = "release", after: Mapping[str, AfterCall] | None = None,
                 before: Mapping[str, BeforeCall] | None = None, clock: Any = None,
                 rerun: str | None = None) -> None:
        self.clients = clients
        self.reporter = reporter
        self.env = env
        self.kind = kind
        self.after = dict(after or {})
        self.before = dict(before or {})
        self.clock = clock or default_clock()
        self.rerun = rerun

    def execute(self, plan: Planned | Sequence[ApiCall]) -> Executed:
        calls = calls_of(plan)
        executed = Executed()
        for step, call in enumerate(calls, 1):
            params = call.resolved_params(executed.results)
            check = self.before.get(call.operation)
            if check is not None:
                check(call, params)
            self.reporter.emit(f"{self.kind}.call", f"[{step}/{len(calls)}] {call.describe()}",
                               **call_fields(step, len(calls), call))
            try:
                response = self._run(step, len(calls), call, params)
            except Exception as exc:
                if call.best_effort:  # say so and go on: what it records already happened
                    self.reporter.emit("record.warning", "could not update the release record "
                                       f"on {short(params.get('resourceArn'))}: {exc}", "warn",
                                       revision=params.get("resourceArn"))
                    continue
                if not isinstance(exc, ReleaseError) or self.rerun is None:
                    raise
                done = (f"{step - 1} of {len(calls)} steps were applied" if step > 1
                        else "nothing was applied")
                raise type(exc)(exc.message, f"{done}; fix the cause and run `{self.rerun}` "
                                f"again: it plans only what is still missing ({exc.hint})"
                                ) from None
            if call.key:
                executed.results[call.key] = response
            executed.responses.append((call, params, response))
            hook = self.after.get(call.operation)
            if hook is not None:
                hook(call, params, response)
        return executed

    def _run(self, step: int, total: int, call: ApiCall, params: dict[str, Any]) -> Any:
        import botocore.exceptions

        from release.adapters.aws import aws_errors, error_code

        method = getattr(getattr(self.clients, call.service), call.operation)
        if call.best_effort:
            return method(**params)
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
