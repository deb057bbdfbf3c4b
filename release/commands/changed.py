"""`release changed`: the (environment, service) pairs a commit range changes in effect."""

from __future__ import annotations

from release.commands.common import (
    FormatOption,
    RepoOption,
    SinceOption,
    UntilOption,
    find_repo,
    handles_errors,
)
from release.output.events import OutputFormat, Reporter


@handles_errors
def changed(
    since: SinceOption,
    until: UntilOption = "HEAD",
    format: FormatOption = OutputFormat.text,
    repo: RepoOption = None,
) -> None:
    from release.engine.changed import changed_between, span

    reporter = Reporter(format)
    change_set = changed_between(find_repo(repo), since, until)
    changes, shown = change_set.changes, span(change_set)
    if changes or reporter.format is not OutputFormat.text:  # machines always get the rows
        reporter.table(f"changed in effect: {shown}", ["env", "service", "change", "why", "file"],
                       [[c.env, c.service, c.kind, ", ".join(c.reasons), c.file] for c in changes],
                       kind="changed", since=change_set.since, until=change_set.until)
    releasable = len(change_set.releasable)
    removed = len(changes) - releasable
    reporter.emit("changed.summary",
                  f"{releasable} service(s) to release"
                  + (f", {removed} removed (not released)" if removed else "")
                  + ("" if changes else f": nothing changes in effect in {shown}"),
                  since=change_set.since, until=change_set.until, release=releasable,
                  removed=removed)
