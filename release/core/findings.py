"""The model validation speaks in: findings, the loaded documents, JSON pointers.

Shared by the document layer (validate.py) and the cross-document rules
(rules/): both import from here and neither imports the other's internals, so
there is no import circle to hide inside a function.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

ERROR = "error"
WARNING = "warning"

# Checks a rendered register-task-definition input against the ECS API's own parameter
# validation and returns one line per problem. The core only knows this type; the botocore
# implementation lives at the edge (release/adapters/apicheck.py) and is passed in.
RequestCheck = Callable[[dict[str, Any]], list[str]]


@dataclass
class Finding:
    """One problem in one place: what is wrong and what to do about it."""

    severity: str  # "error" | "warning"
    rule: str  # stable id, e.g. "lb-container-port" (docs/validation.md)
    file: str  # repository-relative, posix separators
    pointer: str  # JSON pointer into the document, "" for the whole document
    message: str
    fix: str = ""
    line: int | None = None
    column: int | None = None

    def __post_init__(self) -> None:
        self.message = printable(self.message)
        self.fix = printable(self.fix)
        self.pointer = printable(self.pointer)
        self.file = printable(self.file)

    @property
    def location(self) -> str:
        where = self.file
        if self.line is not None:
            where += f":{self.line}:{self.column or 1}"
        return f"{where}#{self.pointer}"

    def one_line(self) -> str:
        return f"{self.file}#{self.pointer}: {self.message} ({self.rule})"

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Loaded:
    """Documents that parsed and passed their schema, for the cross-document rules."""

    root: Path
    environments: dict[str, tuple[str, dict[str, Any]]] = field(default_factory=dict)
    services: dict[tuple[str, str], tuple[str, dict[str, Any]]] = field(default_factory=dict)
    taskdefs: dict[str, dict[str, Any]] = field(default_factory=dict)
    broken: set[str] = field(default_factory=set)  # files that exist but failed parse/schema
    present: set[str] = field(default_factory=set)  # every document file found
    filtered: bool = False  # --env given: some environments were left out on purpose
    referenced: set[str] = field(default_factory=set)  # taskdef files any parsed service names
    # files whose text may hold a credential or a tag (core/redact.MARKERS, `"key"`), for the
    # rules that would otherwise walk every string; None: not known, so every file may
    suspect: set[str] | None = None


def printable(text: Any) -> str:
    """Text that any terminal, JSON encoder and XML writer accepts (lone surrogates escaped)."""
    text = str(text)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        text = text.encode("utf-8", "backslashreplace").decode("utf-8")
    return text


def pointer_of(path: Any) -> str:
    """A JSON pointer (RFC 6901) for a sequence of keys and indexes."""
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in path)


def did_you_mean(word: str, choices: list[str]) -> str:
    """` (did you mean 'x'?)` for the closest choice (same letters in another case first)."""
    by_case = [c for c in choices if c.lower() == word.lower()]
    close = by_case or difflib.get_close_matches(word, choices, n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""
