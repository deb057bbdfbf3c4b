"""What happens to an exception no part of the tool expected: a message, a log, an exit code.

A user never sees a Python traceback: the verb's guard (commands/common.py
handles_errors) calls `internal_error`, which writes the traceback to a file
under the user's state directory and returns one line that says what broke,
asks for a report and names the file. The file is scrubbed of secrets (the
command line's `--notify` URL, tokens, passwords in URLs, the values of secret
variables) and readable by its user only, since it is meant to be attached.
With RELEASE_DEBUG=1 the traceback is printed as well, for whoever is fixing
the bug.

Exit code: 5 when the failure is a lost connection or an I/O error of the
engine, the registry or AWS (the caller can retry once reachability is back),
else 1. Neither says "changed nothing" more loudly than the tool can know, so
the hint asks to check `release status` when a release was running.
"""

from __future__ import annotations

import os
import stat
import sys
import tempfile
import time
import traceback
from pathlib import Path

from release.core import redact
from release.core.errors import EXIT_INVALID, EXIT_UNREACHABLE

DEBUG_VARIABLE = "RELEASE_DEBUG"
LOG_FOLDER = ("release", "internal-errors")

# Libraries whose exceptions mean "the other side went away" (imported by name, never here:
# this module is on every verb's path and must not load boto3, docker or requests).
CONNECTION_MODULES = ("urllib3", "requests", "http.client", "botocore.exceptions", "docker",
                      "ssl", "socket")


def log_folder() -> Path:
    """$XDG_STATE_HOME/release/internal-errors, else ~/.local/state/release/internal-errors."""
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base, *LOG_FOLDER)


def is_connection_failure(exc: BaseException) -> bool:
    """An OSError (refused, reset, broken pipe to a server) or a connection library's error."""
    for link in _chain(exc):
        if isinstance(link, OSError) and not isinstance(link, (FileNotFoundError,
                                                               IsADirectoryError,
                                                               NotADirectoryError,
                                                               PermissionError)):
            return True
        for cls in type(link).__mro__:
            module = cls.__module__ or ""
            if any(module == m or module.startswith(m + ".") for m in CONNECTION_MODULES):
                return True
    return False


def _chain(exc: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in seen and len(seen) < 20:
        seen.append(current)
        current = current.__cause__ or current.__context__
    return seen


def log_text(exc: BaseException, verb: str, argv: list[str],
             environ: dict[str, str] | os._Environ[str]) -> str:
    """What the log says: the verb, the time, the command line and the traceback, scrubbed
    (core/redact.py): the value of a secret option (`--notify`) masked whole; URLs without
    user-info or query; credential-shaped strings and the values of the process's secret
    variables (AWS_SECRET_ACCESS_KEY, *_TOKEN, the webhook URL) masked wherever they appear.
    The user is asked to attach the file to a bug report."""
    secrets = redact.secret_values(environ)
    text = (f"release {verb}: internal error at "
            f"{time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime())}\n"
            f"argv: {redact.scrub_argv(argv, secrets)!r}\n\n"
            + "".join(traceback.format_exception(type(exc), exc, exc.__traceback__)))
    return redact.scrub(text, secrets)


def write_log(exc: BaseException, verb: str) -> Path | None:
    """The scrubbed log in a new file only its user may read (0600, in a 0700 folder the user
    owns); None when nowhere is writable."""
    text = log_text(exc, verb, sys.argv, os.environ)
    name = f"{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())}-{os.getpid()}-{verb}.log"
    shared = Path(tempfile.gettempdir()) / f"release-internal-errors-{os.getuid()}"
    for folder in (log_folder(), shared):
        try:
            _private_folder(folder)
            path = folder / name
            flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
            with os.fdopen(os.open(path, flags, 0o600), "w", encoding="utf-8",
                           errors="replace") as out:
                out.write(text)
            return path
        except OSError:
            continue
    return None


def _private_folder(folder: Path) -> None:
    """`folder` made (0700) or found: a real folder of this user, then closed to others."""
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    info = os.lstat(folder)
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid():
        raise PermissionError(f"{folder} is not a folder of this user")
    if stat.S_IMODE(info.st_mode) != 0o700:
        os.chmod(folder, 0o700)


def internal_error(exc: BaseException, verb: str) -> tuple[int, str, str]:
    """(exit code, message, hint) for an unexpected exception; the traceback goes to a file."""
    path = write_log(exc, verb)
    if os.environ.get(DEBUG_VARIABLE) == "1":  # CI logs keep stderr: scrubbed as the file is
        sys.stderr.write(redact.scrub("".join(traceback.format_exception(
            type(exc), exc, exc.__traceback__)), redact.secret_values(os.environ)))
    detail = str(exc).strip().splitlines()[0][:300] if str(exc).strip() else ""
    detail = redact.scrub(detail, redact.secret_values(os.environ))  # CI logs keep it too
    what = f"{type(exc).__name__}: {detail}" if detail else type(exc).__name__
    where = f"the details are in {path}" if path else "the details could not be written"
    if is_connection_failure(exc):
        return (EXIT_UNREACHABLE,
                f"internal error: lost the connection ({what}) — please report this",
                f"{where}; check that AWS, the Docker engine (DOCKER_HOST) and the registry "
                "answer, look at `release status`, then re-run the same command")
    return (EXIT_INVALID, f"internal error: {what} — please report this",
            f"{where} (attach it to the report; RELEASE_DEBUG=1 prints it); if a release was "
            "running, check `release status` before anything else")
