"""`release run`: one task of a service's revision with a command (release/engine/run.py)."""

from __future__ import annotations

from typing import Annotated

import typer

from release.commands.common import (
    EnvOption,
    FormatOption,
    RepoOption,
    find_repo,
    handles_errors,
    service_names,
)
from release.output.events import OutputFormat

ServiceName = Annotated[str, typer.Option("--service", "-s", help="The service (file stem or "
                                          "serviceName) whose task definition and placement "
                                          "to use.", callback=service_names)]
ContainerOption = Annotated[str | None, typer.Option(
    "--container", help="The container whose command to override (default: the load "
    "balancer's, else the first).")]
RevisionOption = Annotated[str | None, typer.Option(
    "--revision", help="N, family:N or an ARN (default: the live revision).")]
Command = Annotated[list[str], typer.Argument(help="The command, after `--`.")]


@handles_errors
def run(command: Command, env: EnvOption, service: ServiceName,
        container: ContainerOption = None, revision: RevisionOption = None,
        repo: RepoOption = None, format: FormatOption = OutputFormat.text) -> None:
    from release.core.config import UnknownName
    from release.core.errors import InvalidInput
    from release.engine.run import run as run_task
    from release.engine.validate import load_environment
    from release.output.events import Reporter

    reporter = Reporter(format if format is OutputFormat.json else OutputFormat.text)
    config_repo = load_environment(find_repo(repo), env, service, reporter)
    try:
        spec = config_repo.services_of(env, service)[0]
    except UnknownName as exc:
        raise InvalidInput(exc.message, exc.hint) from None
    code = run_task(config_repo, spec, command, reporter, container, revision)
    if code:
        raise typer.Exit(code)
