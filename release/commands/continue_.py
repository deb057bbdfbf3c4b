"""`release continue`: approve a blue/green, linear or canary deployment paused at a PAUSE
lifecycle hook (ContinueServiceDeployment) and wait for it to finish."""

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
from release.commands.service_options import NotifyOption, finish, reporter_for, specs_of
from release.output.events import OutputFormat

RollbackOption = Annotated[bool, typer.Option("--rollback", help="Roll the paused deployment "
                                              "back instead of continuing it.")]


@handles_errors
def continue_(
    env: EnvOption,
    service: ServiceOption = None,
    rollback: RollbackOption = False,
    notify: NotifyOption = None,
    repo: RepoOption = None,
    format: FormatOption = OutputFormat.text,
) -> None:
    from release.engine.continue_ import continue_service
    from release.engine.notify import notifications
    from release.engine.validate import load_environment

    root = find_repo(repo)
    with notifications(reporter_for(format), root, notify) as reporter:
        config_repo = load_environment(root, env, service, reporter)
        outcomes = [continue_service(config_repo, spec, reporter,
                                     "ROLLBACK" if rollback else "CONTINUE")
                    for spec in specs_of(config_repo, env, service)]
        finish(reporter, "continue", outcomes)
