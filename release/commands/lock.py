"""`release unlock`: remove a service's lock by hand, for operators.

The lock (release/ledger.py) frees itself when its holder ends, when its lease
expires, or when its holder's process is gone on the same host; `unlock` is for
the rest, e.g. a Jenkins agent that vanished with a fresh lease.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from typing import Annotated, Any, TypeVar

import typer

from release.commands.common import (
    EnvOption,
    FormatOption,
    RepoOption,
    find_repo,
    handles_errors,
    load_environment_repo,
)
from release.output.events import OutputFormat

F = TypeVar("F", bound=Callable[..., Any])
RequiredService = Annotated[
    str, typer.Option("--service", "-s", help="The service whose lock to remove (file stem or "
                      "serviceName).")]
YesOption = Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")]


def releases_locks(fn: F) -> F:
    """release.adapters.ledger.releases_locks, imported when the verb runs (keeps `--help` fast)."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from release.adapters.ledger import releases_locks as give_back_after

        return give_back_after(fn)(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


@handles_errors
def unlock(
    env: EnvOption,
    service: RequiredService,
    yes: YesOption = False,
    repo: RepoOption = None,
    format: FormatOption = OutputFormat.text,
) -> None:
    """Remove the lock of a service that deploy, rollback or apply left behind."""
    from release.adapters import ledger
    from release.core.config import UnknownName
    from release.core.errors import EXIT_USAGE, InvalidInput
    from release.output.events import Reporter

    reporter = Reporter(format if format is OutputFormat.json else OutputFormat.text)
    config_repo = load_environment_repo(find_repo(repo), env)
    try:
        specs = config_repo.services_of(env, service)
    except UnknownName as exc:
        raise InvalidInput(exc.message, exc.hint) from None
    environment = config_repo.environment(env)
    name = specs[0].service_name
    where = f"{env}/{name}"
    table = ledger.connect(environment)
    with ledger.table_errors(environment, f"reading the lock of {where}"):
        current = table.read_lease(name)
    if current is None:
        reporter.emit("unlock.none", f"{where} is not locked; nothing to do", "success",
                      env=env, service=name)
        return
    reporter.emit("unlock.lock", f"{where} is locked by {current.describe()}", "warn",
                  env=env, service=name, holder=current.holder, command=current.command,
                  build=current.build, since=current.since, expires=current.expires)
    if not yes:
        if not sys.stdin.isatty() or format is not OutputFormat.text:
            reporter.error("unlock needs confirmation", "pass --yes to remove the lock without "
                           "a terminal to ask on", exit_code=EXIT_USAGE)
            raise typer.Exit(EXIT_USAGE)
        if not typer.confirm(f"Remove the lock of {where}? Only if that run is gone",
                             default=False):
            raise InvalidInput("unlock cancelled", "nothing was changed")
    with ledger.table_errors(environment, f"removing the lock of {where}"):
        removed = table.drop_lease(name, current.owner)
    if not removed:
        raise InvalidInput(f"the lock of {where} changed while asking (released or taken "
                           "again)", "run `release unlock` again to see who holds it now")
    reporter.emit("unlock.done", f"{where}: lock of {current.holder} removed; a release left in "
                  "progress is recorded as unknown by the next deploy or rollback", "success",
                  env=env, service=name)
