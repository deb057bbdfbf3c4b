"""Preflight: every check that must pass before a release changes anything, on one path.

`plan`, `deploy`, `apply`, `rollback` (for the target revision) and `release preflight`
call `run` after reading the live state and planning, and before the first call that
changes AWS. Each check is a module of this package with `check(ctx) -> list[Result]`
(core/preflight.py: the result, the table, the refusal); `run` calls them in
`core.preflight.CHECKS` order, turns a refused read into "not checked" (the release
itself does not need it) and counts the calls. `enforce` shows the table and raises
InvalidInput (exit 1) naming every problem, each with its document, pointer and fix.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from release.core import preflight as pf
from release.core.config import ConfigRepo, Environment, ServiceSpec
from release.core.errors import InvalidInput
from release.core.plan import Live
from release.core.poll import THROTTLING_CODES
from release.core.references import Origin
from release.engine.preflight.context import (
    CHECK,  # noqa: F401 - the modes are the callers' words (preflight.CHECK, preflight.PLAN)
    DEPLOY,
    PLAN,  # noqa: F401
    ROLLBACK,
    Context,
    Denied,
    not_checked,
)
from release.output.events import Reporter


def _checks() -> dict[str, Callable[[Context], list[pf.Result]]]:
    from release.engine.preflight import (
        account,
        alarms,
        capacity,
        images,
        load_balancer,
        logs,
        roles,
        scan_gate,
        secrets,
    )

    return {"account": account.check, "roles": roles.check, "secrets": secrets.check,
            "images": images.check, "logs": logs.check, "load-balancer": load_balancer.check,
            "capacity": capacity.check, "alarms": alarms.check, "scan-gate": scan_gate.check}


def run(ctx: Context, *, unchanged: bool = False) -> pf.Report:
    """Every check in order (only the "always" ones when the release changes nothing)."""
    import botocore.exceptions

    from release.engine.wait import aws_step

    results: list[pf.Result] = []
    skipped: list[str] = []
    for name, check in _checks().items():
        if unchanged and not pf.needed_when_unchanged(name):
            skipped.append(name)
            continue
        ctx.problems = sum(1 for r in results if r.status == pf.PROBLEM)
        with aws_step(ctx.env, f"preflight of {ctx.spec.service_name}: {name}"):
            try:
                results += check(ctx)
            except Denied as exc:
                results.append(not_checked(name, name, exc))
            except botocore.exceptions.ClientError as exc:
                if exc.response.get("Error", {}).get("Code") in _REACH_CODES:
                    raise  # credentials and throttling: aws_step says exit 5
                error = exc.response.get("Error", {})
                results.append(pf.placed(name, pf.NOT_CHECKED, name, "not checked: AWS "
                                         f"answered {error.get('Code')}: {error.get('Message')}"))
    return pf.report(ctx.env.name, ctx.spec.service_name, ctx.subject, results, skipped,
                     dict(ctx.calls))


_REACH_CODES = {"ExpiredToken", "ExpiredTokenException", "UnrecognizedClientException",
                "InvalidClientTokenId", "SignatureDoesNotMatch", "AuthFailure",
                *THROTTLING_CODES}


# ------------------------------------------------------------------------------ contexts


def for_git(repo: ConfigRepo, env: Environment, spec: ServiceSpec, aws: Any,
            taskdef: dict[str, Any], live: Live, mode: str, reporter: Reporter | None = None,
            probe_health: bool = False) -> Context:
    """The context of git's version of a service (`spec` with its names resolved): its
    rendered task definition, or the registered revision the spec names."""
    from release.core.render import pinned_container

    if spec.revision:  # /taskDefinition/revision: released as ECS holds it
        ctx = for_revision(env, spec, aws, taskdef, live, mode, reporter)
        ctx.probe_health = probe_health
        return ctx
    written = repo.taskdef_for(spec)
    pins = {pinned_container(spec, pin, written): pin.pointer for pin in spec.images}
    origin = Origin(written.path, written.doc, spec, pins)
    return Context(env, spec, aws, taskdef, origin, live, mode, reporter, probe_health)


def of_prepared(repo: ConfigRepo, prepared: Any, mode: str, reporter: Reporter | None = None,
                probe_health: bool = False) -> pf.Report:
    """Preflight of a prepared release (engine/deploy.prepare): every check when it starts
    tasks; a release that starts none (nothing changes, or it waits for a deployment of the
    same revision already under way) needs only the checks marked "always"."""
    ctx = for_git(repo, prepared.env, prepared.spec, prepared.aws, prepared.desired,
                  prepared.live, mode, reporter, probe_health)
    count = getattr(prepared.plan, "count", None)
    ctx.desired = count.effective if count is not None else None  # autoscaling's, if it owns it
    starts_nothing = prepared.plan.unchanged or prepared.resume is not None
    return run(ctx, unchanged=starts_nothing and mode == DEPLOY)


def for_revision(env: Environment, spec: ServiceSpec, aws: Any, taskdef: dict[str, Any],
                 live: Live, mode: str = ROLLBACK, reporter: Reporter | None = None) -> Context:
    """The context of a registered revision (a rollback's target), as ECS describes it."""
    label = f"{taskdef.get('family')}:{taskdef.get('revision')} (registered in ECS)"
    origin = Origin(label, taskdef, spec, {}, from_git=False)
    return Context(env, spec, aws, taskdef, origin, live, mode, reporter)


# ------------------------------------------------------------------------------ showing


def show(report: pf.Report, reporter: Reporter, kind: str = "preflight",
         everything: bool = True) -> None:
    """The headline (every answer in its data) and the table: every row, or only those
    that are not ok (a release's own display: it goes on when all is well)."""
    level = "success" if report.passed and not report.of(pf.WARNING) else \
        "warn" if report.passed else "error"
    reporter.emit(kind, report.headline(), level, **report.as_dict())
    rows = report.rows(everything)
    if rows:
        reporter.table("", pf.COLUMNS, rows, kind=f"{kind}.table")


def enforce(report: pf.Report, reporter: Reporter, kind: str = "preflight") -> None:
    """Show the report (its rows that are not ok); refuse (InvalidInput, exit 1) when it
    has a problem."""
    show(report, reporter, kind, everything=False)
    if not report.passed:
        message, hint = report.refusal()
        raise InvalidInput(message, hint or "fix the problems above; nothing was changed")


