"""Release records, kept as tags on the task-definition revision each release registered.

Why tags on the revision: the record lives next to the thing it describes, in
the account that runs it, needs no extra store, and survives the tool's host.
`history` reads the family's revisions' tags; `rollback` reads the live
revision's record to find the revision that was live before it (not simply N-1).

Keys (values are cut to the 256 characters ECS allows and stripped of the
characters it refuses):

    release:env, release:service       where
    release:commit                     config repo commit, or "uncommitted" (+ release:base)
    release:image, release:image-tag   the image digest (or reference) and tag it runs
    release:by, release:at             who ran it, when (ISO 8601 UTC)
    release:previous                   the revision that was live before
    release:build-url/-tag, release:job   Jenkins' BUILD_URL, BUILD_TAG, JOB_NAME when set
    release:outcome, release:reason    in-progress → completed | failed | rolled-back | interrupted
    release:finished-at
    release:restored-at/-by/-from      set when a rollback made this revision live again
"""

from __future__ import annotations

import getpass
import os
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

PREFIX = "release:"
IN_PROGRESS, COMPLETED, FAILED, ROLLED_BACK, INTERRUPTED = (
    "in-progress", "completed", "failed", "rolled-back", "interrupted")
MAX_VALUE = 256
_REFUSED = re.compile(r"[^\w .:/=+\-@]")  # ECS TagValue: [\p{L}\p{Z}\p{N}_.:/=+\-@]*

# record field → tag key suffix
_KEYS = {
    "env": "env", "service": "service", "commit": "commit", "base_commit": "base",
    "image": "image", "image_tag": "image-tag", "by": "by", "at": "at", "previous": "previous",
    "build_url": "build-url", "build_tag": "build-tag", "job_name": "job",
    "outcome": "outcome", "reason": "reason", "finished_at": "finished-at",
    "restored_at": "restored-at", "restored_by": "restored-by", "restored_from": "restored-from",
}


def tag_value(text: Any) -> str:
    """A value ECS accepts as a tag: allowed characters only, at most 256 of them."""
    return _REFUSED.sub("_", str(text))[:MAX_VALUE]


def iso(epoch: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch))


def from_iso(text: str | None) -> float | None:
    if not text:
        return None
    try:
        import calendar

        return float(calendar.timegm(time.strptime(text, "%Y-%m-%dT%H:%M:%SZ")))
    except ValueError:
        return None


@dataclass
class Record:
    """One release of one service, as stored on its revision."""

    revision: str = ""  # the task-definition ARN the record is attached to
    env: str = ""
    service: str = ""
    commit: str = ""
    base_commit: str = ""
    image: str = ""
    image_tag: str = ""
    by: str = ""
    at: str = ""
    previous: str = ""
    build_url: str = ""
    build_tag: str = ""
    job_name: str = ""
    outcome: str = ""
    reason: str = ""
    finished_at: str = ""
    restored_at: str = ""
    restored_by: str = ""
    restored_from: str = ""

    def tags(self) -> list[dict[str, str]]:
        """ECS tags for register_task_definition / tag_resource (empty fields left out)."""
        return [{"key": PREFIX + suffix, "value": tag_value(getattr(self, name))}
                for name, suffix in _KEYS.items() if getattr(self, name)]

    @classmethod
    def from_tags(cls, revision: str, tags: list[Mapping[str, str]] | None) -> Record | None:
        """The record on a revision, None when the revision was not registered by a release."""
        values = {t.get("key", ""): t.get("value", "") for t in tags or []}
        if not any(k.startswith(PREFIX) for k in values):
            return None
        record = cls(revision=revision)
        for name, suffix in _KEYS.items():
            setattr(record, name, values.get(PREFIX + suffix, ""))
        return record

    def as_dict(self) -> dict[str, str]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


