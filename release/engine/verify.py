"""Smoke checks of an environment's services against its load balancer, as one report.

The verb only renders this report; the exit code comes from the outcome: a
check that got the wrong answer is invalid (1, the release is live and wrong),
no answer at all is unreachable (5).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from release.core import redact
from release.core.config import ConfigRepo, Environment
from release.core.errors import EXIT_INVALID, ReleaseError, Unreachable
from release.output.events import Reporter


class SmokeChecksFailed(ReleaseError):
    """The service answered, but not as its smoke checks expect."""

    exit_code = EXIT_INVALID


@dataclass(frozen=True)
class CheckSettings:
    """How hard to try: retries per check, seconds between tries, seconds per request."""

    retries: int = 3
    interval: float = 5.0
    timeout: float = 10.0


@dataclass
class VerifyReport:
    env: str
    base_url: str
    results: list[Any] = field(default_factory=list)
    rows: list[list[Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"env": self.env, "base_url": self.base_url,
                "checks": [r.as_dict() for r in self.results]}

    def write(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.as_dict(), indent=2) + "\n", encoding="utf-8")


def elb_base_url(env: Environment) -> str:
    """http(s)://<the load balancer's DNS name>[:port], looked up by its kind."""
    from release.adapters.aws import aws_errors, connect
    from release.engine import balancers

    lb = env.load_balancer
    with aws_errors(env, f"looking up load balancer {lb.name}"):
        url = balancers.of_environment(env).base_url(connect(env), env)  # its kind's lookup
    if url is None:
        raise Unreachable(f"load balancer {lb.name} has no DNS name",
                          "check that it exists (`release bootstrap --env ...`) or pass --base-url")
    return url


def run(config_repo: ConfigRepo, env: str, service: str | None, base_url: str | None,
           settings: CheckSettings, reporter: Reporter) -> VerifyReport:
    """Run every smoke check of the chosen services; the report, whatever the outcome."""
    import functools

    from release.adapters.aws import connect
    from release.adapters.smoke import run_checks
    from release.engine import values

    aws = functools.cache(lambda: connect(config_repo.environment(env)))  # only if needed
    target = base_url or elb_base_url(values.resolve(config_repo, None, aws, env).env)
    shown = redact.scrub(target)  # --base-url may hold a password or a token: never printed
    report = VerifyReport(env, shown)
    for spec in config_repo.services_of(env, service):
        spec = values.resolve(config_repo, spec, aws).spec or spec  # values from outside git
        if not spec.smoke_checks:
            reporter.emit("verify.none", f"{spec.service_name}: no smoke checks in {spec.path}",
                          "warn", env=env, service=spec.service_name)
            continue
        reporter.emit("verify.start", f"{spec.service_name}: {len(spec.smoke_checks)} smoke "
                      f"check(s) against {shown}", env=env, service=spec.service_name,
                      base_url=shown)
        for result in run_checks(target, spec.smoke_checks, settings.retries, settings.interval,
                                 settings.timeout):
            result.url = redact.scrub(result.url)
            result.detail = redact.scrub(result.detail)
            report.results.append(result)
            reporter.emit("verify.check", f"{result.outcome}: {result.check.name} "
                          f"{result.check.method} {result.url}"
                          + (f" ({result.detail})" if result.detail else ""),
                          "success" if result.ok else "error", env=env,
                          service=spec.service_name, **result.as_dict())
            report.rows.append([spec.service_name, result.check.name,
                                f"{result.check.method} {result.check.path}",
                                result.check.expect_status, result.status or "-", result.outcome,
                                result.attempts])
    return report


def raise_for_outcome(report: VerifyReport) -> None:
    """Wrong answers → exit 1 naming the checks; no answer → exit 5; else nothing."""
    from release.adapters.smoke import FAILED, UNREACHABLE

    failed = [r for r in report.results if r.outcome == FAILED]
    unreachable = [r for r in report.results if r.outcome == UNREACHABLE]
    if failed:
        names = ", ".join(r.check.name for r in failed)
        raise SmokeChecksFailed(
            f"{len(failed)} smoke check(s) failed in {report.env}: {names}",
            f"the service answers but not as expected: look at its logs, then `release rollback "
            f"--env {report.env}` or fix forward",
        )
    if unreachable:
        raise Unreachable(
            f"no answer from {report.base_url} for {len(unreachable)} smoke check(s) "
            f"({unreachable[0].detail})",
            "check the load balancer's listeners and security groups, or pass --base-url",
        )
