"""`release changed|apply|promote`: a commit to environments/ is a release request.

`changed` says which (environment, service) pairs a commit range changes in
effect; `apply` releases exactly those, environment by environment in promotion
order; `promote` writes the one-line pin change (and commit) that requests a
release.
"""

from __future__ import annotations

import json
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Annotated, Any

import typer

from release.commands.common import FormatOption, RepoOption, find_repo, handles_errors
from release.core.errors import (
    EXIT_INTERRUPTED,
    EXIT_INVALID,
    EXIT_NOT_RESTORED,
    EXIT_OK,
    EXIT_ROLLED_BACK,
    EXIT_UNREACHABLE,
    EXIT_USAGE,
    ReleaseError,
    UsageError,
)
from release.output.events import OutputFormat, Reporter

SinceOption = Annotated[str, typer.Option(
    "--since", help="Start of the range: the last released commit (e.g. "
    "$GIT_PREVIOUS_SUCCESSFUL_COMMIT).")]
UntilOption = Annotated[str, typer.Option("--until", help="End of the range.")]

# Worst first: what `apply` exits with when services end differently.
SEVERITY = [EXIT_NOT_RESTORED, EXIT_ROLLED_BACK, EXIT_UNREACHABLE, EXIT_INTERRUPTED,
            EXIT_INVALID, EXIT_USAGE]

JENKINS_VARIABLES = ("BUILD_URL", "BUILD_TAG", "JOB_NAME", "BUILD_NUMBER", "GIT_COMMIT",
                     "GIT_PREVIOUS_SUCCESSFUL_COMMIT")


def _change_set(root: Path, since: str, until: str, reporter: Reporter):
    """changed_between, with the findings shown when the end of the range does not validate."""
    from release.engine import gitops

    try:
        return gitops.changed_between(root, since, until)
    except gitops.InvalidAtRevision as exc:
        for finding in exc.findings[:20]:
            fields = {k: v for k, v in finding.as_dict().items() if k != "message"}
            reporter.emit("validate.finding", finding.one_line(), "error", **fields)
        raise


def _change_rows(changes) -> list[list[Any]]:
    return [[c.env, c.service, c.kind, ", ".join(c.reasons), c.file] for c in changes]


@handles_errors
def changed(
    since: SinceOption,
    until: UntilOption = "HEAD",
    format: FormatOption = OutputFormat.text,
    repo: RepoOption = None,
) -> None:
    """List the (env, service) pairs a commit range changes in effect, in promotion order."""
    reporter = Reporter(format)
    change_set = _change_set(find_repo(repo), since, until, reporter)
    changes = change_set.changes
    span = f"{change_set.since[:12] or '(start)'}..{change_set.until[:12]}"
    if changes or reporter.format is not OutputFormat.text:  # machines always get the rows
        reporter.table(f"changed in effect: {span}", ["env", "service", "change", "why", "file"],
                       _change_rows(changes), kind="changed", since=change_set.since,
                       until=change_set.until)
    releasable = len(change_set.releasable)
    removed = len(changes) - releasable
    reporter.emit("changed.summary",
                  f"{releasable} service(s) to release"
                  + (f", {removed} removed (not released)" if removed else "")
                  + ("" if changes else f": nothing changes in effect in {span}"),
                  since=change_set.since, until=change_set.until, release=releasable,
                  removed=removed)


# --------------------------------------------------------------------------- apply


class LockedReporter:
    """A Reporter shared by worker threads: one event at a time, so lines never interleave."""

    def __init__(self, inner: Reporter) -> None:
        self._inner = inner
        self._lock = threading.RLock()

    def emit(self, *args: Any, **kwargs: Any):
        with self._lock:
            return self._inner.emit(*args, **kwargs)

    def error(self, *args: Any, **kwargs: Any):
        with self._lock:
            return self._inner.error(*args, **kwargs)

    def table(self, *args: Any, **kwargs: Any):
        with self._lock:
            return self._inner.table(*args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


@dataclass
class ServiceResult:
    env: str
    service: str
    status: str  # released/unchanged/rolled_back/not_restored/failed, or not_released/removed
    exit_code: int
    reasons: list[str]
    detail: str = ""
    outcome: dict[str, Any] | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"env": self.env, "service": self.service, "status": self.status,
                "exit_code": self.exit_code, "reasons": self.reasons, "detail": self.detail,
                **({"outcome": self.outcome} if self.outcome else {})}


