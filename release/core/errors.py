"""Errors that end a command, each with the exit code that is part of the interface.

Exit codes (docs/user-guide.md): 0 done, 1 invalid input, 2 usage, 3 release
failed and was rolled back, 4 release failed and service not restored,
5 cannot reach AWS/docker/auth, 6 the command of `release run` failed (its container
exited non-zero), 130 interrupted (Ctrl-C, SIGTERM, SIGHUP).
"""

from __future__ import annotations

from typing import Any

EXIT_OK = 0
EXIT_INVALID = 1
EXIT_USAGE = 2
EXIT_ROLLED_BACK = 3
EXIT_NOT_RESTORED = 4
EXIT_UNREACHABLE = 5
EXIT_COMMAND_FAILED = 6  # `release run`: the task ran and its command exited non-zero
EXIT_INTERRUPTED = 130


class Signalled(KeyboardInterrupt):
    """A stop signal taken as Ctrl-C is: SIGTERM (a Jenkins abort, `kill`) or SIGHUP (the
    terminal or SSH session went away). Its name goes into the message and the ledger."""

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.name = name


class ReleaseError(Exception):
    """Base: a message saying what is wrong and a hint saying what to do next."""

    exit_code = EXIT_INVALID

    def __init__(self, message: str, hint: str = "", *, where: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.where = where


class InvalidInput(ReleaseError):
    """Bad documents, unknown names, missing image: nothing was changed."""

    exit_code = EXIT_INVALID


class InvalidDocuments(InvalidInput):
    """Documents that do not validate, found before anything was changed.

    One message shape for every verb: how many errors, in what, the first of them; the
    findings travel along so the verb's error handler lists them (file#pointer: what).
    """

    def __init__(self, subject: str, findings: list[Any], fix: str = "") -> None:
        first = findings[0].one_line() if findings else ""
        more = f" (and {len(findings) - 1} more)" if len(findings) > 1 else ""
        super().__init__(
            f"{len(findings)} validation error(s) in {subject}: {first}{more}",
            (fix or "run `release validate` for the full report, fix the documents, and "
             "retry") + "; nothing was changed")
        self.findings = list(findings)


class UsageError(ReleaseError):
    exit_code = EXIT_USAGE


class Unreachable(ReleaseError):
    """AWS, the Docker engine, the registry or their auth cannot be reached."""

    exit_code = EXIT_UNREACHABLE
