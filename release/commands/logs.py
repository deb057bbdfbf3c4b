"""`release logs`: a service's container log lines from CloudWatch Logs (engine/logs.py)."""

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
from release.commands.service_options import reporter_for, specs_of
from release.output.events import OutputFormat

ServiceName = Annotated[str, typer.Option("--service", "-s", help="The service (file stem or "
                                          "serviceName).", callback=service_names)]
TaskOption = Annotated[str | None, typer.Option(
    "--task", help="One task ID (default: the running tasks, else the newest stopped ones).")]
FollowOption = Annotated[bool, typer.Option("--follow", "-f", help="Keep printing new lines "
                                            "until Ctrl-C.")]
SinceOption = Annotated[str | None, typer.Option(
    "--since", help="Every line from this long ago: 90s, 10m, 2h, 1d (default: the last "
    "--lines lines of each task).", show_default=False)]
LinesOption = Annotated[int, typer.Option("--lines", "-n", min=1, max=10_000,
                                          help="Last N lines of each task's stream.")]
ContainerOption = Annotated[str | None, typer.Option(
    "--container", help="The container (default: the one that failed, else the first essential).")]


def _since(value: str | None) -> int | None:
    from release.core.awslogs import parse_since
    from release.core.clock import default_clock

    try:
        return None if value is None else parse_since(value, default_clock().now())
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--since") from None


@handles_errors
def logs(env: EnvOption, service: ServiceName, task: TaskOption = None,
         follow: FollowOption = False, since: SinceOption = None, lines: LinesOption = 20,
         container: ContainerOption = None, repo: RepoOption = None,
         format: FormatOption = OutputFormat.text) -> None:
    from release.engine.logs import Options, show_logs
    from release.engine.validate import load_environment

    since_seconds = _since(since)  # a usage error (exit 2) before anything is read
    reporter = reporter_for(format)
    config_repo = load_environment(find_repo(repo), env, service, reporter)
    spec = specs_of(config_repo, env, service)[0]
    show_logs(config_repo, spec, reporter, Options(task, since_seconds, follow, lines, container))
