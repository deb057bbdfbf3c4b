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
    InvalidInput,
    ReleaseError,
    Signalled,
)
from release.internal import internal_error
from release.output.events import RESUME_SHOWN, OutputFormat, Reporter

F = TypeVar("F", bound=Callable[..., Any])

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


def load_valid_repo(repo: Path, envs: list[str] | None, reporter: Reporter):
    """Validate (schemas + rules) and load; any error ends the command with exit 1 before AWS."""
    from release.adapters.apicheck import register_task_definition_problems
    from release.core import config, validate

    for name in envs or []:
        require_environment(repo, name)
    report = validate.validate_repo(repo, envs, api_check=register_task_definition_problems)
    if report.errors:
        _refuse(reporter, report.errors, f"the config repository has {len(report.errors)} "
                "validation error(s)", "run `release validate` for the full report, fix the "
                "documents, and retry; nothing was changed in AWS")
    try:
        return config.load_repo(repo, envs)
    except config.UnknownName as exc:
        raise InvalidInput(exc.message, exc.hint) from None


def _refuse(reporter: Reporter, errors: list[Any], message: str, hint: str) -> None:
    """Show the first findings (file#pointer: what (rule)) and end with exit 1."""
    for finding in errors[:20]:
        fields = {k: v for k, v in finding.as_dict().items() if k != "message"}
        reporter.emit("validate.finding", finding.one_line(), "error", **fields)
    more = len(errors) - 20
    raise InvalidInput(message + (f" ({more} more not shown)" if more > 0 else ""), hint)


def require_environment(repo: Path, env: str) -> None:
    """Exit 1 with the known names when `env` is not a folder under environments/."""
    from release.core import documents

    docs = documents.discover(repo)
    known = docs.environments
    links = [rel for rel in docs.outside
             if rel in (documents.ENVIRONMENTS_DIR, f"{documents.ENVIRONMENTS_DIR}/{env}",
                        f"{documents.ENVIRONMENTS_DIR}/{env}/environment.json")]
    if env not in known and links:
        raise InvalidInput(f"{links[0]} is a symbolic link that leads outside the repository "
                           f"(to {docs.outside[links[0]]}); release does not read it",
                           documents.LINK_FIX)
    if env not in known:
        raise InvalidInput(
            f"unknown environment {env!r}",
            f"environments in {repo}: {', '.join(sorted(known)) or 'none'} "
            "(folders under environments/)",
        )


def load_environment_repo(repo: Path, env: str, service: str | None = None,
                          reporter: Reporter | None = None):
    """One environment's documents, for operations that must work at 3 a.m. (rollback,
    status, history) even when someone broke an unrelated document.

    Refuses (exit 1, with the findings) only when a document the command reads is
    broken: the environment's environment.json or the chosen service's spec (every
    spec of the environment when no service is named). Anything else validation finds
    (another service, a task definition, a rule that guards the next deploy) is shown
    as a warning: a rollback goes back to a revision ECS already has.
    """
    from release.core import config, documents, validate

    require_environment(repo, env)
    reporter = reporter or Reporter(OutputFormat.text)
    report = validate.validate_repo(repo, [env])
    docs = documents.discover(repo, [env])
    rel = documents.relative
    specs = {rel(docs.root, path): path for (_, stem), path in docs.services.items()
             if service is None or service in (stem, _service_name_of(path))}
    if service is not None and not specs:  # perhaps the one asked for is too broken to name
        specs = {rel(docs.root, path): path for path in docs.services.values()
                 if rel(docs.root, path) in report.broken}
    own = {rel(docs.root, docs.environments[env]), *specs}
    blocking = [f for f in report.errors if f.file in own and f.file in report.broken]
    if blocking:
        where = f"{env}/{service}" if service else env
        _refuse(reporter, blocking, f"the documents of {where} are broken "
                f"({len(blocking)} error(s))", f"fix them (`release validate --env {env}`) and "
                "retry; nothing was changed" + ("" if service else "; --service acts on one "
                                                "service whose documents are fine"))
    others = [f for f in report.errors if f not in blocking]
    for finding in others[:5]:
        reporter.emit("validate.finding", finding.one_line(), "warn", **{
            k: v for k, v in finding.as_dict().items() if k != "message"})
    if others:
        reporter.emit("validate.summary", f"{len(others)} validation error(s) in git's "
                      "documents do not stop this command (a deploy would refuse them); "
                      "`release validate` lists them", "warn", errors=len(others))
    try:
        return config.load_repo(repo, [env], leave_out=report.broken)
    except documents.DocumentError as exc:  # changed since it was validated
        raise InvalidInput(str(exc), "fix the document (`release validate`)") from None
    except (KeyError, TypeError, ValueError) as exc:
        raise InvalidInput(f"the documents of {env} are incomplete ({exc})",
                           "run `release validate` and fix them first") from None


def _service_name_of(path: Path) -> str | None:
    """The serviceName a spec declares, if it can be read at all."""
    from release.core import documents

    try:
        doc = documents.read_json(path)
    except documents.DocumentError:
        return None
    block = doc.get("service") if isinstance(doc, dict) else None
    name = block.get("serviceName") if isinstance(block, dict) else None
    return name if isinstance(name, str) else None


def handles_errors_with_junit(fn: F) -> F:
    """`handles_errors` for the verb that writes JUnit reports (validate)."""
    return handles_errors(fn, junit=True)
