"""`release bootstrap`: create or repair an environment's platform (IAM, ELB, cluster, ECR)."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from release.commands.common import (
    EnvOption,
    FormatOption,
    RepoOption,
    find_repo,
    handles_errors,
    load_valid_repo,
)
from release.core.errors import UsageError
from release.output.events import OutputFormat, Reporter

PLAN_COLUMNS = ["#", "service", "call", "target", "reason"]


def interactive() -> bool:
    """A person can answer a prompt: both stdin and stdout are terminals."""
    return sys.stdin.isatty() and sys.stdout.isatty()


@handles_errors
def bootstrap(
    env: EnvOption,
    dry_run: Annotated[bool, typer.Option(
        "--dry-run", help="Show the plan and change nothing (only Describe/List/Get calls).")
    ] = False,
    yes: Annotated[bool, typer.Option(
        "--yes", "-y", help="Apply without asking (needed when not on a terminal).")] = False,
    instances: Annotated[int | None, typer.Option(
        "--instances", min=0, max=100, show_default=False,
        help="Also keep N container instances (tagged, so a re-run counts them).")] = None,
    repo: RepoOption = None,
    format: FormatOption = OutputFormat.text,
) -> None:
    """Create or repair the platform an environment runs on: IAM roles and policies, the
    classic ELB, the ECS cluster, the ECR repository (and with --instances, EC2 instances).

    Reads what exists, plans only the missing or drifted calls with a reason each, shows
    the plan, asks, then applies in order. Running it again plans 0 changes.
    """
    reporter = Reporter(format)
    environment = load_valid_repo(find_repo(repo), [env], reporter).environment(env)

    from release.adapters.aws import Aws
    from release.engine.bootstrap import RETRY_BUDGET_SECONDS, apply_plan, build_plan

    aws = Aws(environment)
    reporter.emit("bootstrap.reading", f"reading the live infrastructure of {env} "
                  f"({aws.endpoint or environment.region})", "dim")
    plan = build_plan(aws, environment, instances)
    for note in plan.notes:
        reporter.emit("bootstrap.note", note, "warn")
    if plan.empty:
        reporter.emit("bootstrap.done", f"{env}: nothing to change, the infrastructure matches "
                      "the environment document", "success", changes=0, applied=0,
                      dry_run=dry_run)
        return
    reporter.table(f"bootstrap plan for {env}: {len(plan.calls)} change(s)", PLAN_COLUMNS,
                   plan.rows(), kind="bootstrap.plan", changes=len(plan.calls),
                   calls=[c.as_dict() for c in plan.calls])
    if dry_run:
        reporter.emit("bootstrap.done", f"dry run: {len(plan.calls)} change(s) planned, "
                      "nothing was changed", "success", changes=len(plan.calls), applied=0,
                      dry_run=True)
        return
    if not yes:
        if not interactive():
            raise UsageError(
                "refusing to change AWS without confirmation (not on a terminal)",
                "re-run with --yes to apply this plan, or --dry-run to only show it",
            )
        if not typer.confirm(f"apply these {len(plan.calls)} change(s) to {env}?",
                             default=False):
            reporter.emit("bootstrap.done", "not applied: nothing was changed", "warn",
                          changes=len(plan.calls), applied=0, dry_run=False)
            return

    def applied(step: int, call) -> None:
        reporter.emit("bootstrap.applied", f"[{step}/{len(plan.calls)}] {call.describe()}",
                      "info", step=step, **call.as_dict())

    def retrying(step: int, call, error: str, delay: float) -> None:
        reporter.emit("bootstrap.retry", f"[{step}/{len(plan.calls)}] {call.operation} "
                      f"{call.target}: {error}; retrying in {delay:.0f} s (a just-created IAM "
                      f"role takes a while to be visible; up to {RETRY_BUDGET_SECONDS:.0f} s)",
                      "warn", step=step, delay=delay, error=error)

    apply_plan(aws, plan, applied, on_retry=retrying)
    reporter.emit("bootstrap.done", f"{env}: {len(plan.calls)} change(s) applied", "success",
                  changes=len(plan.calls), applied=len(plan.calls), dry_run=False)
