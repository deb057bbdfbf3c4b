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

from release.errors import EXIT_INTERRUPTED, EXIT_USAGE, InvalidInput, ReleaseError
from release.events import OutputFormat, Reporter
from release.internal import internal_error

F = TypeVar("F", bound=Callable[..., Any])

RepoOption = Annotated[
    Path | None,
    typer.Option("--repo", help="Config repository root (default: $RELEASE_REPO, else the "
                 "nearest folder upwards holding environments/).", show_default=False),
]
FormatOption = Annotated[
    OutputFormat, typer.Option("--format", help="text for people, json for machines (JSON lines).")
]
EnvOption = Annotated[
    str, typer.Option("--env", "-e", help="Environment name (folder under environments/).")
]
ServiceOption = Annotated[
    str | None,
    typer.Option("--service", "-s", help="One service (file stem or serviceName); default all."),
]


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


def _raise_interrupted(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


def handles_errors(fn: F, *, junit: bool = False) -> F:
    """Run a verb: ReleaseError → its exit code with a message and hint; Ctrl-C/SIGTERM → 130.

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
        previous = None
        try:
            previous = signal.signal(signal.SIGTERM, _raise_interrupted)
        except ValueError:  # not the main thread (tests driving the app from a thread)
            previous = None
        try:
            return fn(*args, **kwargs)
        except ReleaseError as exc:
            reporter.error(exc.message, exc.hint, exc.where, exit_code=exc.exit_code)
            raise typer.Exit(exc.exit_code) from None
        except KeyboardInterrupt:
            reporter.error("interrupted", "nothing more was changed; see the last lines above "
                           "for how to resume", exit_code=EXIT_INTERRUPTED)
            raise typer.Exit(EXIT_INTERRUPTED) from None
        except (typer.Exit, typer.Abort, typer.exceptions.TyperException):
            raise  # typer's own ways out: already an exit code with a message
        except Exception as exc:  # noqa: BLE001 - the promise: never a traceback to the user
            code, message, hint = internal_error(exc, fn.__name__)
            reporter.error(message, hint, exit_code=code)
            raise typer.Exit(code) from None
        finally:
            if previous is not None:
                signal.signal(signal.SIGTERM, previous)

    return wrapper  # type: ignore[return-value]


def load_valid_repo(repo: Path, envs: list[str] | None, reporter: Reporter):
    """Validate (schemas + rules) and load; any error ends the command with exit 1 before AWS."""
    from release import config, validate

    for name in envs or []:
        require_environment(repo, name)
    report = validate.validate_repo(repo, envs)
    if report.errors:
        for finding in report.errors[:20]:
            fields = {k: v for k, v in finding.as_dict().items() if k != "message"}
            reporter.emit("validate.finding", finding.one_line(), "error", **fields)
        more = len(report.errors) - 20
        raise InvalidInput(
            f"the config repository has {len(report.errors)} validation error(s)"
            + (f" ({more} more not shown)" if more > 0 else ""),
            "run `release validate` for the full report, fix the documents, and retry; "
            "nothing was changed in AWS",
        )
    try:
        return config.load_repo(repo, envs)
    except config.UnknownName as exc:
        raise InvalidInput(exc.message, exc.hint) from None


def require_environment(repo: Path, env: str) -> None:
    """Exit 1 with the known names when `env` is not a folder under environments/."""
    from release import config

    known = config.discover(repo).environments
    if env not in known:
        raise InvalidInput(
            f"unknown environment {env!r}",
            f"environments in {repo}: {', '.join(sorted(known)) or 'none'} "
            "(folders under environments/)",
        )


def load_environment_repo(repo: Path, env: str):
    """One environment's documents without validating the rest of the repository.

    For operations that must work at 3 a.m. even when someone broke an unrelated
    document (rollback, status, history).
    """
    from release import config

    require_environment(repo, env)
    try:
        return config.load_repo(repo, [env])
    except config.DocumentError as exc:
        raise InvalidInput(str(exc), "fix the document (`release validate`)") from None
    except (KeyError, TypeError, ValueError) as exc:
        raise InvalidInput(f"the documents of {env} are incomplete ({exc})",
                           "run `release validate` and fix them first") from None


def handles_errors_with_junit(fn: F) -> F:
    """`handles_errors` for the verb that writes JUnit reports (validate)."""
    return handles_errors(fn, junit=True)
