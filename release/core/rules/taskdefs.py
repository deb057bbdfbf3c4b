"""Task definition files: found, named like the service says, image-free, used, small enough,
tagged without taking the release record's tags.

Why: the release fills in the image and registers the file under its family;
a missing file, a family mismatch or an image written in the file would
register something other than what the service spec describes, and ECS
refuses a task definition over 64 KiB. The file's tags are registered beside
the release record's (`release:` keys, core/records.py) on the same revision.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from release.core import config, records
from release.core.findings import ERROR, WARNING, Finding
from release.core.render import render_taskdef
from release.core.rolling import containers
from release.core.rules.base import (
    Context,
    finding,
    rule,
)


@rule("taskdef-file", ERROR, "the service's taskDefinition.file exists under taskdefs/",
      "create the file or correct the path (repository-relative, e.g. taskdefs/app.json)")
def taskdef_file(ctx: Context) -> Iterator[Finding]:
    for view in ctx.services:
        if view.taskdef_rel not in ctx.loaded.present:
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


@rule("taskdef-image", ERROR, "task definitions do not name an image (the release fills it "
      "in from the service's pin)", "remove `image`; pin the image in the service spec's /image")
def taskdef_image(ctx: Context) -> Iterator[Finding]:
    for rel, taskdef in ctx.taskdef_items():
        for index, container in enumerate(containers(taskdef)):
            if "image" in container:
                yield finding("taskdef-image", rel, f"/containerDefinitions/{index}/image",
                              f"container {container['name']!r} names an image; the release "
                              "fills images in from each environment's pin",
                              "remove `image` here and pin it in "
                              "environments/<env>/services/<name>.json under /image "
                              "(tag and/or sha256 digest)")


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
        rendered = json_size(render_taskdef(view.env, view.spec, config.TaskDefinition(
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


CHECKS = (taskdef_file, taskdef_family, taskdef_image, taskdef_unused, taskdef_size,
          taskdef_tags)
