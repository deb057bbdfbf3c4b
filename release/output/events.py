"""One stream of typed events, rendered for people (rich) or machines (JSON lines).

Commands never print directly: they emit events, so `--format json` gets the
same information as the console, with stable keys (`event`, `level`,
`message`, `time`, then the event's own fields).
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import sys
import threading
import time
from dataclasses import dataclass, field
from enum import StrEnum
from typing import IO, Any


class OutputFormat(StrEnum):
    text = "text"
    json = "json"
    junit = "junit"


# Set when an event told the reader how to resume (an event with a `resume` field): the
# guard's "interrupted" then points at it, and says what to do itself when none was said.
RESUME_SHOWN = threading.Event()

LEVEL_STYLES = {"info": "", "success": "green", "warn": "yellow", "error": "bold red", "dim": "dim"}


@dataclass
class Event:
    kind: str
    message: str
    level: str = "info"
    data: dict[str, Any] = field(default_factory=dict)
    time: float = field(default_factory=time.time)

    def as_json(self) -> dict[str, Any]:
        stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(self.time))
        return {"event": self.kind, "level": self.level, "message": self.message,
                "time": stamp, **self.data}


def color_allowed(stream: IO[str]) -> bool:
    """Colour only on a terminal and never when NO_COLOR is set (no-color.org)."""
    if os.environ.get("NO_COLOR"):
        return False
    return bool(getattr(stream, "isatty", lambda: False)())


class ClosedSafe:
    """A stream whose reader may go away (`release deploy | head -3`, a dropped SSH session):
    writes then go nowhere.

    A closed pipe must not change what a release does nor what its exit code means,
    so the first BrokenPipeError is not raised: the descriptor is pointed at
    /dev/null (so that Python's own flush at exit cannot fail either), one line on
    stderr says so, and the command carries on to its real outcome.
    """

    def __init__(self, stream: IO[str]) -> None:
        self._stream = stream
        self.closed_by_reader = False

    def write(self, text: str) -> int:
        if not self.closed_by_reader:
            try:
                return self._stream.write(text)
            except OSError as exc:
                self._gone_or_raise(exc)
        return len(text)

    def flush(self) -> None:
        if not self.closed_by_reader:
            try:
                self._stream.flush()
            except OSError as exc:
                self._gone_or_raise(exc)

    def _gone_or_raise(self, exc: OSError) -> None:
        """A closed pipe (EPIPE) or a terminal that hung up (EIO: the SSH session dropped)
        means the reader is gone; any other error is the stream's own."""
        if not isinstance(exc, BrokenPipeError) and exc.errno not in (errno.EIO, errno.ENXIO):
            raise exc
        self._reader_gone()

    def _reader_gone(self) -> None:
        self.closed_by_reader = True
        with contextlib.suppress(OSError, ValueError, AttributeError):
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, self._stream.fileno())
            os.close(devnull)
        with contextlib.suppress(OSError, ValueError):
            sys.stderr.write("note: the reader of the output went away (closed pipe); the "
                             "command carries on and its exit code is its outcome\n")
            sys.stderr.flush()

    def isatty(self) -> bool:
        return not self.closed_by_reader and bool(getattr(self._stream, "isatty",
                                                          lambda: False)())

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


class Reporter:
    """Sends events to the console (text) or as JSON lines (json/junit modes keep stdout clean)."""

    def __init__(self, fmt: OutputFormat | str = OutputFormat.text,
                 stream: IO[str] | None = None, err: IO[str] | None = None) -> None:
        self.format = OutputFormat(fmt)
        self.stream = ClosedSafe(stream or sys.stdout)  # type: ignore[assignment]
        self.err = ClosedSafe(err or sys.stderr)  # type: ignore[assignment]
        self.events: list[Event] = []
        self._console = None
        self._err_console = None

    @property
    def console(self):  # rich.console.Console, imported lazily for start-up time
        if self._console is None:
            self._console = _make_console(self.stream)
        return self._console

    @property
    def err_console(self):
        if self._err_console is None:
            self._err_console = _make_console(self.err)
        return self._err_console

    @property
    def is_tty(self) -> bool:
        return bool(getattr(self.stream, "isatty", lambda: False)())

    def emit(self, kind: str, message: str, level: str = "info", **data: Any) -> Event:
        event = Event(kind, message, level, data)
        self.events.append(event)
        if data.get("resume"):
            RESUME_SHOWN.set()
        if self.format is OutputFormat.json:
            self.stream.write(json.dumps(event.as_json(), default=str) + "\n")
            self.stream.flush()
        elif self.format is OutputFormat.text:
            style = LEVEL_STYLES.get(level, "")
            console = self.err_console if level == "error" else self.console
            console.print(message, style=style or None, markup=False, highlight=False,
                          soft_wrap=True)
        return event

    def error(self, message: str, hint: str = "", where: str | None = None, **data: Any) -> Event:
        """An error that ends the command: what is wrong, where, and what to do next."""
        if self.format is OutputFormat.text:
            lines = [f"error: {message}"]
            if where:
                lines.append(f"  where: {where}")
            if hint:
                lines.append(f"  fix:   {hint}")
            event = Event("error", message, "error", {"hint": hint, "where": where, **data})
            self.events.append(event)
            self.err_console.print("\n".join(lines), style="bold red", markup=False,
                                   highlight=False, soft_wrap=True)
            return event
        return self.emit("error", message, "error", hint=hint, where=where, **data)

    def table(self, title: str, columns: list[str], rows: list[list[Any]], kind: str = "table",
              **data: Any) -> None:
        """A table for people; in JSON, one event carrying the rows as objects."""
        if self.format is OutputFormat.json:
            self.emit(kind, title, rows=[dict(zip(columns, r, strict=False)) for r in rows],
                      **data)
            return
        if self.format is not OutputFormat.text:
            return
        from rich.table import Table

        table = Table(title=title or None, title_justify="left")
        for col in columns:
            table.add_column(col)
        for row in rows:
            table.add_row(*("" if v is None else str(v) for v in row))
        self.console.print(table)


def _make_console(stream: IO[str]):
    from rich.console import Console

    colour = color_allowed(stream)
    return Console(file=stream, no_color=not colour, force_terminal=colour or None,
                   color_system="auto" if colour else None, highlight=False,
                   width=None if colour else 200)
