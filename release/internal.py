"""What happens to an exception no part of the tool expected: a message, a log, an exit code.

A user never sees a Python traceback: the verb's guard (commands/common.py
handles_errors) calls `internal_error`, which writes the traceback to a file
under the user's state directory and returns one line that says what broke,
asks for a report and names the file. With RELEASE_DEBUG=1 the traceback is
printed as well, for whoever is fixing the bug.

Exit code: 5 when the failure is a lost connection or an I/O error of the
engine, the registry or AWS (the caller can retry once reachability is back),
else 1. Neither says "changed nothing" more loudly than the tool can know, so
the hint asks to check `release status` when a release was running.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
import traceback
from pathlib import Path

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


def write_log(exc: BaseException, verb: str) -> Path | None:
    """The traceback and the command line, in a new file; None when nowhere is writable."""
    text = (f"release {verb}: internal error at "
            f"{time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime())}\n"
            f"argv: {sys.argv!r}\n\n"
            + "".join(traceback.format_exception(type(exc), exc, exc.__traceback__)))
    name = f"{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())}-{os.getpid()}-{verb}.log"
    for folder in (log_folder(), Path(tempfile.gettempdir()) / "release-internal-errors"):
        try:
            folder.mkdir(parents=True, exist_ok=True)
            path = folder / name
            with path.open("x", encoding="utf-8", errors="replace") as out:
                out.write(text)
            return path
        except OSError:
            continue
    return None


def internal_error(exc: BaseException, verb: str) -> tuple[int, str, str]:
    """(exit code, message, hint) for an unexpected exception; the traceback goes to a file."""
    path = write_log(exc, verb)
    if os.environ.get(DEBUG_VARIABLE) == "1":
        traceback.print_exception(type(exc), exc, exc.__traceback__, file=sys.stderr)
    detail = str(exc).strip().splitlines()[0][:300] if str(exc).strip() else ""
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
