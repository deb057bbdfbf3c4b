"""`release plan`: what a release would change, the calls in order, the time budget."""

from __future__ import annotations

from release.commands.common import (
    EnvOption,
    FormatOption,
    RepoOption,
    ServiceOption,
    find_repo,
    handles_errors,
    load_valid_repo,
)
from release.commands.service_options import TimeoutOption, reporter_for, specs_of
from release.output.events import OutputFormat


@handles_errors
def plan(
    env: EnvOption,
    service: ServiceOption = None,
    timeout: TimeoutOption = None,
    repo: RepoOption = None,
    format: FormatOption = OutputFormat.text,
) -> None:
    """Show what a release would change: the diff, the API calls in order, the time budget."""
    from release.core.errors import InvalidInput
    from release.engine import deploy

    reporter = reporter_for(format)
    config_repo = load_valid_repo(find_repo(repo), [env], reporter)
    planned = deploy.plan_services(config_repo, specs_of(config_repo, env, service), timeout)
    for one in planned:
        deploy.show_planned(one, reporter)
    if any(one.plan.blockers for one in planned):
        raise InvalidInput("the plan has changes that a release cannot make",
                           "see `cannot release` above; nothing was changed")
