"""`release preflight`: prove before any change that a release can succeed (roles, secrets,
images, log groups, load balancer, capacity, alarms, scan gate); every problem at once,
each with its document, JSON pointer and fix. Exit 1 when one is found, nothing changed."""

from __future__ import annotations

from typing import Annotated

import typer

from release.commands.common import (
    EnvOption,
    FormatOption,
    RepoOption,
    ServiceOption,
    find_repo,
    handles_errors,
)
from release.commands.service_options import reporter_for, specs_of
from release.output.events import OutputFormat

RevisionOption = Annotated[
    str | None,
    typer.Option("--revision", show_default=False,
                 help="Check a registered revision (N, family:N or an ARN), as `release "
                 "rollback --to` would run it, instead of git's version."),
]
ProbeHealthOption = Annotated[
    bool, typer.Option("--probe-health", help="Also GET the health-check path on the live "
                       "tasks (their private addresses must be reachable from here).")]


@handles_errors
def preflight(
    env: EnvOption,
    service: ServiceOption = None,
    revision: RevisionOption = None,
    probe_health: ProbeHealthOption = False,
    repo: RepoOption = None,
    format: FormatOption = OutputFormat.text,
) -> None:
    from release.core.errors import InvalidInput
    from release.engine.preflight.service import check_service
    from release.engine.validate import load_valid

    reporter = reporter_for(format)
    config_repo = load_valid(find_repo(repo), [env])
    specs = specs_of(config_repo, env, service)
    if revision and len(specs) > 1:
        raise InvalidInput("--revision names one revision: pick the service with --service",
                           f"services: {', '.join(s.name for s in specs)}")
    reports = [check_service(config_repo, spec, reporter, revision=revision,
                             probe_health=probe_health) for spec in specs]
    refused = [r for r in reports if not r.passed]
    if len(refused) == 1:
        message, hint = refused[0].refusal()
        raise InvalidInput(message, hint)
    if refused:
        raise InvalidInput(f"preflight refuses {len(refused)} service(s): "
                           + ", ".join(r.service for r in refused),
                           "fix the problems in the tables above; nothing was changed")
