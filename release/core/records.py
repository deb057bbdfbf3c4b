"""Release records, kept as tags on the task-definition revision each release registered.

The tags are a quick pointer on the revision: what registered it, and how its
release ended. They hold one value per key, so they cannot be a history (a
second restore of a revision would replace the first): the record of truth is
the append-only ledger (the `Entry` model at the end of this module, stored by
release/adapters/ledger.py). `history` and `rollback` read the ledger, and the tags only
of releases made before the ledger existed.

Keys (values are cut to the 256 characters ECS allows and stripped of the
characters it refuses):

    release:env, release:service       where
    release:commit                     config repo commit, or "uncommitted" (+ release:base)
    release:image, release:image-tag   the primary image's digest (or reference) and tag
    release:image:<container>          each pinned container's digest (or reference), one tag
                                       per container (ECS allows 50 tags, a task definition
                                       10 containers); a key over ECS's 128 characters is left
                                       out, the ledger entry keeps the full map
    release:by, release:at             who ran it, when (ISO 8601 UTC)
    release:previous                   the revision that was live before
    release:build-url/-tag, release:job   Jenkins' BUILD_URL, BUILD_TAG, JOB_NAME when set
                                       (`ci_values`: a URL without user-info or query)
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
from typing import Any

from release.core import redact

PREFIX = "release:"
IN_PROGRESS, COMPLETED, FAILED, ROLLED_BACK, INTERRUPTED = (
    "in-progress", "completed", "failed", "rolled-back", "interrupted")
MAX_VALUE = 256
MAX_KEY = 128  # ECS TagKey: 1-128 characters
IMAGE_KEY = PREFIX + "image:"  # + container name: one tag per pinned container
_REFUSED = re.compile(r"[^\w .:/=+\-@]")  # ECS TagValue: [\p{L}\p{Z}\p{N}_.:/=+\-@]*

# record field → tag key suffix
_KEYS = {
    "env": "env", "service": "service", "commit": "commit", "base_commit": "base",
    "image": "image", "image_tag": "image-tag", "by": "by", "at": "at", "previous": "previous",
    "build_url": "build-url", "build_tag": "build-tag", "job_name": "job",
    "outcome": "outcome", "reason": "reason", "finished_at": "finished-at",
    "restored_at": "restored-at", "restored_by": "restored-by", "restored_from": "restored-from",
}
# Amazon ECS service quotas: "Containers per task definition ... 10 ... The maximum number of
# containers definitions within a task definition" (not adjustable): the most pins a service has.
MAX_CONTAINERS = 10
# the most tags a release record puts on a revision: its fields, one release:image:<container> each
RECORD_TAG_COUNT = len(_KEYS) + MAX_CONTAINERS


def tag_value(text: Any) -> str:
    """A value ECS accepts as a tag: allowed characters only, at most 256 of them."""
    return _REFUSED.sub("_", str(text))[:MAX_VALUE]


def images_text(images: Mapping[str, str]) -> str:
    """{container: digest} as the ledger stores it: `container=digest` pairs, space separated
    (container names are letters, digits, `-` and `_`; digests and references have no space)."""
    return " ".join(f"{name}={image}" for name, image in images.items())


def images_map(text: str) -> dict[str, str]:
    """The {container: digest} of `images_text` (an older record's empty text is {})."""
    pairs = (item.partition("=") for item in (text or "").split())
    return {name: image for name, _, image in pairs if name and image}


def digest_or_reference(reference: str) -> str:
    """What a record keeps of an image: its sha256 digest, else the whole reference."""
    _, _, digest = reference.partition("@")
    return digest if digest.startswith("sha256:") else reference


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
    images: str = ""  # every pinned container's digest: `images_text` pairs
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

    @property
    def image_map(self) -> dict[str, str]:
        """{container: digest (or reference)} of every pinned container; {} for old records."""
        return images_map(self.images)

    def tags(self) -> list[dict[str, str]]:
        """ECS tags for register_task_definition / tag_resource (empty fields left out)."""
        tags = [{"key": PREFIX + suffix, "value": tag_value(getattr(self, name))}
                for name, suffix in _KEYS.items() if getattr(self, name)]
        return tags + [{"key": IMAGE_KEY + container, "value": tag_value(image)}
                       for container, image in self.image_map.items()
                       if len(IMAGE_KEY + container) <= MAX_KEY]

    @classmethod
    def from_tags(cls, revision: str, tags: list[Mapping[str, str]] | None) -> Record | None:
        """The record on a revision, None when the revision was not registered by a release."""
        values = {t.get("key", ""): t.get("value", "") for t in tags or []}
        if not any(k.startswith(PREFIX) for k in values):
            return None
        record = cls(revision=revision)
        for name, suffix in _KEYS.items():
            setattr(record, name, values.get(PREFIX + suffix, ""))
        record.images = images_text({key[len(IMAGE_KEY):]: value for key, value
                                     in values.items() if key.startswith(IMAGE_KEY) and value})
        record.build_url = redact.ci_value(record.build_url)  # a record older than the scrub
        return record

    def as_dict(self) -> dict[str, Any]:
        """The record's fields; `images` as {container: digest}."""
        return {**{f.name: getattr(self, f.name) for f in fields(self)},
                "images": self.image_map}


CI_VARIABLES = ("BUILD_URL", "BUILD_TAG", "JOB_NAME")


def ci_values(environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """Jenkins' BUILD_URL, BUILD_TAG and JOB_NAME as a record, the ledger, a lease, events and
    `apply --summary` may keep them: a URL's user-info and query (`https://user:pass@ci/…
    ?token=…`, where a password or token goes) dropped, anything credential-shaped masked
    (core/redact.py). The one place these variables are read."""
    environ = os.environ if environ is None else environ
    return {name: redact.ci_value(environ.get(name, "")) for name in CI_VARIABLES}


def who() -> str:
    """Jenkins' user when a person triggered the build, else the login name."""
    for var in ("BUILD_USER_ID", "USER", "LOGNAME"):
        if os.environ.get(var):
            return os.environ[var]
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def new_record(env: str, service: str, source: tuple[str, str], image: str,
               previous: str | None, now: float, image_tag: str | None = None,
               images: Mapping[str, str] | None = None) -> Record:
    """A release record; `source` is (commit, base) of the documents released, as the edge
    reads them from the checkout (adapters/git.repo_commit); `images` is {container: image
    reference} of every pinned container (render.pinned_images), kept as digests."""
    commit, base = source
    ci = ci_values()
    return Record(
        env=env, service=service, commit=commit, base_commit=base, image=image,
        image_tag=image_tag or "",
        images=images_text({c: digest_or_reference(i) for c, i in (images or {}).items()}),
        by=who(),
        at=iso(now), previous=previous or "", build_url=ci["BUILD_URL"],
        build_tag=ci["BUILD_TAG"], job_name=ci["JOB_NAME"], outcome=IN_PROGRESS)


def outcome_tags(outcome: str, reason: str, now: float) -> list[dict[str, str]]:
    return [{"key": PREFIX + "outcome", "value": outcome},
            {"key": PREFIX + "reason", "value": tag_value(reason)},
            {"key": PREFIX + "finished-at", "value": iso(now)}]


def restored_tags(from_revision: str | None, now: float) -> list[dict[str, str]]:
    return [{"key": PREFIX + "restored-at", "value": iso(now)},
            {"key": PREFIX + "restored-by", "value": tag_value(who())},
            {"key": PREFIX + "restored-from", "value": tag_value(from_revision or "")}]


# ---------------------------------------------------------------------------- the ledger
#
# The ledger (release/adapters/ledger.py stores it in DynamoDB) is the record of truth: every
# release, automatic restore and operator rollback is a new entry, opened in-progress
# before the first change and closed once with its outcome. Entries are never
# rewritten after that, so history keeps every outcome as it was and the rollback
# target is derived from them. The tags above stay as a quick pointer on the revision.

RELEASE, RESTORE, ROLLBACK = "release", "restore", "rollback"
UNKNOWN = "unknown"  # the run ended (lost contact, crashed) without knowing how the change ended


@dataclass
class Entry:
    """One ledger entry: a change that put `revision` live in place of `previous`."""

    id: str  # sortable: ISO time with milliseconds, then a random suffix
    kind: str  # release | restore (after a failed release) | rollback (by an operator)
    env: str
    service: str
    revision: str = ""
    previous: str = ""
    at: str = ""
    outcome: str = IN_PROGRESS
    reason: str = ""
    finished_at: str = ""
    by: str = ""
    command: str = ""
    commit: str = ""
    image: str = ""
    image_tag: str = ""
    images: str = ""  # every pinned container's digest: `images_text` pairs
    build_url: str = ""
    build_tag: str = ""
    job_name: str = ""
    source: str = "ledger"  # "tags": a record from before the ledger, read off a revision
    autoscaling: str = ""  # release.autoscaling.suspendScaleIn: suspended, then restored (or not)
    # A release that failed, while its rollback runs: `<cause>: <why>`. Whatever ends the
    # run from then on (Ctrl-C, a crash), the entry is closed failed with this cause.
    failure: str = ""

    def as_dict(self) -> dict[str, str]:
        return {f.name: getattr(self, f.name) for f in fields(self)}

    def history_row(self) -> dict[str, Any]:
        """A line of `release history` (the keys its JSON output has always had, and more);
        `images` is {container: digest} of every pinned container ({} for older entries)."""
        return {"when": self.at, "kind": self.kind, "revision": self.revision,
                "env": self.env, "service": self.service, "outcome": self.outcome,
                "reason": self.reason, "finished_at": self.finished_at, "by": self.by,
                "image": self.image, "images": images_map(self.images),
                "commit": self.commit, "previous": self.previous,
                "build_url": redact.ci_value(self.build_url),  # kept before it was scrubbed
                "build_tag": self.build_tag, "job": self.job_name,
                "command": self.command, "id": self.id, "source": self.source,
                "autoscaling": self.autoscaling}


def release_entry(entry_id: str, record: Record, command: str) -> Entry:
    """The ledger entry of a release about to register `record` (revision known later)."""
    return Entry(id=entry_id, kind=RELEASE, env=record.env, service=record.service,
                 revision=record.revision, previous=record.previous, at=record.at,
                 by=record.by, command=command, commit=record.commit, image=record.image,
                 image_tag=record.image_tag, images=record.images, build_url=record.build_url,
                 build_tag=record.build_tag, job_name=record.job_name)


def entries_from_tags(tag_records: list[Record], known: list[Entry]) -> list[Entry]:
    """Releases recorded only as tags (before the ledger existed), as entries.

    Only what happened before the ledger's first entry is taken from tags (the tags of
    later changes are the ledger's pointers, with times of their own). Tags keep one
    outcome per revision, so these entries may be incomplete.
    """
    started = min((from_iso(e.at) or 0.0 for e in known), default=float("inf"))

    def before_ledger(at: str) -> bool:
        return bool(at) and (from_iso(at) or 0.0) < started

    entries = []
    for r in tag_records:
        if before_ledger(r.at):
            entries.append(Entry(id=f"{r.at}#tags", kind=RELEASE, env=r.env, service=r.service,
                                 revision=r.revision, previous=r.previous, at=r.at,
                                 outcome=r.outcome, reason=r.reason,
                                 finished_at=r.finished_at, by=r.by, commit=r.commit,
                                 image=r.image, image_tag=r.image_tag, images=r.images,
                                 build_url=r.build_url,
                                 build_tag=r.build_tag, job_name=r.job_name, source="tags"))
        if before_ledger(r.restored_at):
            entries.append(Entry(id=f"{r.restored_at}#tags", kind=RESTORE, env=r.env,
                                 service=r.service, revision=r.revision,
                                 previous=r.restored_from, at=r.restored_at, outcome=COMPLETED,
                                 by=r.restored_by, image=r.image, images=r.images,
                                 commit=r.commit, source="tags"))
    return entries


def newest_first(entries: list[Entry]) -> list[Entry]:
    return sorted(entries, key=lambda e: (from_iso(e.at) or 0.0, e.id),
                  reverse=True)


def rollback_target_of(live_revision: str | None, entries: list[Entry]) -> str | None:
    """Where `release rollback` goes by default, derived from the ledger.

    The newest completed entry that put the live revision live names what it
    replaced: a release's previous revision was serving before it; a restore's or
    rollback's previous is taken only if its own release once completed. Otherwise
    (the live revision came from outside `release`, or what it replaced never
    completed): the newest other revision whose release, restore or rollback completed.
    """
    done = [e for e in newest_first(entries) if e.outcome == COMPLETED and e.revision]
    good = {e.revision for e in done}
    made_live = next((e for e in done if e.revision == live_revision), None)
    if made_live is not None and made_live.previous and made_live.previous != live_revision \
            and (made_live.kind == RELEASE or made_live.previous in good):
        return made_live.previous
    return next((e.revision for e in done if e.revision != live_revision), None)


def caution_about(target: str, entries: list[Entry]) -> str | None:
    """Why rolling back to `target` deserves a second look, from the ledger; None if fine:
    its newest release did not complete, or an operator rolled back away from it since."""
    for e in newest_first(entries):
        if e.kind == ROLLBACK and e.previous == target and e.outcome == COMPLETED:
            return f"{e.by or 'someone'} rolled back away from it at {e.at}"
        if e.kind == RELEASE and e.revision == target:
            if e.outcome in (FAILED, ROLLED_BACK):
                return f"its release ended {e.outcome} ({e.reason or 'no reason'})"
            return None
    return None
