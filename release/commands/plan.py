"""`release plan`: what a release would change, the calls in order, the time budget, and the
preflight table (engine/preflight): a problem there is exit 1, as `deploy` would refuse."""

from __future__ import annotations

from release.commands.common import (
    EnvOption,
    FormatOption,
    RepoOption,
    ServiceOption,
    find_repo,
    handles_errors,
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
    from release.core.errors import InvalidInput
    from release.engine import deploy
    from release.engine.validate import load_valid

    reporter = reporter_for(format)
    config_repo = load_valid(find_repo(repo), [env])
    planned = deploy.plan_services(config_repo, specs_of(config_repo, env, service), timeout)
    for one in planned:
        deploy.show_planned(one, reporter)
    if any(one.plan.blockers for one in planned):
        raise InvalidInput("the plan has changes that a release cannot make",
                           "see `cannot release` above; nothing was changed")
    refused = [one.preflight for one in planned if not one.preflight.passed]
    if len(refused) == 1:
        message, hint = refused[0].refusal()
        raise InvalidInput(message, hint)
    if refused:
        raise InvalidInput(f"preflight refuses {len(refused)} service(s): "
                           + ", ".join(r.service for r in refused),
                           "fix the problems in the tables above; nothing was changed")
