"""The image pin: immutable, and naming containers the task definition has.

Why: a rollback or a new instance must run exactly the image that was
released; `latest` or a movable tag runs whatever was pushed last.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import PurePath

from release.core import config
from release.core.findings import ERROR, WARNING, Finding, pointer_of
from release.core.rolling import containers
from release.core.rules.base import (
    Context,
    finding,
    hint,
    rule,
)


@rule("image-pin-mutable", ERROR, "the image pin is immutable: a sha256 digest, or a tag other "
      "than `latest` (a warning when the tag-only pin is in a repository with mutable tags)",
      "pin the digest (`release build` writes it), or an immutable tag")
def image_pin_mutable(ctx: Context) -> Iterator[Finding]:
    for view in ctx.services:
        pin = view.spec.image
        if pin.digest:
            continue
        if pin.tag == "latest":
            yield finding(
                "image-pin-mutable", view.rel, "/image/tag",
                "the image is pinned to `latest`, which moves with every push: a rollback "
                "or a new instance would run whatever was pushed last")
        elif view.env is not None and not view.env.doc.get("ecr", {}).get("tagImmutability"):
            yield finding("image-pin-mutable", view.rel, "/image",
                          f"the pin is the tag {pin.tag!r} without a digest, and the repository "
                          "allows moving tags", severity=WARNING,
                          fix="add the digest, or set ecr.tagImmutability true in environment.json")


@rule("image-container", ERROR, "the pin's container and the override containers exist in the "
      "task definition", "use a container name from the task definition")
def image_container(ctx: Context) -> Iterator[Finding]:
    for view in ctx.services:
        if view.taskdef is None:
            continue
        names = [c["name"] for c in containers(view.taskdef)]
        if view.spec.image.container and view.spec.image.container not in names:
            yield finding("image-container", view.rel, "/image/container",
                          f"container {view.spec.image.container!r} is not in {view.taskdef_rel}"
                          + hint(view.spec.image.container, names),
                          f"use one of: {', '.join(names)}")
        for name in view.spec.overrides.get("containers", {}):
            if name not in names:
                yield finding("image-container", view.rel,
                              pointer_of(["overrides", "containers", name]),
                              f"override for container {name!r}, which is not in "
                              f"{view.taskdef_rel}" + hint(name, names),
                              f"use one of: {', '.join(names)}")


@rule("image-build-context", ERROR, "a build context (`/build/context`, "
      "`/images/<container>/build/context`) is a folder inside the config repository: not an "
      "absolute path, no `..` out of it, no symbolic link leading out of it",
      "put the source in the config repository (a folder, or a git submodule) and name it "
      "relative to the repository's root")
def image_build_context(ctx: Context) -> Iterator[Finding]:
    for view in ctx.services:
        for pin in view.spec.images:
            if pin.build is None:
                continue
            context = pin.build.context
            if config.inside(ctx.loaded.root, context):
                continue
            how = ("through a symbolic link" if config.inside_as_written(context)
                   else "an absolute path" if PurePath(context).is_absolute() else "by `..`")
            yield finding("image-build-context", view.rel, f"{pin.pointer}/build/context"
                          if pin.pointer != "/image" else "/build/context",
                          f"the build context {context!r} leads outside the config repository "
                          f"({how}): `release build` would build another checkout's source and "
                          "tag it with that checkout's commit, which this repository's history "
                          "does not hold")


CHECKS = (image_pin_mutable, image_container, image_build_context)
