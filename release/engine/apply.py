"""`apply`: release exactly what a commit range changed, environment by environment.

Environments go in promotion order and the first failing one stops the rest
(they are reported as not released); inside one environment, services roll
concurrently up to a bound. The outcome is one exit code, the worst of the
services' codes, and a summary that a pipeline can archive.
"""

from __future__ import annotations

import os
import tempfile
import threading
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from release.adapters import git
from release.core import redact
from release.core.changes import Change, ChangeSet
from release.core.config import ConfigRepo, ServiceSpec
from release.core.ecs_throttling import registration_pacing
from release.core.errors import (
    EXIT_INTERRUPTED,
    EXIT_INVALID,
    EXIT_NOT_RESTORED,
    EXIT_OK,
    EXIT_ROLLED_BACK,
    EXIT_UNREACHABLE,
    EXIT_USAGE,
    InvalidInput,
    ReleaseError,
    UsageError,
)
from release.engine.changed import changed_between, span
from release.output.events import OutputFormat, Reporter

# Worst first: what `apply` exits with when services end differently.
SEVERITY = [EXIT_NOT_RESTORED, EXIT_ROLLED_BACK, EXIT_UNREACHABLE, EXIT_INTERRUPTED,
            EXIT_INVALID, EXIT_USAGE]

JENKINS_VARIABLES = ("BUILD_URL", "BUILD_TAG", "JOB_NAME", "BUILD_NUMBER", "GIT_COMMIT",
                     "GIT_PREVIOUS_SUCCESSFUL_COMMIT")


def ci_summary(environ: Mapping[str, str]) -> dict[str, str]:
    """The Jenkins variables set, for `--summary`: BUILD_URL without user-info or query,
    anything credential-shaped masked (as records.ci_values keeps them; core/redact.py)."""
    return {k: redact.ci_value(environ[k]) for k in JENKINS_VARIABLES if environ.get(k)}


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
    """How one service's release ended, as the summary table and file show it."""

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
    """The exit code of the worst ending (SEVERITY), so a pipeline sees the gravest one."""
    failing = [c for c in codes if c != EXIT_OK]
    if not failing:
        return EXIT_OK
    return min(failing, key=lambda c: SEVERITY.index(c) if c in SEVERITY else len(SEVERITY))


@dataclass
class ApplyResult:
    """What one apply did: the range, the environments in order, one result per service."""

    change_set: ChangeSet
    order: list[str]
    results: list[ServiceResult] = field(default_factory=list)
    dry_run: bool = False
    commits: dict[str, list[dict[str, str]]] = field(default_factory=dict)  # env → released

    @property
    def span(self) -> str:
        return span(self.change_set)

    @property
    def exit_code(self) -> int:
        return worst_exit_code([r.exit_code for r in self.results])

    def summary(self) -> dict[str, Any]:
        """The release summary a pipeline archives, with the CI build it ran in."""
        return {"since": self.change_set.since, "until": self.change_set.until,
                "exit_code": self.exit_code, "environments": self.order,
                "services": [r.as_dict() for r in self.results], "commits": self.commits,
                "ci": ci_summary(os.environ)}

    def failure(self) -> ReleaseError | None:
        """The error apply ends with when any service did not release, else None."""
        if self.exit_code == EXIT_OK:
            return None
        failed = [r for r in self.results if r.exit_code != EXIT_OK]
        not_released = [r for r in self.results if r.status == "not_released"]
        error = ReleaseError(
            f"{len(failed)} service(s) did not release: "
            + ", ".join(f"{r.env}/{r.service} {r.status}" for r in failed)
            + (f"; {len(not_released)} in later environments were not released"
               if not_released else ""),
            "see the summary table above; "
            + " and ".join(f"`release status --env {env}`"
                           for env in dict.fromkeys(r.env for r in failed))
            + " shows the live state, and rerunning apply with the same --since retries what "
            "did not release",
        )
        error.exit_code = self.exit_code
        return error


def _outcome_dict(outcome: Any) -> dict[str, Any] | None:
    as_dict = getattr(outcome, "as_dict", None)
    if callable(as_dict):
        try:
            return dict(as_dict())
        except (TypeError, ValueError):
            return None
    return None


def release_one(config_repo: ConfigRepo, spec: ServiceSpec, reporter: Reporter | LockedReporter,
                change: Change) -> ServiceResult:
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


def release_environment(config_repo: ConfigRepo, env: str, changes: list[Change],
                        reporter: Reporter | LockedReporter, max_parallel: int
                        ) -> list[ServiceResult]:
    """Release one environment's changed services, at most `max_parallel` at a time.

    Services are independent ECS services (own deployment, own circuit
    breaker), so they roll concurrently; the bound is placement pressure (how
    many rollouts the cluster absorbs at once). API pressure is bounded apart:
    every release of the environment shares one client set, one request budget
    and one batched poller (adapters/aws.shared, adapters/poller.py).
    """
    from release.adapters.aws import shared

    specs = {s.service_name: s for s in config_repo.services_of(env)}
    jobs = [(specs[c.service], c) for c in changes]
    workers = max(1, min(max_parallel, len(jobs)))
    with shared(config_repo.environment(env)), ThreadPoolExecutor(
            max_workers=workers, thread_name_prefix=f"release-{env}") as pool:
        futures = [pool.submit(release_one, config_repo, spec, reporter, change)
                   for spec, change in jobs]
        return [f.result() for f in futures]