def who() -> str:
    """Jenkins' user when a person triggered the build, else the login name."""
    for var in ("BUILD_USER_ID", "USER", "LOGNAME"):
        if os.environ.get(var):
            return os.environ[var]
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def repo_commit(root: Path) -> tuple[str, str]:
    """(commit, base): HEAD's sha when the config repo is clean; "uncommitted" and HEAD if not."""
    try:
        import git

        repo = git.Repo(root, search_parent_directories=True)
        sha = repo.head.commit.hexsha if repo.head.is_valid() else ""
        if repo.is_dirty(untracked_files=False, path=None):
            return "uncommitted", sha
        return sha or "uncommitted", ""
    except Exception:  # not a git checkout (a copied tree): say so instead of guessing
        return "unknown", ""


def new_record(env: str, service: str, root: Path, image: str, previous: str | None,
               now: float, image_tag: str | None = None, commit: str | None = None) -> Record:
    """A release record; `commit` names the documents' commit when the caller knows it
    (`release apply` renders from --until, not from the checkout's HEAD)."""
    commit, base = (commit, "") if commit else repo_commit(root)
    return Record(
        env=env, service=service, commit=commit, base_commit=base, image=image,
        image_tag=image_tag or "", by=who(),
        at=iso(now), previous=previous or "", build_url=os.environ.get("BUILD_URL", ""),
        build_tag=os.environ.get("BUILD_TAG", ""), job_name=os.environ.get("JOB_NAME", ""),
        outcome=IN_PROGRESS)


def outcome_tags(outcome: str, reason: str, now: float) -> list[dict[str, str]]:
    return [{"key": PREFIX + "outcome", "value": outcome},
            {"key": PREFIX + "reason", "value": tag_value(reason)},
            {"key": PREFIX + "finished-at", "value": iso(now)}]


def restored_tags(from_revision: str | None, now: float) -> list[dict[str, str]]:
    return [{"key": PREFIX + "restored-at", "value": iso(now)},
            {"key": PREFIX + "restored-by", "value": tag_value(who())},
            {"key": PREFIX + "restored-from", "value": tag_value(from_revision or "")}]


@dataclass(frozen=True)
class HistoryEntry:
    """A line of `release history`: a release, or a rollback that made a revision live again."""

    when: str
    kind: str  # release | restore
    record: Record

    @property
    def sort_key(self) -> tuple[float, int, int]:
        revision = self.record.revision.rsplit(":", 1)[-1]
        number = int(revision) if revision.isdigit() else 0
        return (from_iso(self.when) or 0.0, 1 if self.kind == "restore" else 0, number)

    def as_dict(self) -> dict[str, Any]:
        r = self.record
        base = {"when": self.when, "kind": self.kind, "revision": r.revision,
                "env": r.env, "service": r.service}
        if self.kind == "restore":
            return {**base, "outcome": "restored", "by": r.restored_by,
                    "from": r.restored_from, "image": r.image, "commit": r.commit}
        return {**base, "outcome": r.outcome, "reason": r.reason, "by": r.by,
                "image": r.image, "commit": r.commit, "previous": r.previous,
                "build_url": r.build_url, "build_tag": r.build_tag, "job": r.job_name}


def history_entries(records: list[Record]) -> list[HistoryEntry]:
    """Releases and restores, newest first."""
    entries = []
    for record in records:
        if record.at:
            entries.append(HistoryEntry(record.at, "release", record))
        if record.restored_at:
            entries.append(HistoryEntry(record.restored_at, "restore", record))
    return sorted(entries, key=lambda e: e.sort_key, reverse=True)


def rollback_target(live_revision: str | None, records: list[Record]) -> str | None:
    """The revision live before the current release, by the records; else the last good one.

    The live revision's own record names what it replaced. If the live revision
    has no record (registered by hand), fall back to the newest other revision
    whose release completed.
    """
    by_revision = {r.revision: r for r in records}
    live = by_revision.get(live_revision or "")
    if live is not None and live.previous and live.previous != live_revision:
        return live.previous
    completed = [r for r in records if r.revision != live_revision and (
        r.outcome == COMPLETED or r.restored_at)]
    completed.sort(key=lambda r: max(from_iso(r.at) or 0, from_iso(r.restored_at) or 0),
                   reverse=True)
    return completed[0].revision if completed else None
