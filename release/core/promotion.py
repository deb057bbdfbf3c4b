"""Promotion commits: how they are marked, and which live release may be promoted onward.

A promotion commit carries git trailers (`Release-Promotion: <env>`, and for
`promote --from` the source release) so the pipeline can tell its own commits
from people's: a pipeline that built an image for every commit would build again
for the commit that pins the image (a loop). `judge_source` decides from ENV's
live revision, its release record and ledger whether that revision is a release
that completed and still matches ENV's git pin: only then is its digest promoted.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from release.core import redact
from release.core.errors import InvalidInput
from release.core.records import COMPLETED, IN_PROGRESS, RELEASE, Entry, Record

TRAILER = "Release-Promotion"
FROM_TRAILER = "Release-Promoted-From"
_TRAILER_LINE = re.compile(rf"^{TRAILER}: \S", re.MULTILINE)


def trailers(env: str, source: SourceRelease | None = None) -> list[str]:
    """The trailer lines of a promotion commit to `env` (last paragraph of the message)."""
    lines = [f"{TRAILER}: {env}"]
    if source is not None:
        lines.append(f"{FROM_TRAILER}: {source.env} {source.short_revision} {source.digest}")
    return lines


def is_promotion(message: str) -> bool:
    """True for a commit message made by `release promote --commit`."""
    return bool(_TRAILER_LINE.search(message))


@dataclass(frozen=True)
class SourceRelease:
    """The release live and completed in an environment: what `promote --from` copies."""

    env: str
    service: str
    revision: str  # task definition ARN
    digest: str
    tag: str
    commit: str  # config commit the release was made from
    build_url: str = ""

    @property
    def short_revision(self) -> str:
        return self.revision.rsplit("/", 1)[-1]

    @property
    def image_ref(self) -> str:
        return f"{self.tag}@{self.digest}" if self.tag else self.digest

    def describe(self) -> list[str]:
        """The commit-message body lines naming the source release."""
        lines = [f"source release: {self.env}/{self.service} {self.short_revision}",
                 f"  digest: {self.digest}", f"  tag:    {self.tag or '-'}",
                 f"  commit: {self.commit or '-'}"]
        return lines + ([f"  build:  {self.build_url}"] if self.build_url else [])

    def as_dict(self) -> dict[str, str]:
        return {"env": self.env, "service": self.service, "revision": self.revision,
                "digest": self.digest, "tag": self.tag, "commit": self.commit,
                "build_url": self.build_url}


def _refuse(message: str, hint: str) -> InvalidInput:
    return InvalidInput(message, hint + "; nothing was changed")


def live_digest(taskdef: dict[str, Any], container: str | None) -> str:
    """The sha256 digest the pinned container (default: the first) of a live revision runs
    ('' if it is not pinned by digest)."""
    for definition in taskdef.get("containerDefinitions", []):
        if container is None or definition.get("name") == container:
            _, _, digest = str(definition.get("image", "")).partition("@")
            return digest if digest.startswith("sha256:") else ""
    return ""


def _check_ledger(where: str, revision: str, short: str, entries: list[Entry]) -> None:
    """Nothing may be in progress, and what made the revision live must have completed."""
    newest = entries[0] if entries else None
    if newest is not None and newest.outcome == IN_PROGRESS:
        raise _refuse(f"{where}: a {newest.kind} of {newest.revision.rsplit('/', 1)[-1]} is "
                      f"in progress (since {newest.at})", "wait for it to end, then promote")
    made_live = next((e for e in entries if e.revision == revision), None)
    if made_live is not None and made_live.outcome != COMPLETED:
        raise _refuse(f"{where}: the {made_live.kind} that made {short} live ended "
                      f"{made_live.outcome} ({made_live.reason or 'no reason'})",
                      f"promote only a release that completed: fix {where} first")
    if made_live is not None and made_live.kind != RELEASE and not any(
            e.kind == RELEASE and e.revision == revision and e.outcome == COMPLETED
            for e in entries):
        raise _refuse(f"{where}: {short} is live through a {made_live.kind}, and its own "
                      "release never completed", f"release {where} properly, then promote")


def judge_source(env: str, service: str, revision: str | None, taskdef: dict[str, Any],
                 record: Record | None, entries: list[Entry], container: str | None,
                 pin: tuple[str | None, str | None]) -> SourceRelease:
    """The live release of `service` in `env` if it may be promoted; else a refusal saying why.

    `entries` is the service's ledger, newest first; `pin` is (tag, digest) in git.
    """
    where = f"{env}/{service}"
    if not revision:
        raise _refuse(f"{where} is not running: there is no live release to promote",
                      f"release {env} first (`release apply --env {env}`)")
    short = revision.rsplit("/", 1)[-1]
    if record is None:
        raise _refuse(f"{where}: the live revision {short} has no release record (it was not "
                      "released by `release`)", f"release {env} with `release apply`, then "
                      "promote from it")
    _check_ledger(where, revision, short, entries)
    if record.outcome != COMPLETED:
        raise _refuse(f"{where}: the release of the live revision {short} is "
                      f"{record.outcome or 'unfinished'} ({record.reason or 'no reason'}), "
                      "not completed", f"promote only a release that completed: fix {env} "
                      "first (`release status`, `release history`)")
    digest = live_digest(taskdef, container)
    if not digest:
        raise _refuse(f"{where}: container {container!r} of {short} is not pinned to a "
                      "sha256 digest", "pin images by digest (`release promote --image`)")
    tag, pinned = pin
    if pinned != digest:
        raise _refuse(f"{where} drifts from git: {short} runs {digest[:19]}…, git pins "
                      f"{(pinned or tag or 'nothing')[:19]}…", f"release {env} from git "
                      f"first (`release apply`) or roll git back to what runs, then promote")
    return SourceRelease(env, service, revision, digest, record.image_tag or tag or "",
                         record.commit, redact.ci_value(record.build_url))  # an older record


def image_from_build_report(text: str, where: str) -> str:
    """The digest reference in `release build --format json` output (the build.result event)."""
    for line in text.splitlines():
        try:
            event = json.loads(line)
        except ValueError:
            continue
        if isinstance(event, dict) and event.get("event") == "build.result":
            reference = event.get("reference")
            if isinstance(reference, str) and "@sha256:" in reference:
                return reference
            raise InvalidInput(f"{where}: the build result has no pushed digest reference",
                               "build with `release build --push --format json`; nothing was "
                               "changed")
    raise InvalidInput(f"{where}: no build.result event (is it `release build --format json` "
                       "output?)", "rerun the build stage; nothing was changed")
