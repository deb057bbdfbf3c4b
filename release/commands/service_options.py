"""What the service verbs (plan, deploy, rollback, status, history) share: options, the
reporter, the services named, and the final summary. Only typer is imported at load time."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from release.output.events import OutputFormat

MAX_TIMEOUT = 86_400  # a day: longer is a typo, not a rollout


def _valid_timeout(value: str | None) -> str | None:
    """`auto` or a whole number of seconds above zero (a usage error, exit 2, otherwise)."""
    if value is None or value.strip().lower() == "auto":
        return value
    try:
        seconds = int(value.strip())
    except ValueError:
        raise typer.BadParameter(f"{value!r} is neither `auto` nor a number of seconds "
                                 "(e.g. --timeout 900)") from None
    if not 0 < seconds <= MAX_TIMEOUT:
        raise typer.BadParameter(f"{seconds} s is not a time budget: give 1 to {MAX_TIMEOUT} "
                                 "seconds, or `auto`")
    return str(seconds)


TimeoutOption = Annotated[
    str | None,
    typer.Option("--timeout", callback=_valid_timeout, show_default=False,
                 help="Time budget: `auto` (from desiredCount, min/max percent, health checks "
                 "and draining) or seconds (1 to 86400). Default: the spec's release.timeout."),
]
NoRollbackOption = Annotated[
    bool, typer.Option("--no-rollback", help="On failure leave the service as it is instead of "
                       "rolling back (exit 4).")]
ToOption = Annotated[
    str | None,
    typer.Option("--to", help="Revision to roll back to: N, family:N or an ARN. Default: the "
                 "revision that was live before the current release (release records).",
                 show_default=False),
]
YesOption = Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")]
CommitOption = Annotated[
    bool, typer.Option("--commit", help="After a successful rollback, pin the restored image in "
                       "git and commit it, so the next release does not undo the rollback.")]
NotifyOption = Annotated[
    str | None,
    typer.Option("--notify", metavar="URL", show_default=False,
                 help="POST a JSON message (Slack incoming-webhook compatible) at release start, "
                 "success, failure and rollback. Default: $RELEASE_NOTIFY_URL, else the "
                 "environment's /notify. A failing webhook never fails the release."),
]
LimitOption = Annotated[int, typer.Option("--limit", "-n", min=1, max=1000,
                                          help="Newest N revisions to read.")]


def reporter_for(fmt: OutputFormat) -> Any:
    from release.output.events import Reporter

    return Reporter(fmt if fmt in (OutputFormat.text, OutputFormat.json) else OutputFormat.text)


def specs_of(config_repo: Any, env: str, service: str | None) -> list[Any]:
    """The services to act on; an unknown name is an input error (exit 1), not a crash."""
    from release.core.config import UnknownName
    from release.core.errors import InvalidInput

    try:
        return config_repo.services_of(env, service)
    except UnknownName as exc:
        raise InvalidInput(exc.message, exc.hint) from None


def finish(reporter: Any, verb: str, outcomes: list[Any]) -> None:
    """Report the failure (if any) with its hint, then one final summary event; exit with it."""
    from release.core.errors import EXIT_OK
    from release.engine.outcome import first_failure

    failed = first_failure(outcomes)
    code = failed.exit_code if failed else EXIT_OK
    if failed is not None:
        reporter.error(failed.message, failed.hint, exit_code=failed.exit_code,
                       cause=failed.cause)
    reporter.emit(f"{verb}.summary", "; ".join(f"{o.service}: {o.status}" for o in outcomes)
                  or "nothing to do", "success" if code == EXIT_OK else "error",
                  exit_code=code, outcomes=[o.as_dict() for o in outcomes])
    if code != EXIT_OK:
        raise typer.Exit(code)


def stdin_is_terminal() -> bool:
    """A person can answer the prompt: the question is read from stdin, whatever stdout is."""
    import sys

    return bool(getattr(sys.stdin, "isatty", lambda: False)())
