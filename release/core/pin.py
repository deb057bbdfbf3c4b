"""Image pins: the --image argument parsed, and the spec text edited in place.

`rewrite_pin` edits only the text of one image pin in a service spec (`/image`, or
`/images/<container>` of a service that builds several), so the file's formatting and
key order survive byte for byte.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any, Protocol

from release.core.errors import InvalidInput

DIGEST_RE = re.compile(r"^sha256:[0-9a-f]{64}$")
TAG_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")


@dataclass(frozen=True)
class ImageRef:
    """A parsed --image argument: where it lives (if said) and the pin it asks for."""

    registry: str | None
    repository: str | None
    tag: str | None
    digest: str | None

    @property
    def short(self) -> str:
        """How a commit message names it: the digest (12 hex) else the tag."""
        if self.digest:
            return f"{self.digest[:19]}…"
        return str(self.tag)


def parse_image_ref(ref: str) -> ImageRef:
    """`<registry>/<repo>@sha256:…`, `<registry>/<repo>:tag[@sha256:…]`, `tag@sha256:…`, `tag`,
    or `sha256:…`."""
    text = ref.strip()
    registry = repository = None
    name = text
    if "/" in text.split("@", 1)[0]:
        location, _, last = text.rpartition("/")
        first, _, rest = location.partition("/")
        registry, repository_prefix = first, rest
        name_part = re.split(r"[:@]", last, maxsplit=1)[0]
        repository = f"{repository_prefix}/{name_part}" if repository_prefix else name_part
        name = last[len(name_part):]
        if not name:
            raise _bad_ref(ref, "it names a repository but no tag or digest")
        if name[0] == ":":
            name = name[1:]
    tag, digest = name, None
    if "@" in name:
        tag, _, digest = name.partition("@")
    elif name.startswith("sha256:"):
        tag, digest = "", name
    tag = tag or None
    if digest is not None and not DIGEST_RE.match(digest):
        raise _bad_ref(ref, f"{digest!r} is not a sha256 digest (sha256: and 64 hex digits)")
    if tag is not None and not TAG_RE.match(tag):
        raise _bad_ref(ref, f"{tag!r} is not a valid image tag")
    if tag is None and digest is None:
        raise _bad_ref(ref, "it has neither a tag nor a digest")
    return ImageRef(registry, repository, tag, digest)


def _bad_ref(ref: str, why: str) -> InvalidInput:
    return InvalidInput(
        f"cannot use image reference {ref!r}: {why}",
        "pass <registry>/<repository>@sha256:<digest>, <registry>/<repository>:<tag>, or "
        "<tag>@sha256:<digest> (the digest `release build --format json` printed)",
    )


@dataclass(frozen=True)
class Span:
    start: int
    end: int


@dataclass
class Member:
    key: str
    member_start: int  # the key's opening quote
    value: Span


_WS = re.compile(r"[ \t\n\r]*")


def object_members(text: str, start: int) -> tuple[list[Member], int]:
    """Members of the JSON object at `start` with the positions of their values.

    A position-aware scan: editing values by position is what keeps the rest of
    the file byte-for-byte as its author wrote it.
    """
    decoder = json.JSONDecoder()
    if text[start:start + 1] != "{":
        raise ValueError(f"expected an object at offset {start}")
    pos = _WS.match(text, start + 1).end()
    members: list[Member] = []
    if text[pos:pos + 1] == "}":
        return members, pos + 1
    while True:
        if text[pos:pos + 1] != '"':
            raise ValueError(f"expected a key at offset {pos}")
        key, after_key = json.decoder.scanstring(text, pos + 1)
        colon = _WS.match(text, after_key).end()
        if text[colon:colon + 1] != ":":
            raise ValueError(f"expected ':' at offset {colon}")
        value_start = _WS.match(text, colon + 1).end()
        _, value_end = decoder.raw_decode(text, value_start)
        members.append(Member(key, pos, Span(value_start, value_end)))
        pos = _WS.match(text, value_end).end()
        if text[pos:pos + 1] == "}":
            return members, pos + 1
        if text[pos:pos + 1] != ",":
            raise ValueError(f"expected ',' or '}}' at offset {pos}")
        pos = _WS.match(text, pos + 1).end()


def _last(members: list[Member], key: str) -> Member | None:
    found = [m for m in members if m.key == key]
    return found[-1] if found else None


def _segments(pointer: str) -> list[str]:
    """A JSON pointer's reference tokens (`~1` is `/`, `~0` is `~`)."""
    return [part.replace("~1", "/").replace("~0", "~") for part in pointer.split("/")[1:]]


def _pin_object(text: str, pointer: str) -> Member:
    """The member holding the pin object at `pointer` (`/image` or `/images/<container>`)."""
    position = _WS.match(text, 0).end()
    found: Member | None = None
    for key in _segments(pointer):
        members, _ = object_members(text, position)
        found = _last(members, key)
        if found is None or text[found.value.start] != "{":
            if pointer == "/image":
                raise InvalidInput("the service spec has no \"image\" object to rewrite",
                                   "add \"image\": {\"container\": ..., \"tag\": ..., "
                                   "\"digest\": ...} to the spec once by hand")
            raise InvalidInput(f"the service spec has no pin {pointer} to rewrite",
                               f"add {pointer} (its tag and/or digest) to the spec once by hand")
        position = found.value.start
    assert found is not None
    return found


