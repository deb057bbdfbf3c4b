"""The config repository's documents as files: the layout, and the one safe reader.

The repository layout is fixed (see docs/design.md):

    taskdefs/<name>.json                      register-task-definition input, image left out
    environments/<env>/environment.json       where: account, region, cluster, ELB, IAM, ...
    environments/<env>/services/<name>.json   what: the service spec and its image pin

`read_json` is the one reader of documents (validate, the typed loaders and
gitops all use it): only regular files, at most 1 MiB, UTF-8 with an optional
byte order mark, at most 64 levels deep; every problem is a `DocumentError`
(with line and column for malformed JSON), never a hang or another exception.
`discover` finds the documents by the layout; links out of the repository are listed,
never read. The typed objects they load into are core/config.py's.
"""

from __future__ import annotations

import itertools
import json
import os
import re
import stat
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ENVIRONMENTS_DIR = "environments"
TASKDEFS_DIR = "taskdefs"
SCHEMAS_DIR = "schemas"


# Bounds on what one document may be: a registered task definition may be at most 64 KiB
# (Amazon ECS service quotas), so a megabyte is generous for any document here and still
# keeps a mistaken (or hostile) file from costing minutes; real documents nest about 8 deep.
MAX_DOCUMENT_BYTES = 1024 * 1024
MAX_DEPTH = 64
BOM = "\ufeff"


class DocumentError(Exception):
    """A document that cannot be read or parsed; carries where, for the report.

    `rule` is the validation rule id the problem is reported under (docs/validation.md).
    """

    def __init__(self, path: Path | str, message: str, line: int | None = None,
                 column: int | None = None, rule: str = "json-malformed",
                 fix: str = "") -> None:
        self.path = Path(path)
        self.message = message
        self.line = line
        self.column = column
        self.rule = rule
        self.fix = fix
        where = f"{self.path}:{line}:{column}" if line is not None else str(self.path)
        super().__init__(f"{where}: {message}")


LINK_FIX = ("replace the link with the document itself (or a link to a file inside the "
            "repository): release reads only what the repository holds")


def outside_error(path: Path | str) -> DocumentError:
    """The refusal of a document whose symbolic link leads outside the repository."""
    return DocumentError(path, f"a symbolic link that leads outside the repository (to "
                         f"{leads_to(Path(path))}); it is not read", rule="document-link",
                         fix=LINK_FIX)


def read_bytes(path: Path, root: Path | None = None) -> bytes:
    """The bytes of a regular file of at most MAX_DOCUMENT_BYTES; anything else a DocumentError.

    Opened without blocking and checked on the open descriptor, so a FIFO, a device or
    a folder named *.json is refused instead of hanging or streaming forever. With `root`,
    a path that leads outside it (through a symbolic link, `..`) is refused unread.
    """
    if root is not None and not inside(root, path):
        raise outside_error(path)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError:
        raise DocumentError(path, "file not found", rule="repo-layout",
                            fix="create it (see docs/validation.md for the layout)") from None
    except OSError as exc:
        raise DocumentError(path, f"cannot read: {exc.strerror or exc}", rule="document-type",
                            fix="make it a readable regular file") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise DocumentError(path, f"not a regular file ({_file_kind(info.st_mode)})",
                                rule="document-type",
                                fix="replace it with a regular JSON file, or remove it")
        if info.st_size > MAX_DOCUMENT_BYTES:
            raise DocumentError(path, _too_large(info.st_size), rule="document-size",
                                fix=SIZE_FIX)
        chunks: list[bytes] = []
        left = MAX_DOCUMENT_BYTES + 1
        ask = info.st_size + 1  # the size fstat saw, +1 to meet the end: no 1 MiB buffer per read
        while left > 0 and (chunk := os.read(fd, min(left, ask))):  # usually one read and EOF
            chunks.append(chunk)
            left -= len(chunk)
            ask = 64 * 1024  # more than fstat saw (it grows as we read): go on in 64 KiB steps
        raw = b"".join(chunks)
    except OSError as exc:
        raise DocumentError(path, f"cannot read: {exc.strerror or exc}", rule="document-type",
                            fix="make it a readable regular file") from None
    finally:
        os.close(fd)
    if len(raw) > MAX_DOCUMENT_BYTES:  # grew while we read it
        raise DocumentError(path, _too_large(len(raw)), rule="document-size", fix=SIZE_FIX)
    return raw


SIZE_FIX = ("a document this large is a mistake: ECS accepts task definitions of at most "
            "64 KiB; split it or remove what does not belong")


def _too_large(size: int) -> str:
    return (f"the file is {size:,} bytes; documents may be at most {MAX_DOCUMENT_BYTES:,} "
            "bytes (1 MiB)")


