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
)
from release.core.errors import UsageError
from release.output.events import OutputFormat, Reporter


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
    from release.engine.validate import load_valid
    reporter = Reporter(format)
    config_repo = load_valid(find_repo(repo), [env])
    environment = config_repo.environment(env)

    from release.adapters.aws import Aws
    from release.engine import values
    from release.engine.bootstrap import bootstrap as run

    def confirm(changes: int) -> bool:
        if yes:
            return True
        if not interactive():
            raise UsageError("refusing to change AWS without confirmation (not on a terminal)",
                             "re-run with --yes to apply this plan, or --dry-run to only show it")
        return typer.confirm(f"apply these {changes} change(s) to {env}?", default=False)

    from release.core.awslogs import environment_log_groups

    aws = Aws(environment)
    if values.wanted(config_repo, env):  # values from outside git: read from the right account
        aws.check_account()
        environment = values.resolve(config_repo, None, aws, env).env
    run(aws, environment, reporter, instances, dry_run, confirm,
        environment_log_groups(config_repo, env), config_repo.repositories_of(env))
