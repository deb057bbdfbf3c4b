"""`release deploy`: release the services of an environment (register, update, wait, roll back
on failure). Only typer is imported at load time; boto3 comes in with the engine."""

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
from release.commands.service_options import (
    NoRollbackOption,
    NotifyOption,
    TimeoutOption,
    finish,
    reporter_for,
    specs_of,
)
from release.output.events import OutputFormat

RevisionOption = Annotated[str | None, typer.Option(
    "--revision", help="Release this existing revision (N, family:N or its ARN) of the service's "
    "family as it is, instead of the rendered document; needs --service.")]


@handles_errors
def deploy(
    env: EnvOption,
    service: ServiceOption = None,
    timeout: TimeoutOption = None,
    no_rollback: NoRollbackOption = False,
    notify: NotifyOption = None,
    revision: RevisionOption = None,
    repo: RepoOption = None,
    format: FormatOption = OutputFormat.text,
) -> None:
    from release.engine import deploy as engine
    from release.engine.notify import notifications
    from release.engine.validate import load_valid

    root = find_repo(repo)
    with notifications(reporter_for(format), root, notify) as reporter:
        config_repo = load_valid(root, [env])
        specs = specs_of(config_repo, env, service)
        if revision is not None:
            specs = [engine.with_revision(specs, revision, service)]
        outcomes = engine.release_services(config_repo, specs, reporter, timeout=timeout,
                                           rollback=not no_rollback)
        finish(reporter, "deploy", outcomes)