def rewrite_pin(text: str, tag: str | None, digest: str | None, pointer: str = "/image") -> str:
    """The spec text with only the tag / digest of the pin at `pointer` changed.

    `pointer` is `/image` (the single pin) or `/images/<container>`. A value that
    the new pin does not have is removed (a stale digest next to a new tag would
    silently win); a missing key is added after the last member, indented like its
    siblings.
    """
    image = _pin_object(text, pointer)
    edits: list[tuple[int, int, str]] = []  # (start, end, replacement), applied back to front
    image_members, image_end = object_members(text, image.value.start)
    wanted = {"tag": tag, "digest": digest}
    to_add: list[str] = []
    for key in ("tag", "digest"):
        member = _last(image_members, key)
        value = wanted[key]
        if member is not None and value is not None:
            edits.append((member.value.start, member.value.end, json.dumps(value)))
        elif member is not None and value is None:
            edits.append(_removal(text, image_members, member, image.value.start))
        elif value is not None:
            to_add.append(key)
    if to_add:
        edits.append(_insertion(text, image_members, image.value.start, image_end,
                                [(k, wanted[k]) for k in to_add]))
    for start, end, replacement in sorted(edits, key=lambda e: e[0], reverse=True):
        text = text[:start] + replacement + text[end:]
    return text


def _removal(text: str, members: list[Member], member: Member, obj_start: int
             ) -> tuple[int, int, str]:
    """The span that deletes one member and exactly one neighbouring comma."""
    index = members.index(member)
    if index > 0:  # delete from the end of the previous value through this value
        return members[index - 1].value.end, member.value.end, ""
    if len(members) > 1:  # first of several: delete through the next member's start
        return member.member_start, members[1].member_start, ""
    return obj_start + 1, member.value.end, ""


def _insertion(text: str, members: list[Member], obj_start: int, obj_end: int,
               pairs: list[tuple[str, Any]]) -> tuple[int, int, str]:
    """Text adding members after the last one, in the style (indent, spacing) of the object."""
    if members:
        last = members[-1]
        line_start = text.rfind("\n", 0, last.member_start) + 1
        indent = text[line_start:last.member_start]
        separator = (",\n" + indent) if indent.strip() == "" and line_start > obj_start else ", "
        colon = text[text.index(":", members[0].member_start):members[0].value.start]
        added = "".join(f"{separator}{json.dumps(k)}{colon}{json.dumps(v)}" for k, v in pairs)
        return last.value.end, last.value.end, added
    added = ", ".join(f"{json.dumps(k)}: {json.dumps(v)}" for k, v in pairs)
    return obj_start + 1, obj_end - 1, added


class Registry(Protocol):
    """Where an environment keeps its images (a config.Environment is one)."""

    @property
    def registry(self) -> str: ...

    @property
    def ecr_repository(self) -> str: ...


@dataclass(frozen=True)
class BuildSpec:
    """Where a pinned container's image is built from: a repository-relative context folder."""

    context: str
    dockerfile: str | None = None
    args: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_doc(cls, doc: dict[str, Any] | None) -> BuildSpec | None:
        if not doc or not doc.get("context"):
            return None
        return cls(doc["context"], doc.get("dockerfile"), dict(doc.get("args", {})))


@dataclass(frozen=True)
class ImagePin:
    """Which image one container runs: a tag and/or a digest in an ECR repository.

    `repository` None means the environment's `ecr.repository`; `pointer` is where
    the pin stands in its service spec (`/image` or `/images/<container>`), so a
    finding or a rewrite names the right place.
    """

    container: str | None
    tag: str | None
    digest: str | None
    repository: str | None = None
    build: BuildSpec | None = None
    pointer: str = "/image"

    def repository_in(self, env: Registry) -> str:
        """The ECR repository this pin's image lives in."""
        return self.repository or env.ecr_repository

    def uri_in(self, env: Registry) -> str:
        """`<registry>/<repository>` of this pin in an environment."""
        return f"{env.registry}/{self.repository_in(env)}"

    def reference(self, repository_uri: str) -> str:
        """`<registry>/<repo>@sha256:…` when pinned by digest, else `<registry>/<repo>:<tag>`."""
        if self.digest:
            return f"{repository_uri}@{self.digest}"
        return f"{repository_uri}:{self.tag}"

    def reference_in(self, env: Registry) -> str:
        return self.reference(self.uri_in(env))

    @classmethod
    def from_doc(cls, doc: dict[str, Any], pointer: str, container: str | None = None,
                 build: BuildSpec | None = None) -> ImagePin:
        return cls(container or doc.get("container"), doc.get("tag"), doc.get("digest"),
                   doc.get("repository"), build or BuildSpec.from_doc(doc.get("build")), pointer)


def pins_of(doc: dict[str, Any]) -> tuple[ImagePin, ...]:
    """A service spec's pins: `/images` (one per built container) or the single `/image`."""
    if isinstance(doc.get("images"), dict):
        pins = tuple(ImagePin.from_doc(pin, f"/images/{_escape(name)}", container=name)
                     for name, pin in doc["images"].items() if isinstance(pin, dict))
        if pins:
            return pins
    return (ImagePin.from_doc(doc.get("image", {}), "/image",
                              build=BuildSpec.from_doc(doc.get("build"))),)


def _escape(name: str) -> str:
    return name.replace("~", "~0").replace("/", "~1")
