"""`release apply`: release what a commit range changed, in promotion order."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from release.commands.common import (
    FormatOption,
    RepoOption,
    SinceOption,
    UntilOption,
    environment_names,
    find_repo,
    handles_errors,
)
from release.commands.service_options import NotifyOption
from release.output.events import OutputFormat, Reporter

EnvsOption = Annotated[list[str] | None, typer.Option(
    "--env", "-e", help="Only these environments (repeatable); default every changed one.",
    callback=environment_names)]
DryRunOption = Annotated[bool, typer.Option(
    "--dry-run", help="Show what would be released and the plans; change nothing.")]
MaxParallelOption = Annotated[int, typer.Option(
    "--max-parallel", min=1, max=256, help="Services of one environment rolled out at the "
    "same time (placement pressure; API calls stay within the environment's request budget).")]
ApprovedOption = Annotated[bool, typer.Option(
    "--approved", help="Release environments that require approval (production); pass it "
    "only after the approval (Jenkins: after its input step).")]
SummaryOption = Annotated[Path | None, typer.Option(
    "--summary", help="Write the release summary (JSON) here, e.g. for archiveArtifacts.")]


@handles_errors
def apply(since: SinceOption, until: UntilOption = "HEAD", env: EnvsOption = None,
          dry_run: DryRunOption = False, max_parallel: MaxParallelOption = 4,
          approved: ApprovedOption = False, summary: SummaryOption = None,
          notify: NotifyOption = None, format: FormatOption = OutputFormat.text,
          repo: RepoOption = None) -> None:
    from release.engine.apply import apply_range
    from release.engine.notify import notifications

    root = find_repo(repo)
    with notifications(Reporter(format), root, None if dry_run else notify) as reporter:
        result = apply_range(root, since, until, env or [], reporter, dry_run=dry_run,
                             max_parallel=max_parallel, approved=approved)
    if result.dry_run:
        return
    rows = [[r.env, r.service, r.status, r.exit_code, r.detail] for r in result.results]
    if rows or reporter.format is not OutputFormat.text:
        reporter.table(f"release summary ({result.span})",
                       ["env", "service", "status", "exit", "detail"], rows,
                       kind="apply.summary", exit_code=result.exit_code)
    for env_name, commits in result.commits.items():
        reporter.emit("apply.commits", f"{env_name}: released {len(commits)} commit(s)"
                      + "".join(f"\n  {c['commit'][:12]} {c['title']}" for c in commits),
                      env=env_name, commits=commits)
    if summary is not None:
        summary.parent.mkdir(parents=True, exist_ok=True)
        summary.write_text(json.dumps(result.summary(), indent=2) + "\n", encoding="utf-8")
    failure = result.failure()
    if failure is not None:
        raise failure
    released = sum(r.status == "released" for r in result.results)
    unchanged = sum(r.status == "unchanged" for r in result.results)
    reporter.emit("apply.done", f"{released} released, {unchanged} already live", "success",
                  released=released)