def _file_kind(mode: int) -> str:
    for test, name in ((stat.S_ISDIR, "a folder"), (stat.S_ISFIFO, "a named pipe"),
                       (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
                       (stat.S_ISSOCK, "a socket")):
        if test(mode):
            return name
    return "not a plain file"


def decode(raw: bytes, path: Path | str) -> str:
    """UTF-8 text; a leading byte order mark is dropped (RFC 8259 lets parsers ignore it)."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise DocumentError(path, f"not UTF-8 text ({exc.reason} at byte {exc.start})",
                            fix="save the document as UTF-8 JSON") from None
    return text[1:] if text.startswith(BOM) else text


_STRINGS = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"', re.S)
_BRACKETS = re.compile(r"[\[\]{}]")
_STEP = {"[": 1, "{": 1, "]": -1, "}": -1}


def nesting_depth(text: str) -> int:
    """How deeply arrays and objects nest (brackets inside strings do not count)."""
    steps = map(_STEP.__getitem__, _BRACKETS.findall(_STRINGS.sub("", text)))
    return max(itertools.accumulate(steps, initial=0))


def _not_json(word: str) -> Any:
    raise ValueError(f"{word} is not a JSON value")


def parse_json(text: str, path: Path | str,
               object_pairs_hook: Callable[[list[tuple[str, Any]]], Any] | None = None) -> Any:
    """Parse JSON text of at most MAX_DEPTH levels; NaN/Infinity refused (they are not JSON)."""
    # Fewer brackets than the bound cannot nest deeper than it: the common case costs two counts.
    depth = nesting_depth(text) if text.count("[") + text.count("{") > MAX_DEPTH else 0
    if depth > MAX_DEPTH:
        raise DocumentError(path, f"nested {depth} levels deep; documents may nest at most "
                            f"{MAX_DEPTH} levels", rule="json-depth",
                            fix="flatten the document (ECS documents nest about 8 levels)")
    try:
        return json.loads(text, object_pairs_hook=object_pairs_hook, parse_constant=_not_json)
    except json.JSONDecodeError as exc:
        raise DocumentError(path, f"malformed JSON at line {exc.lineno}, column {exc.colno}: "
                            f"{exc.msg}", exc.lineno, exc.colno,
                            fix="fix the JSON syntax there (a missing comma, quote or bracket "
                                "is usual; comments and trailing commas are not JSON)") from None
    except (RecursionError, ValueError) as exc:
        raise DocumentError(path, f"cannot parse the JSON: {exc}",
                            fix="write plain JSON values (no NaN or Infinity, numbers of "
                                "reasonable length)") from None


def read_text(path: Path, root: Path | None = None) -> str:
    """A document's text: a bounded regular file, UTF-8, without a byte order mark."""
    return decode(read_bytes(path, root), path)


def read_json(path: Path,
              object_pairs_hook: Callable[[list[tuple[str, Any]]], Any] | None = None,
              root: Path | None = None) -> Any:
    """The one JSON reader for documents: bounded, never blocks, every failure a DocumentError;
    with `root`, only a file within that repository."""
    return parse_json(read_text(path, root), path, object_pairs_hook)


@dataclass(frozen=True)
class DocumentSet:
    """The document files of a repository, found by layout, not yet parsed."""

    root: Path
    environments: dict[str, Path]  # env name -> environment.json
    services: dict[tuple[str, str], Path]  # (env, service file stem) -> spec
    taskdefs: dict[str, Path]  # repo-relative path -> file
    # repo-relative path -> where it leads: symbolic links out of the repository, never read
    outside: dict[str, str] = field(default_factory=dict)


def inside(root: Path | str, path: Path | str) -> bool:
    """Is `path`, with every symbolic link followed, within `root` (root itself included)?
    Paths that do not exist are judged as written (`..` and absolute paths still count)."""
    base = os.path.realpath(root)
    real = os.path.realpath(os.path.join(base, path))
    return real == base or real.startswith(base.rstrip(os.sep) + os.sep)


def inside_as_written(rel: str) -> bool:
    """Does a repository-relative path stay in the repository by its words alone (relative,
    no `..` above its start), links not followed?"""
    if os.path.isabs(rel):
        return False
    normal = os.path.normpath(rel)
    return normal != ".." and not normal.startswith(".." + os.sep)


def leads_to(path: Path) -> str:
    """Where a symbolic link finally leads, for a finding that says why it is not read."""
    return os.path.realpath(path)


def discover(root: Path, only_envs: list[str] | None = None) -> DocumentSet:
    """Find the documents by the repository layout (environment folders, services, taskdefs).

    A symbolic link that leads outside the repository (a folder or a file) is not a
    document of it: it is listed in `outside` (validation reports it) and never read, so a
    link to ~/.aws or another checkout cannot pass its contents off as this repository's.
    Links within the repository are followed as usual.
    """
    root = Path(root)
    envs: dict[str, Path] = {}
    services: dict[tuple[str, str], Path] = {}
    outside: dict[str, str] = {}

    def kept(path: Path) -> bool:  # one lstat for a plain file; links are followed to the end
        if not path.is_symlink() or inside(root, path):
            return True
        outside[path.relative_to(root).as_posix()] = leads_to(path)
        return False

    env_root = root / ENVIRONMENTS_DIR
    if env_root.is_dir() and kept(env_root):
        for env_dir in sorted(p for p in env_root.iterdir() if p.is_dir()):
            if only_envs and env_dir.name not in only_envs:
                continue
            if not kept(env_dir):
                continue
            env_doc = env_dir / "environment.json"
            if kept(env_doc):
                envs[env_dir.name] = env_doc
            svc_dir = env_dir / "services"
            if svc_dir.is_dir() and kept(svc_dir):
                for spec in sorted(svc_dir.glob("*.json")):
                    if kept(spec):
                        services[(env_dir.name, spec.stem)] = spec
    taskdefs = {}
    td_root = root / TASKDEFS_DIR
    if td_root.is_dir() and kept(td_root):
        for td in sorted(td_root.glob("*.json")):
            if kept(td):
                taskdefs[td.relative_to(root).as_posix()] = td
    return DocumentSet(root=root, environments=envs, services=services, taskdefs=taskdefs,
                       outside=outside)


def relative(root: Path, path: Path) -> str:
    """Repository-relative posix path (string work: this runs for every document)."""
    base, full = str(root), str(path)
    if full.startswith(base + "/"):
        return full[len(base) + 1:]
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return path.as_posix()