def worst_exit_code(codes: list[int]) -> int:
    failing = [c for c in codes if c != EXIT_OK]
    if not failing:
        return EXIT_OK
    return min(failing, key=lambda c: SEVERITY.index(c) if c in SEVERITY else len(SEVERITY))


def _outcome_dict(outcome: Any) -> dict[str, Any] | None:
    as_dict = getattr(outcome, "as_dict", None)
    if callable(as_dict):
        try:
            return dict(as_dict())
        except (TypeError, ValueError):
            return None
    return None


def release_one(config_repo, spec, reporter, change) -> ServiceResult:
    """Release one service through the deploy engine; its errors become a result, not a crash."""
    from release.engine.deploy import release_service

    try:
        outcome = release_service(config_repo, spec, reporter, timeout=None, rollback=True,
                                  command="apply")
    except ReleaseError as exc:
        reporter.emit("apply.service_error", f"{spec.env}/{spec.service_name}: {exc.message}",
                      "error", env=spec.env, service=spec.service_name, hint=exc.hint)
        return ServiceResult(spec.env, spec.service_name, "failed", exc.exit_code,
                             change.reasons, exc.message)
    except Exception as exc:  # a defect must not hide the other services' results
        reporter.emit("apply.service_error",
                      f"{spec.env}/{spec.service_name}: unexpected {type(exc).__name__}: {exc}",
                      "error", env=spec.env, service=spec.service_name)
        return ServiceResult(spec.env, spec.service_name, "failed", EXIT_NOT_RESTORED,
                             change.reasons, f"{type(exc).__name__}: {exc}")
    return ServiceResult(spec.env, spec.service_name, str(outcome.status),
                         int(outcome.exit_code), change.reasons,
                         str(getattr(outcome, "message", "") or ""), _outcome_dict(outcome))


def release_environment(config_repo, env: str, changes, reporter, max_parallel: int
                        ) -> list[ServiceResult]:
    """Release one environment's changed services, at most `max_parallel` at a time.

    Services are independent ECS services (own deployment, own circuit
    breaker), so they roll concurrently; the bound keeps UpdateService and the
    wait loops' Describe calls well inside ECS's API rate limits, and boto3's
    adaptive retries absorb any throttling that still happens.
    """
    specs = {s.service_name: s for s in config_repo.services_of(env)}
    jobs = [(specs[c.service], c) for c in changes]
    workers = max(1, min(max_parallel, len(jobs)))
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix=f"release-{env}") as pool:
        futures = [pool.submit(release_one, config_repo, spec, reporter, change)
                   for spec, change in jobs]
        return [f.result() for f in futures]


def _load_until(root: Path, until: str, tmp: Path):
    """The ConfigRepo as of `until` (from git objects, not the working tree), rooted at `root`."""
    from release.engine import gitops

    git_repo = gitops.open_repo(root)
    loaded = gitops.load_repo_at(gitops.resolve(git_repo, until), tmp,
                                 gitops.config_prefix(git_repo, root))
    return replace(loaded, root=root)


