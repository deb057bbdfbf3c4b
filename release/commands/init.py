"""`release init`: write the documents of a service that already runs (release/engine/init.py)."""

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

ClusterOption = Annotated[str, typer.Option("--cluster", help="The ECS cluster it runs in.")]
NameOption = Annotated[str, typer.Option("--service", "-s", help="The live service's name.",
                                         callback=service_names)]
RegionOption = Annotated[str | None, typer.Option(
    "--region", help="AWS region (default: environment.json's, else AWS_REGION).")]
ForceOption = Annotated[bool, typer.Option("--force", help="Overwrite documents that exist.")]


@handles_errors
def init(env: EnvOption, cluster: ClusterOption, service: NameOption,
         region: RegionOption = None, force: ForceOption = False, repo: RepoOption = None,
         format: FormatOption = OutputFormat.text) -> None:
    from release.engine.init import init as run_init
    from release.output.events import Reporter

    reporter = Reporter(format if format is OutputFormat.json else OutputFormat.text)
    result = run_init(find_repo(repo), env, cluster, service, region, force)
    for rel in result.written:
        reporter.emit("init.written", f"wrote {rel}", "success", file=rel)
    for rel in result.kept:
        reporter.emit("init.kept", f"kept {rel} (it exists)", file=rel)
    for decision in result.decisions:
        reporter.emit("init.decide", f"decide: {decision}", "warn", decision=decision)
    reporter.emit("init.summary", f"{len(result.written)} document(s) written; next: "
                  f"`release validate --env {env}` and `release plan --env {env}`", "success",
                  written=result.written, decisions=result.decisions)
