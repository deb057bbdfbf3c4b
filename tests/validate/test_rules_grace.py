"""The grace-period rules: what ECS accepts passes, a slow start the grace does not cover warns.

healthCheckGracePeriodSeconds is how long ECS "ignores unhealthy Elastic Load Balancing,
VPC Lattice, and container health checks after a task has first started" (CreateService;
default 0). A target still in its first checks is not unhealthy, so grace 0 is no error;
a container whose startPeriod outlasts UnhealthyThreshold × Interval turns unhealthy
while it starts, and then the grace must last until it is healthy again
(release/core/rules/load_balancer.uncovered_start).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from test_rules_target_groups import ALB_ENV, ALB_SERVICE, FARGATE_TASKDEF
from validate_helpers import STAGING_ENV, STAGING_SERVICE, TASKDEF, edit

from release.core.validate import validate_repo

Change = Callable[[Path], None]
GRACE_RULES = ("lb-grace-period", "tg-grace-period")


def grace(rel: str, seconds: int | None) -> Change:
    """The service's healthCheckGracePeriodSeconds (None: left out, ECS's default 0)."""
    def change(doc):
        doc["service"].pop("healthCheckGracePeriodSeconds", None)
        if seconds is not None:
            doc["service"]["healthCheckGracePeriodSeconds"] = seconds
    return lambda repo: edit(repo, rel, change)


def start_period(rel: str, seconds: int, command: bool = True) -> Change:
    """A container health check on the load-balanced (first) container."""
    check = {"command": ["CMD-SHELL", "curl -fs localhost:8080/api/healthcheck || exit 1"]}
    check = {**check, "startPeriod": seconds} if command else {"startPeriod": seconds}
    return lambda repo: edit(repo, rel, lambda d: d["containerDefinitions"][0].update(
        healthCheck=check))


def both(*changes: Change) -> Change:
    def apply(repo: Path) -> None:
        for change in changes:
            change(repo)
    return apply


# rule, environment, change that fires it, file and pointer it names, near miss that stays
# quiet. staging's classic ELB: UnhealthyThreshold 5 × Interval 30 s = 150 s to unhealthy,
# HealthyThreshold 2 × 30 s = 60 s back; sandbox-alb's target group: 2 × 5 s = 10 s, 2 × 5 s.
GRACE_CASES: list[tuple[str, str, Change, str, str, Change]] = [
    ("lb-grace-period", "staging", start_period(TASKDEF, 200), STAGING_SERVICE,
     "/service/healthCheckGracePeriodSeconds",
     both(start_period(TASKDEF, 200), grace(STAGING_SERVICE, 260))),
    ("lb-grace-period", "staging", both(start_period(TASKDEF, 151), grace(STAGING_SERVICE, None)),
     STAGING_SERVICE, "/service",
     both(start_period(TASKDEF, 150), grace(STAGING_SERVICE, None))),
    ("tg-grace-period", "sandbox-alb", start_period(FARGATE_TASKDEF, 60), ALB_SERVICE,
     "/service/healthCheckGracePeriodSeconds",
     both(start_period(FARGATE_TASKDEF, 60), grace(ALB_SERVICE, 70))),
    ("tg-grace-period", "sandbox-alb",
     both(start_period(FARGATE_TASKDEF, 11), grace(ALB_SERVICE, 0)), ALB_SERVICE,
     "/service/healthCheckGracePeriodSeconds",
     both(start_period(FARGATE_TASKDEF, 10), grace(ALB_SERVICE, 0))),
]


IDS = [f"{case[0]}-{i}" for i, case in enumerate(GRACE_CASES)]


def grace_findings(repo: Path, env: str):
    report = validate_repo(repo, envs=[env])
    assert "internal-error" not in {f.rule for f in report.findings}, report.findings
    return report, [f for f in report.findings if f.rule in GRACE_RULES]


@pytest.mark.parametrize(("env", "service"), [("staging", STAGING_SERVICE),
                                              ("sandbox-alb", ALB_SERVICE)])
@pytest.mark.parametrize("seconds", [None, 0, 5])
def test_a_grace_period_ecs_accepts_is_no_error(repo: Path, env: str, service: str,
                                                seconds: int | None) -> None:
    """Grace 0 (or left out) is ECS's default and what 32 of 71 real services run with."""
    grace(service, seconds)(repo)
    report, found = grace_findings(repo, env)
    assert found == [] and report.findings == [], report.findings


@pytest.mark.parametrize("case", GRACE_CASES, ids=IDS)
def test_a_start_the_grace_does_not_cover_is_a_warning(repo: Path, case) -> None:
    rule, env, fire, file, pointer, _ = case
    fire(repo)
    report, found = grace_findings(repo, env)
    assert [(f.rule, f.file, f.pointer, f.severity) for f in found] == [
        (rule, file, pointer, "warning")], report.findings
    assert report.errors == [] and not report.failed() and report.failed(strict=True)


@pytest.mark.parametrize("case", GRACE_CASES, ids=IDS)
def test_a_grace_that_covers_the_start_is_quiet(repo: Path, case) -> None:
    _, env, _, _, _, quiet = case
    quiet(repo)
    report, found = grace_findings(repo, env)
    assert found == [] and report.findings == [], report.findings


def test_the_warning_gives_the_figures_and_the_grace_that_covers_them(repo: Path) -> None:
    start_period(FARGATE_TASKDEF, 60)(repo)
    _, (found,) = grace_findings(repo, "sandbox-alb")
    assert "'akka-firehose' may take up to 60 s to start" in found.message
    assert f"healthCheck.startPeriod in {FARGATE_TASKDEF}" in found.message
    assert "fails 2 checks 5 s apart unhealthy after 10 s" in found.message
    assert "2 passing checks (10 s)" in found.message and f"({ALB_ENV})" in found.message
    assert "grace period of 10 s" in found.message
    assert found.fix.startswith('set "healthCheckGracePeriodSeconds": 70 (or more)')


def test_a_start_period_without_a_command_says_nothing(repo: Path) -> None:
    """"This value applies only when you specify a command" (HealthCheck.startPeriod)."""
    both(start_period(FARGATE_TASKDEF, 60, command=False), grace(ALB_SERVICE, 0))(repo)
    assert grace_findings(repo, "sandbox-alb")[1] == []


def test_slow_health_checks_alone_are_no_finding(repo: Path) -> None:
    """HealthyThreshold × Interval far above the grace: new targets are `initial` meanwhile,
    not unhealthy, and the release budget counts the time (timing-release-timeout)."""
    edit(repo, STAGING_ENV, lambda d: d["loadBalancer"]["healthCheck"].update(
        interval=60, healthyThreshold=10))
    grace(STAGING_SERVICE, 0)(repo)
    report, found = grace_findings(repo, "staging")
    assert found == [] and report.errors == [], report.findings
