"""Promotion commits: how they are marked, and which live release may be promoted onward.

A promotion commit carries git trailers (`Release-Promotion: <env>`, and for
`promote --from` the source release) so the pipeline can tell its own commits
from people's: a pipeline that built an image for every commit would build again
for the commit that pins the image (a loop). `judge_source` decides from ENV's
live revision, its release record and ledger whether that revision is a release
that completed and still matches ENV's git pins: only then are its digests promoted
(every pinned container's, for a service that builds several images).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from release.core import redact
from release.core.deployments import short
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
    container: str | None = None  # the primary container (digest, tag above)
    # every pinned container → (tag, digest), the primary's first; empty: the primary only
    images: dict[str, tuple[str, str]] = field(default_factory=dict)

    @property
    def short_revision(self) -> str:
        return short(self.revision)

    @property
    def image_ref(self) -> str:
        return f"{self.tag}@{self.digest}" if self.tag else self.digest

    @property
    def image_refs(self) -> dict[str | None, str]:
        """{container: `tag@digest`} of every container to promote (None: the one pin)."""
        if not self.images:
            return {self.container: self.image_ref}
        return {name: f"{tag}@{digest}" if tag else digest
                for name, (tag, digest) in self.images.items()}

    def describe(self) -> list[str]:
        """The commit-message body lines naming the source release."""
        lines = [f"source release: {self.env}/{self.service} {self.short_revision}",
                 f"  digest: {self.digest}", f"  tag:    {self.tag or '-'}",
                 f"  commit: {self.commit or '-'}"]
        if len(self.images) > 1:
            lines += [f"  image:  {name} {digest} (tag {tag or '-'})"
                      for name, (tag, digest) in self.images.items()]
        return lines + ([f"  build:  {self.build_url}"] if self.build_url else [])

    def as_dict(self) -> dict[str, Any]:
        return {"env": self.env, "service": self.service, "revision": self.revision,
                "digest": self.digest, "tag": self.tag, "commit": self.commit,
                "build_url": self.build_url,
                "images": {name: {"tag": tag, "digest": digest}
                           for name, (tag, digest) in self.images.items()}}


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
                 pin: tuple[str | None, str | None],
                 others: Mapping[str, tuple[str | None, str | None]] | None = None
                 ) -> SourceRelease:
    """The live release of `service` in `env` if it may be promoted; else a refusal saying why.

    `entries` is the service's ledger, newest first; `pin` is (tag, digest) in git of the
    primary `container`, `others` the same of every other pinned container: each must run
    the digest git pins, and all of them are promoted together.
    """
    where = f"{env}/{service}"
    if not revision:
        raise _refuse(f"{where} is not running: there is no live release to promote",
                      f"release {env} first (`release apply --env {env}`)")
    shown = short(revision)
    if record is None:
        raise _refuse(f"{where}: the live revision {shown} has no release record (it was not "
                      "released by `release`)", f"release {env} with `release apply`, then "
                      "promote from it")
    _check_ledger(where, revision, shown, entries)
    if record.outcome != COMPLETED:
        raise _refuse(f"{where}: the release of the live revision {shown} is "
                      f"{record.outcome or 'unfinished'} ({record.reason or 'no reason'}), "
                      "not completed", f"promote only a release that completed: fix {env} "
                      "first (`release status`, `release history`)")
    digest = _judged_digest(where, shown, env, taskdef, container, pin)
    primary_tag = record.image_tag or pin[0] or ""
    images: dict[str, tuple[str, str]] = {}
    if others:
        images[str(container)] = (primary_tag, digest)
        for name, other in others.items():
            images[name] = (other[0] or "", _judged_digest(where, shown, env, taskdef, name,
                                                           other))
    return SourceRelease(env, service, revision, digest, primary_tag, record.commit,
                         redact.ci_value(record.build_url), container, images)  # an older record


def _judged_digest(where: str, short: str, env: str, taskdef: dict[str, Any],
                   container: str | None, pin: tuple[str | None, str | None]) -> str:
    """The digest `container` runs in the live revision, which must be the one git pins."""
    digest = live_digest(taskdef, container)
    if not digest:
        raise _refuse(f"{where}: container {container!r} of {short} is not pinned to a "
                      "sha256 digest", "pin images by digest (`release promote --image`)")
    tag, pinned = pin
    if pinned != digest:
        raise _refuse(f"{where} drifts from git: {short} runs {digest[:19]}…"
                      + (f" in container {container}" if container else "")
                      + f", git pins {(pinned or tag or 'nothing')[:19]}…",
                      f"release {env} from git first (`release apply`) or roll git back to "
                      "what runs, then promote")
    return digest


def image_from_build_report(text: str, where: str) -> str:
    """The (primary) digest reference in `release build --format json` output."""
    return next(iter(images_from_build_report(text, where).values()))


def images_from_build_report(text: str, where: str) -> dict[str | None, str]:
    """{container: digest reference} of every image in `release build --format json` output
    (its build.result event), the primary's first; a report from before images were listed
    per container gives {None: reference} (the service's one pin)."""
    for line in text.splitlines():
        try:
            event = json.loads(line)
        except ValueError:
            continue
        if isinstance(event, dict) and event.get("event") == "build.result":
            listed = event.get("images")
            items = listed if isinstance(listed, list) and listed else [event]
            found = {_container_of(item): _pushed_reference(item, where) for item in items}
            if len(found) != len(items):
                raise InvalidInput(f"{where}: the build result lists one container twice",
                                   "rerun the build stage; nothing was changed")
            return found
    raise InvalidInput(f"{where}: no build.result event (is it `release build --format json` "
                       "output?)", "rerun the build stage; nothing was changed")


def _container_of(item: Any) -> str | None:
    name = item.get("container") if isinstance(item, dict) else None
    return name if isinstance(name, str) and name else None


def _pushed_reference(item: Any, where: str) -> str:
    reference = item.get("reference") if isinstance(item, dict) else None
    if isinstance(reference, str) and "@sha256:" in reference:
        return reference
    named = _container_of(item)
    raise InvalidInput(f"{where}: the build result has no pushed digest reference"
                       + (f" for container {named!r}" if named else ""),
                       "build with `release build --push --format json`; nothing was changed")
