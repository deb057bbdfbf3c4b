"""The image pins (`/image`, or one per built container under `/images`): immutable, and
naming containers the task definition has.

Why: a rollback or a new instance must run exactly the image that was
released; `latest` or a movable tag runs whatever was pushed last.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import PurePath

from release.core import documents
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


@rule("image-build-context", ERROR, "a build context (`/build/context`, "
      "`/images/<container>/build/context`) is a folder inside the config repository, and its "
      "`dockerfile` a file inside it: not an absolute path, no `..` out of it, no symbolic link "
      "leading out of it", "put the source in the config repository (a folder, or a git "
      "submodule) and name it relative to the repository's root")
def image_build_context(ctx: Context) -> Iterator[Finding]:
    for view in ctx.services:
        for pin in view.spec.images:
            if pin.build is None:
                continue
            base = pin.pointer + "/build" if pin.pointer != "/image" else "/build"
            context, dockerfile = pin.build.context, pin.build.dockerfile
            for member, path in (("context", context),
                                 ("dockerfile", os.path.join(context, dockerfile or "."))):
                if documents.inside(ctx.loaded.root, path):
                    continue
                how = ("through a symbolic link" if documents.inside_as_written(path)
                       else "an absolute path" if PurePath(path).is_absolute() else "by `..`")
                yield finding("image-build-context", view.rel, f"{base}/{member}",
                              f"the build {member} {getattr(pin.build, member)!r} leads outside "
                              f"the config repository ({how}): `release build` would build "
                              "another checkout's source and tag it with that checkout's "
                              "commit, which this repository's history does not hold")
                break  # a context outside: its Dockerfile is, too


CHECKS = (image_pin_mutable, image_container, image_build_context)
