"""Task definition files: found, named like the service says, images pinned, used, small enough,
tagged without taking the release record's tags.

Why: the release fills in the images of the containers a service pins and
registers the file under its family; a missing file or a family mismatch would
register something other than what the service spec describes. A container no
service pins (a third-party sidecar) keeps the image its task definition names,
so that image must not move under a rollback (a digest); a container that gets
no image at all is refused by ECS, as is a task definition over 64 KiB. The
file's tags are registered beside the release record's (`release:` keys,
core/records.py) on the same revision.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

from release.core import config, records, render
from release.core.findings import ERROR, WARNING, Finding
from release.core.rolling import containers
from release.core.rules.base import (
    Context,
    ServiceView,
    finding,
    rule,
)


@rule("taskdef-file", ERROR, "the service's taskDefinition.file exists under taskdefs/",
      "create the file or correct the path (repository-relative, e.g. taskdefs/app.json)")
def taskdef_file(ctx: Context) -> Iterator[Finding]:
    for view in ctx.services:
        if view.spec.revision is None and view.taskdef_rel not in ctx.loaded.present:
            known = ", ".join(sorted(ctx.loaded.present & set(ctx.loaded.taskdefs)))
            yield finding("taskdef-file", view.rel, "/taskDefinition/file",
                          f"task definition file {view.taskdef_rel!r} does not exist",
                          f"create it or use one of: {known or 'no task definitions yet'}")


@rule("taskdef-family", ERROR, "the service's taskDefinition.family equals the file's family",
      "make both families the same (the family is the name revisions register under)")
def taskdef_family(ctx: Context) -> Iterator[Finding]:
    for view in ctx.services:
        if view.taskdef is not None and view.taskdef["family"] != view.spec.family:
            yield finding("taskdef-family", view.rel, "/taskDefinition/family",
                          f"family {view.spec.family!r} does not match {view.taskdef_rel}'s family "
                          f"{view.taskdef['family']!r}",
                          f"set /taskDefinition/family to {view.taskdef['family']!r}")


# A digest pin: `<name>[:<tag>]@sha256:<64 hex>`; what ECS runs then cannot change.
DIGEST_PINNED = re.compile(r"@sha256:[0-9a-f]{64}$")


def image_tag(image: str) -> str | None:
    """The tag of an image reference without a digest (None: no tag, i.e. Docker's `latest`)."""
    name = image.split("@", 1)[0]
    last = name.rsplit("/", 1)[-1]
    return last.rsplit(":", 1)[1] if ":" in last else None


def pinned_names(view: ServiceView) -> set[str]:
    """The containers a service fills with its own pins (render's `pinned_container`)."""
    assert view.taskdef is not None
    td = config.TaskDefinition(view.taskdef_rel, view.taskdef)
    if not td.containers:
        return set()
    return {render.pinned_container(view.spec, pin, td) for pin in view.spec.images}


def _users(ctx: Context) -> dict[str, list[tuple[ServiceView, set[str]]]]:
    """Each task definition file's services, with the containers each one pins."""
    users: dict[str, list[tuple[ServiceView, set[str]]]] = {}
    for view in ctx.services:
        if view.taskdef is not None:
            users.setdefault(view.taskdef_rel, []).append((view, pinned_names(view)))
    return users


@rule("taskdef-image", ERROR, "a container no service pins (a third-party sidecar) names its "
      "image by digest (`name[:tag]@sha256:…`): a tag alone is a warning (it can move), "
      "`latest` or no tag an error", "pin the image's digest in the task definition "
      "(`name:tag@sha256:…`); an image the team builds is pinned under the service's /images")
def taskdef_image(ctx: Context) -> Iterator[Finding]:
    users = _users(ctx)
    for rel, taskdef in ctx.taskdef_items():
        for index, container in enumerate(containers(taskdef)):
            image = container.get("image")
            if image is None or DIGEST_PINNED.search(image):
                continue
            services = users.get(rel, [])
            if services and all(container["name"] in pinned for _, pinned in services):
                continue  # every service replaces it: taskdef-image-pinned says so
            tag = image_tag(image)
            pointer = f"/containerDefinitions/{index}/image"
            fix = (f"pin its digest: `{image.split('@', 1)[0]}@sha256:<digest>` (`docker "
                   "buildx imagetools inspect` prints it); if the team builds this container, "
                   f"pin it under the service's /images/{container['name']} instead")
            if tag is None or tag == "latest":
                said = "`latest`" if tag else "no tag, i.e. `latest`"
                yield finding("taskdef-image", rel, pointer,
                              f"container {container['name']!r} runs {image!r} with {said}, "
                              "which moves with every push: a new task or a rollback would run "
                              "whatever was pushed last", fix)
            else:
                yield finding("taskdef-image", rel, pointer,
                              f"container {container['name']!r} runs {image!r} by tag: the tag "
                              "can be moved to another image under you", fix, severity=WARNING)


@rule("taskdef-image-pinned", WARNING, "a container a service pins does not also name an image "
      "in the task definition (the pin replaces it)",
      "remove `image` from the task definition; the service's pin decides the image")
def taskdef_image_pinned(ctx: Context) -> Iterator[Finding]:
    users = _users(ctx)
    for rel, taskdef in ctx.taskdef_items():
        for index, container in enumerate(containers(taskdef)):
            if "image" not in container:
                continue
            pinning = sorted(v.rel for v, pinned in users.get(rel, [])
                             if container["name"] in pinned)
            if pinning:
                yield finding("taskdef-image-pinned", rel, f"/containerDefinitions/{index}/image",
                              f"container {container['name']!r} names {container['image']!r}, "
                              f"but {', '.join(pinning)} pin{'s' if len(pinning) == 1 else ''} "
                              "this container: the pin replaces it")


@rule("taskdef-image-missing", ERROR, "every container of a service's task definition gets an "
      "image: the service pins it, or the task definition names one",
      "pin the container under the service's /images/<container> (an image the team builds) "
      "or name a digest-pinned image in the task definition (a third-party sidecar)")
def taskdef_image_missing(ctx: Context) -> Iterator[Finding]:
    for rel, services in _users(ctx).items():
        taskdef = ctx.loaded.taskdefs[rel]
        for container in containers(taskdef):
            if "image" in container:
                continue
            for view, pinned in services:
                if container["name"] not in pinned:
                    where = "/images" if "images" in view.doc else "/image"
                    # ECS refuses the registration: "Container.image should not be null or empty."
                    yield finding(
                        "taskdef-image-missing", view.rel, where,
                        f"container {container['name']!r} of {rel} gets no image: the task "
                        "definition names none and this service does not pin it, so ECS refuses "
                        "the task definition (Container.image should not be null or empty)",
                        f"pin it under /images/{container['name']} (an image the team builds) "
                        f"or name a digest-pinned image for it in {rel} (a third-party sidecar)")


@rule("taskdef-unused", WARNING, "every task definition is used by some service",
      "delete the file or point a service at it")
def taskdef_unused(ctx: Context) -> Iterator[Finding]:
    if ctx.loaded.filtered:
        return
    for rel in ctx.loaded.taskdefs:
        if rel not in ctx.loaded.referenced:
            yield finding("taskdef-unused", rel, "", "no service uses this task definition")


# Amazon ECS service quotas: "Task definition size: 64 KiB" (the registered JSON).
MAX_TASKDEF_BYTES = 64 * 1024


def json_size(doc: Any) -> int:
    """Bytes of the compact UTF-8 JSON the API receives (the ASCII form is exact when nothing
    needed a \\u escape, and is the faster one to make)."""
    escaped = json.dumps(doc, separators=(",", ":"))
    if "\\u" not in escaped:
        return len(escaped)
    return len(json.dumps(doc, separators=(",", ":"), ensure_ascii=False).encode("utf-8"))


@rule("taskdef-size", ERROR, "the rendered register-task-definition input (task definition + "
      "overrides + image) is at most 64 KiB, ECS's limit for a task definition",
      "move large values (long commands, many environment variables) into an environment "
      "file, SSM parameters or the image")
def taskdef_size(ctx: Context) -> Iterator[Finding]:
    sizes: dict[str, int] = {}
    for rel, taskdef in ctx.taskdef_items():
        sizes[rel] = json_size({k: v for k, v in taskdef.items() if not k.startswith("$")})
        if sizes[rel] > MAX_TASKDEF_BYTES:
            yield finding(
                "taskdef-size", rel, "", f"the task definition is {sizes[rel]:,} bytes as "
                f"JSON; ECS registers at most {MAX_TASKDEF_BYTES:,} (64 KiB)")
    for view in ctx.services:
        size = sizes.get(view.taskdef_rel)
        if view.taskdef is None or view.env is None or size is None or size > MAX_TASKDEF_BYTES:
            continue
        # Rendering adds at most the overrides and an image reference: render only when close.
        if size + 2 * json_size(view.spec.overrides) + 1024 <= MAX_TASKDEF_BYTES:
            continue
        rendered = json_size(render.render_taskdef(view.env, view.spec, config.TaskDefinition(
            view.taskdef_rel, view.taskdef)))
        if rendered > MAX_TASKDEF_BYTES:
            yield finding(
                "taskdef-size", view.rel, "/overrides",
                f"with this service's overrides and image, {view.taskdef_rel} renders to "
                f"{rendered:,} bytes; ECS registers at most {MAX_TASKDEF_BYTES:,} (64 KiB)")


# RegisterTaskDefinition, tags: "Maximum number of tags per resource - 50", "each tag key must
# be unique, and each tag key can have only one value". The release record takes up to
# RECORD_TAG_COUNT of them on the same revision.
MAX_TAGS = 50
FILE_TAGS = MAX_TAGS - records.RECORD_TAG_COUNT


@rule("taskdef-tags", ERROR, "the task definition's tags leave the release record its own: no "
      f"`{records.PREFIX}` key, each key once, at most {FILE_TAGS} tags (ECS allows {MAX_TAGS} "
      f"on a revision; the release record takes up to {records.RECORD_TAG_COUNT})",
      f"rename the tag without the `{records.PREFIX}` prefix (a release writes those keys)")
def taskdef_tags(ctx: Context) -> Iterator[Finding]:
    for rel, taskdef in ctx.taskdef_items():
        tags = taskdef.get("tags") or []
        first: dict[str, int] = {}
        for index, tag in enumerate(tags):
            key = str(tag.get("key", ""))
            if key.startswith(records.PREFIX):
                yield finding("taskdef-tags", rel, f"/tags/{index}/key",
                              f"tag {key!r} is one of the release record's keys "
                              f"(`{records.PREFIX}`…): a release writes them on the revision "
                              "it registers and would overwrite this one",
                              f"rename it, e.g. {key[len(records.PREFIX):] or 'team'!r}")
            elif key in first:
                yield finding("taskdef-tags", rel, f"/tags/{index}/key",
                              f"tag {key!r} is written twice (first at /tags/{first[key]}); "
                              "ECS keeps one value per key",
                              f"keep one of the two {key!r} tags")
            first.setdefault(key, index)
        if len(tags) > FILE_TAGS:
            yield finding("taskdef-tags", rel, f"/tags/{FILE_TAGS}",
                          f"{len(tags)} tags: with the release record's up to "
                          f"{records.RECORD_TAG_COUNT}, the revision could need more than the "
                          f"{MAX_TAGS} ECS allows",
                          f"keep at most {FILE_TAGS} tags in the file")


CHECKS = (taskdef_file, taskdef_family, taskdef_image, taskdef_image_pinned,
          taskdef_image_missing, taskdef_unused, taskdef_size, taskdef_tags)
