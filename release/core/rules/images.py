"""The image pins (`/image`, or one per built container under `/images`): immutable, and
naming containers the task definition has.

Why: a rollback or a new instance must run exactly the image that was
released; `latest` or a movable tag runs whatever was pushed last.
"""

from __future__ import annotations

from collections.abc import Iterator

from release.core.findings import ERROR, WARNING, Finding, pointer_of
from release.core.rolling import containers
from release.core.rules.base import (
    Context,
    finding,
    hint,
    rule,
)


@rule("image-pin-mutable", ERROR, "every image pin is immutable: a sha256 digest, or a tag "
      "other than `latest` (a warning when a tag-only pin is in a repository with mutable tags)",
      "pin the digest (`release build` writes it), or an immutable tag")
def image_pin_mutable(ctx: Context) -> Iterator[Finding]:
    for view in ctx.services:
        for pin in view.spec.images:
            if pin.digest:
                continue
            whose = f"container {pin.container!r}'s image" if pin.pointer != "/image" \
                else "the image"
            if pin.tag == "latest":
                yield finding(
                    "image-pin-mutable", view.rel, f"{pin.pointer}/tag",
                    f"{whose} is pinned to `latest`, which moves with every push: a rollback "
                    "or a new instance would run whatever was pushed last")
            elif view.env is not None and not view.env.doc.get("ecr", {}).get(
                    "tagImmutability"):
                yield finding("image-pin-mutable", view.rel, pin.pointer,
                              f"the pin of {whose} is the tag {pin.tag!r} without a digest, and "
                              "the repository allows moving tags", severity=WARNING,
                              fix="add the digest, or set ecr.tagImmutability true in "
                                  "environment.json")


@rule("image-container", ERROR, "each pin's container and the override containers exist in the "
      "task definition", "use a container name from the task definition")
def image_container(ctx: Context) -> Iterator[Finding]:
    for view in ctx.services:
        if view.taskdef is None:
            continue
        names = [c["name"] for c in containers(view.taskdef)]
        for pin in view.spec.images:
            if pin.container and pin.container not in names:
                pointer = "/image/container" if pin.pointer == "/image" else pin.pointer
                yield finding("image-container", view.rel, pointer,
                              f"container {pin.container!r} is not in {view.taskdef_rel}"
                              + hint(pin.container, names),
                              f"use one of: {', '.join(names)}")
        for name in view.spec.overrides.get("containers", {}):
            if name not in names:
                yield finding("image-container", view.rel,
                              pointer_of(["overrides", "containers", name]),
                              f"override for container {name!r}, which is not in "
                              f"{view.taskdef_rel}" + hint(name, names),
                              f"use one of: {', '.join(names)}")


CHECKS = (image_pin_mutable, image_container)
