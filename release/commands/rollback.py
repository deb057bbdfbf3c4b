"""`release rollback`: back to the revision live before the current release (or --to)."""

from __future__ import annotations

import typer

from release.commands.common import (
    EnvOption,
    FormatOption,
    RepoOption,
    ServiceOption,
    find_repo,
    handles_errors,
)
from release.commands.service_options import (
    CommitOption,
    NotifyOption,
    TimeoutOption,
    ToOption,
    YesOption,
    finish,
    reporter_for,
    specs_of,
    stdin_is_terminal,
)
from release.output.events import OutputFormat


@handles_errors
def rollback(
    env: EnvOption,
    service: ServiceOption = None,
    to: ToOption = None,
    yes: YesOption = False,
    commit: CommitOption = False,
    timeout: TimeoutOption = None,
    notify: NotifyOption = None,
    repo: RepoOption = None,
    format: FormatOption = OutputFormat.text,
) -> None:
    from release.core.errors import InvalidInput, UsageError
    from release.engine.notify import notifications
    from release.engine.rollback import rollback_services
    from release.engine.validate import load_environment

    root = find_repo(repo)
    with notifications(reporter_for(format), root, notify) as reporter:
        config_repo = load_environment(root, env, service, reporter)
        specs = specs_of(config_repo, env, service)
        if to and len(specs) > 1:
            raise InvalidInput("--to names one revision: pick the service with --service",
                               f"services: {', '.join(s.name for s in specs)}")
        if not yes and not stdin_is_terminal():  # refused before AWS is even read
            raise UsageError("rollback needs a confirmation and there is no terminal to ask "
                             "on", "re-run with --yes (as Jenkins does); nothing was changed")

        def confirm(question: str) -> bool:
            return yes or typer.confirm(question, default=False, err=True)

        outcomes = rollback_services(config_repo, specs, reporter, to=to, timeout=timeout,
                                     commit=root if commit else None, confirm=confirm)
        finish(reporter, "rollback", outcomes)
