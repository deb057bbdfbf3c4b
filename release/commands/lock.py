"""`release unlock`: remove a service's lock by hand, for operators.

The lock (release/adapters/lease.py) frees itself when its holder ends, when its lease
expires, or when its holder's process is gone on the same host; `unlock` is for
the rest, e.g. a Jenkins agent that vanished with a fresh lease.
"""

from __future__ import annotations

import sys
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

RequiredService = Annotated[
    str, typer.Option("--service", "-s", help="The service whose lock to remove (file stem or "
                      "serviceName).", callback=service_names)]
YesOption = Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")]
LivePidOption = Annotated[int | None, typer.Option(
    "--live-pid", help="The holder's pid, when it still runs on this host: remove its lock "
    "anyway (only when that pid is no longer the run that took the lock).",
    show_default=False)]


@handles_errors
def unlock(
    env: EnvOption,
    service: RequiredService,
    yes: YesOption = False,
    live_pid: LivePidOption = None,
    repo: RepoOption = None,
    format: FormatOption = OutputFormat.text,
) -> None:
    from release.core.errors import EXIT_USAGE, InvalidInput
    from release.engine.unlock import confirm_live, read_lock, remove_lock
    from release.engine.validate import load_environment
    from release.output.events import Reporter

    reporter = Reporter(format if format is OutputFormat.json else OutputFormat.text)
    view = read_lock(load_environment(find_repo(repo), env), env, service)
    fields = {"env": env, "service": view.service}
    if view.current is None:
        reporter.emit("unlock.none", f"{view.where} is not locked; nothing to do", "success",
                      **fields)
        return
    lease = view.current
    reporter.emit("unlock.lock", f"{view.where} is locked by {lease.describe()}", "warn",
                  holder=lease.holder, command=lease.command, build=lease.build,
                  since=lease.since, expires=lease.expires, **fields)
    interactive = sys.stdin.isatty() and format is OutputFormat.text
    if view.alive:
        reporter.emit("unlock.alive", f"{view.where}: pid {lease.pid} ({lease.command}) still "
                      "runs on this host: removing its lock lets a second run change the "
                      "service beside it", "error", pid=lease.pid, **fields)
        if live_pid is None and not yes and interactive:
            live_pid = typer.prompt(f"Type {lease.pid} to remove the lock of a run that is "
                                    "still alive (anything else cancels)", default=0,
                                    type=int, show_default=False)
        confirm_live(view, live_pid, service)
    elif not yes:
        if not interactive:
            reporter.error("unlock needs confirmation", "pass --yes to remove the lock without "
                           "a terminal to ask on", exit_code=EXIT_USAGE)
            raise typer.Exit(EXIT_USAGE)
        if not typer.confirm(f"Remove the lock of {view.where}? Only if that run is gone",
                             default=False):
            raise InvalidInput("unlock cancelled", "nothing was changed")
    remove_lock(view)
    reporter.emit("unlock.done", f"{view.where}: lock of {lease.holder} removed; a release "
                  "left in progress is recorded as unknown by the next deploy or rollback",
                  "success", **fields)
