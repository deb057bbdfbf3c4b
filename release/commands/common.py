"""What every verb shares: the --repo/--format options and error-to-exit-code mapping."""

from __future__ import annotations

import functools
import math
import os
import signal
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
import typer.exceptions

from release.core.errors import (
    EXIT_INTERRUPTED,
    EXIT_USAGE,
    ReleaseError,
    Signalled,
)
from release.internal import internal_error
from release.output.events import RESUME_SHOWN, OutputFormat, Reporter

F = TypeVar("F", bound=Callable[..., Any])
SHOWN_FINDINGS = 20  # documents that do not validate: the first findings, then the error

RepoOption = Annotated[
    Path | None,
    typer.Option("--repo", help="Config repository root (default: $RELEASE_REPO, else the "
                 "nearest folder upwards holding environments/).", show_default=False),
]
FormatOption = Annotated[
    OutputFormat, typer.Option("--format", help="text for people, json for machines (JSON lines).")
]


def environment_names(value: Any) -> Any:
    """Option callback: each --env is a name that may become a path (core/names.py); a name
    such as `../../x` is a usage error (exit 2) before anything is read or written."""
    from release.core import names

    for name in [value] if isinstance(value, str) else (value or []):
        problem = names.environment_problem(name)
        if problem:
            raise typer.BadParameter(problem)
    return value


def service_names(value: Any) -> Any:
    """Option callback: --service is a file stem or serviceName, never a path (exit 2)."""
    from release.core import names

    for name in [value] if isinstance(value, str) else (value or []):
        problem = names.service_problem(name)
        if problem:
            raise typer.BadParameter(problem)
    return value


EnvOption = Annotated[
    str, typer.Option("--env", "-e", help="Environment name (folder under environments/).",
                      callback=environment_names)
]
ServiceOption = Annotated[
    str | None,
    typer.Option("--service", "-s", help="One service (file stem or serviceName); default all.",
                 callback=service_names),
]
SinceOption = Annotated[str, typer.Option(
    "--since", help="Start of the range: the last released commit (e.g. "
    "$GIT_PREVIOUS_SUCCESSFUL_COMMIT).")]
UntilOption = Annotated[str, typer.Option("--until", help="End of the range.")]


def finite(value: float | None) -> float | None:
    """Option callback: NaN and infinity pass click's ranges; no sleep or timeout takes them."""
    if value is not None and not math.isfinite(value):
        raise typer.BadParameter(f"{value} is not a number of seconds")
    return value


def find_repo(explicit: Path | None) -> Path:
    """--repo, else $RELEASE_REPO, else the nearest folder upwards that has environments/."""
    if explicit is not None:
        return explicit.resolve()
    if os.environ.get("RELEASE_REPO"):
        return Path(os.environ["RELEASE_REPO"]).resolve()
    here = Path.cwd().resolve()
    for candidate in (here, *here.parents):
        if (candidate / "environments").is_dir():
            return candidate
    return here


# Stop signals handled as Ctrl-C: a Jenkins abort or `kill` (SIGTERM) and a closed
# terminal or dropped SSH session (SIGHUP, whose default action ends the process at once,
# exit 129, with nothing said, notified or recorded).
STOP_SIGNALS = (signal.SIGTERM, signal.SIGHUP)


def _raise_interrupted(signum: int, frame: Any) -> None:
    raise Signalled(signal.Signals(signum).name)


def resume_hint(env: Any = None) -> str:
    """What to do after an interruption: the lines above when a verb printed how to resume,
    else what is true of every verb (nothing more is done; status shows what is live)."""
    if RESUME_SHOWN.is_set():
        return "nothing more was changed; see the last lines above for how to resume"
    status = f"`release status --env {env}`" if isinstance(env, str) else "`release status`"
    return (f"nothing more was changed; see what is live with {status}, and run the "
            "command again to finish it")


def _interrupted_message(exc: KeyboardInterrupt) -> str:
    if isinstance(exc, Signalled):
        why = " (the terminal or SSH session closed)" if exc.name == "SIGHUP" else ""
        return f"interrupted by {exc.name}{why}"
    return "interrupted"


def handles_errors(fn: F, *, junit: bool = False) -> F:
    """Run a verb: ReleaseError → its exit code with a message and hint; Ctrl-C, SIGTERM and
    SIGHUP → 130.

    `--format junit` is a validation report: verbs that do not write one (junit=False)
    refuse it with exit 2 instead of running silently.
    """

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if kwargs.get("format") is OutputFormat.junit and not junit:
            Reporter(OutputFormat.text).error(
                "--format junit is for validation reports",
                "use `release validate --format junit`; this command takes text or json")
            raise typer.Exit(EXIT_USAGE)
        reporter = Reporter(kwargs.get("format", OutputFormat.text)
                            if kwargs.get("format") in (OutputFormat.json, OutputFormat.text)
                            else OutputFormat.text)
        RESUME_SHOWN.clear()
        previous: dict[int, Any] = {}
        try:
            for number in STOP_SIGNALS:
                previous[number] = signal.signal(number, _raise_interrupted)
        except ValueError:  # not the main thread (tests driving the app from a thread)
            pass
        try:
            return fn(*args, **kwargs)
        except ReleaseError as exc:
            for finding in getattr(exc, "findings", [])[:SHOWN_FINDINGS]:  # InvalidDocuments
                fields = {k: v for k, v in finding.as_dict().items() if k != "message"}
                reporter.emit("validate.finding", finding.one_line(), "error", **fields)
            reporter.error(exc.message, exc.hint, exc.where, exit_code=exc.exit_code)
            raise typer.Exit(exc.exit_code) from None
        except KeyboardInterrupt as exc:
            reporter.error(_interrupted_message(exc), resume_hint(kwargs.get("env")),
                           exit_code=EXIT_INTERRUPTED)
            raise typer.Exit(EXIT_INTERRUPTED) from None
        except (typer.Exit, typer.Abort, typer.exceptions.TyperException):
            raise  # typer's own ways out: already an exit code with a message
        except Exception as exc:  # noqa: BLE001 - the promise: never a traceback to the user
            code, message, hint = internal_error(exc, fn.__name__)
            reporter.error(message, hint, exit_code=code)
            raise typer.Exit(code) from None
        finally:
            for number, handler in previous.items():
                signal.signal(number, handler)

    return wrapper  # type: ignore[return-value]


def handles_errors_with_junit(fn: F) -> F:
    """`handles_errors` for the verb that writes JUnit reports (validate)."""
    return handles_errors(fn, junit=True)