def _write_summary(path: Path, summary: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")


def _dry_run(config_repo, to_release, reporter: Reporter) -> None:
    """Show each service's plan from read-only calls; nothing is registered or updated."""
    from release.engine.deploy import prepare, short

    for change in to_release:
        spec = next(s for s in config_repo.services_of(change.env)
                    if s.service_name == change.service)
        plan = prepare(config_repo, spec, for_plan=True).plan
        where = f"{change.env}/{change.service}"
        if plan.unchanged:
            reporter.emit("apply.plan", f"{where}: already live ({short(plan.live_revision)})",
                          **plan.as_dict())
            continue
        calls = ", ".join(c.operation for c in plan.calls)
        reporter.emit("apply.plan", f"{where}: {calls} (from {short(plan.live_revision)}; "
                      f"budget {plan.budget.seconds} s)", **plan.as_dict())
        for line in [c.one_line() for c in plan.taskdef_changes + plan.setting_changes]:
            reporter.emit("apply.change", f"  {line}", "dim", env=change.env,
                          service=change.service)
        for blocker in plan.blockers:
            reporter.emit("apply.blocker", f"  {blocker}", "error", env=change.env,
                          service=change.service)


@handles_errors
def apply(
    since: SinceOption,
    until: UntilOption = "HEAD",
    env: Annotated[list[str] | None, typer.Option(
        "--env", "-e", help="Only these environments (repeatable); default every changed one.")
    ] = None,
    dry_run: Annotated[bool, typer.Option(
        "--dry-run", help="Show what would be released and the plans; change nothing.")] = False,
    max_parallel: Annotated[int, typer.Option(
        "--max-parallel", min=1, max=64,
        help="Services of one environment released at the same time.")] = 4,
    approved: Annotated[bool, typer.Option(
        "--approved", help="Release environments that require approval (production); pass it "
        "only after the approval (Jenkins: after its input step).")] = False,
    summary: Annotated[Path | None, typer.Option(
        "--summary", help="Write the release summary (JSON) here, e.g. for archiveArtifacts.")
    ] = None,
    format: FormatOption = OutputFormat.text,
    repo: RepoOption = None,
) -> None:
    """Release what a commit range changed, in promotion order; stop at the first failure."""
    import tempfile

    reporter = Reporter(format)
    root = find_repo(repo)
    change_set = _change_set(root, since, until, reporter)
    with tempfile.TemporaryDirectory(prefix="release-apply-") as tmp:
        config_repo = _load_until(root, change_set.until, Path(tmp))
        for name in env or []:
            if name not in config_repo.environments:
                _unknown_env(name, config_repo)
        selected = [c for c in change_set.changes if not env or c.env in env]
        to_release = [c for c in selected if c.releasable]
        removed = [c for c in selected if not c.releasable]
        order = [e.name for e in config_repo.ordered_environments()
                 if any(c.env == e.name for c in to_release)]
        span = f"{change_set.since[:12] or '(start)'}..{change_set.until[:12]}"
        if selected or reporter.format is not OutputFormat.text:
            reporter.table(f"to release ({span})", ["env", "service", "change", "why"],
                           [[c.env, c.service, c.kind, ", ".join(c.reasons)] for c in selected],
                           kind="apply.changes", since=change_set.since, until=change_set.until)
        else:
            reporter.emit("apply.nothing", f"nothing changes in effect in {span}"
                          + (f" for {', '.join(env)}" if env else ""), "success")
        gated = [e for e in order if config_repo.environment(e).requires_approval]
        if dry_run:
            for e in gated:
                reporter.emit("apply.approval", f"{e} requires approval: apply needs --approved",
                              "warn", env=e)
            _dry_run(config_repo, to_release, reporter)
            reporter.emit("apply.dry_run", f"dry run: {len(to_release)} service(s) in "
                          f"{len(order)} environment(s) would be released; nothing was changed",
                          services=len(to_release), environments=order)
            return
        if gated and not approved:
            raise UsageError(
                f"{', '.join(gated)} requires approval before release; nothing was released",
                "approve, then rerun with --approved (Jenkins passes it after the 'Approve "
                "production' input step), or release the others first: "
                + " ".join(f"--env {e}" for e in order if e not in gated),
            )
        results = _release_in_order(config_repo, order, to_release, reporter, max_parallel)
    results += [ServiceResult(c.env, c.service, "removed", EXIT_OK, c.reasons,
                              "spec deleted; not released") for c in removed]
    exit_code = worst_exit_code([r.exit_code for r in results])
    if results or reporter.format is not OutputFormat.text:
        reporter.table(f"release summary ({span})",
                       ["env", "service", "status", "exit", "detail"],
                       [[r.env, r.service, r.status, r.exit_code, r.detail] for r in results],
                       kind="apply.summary", exit_code=exit_code)
    if summary is not None:
        _write_summary(summary, {
            "since": change_set.since, "until": change_set.until, "exit_code": exit_code,
            "environments": order, "services": [r.as_dict() for r in results],
            "ci": {k: os.environ[k] for k in JENKINS_VARIABLES if os.environ.get(k)},
        })
    if exit_code != EXIT_OK:
        failed = [r for r in results if r.exit_code != EXIT_OK]
        not_released = [r for r in results if r.status == "not_released"]
        error = ReleaseError(
            f"{len(failed)} service(s) did not release: "
            + ", ".join(f"{r.env}/{r.service} {r.status}" for r in failed)
            + (f"; {len(not_released)} in later environments were not released"
               if not_released else ""),
            "see the summary table above; `release status --env ENV` shows the live state, "
            "and rerunning apply with the same --since retries what did not release",
        )
        error.exit_code = exit_code
        raise error
    released = sum(r.status == "released" for r in results)
    reporter.emit("apply.done", f"{released} released, "
                  f"{sum(r.status == 'unchanged' for r in results)} already live", "success",
                  released=released)


def _unknown_env(name: str, config_repo) -> None:
    from release.core.errors import InvalidInput

    known = ", ".join(sorted(config_repo.environments))
    raise InvalidInput(f"unknown environment {name!r}", f"environments at this revision: {known}")


def _release_in_order(config_repo, order: list[str], to_release, reporter: Reporter,
                      max_parallel: int) -> list[ServiceResult]:
    """Environments one after another; after a failing one, the rest are reported, not released."""
    shared = LockedReporter(reporter)
    results: list[ServiceResult] = []
    stopped_at: str | None = None
    for env in order:
        changes = [c for c in to_release if c.env == env]
        if stopped_at is not None:
            results += [ServiceResult(c.env, c.service, "not_released", EXIT_OK, c.reasons,
                                      f"stopped: {stopped_at} failed") for c in changes]
            continue
        reporter.emit("apply.env", f"releasing {len(changes)} service(s) in {env}", env=env,
                      services=[c.service for c in changes])
        env_results = release_environment(config_repo, env, changes, shared, max_parallel)
        results += env_results
        if any(r.exit_code != EXIT_OK for r in env_results):
            stopped_at = env
            reporter.emit("apply.stop", f"{env} failed: later environments are not released",
                          "error", env=env)
    return results


# --------------------------------------------------------------------------- promote


@handles_errors
def promote(
    env: Annotated[str, typer.Option("--env", "-e", help="Environment whose pin to change.")],
    service: Annotated[str, typer.Option(
        "--service", "-s", help="Service (file stem or serviceName).")],
    image: Annotated[str, typer.Option(
        "--image", help="<registry>/<repo>@sha256:…, <registry>/<repo>:tag, or tag@sha256:….")],
    commit: Annotated[bool, typer.Option(
        "--commit", help="Commit the pin change (one commit, nothing else in it).")] = False,
    message: Annotated[str | None, typer.Option(
        "--message", "-m", help="Commit message (default: promote SERVICE to IMAGE in ENV).")
    ] = None,
    format: FormatOption = OutputFormat.text,
    repo: RepoOption = None,
) -> None:
    """Pin a service to an image by rewriting only the pin in its spec (and commit it)."""
    from release.engine.gitops import promote_pin

    reporter = Reporter(format)
    result = promote_pin(find_repo(repo), env, service, image, commit=commit, message=message)
    pin = f"tag={result.new_tag} digest={result.new_digest}"
    if not result.changed:
        reporter.emit("promote.unchanged", f"{env}/{result.service} is already pinned to {pin}; "
                      "nothing to do", **result.as_dict())
        return
    reporter.emit("promote.done", f"{result.path.name}: {env}/{result.service} pinned to {pin} "
                  f"(was tag={result.old_tag} digest={result.old_digest})", "success",
                  **result.as_dict())
    if result.commit:
        reporter.emit("promote.commit", f"committed {result.commit[:12]}: {result.message}; "
                      "push it and the pipeline releases it", commit=result.commit)
    else:
        reporter.emit("promote.next", "not committed: review with `git diff`, then commit "
                      "(or rerun with --commit)", "dim")