def release_in_order(config_repo: ConfigRepo, order: list[str], to_release: list[Change],
                     reporter: Reporter, max_parallel: int) -> list[ServiceResult]:
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
        pacing = registration_pacing(len(changes))
        if pacing:
            reporter.emit("apply.pacing", f"{env}: {pacing}", env=env)
        env_results = release_environment(config_repo, env, changes, shared, max_parallel)
        results += env_results
        if any(r.exit_code != EXIT_OK for r in env_results):
            stopped_at = env
            reporter.emit("apply.stop", f"{env} failed: later environments are not released",
                          "error", env=env)
    return results


def _spec_of(config_repo: ConfigRepo, change: Change) -> ServiceSpec:
    return next(s for s in config_repo.services_of(change.env)
                if s.service_name == change.service)


def display_plans(config_repo: ConfigRepo, to_release: list[Change], reporter: Reporter) -> None:
    """Per service, prepare its release plan from read-only calls and show it with its
    preflight: the same display as `release plan` (engine.deploy.show_plan), under
    `apply.plan` events; a preflight problem refuses the dry run as `plan` does (exit 1)."""
    import contextlib

    from release.adapters.aws import shared
    from release.engine import preflight, values
    from release.engine.deploy import prepare, show_plan

    with contextlib.ExitStack() as scopes:  # one client set (and one read of each value's
        for env in dict.fromkeys(c.env for c in to_release):  # source) per environment
            scopes.enter_context(shared(config_repo.environment(env)))
        for change in to_release:
            prepared = prepare(config_repo, _spec_of(config_repo, change), for_plan=True)
            show_plan(prepared.plan, reporter, "apply.plan")
            values.show(prepared.values, reporter, "apply.plan")
            preflight.enforce(preflight.of_prepared(config_repo, prepared, preflight.PLAN),
                              reporter, "apply.preflight")


def _require_known(envs: list[str], config_repo: ConfigRepo) -> None:
    for name in envs:
        if name not in config_repo.environments:
            known = ", ".join(sorted(config_repo.environments))
            raise InvalidInput(f"unknown environment {name!r}",
                               f"environments at this revision: {known}")


def _show_selection(result: ApplyResult, selected: list[Change], envs: list[str],
                    reporter: Reporter) -> None:
    change_set = result.change_set
    if selected or reporter.format is not OutputFormat.text:
        reporter.table(f"to release ({result.span})", ["env", "service", "change", "why"],
                       [[c.env, c.service, c.kind, ", ".join(c.reasons)] for c in selected],
                       kind="apply.changes", since=change_set.since, until=change_set.until)
    else:
        reporter.emit("apply.nothing", f"nothing changes in effect in {result.span}"
                      + (f" for {', '.join(envs)}" if envs else ""), "success")


def _dry_run(config_repo: ConfigRepo, result: ApplyResult, gated: list[str],
             to_release: list[Change], reporter: Reporter) -> ApplyResult:
    for e in gated:
        reporter.emit("apply.approval", f"{e} requires approval: apply needs --approved",
                      "warn", env=e)
    display_plans(config_repo, to_release, reporter)
    reporter.emit("apply.dry_run", f"dry run: {len(to_release)} service(s) in "
                  f"{len(result.order)} environment(s) would be released; nothing was changed",
                  services=len(to_release), environments=result.order)
    result.dry_run = True
    return result


def apply_range(root: Path, since: str, until: str, envs: list[str], reporter: Reporter, *,
                dry_run: bool = False, max_parallel: int = 4, approved: bool = False
                ) -> ApplyResult:
    """Release what since..until changed in effect (only `envs` if given), in promotion order."""
    change_set = changed_between(root, since, until)
    with tempfile.TemporaryDirectory(prefix="release-apply-") as tmp:
        config_repo = git.load_config_at(root, change_set.until, Path(tmp))
        _require_known(envs, config_repo)
        selected = [c for c in change_set.changes if not envs or c.env in envs]
        to_release = [c for c in selected if c.releasable]
        order = [e.name for e in config_repo.ordered_environments()
                 if any(c.env == e.name for c in to_release)]
        result = ApplyResult(change_set, order)
        _show_selection(result, selected, envs, reporter)
        gated = [e for e in order if config_repo.environment(e).requires_approval]
        if dry_run:
            return _dry_run(config_repo, result, gated, to_release, reporter)
        if gated and not approved:
            raise UsageError(
                f"{', '.join(gated)} requires approval before release; nothing was released",
                "approve, then rerun with --approved (Jenkins passes it after the 'Approve "
                "production' input step), or release the others first: "
                + " ".join(f"--env {e}" for e in order if e not in gated),
            )
        result.results = release_in_order(config_repo, order, to_release, reporter, max_parallel)
    result.results += [ServiceResult(c.env, c.service, "removed", EXIT_OK, c.reasons,
                                     "spec deleted; not released")
                       for c in selected if not c.releasable]
    result.commits = released_commits(root, change_set, result.results)
    return result


def released_commits(root: Path, change_set: ChangeSet, results: list[ServiceResult]
                     ) -> dict[str, list[dict[str, str]]]:
    """Per environment where a service was released: the commits of the range that touched
    its documents (its folder, or a task definition), newest first."""
    envs = list(dict.fromkeys(r.env for r in results if r.status == "released"))
    return {env: [{"commit": sha, "title": title} for sha, title in git.commits_touching(
        root, change_set.since, change_set.until, [f"environments/{env}", "taskdefs"])]
        for env in envs}
