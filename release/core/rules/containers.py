"""Containers of a task definition: what ECS refuses or a container cannot start with.

Why: these mistakes pass the JSON Schema (each field alone is fine) but fail
at RegisterTaskDefinition or when the task starts: no essential container,
repeated names, references to containers or volumes that do not exist, log
drivers without their required options, impossible ulimits, no memory.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from release.core.findings import ERROR, Finding
from release.core.rolling import containers
from release.core.rules.base import (
    Context,
    finding,
    hint,
    rule,
)


@rule("container-essential", ERROR, "at least one container is essential (ECS requires one)",
      "set \"essential\": true on the main container (left out, it defaults to true)")
def container_essential(ctx: Context) -> Iterator[Finding]:
    for rel, taskdef in ctx.taskdef_items():
        items = containers(taskdef)
        if items and not any(c.get("essential", True) for c in items):
            yield finding("container-essential", rel, "/containerDefinitions",
                          "no container is essential: ECS rejects the task definition")


@rule("container-names-unique", ERROR, "container names are unique within a task definition",
      "rename one of the containers")
def container_names_unique(ctx: Context) -> Iterator[Finding]:
    for rel, taskdef in ctx.taskdef_items():
        seen: dict[str, int] = {}
        for index, container in enumerate(containers(taskdef)):
            name = container["name"]
            if name in seen:
                yield finding("container-names-unique", rel, f"/containerDefinitions/{index}/name",
                              f"container name {name!r} is also used by /containerDefinitions/"
                              f"{seen[name]}")
            else:
                seen[name] = index


@rule("container-references", ERROR, "links, dependsOn, volumesFrom and mountPoints name "
      "containers and volumes of the same task definition; dependsOn COMPLETE/SUCCESS is not on "
      "an essential container and HEALTHY waits for a container that has a healthCheck",
      "use a name from the task definition, or fix the condition")
def container_references(ctx: Context) -> Iterator[Finding]:
    for rel, taskdef in ctx.taskdef_items():
        items = containers(taskdef)
        by_name = {c["name"]: c for c in items}
        volumes = {v.get("name") for v in taskdef.get("volumes", [])}
        for ci, container in enumerate(items):
            here = f"/containerDefinitions/{ci}"
            others = [n for n in by_name if n != container["name"]]
            use_one = f"use one of: {', '.join(others) or 'none'}"
            for li, link in enumerate(container.get("links", [])):
                target = link.split(":", 1)[0]
                if target not in others:
                    yield finding("container-references", rel, f"{here}/links/{li}",
                                  f"link to {target!r}, which is not another container of this "
                                  "task" + hint(target, others), use_one)
            for di, dep in enumerate(container.get("dependsOn", [])):
                yield from _dependency_problems(rel, f"{here}/dependsOn/{di}", dep, by_name,
                                                others)
            for vi, source in enumerate(container.get("volumesFrom", [])):
                target = source.get("sourceContainer")
                if target not in others:
                    yield finding("container-references", rel,
                                  f"{here}/volumesFrom/{vi}/sourceContainer",
                                  f"volumes from {target!r}, which is not another container of "
                                  "this task", use_one)
            for mi, mount in enumerate(container.get("mountPoints", [])):
                if mount.get("sourceVolume") not in volumes:
                    yield finding("container-references", rel,
                                  f"{here}/mountPoints/{mi}/sourceVolume",
                                  f"mounts volume {mount.get('sourceVolume')!r}, which /volumes "
                                  "does not define", "add it to the task's volumes or fix the name")


def _dependency_problems(rel: str, pointer: str, dep: dict[str, Any],
                         by_name: dict[str, dict[str, Any]], others: list[str]
                         ) -> Iterator[Finding]:
    """A dependsOn entry names another container, and its condition can ever be met."""
    target, condition = dep["containerName"], dep["condition"]
    if target not in others:
        yield finding("container-references", rel, f"{pointer}/containerName",
                      f"depends on {target!r}, which is not another container of this task"
                      + hint(target, others), f"use one of: {', '.join(others) or 'none'}")
    elif condition in ("COMPLETE", "SUCCESS") and by_name[target].get("essential", True):
        yield finding("container-references", rel, f"{pointer}/condition",
                      f"condition {condition} waits for {target!r} to exit, but it is "
                      "essential: its exit stops the whole task",
                      f"set \"essential\": false on {target!r}, or use START or HEALTHY")
    elif condition == "HEALTHY" and "healthCheck" not in by_name[target]:
        yield finding("container-references", rel, f"{pointer}/condition",
                      f"condition HEALTHY waits for {target!r}'s health check, which it "
                      "does not have: the task never starts",
                      f"add a healthCheck to {target!r}, or use START")


# Options the log drivers cannot start without (ECS LogConfiguration reference; Docker's
# splunk driver documentation).
REQUIRED_LOG_OPTIONS = {"awslogs": ("awslogs-group", "awslogs-region"),
                        "splunk": ("splunk-token", "splunk-url")}


@rule("container-log-configuration", ERROR, "log drivers have their required options (awslogs: "
      "awslogs-group and awslogs-region; splunk: splunk-token and splunk-url) and awsfirelens "
      "has a container with firelensConfiguration", "add the options the message names")
def container_log_configuration(ctx: Context) -> Iterator[Finding]:
    for rel, taskdef in ctx.taskdef_items():
        items = containers(taskdef)
        for ci, container in enumerate(items):
            logs = container.get("logConfiguration")
            if not logs:
                continue
            here = f"/containerDefinitions/{ci}/logConfiguration"
            driver = logs["logDriver"]
            given = set(logs.get("options", {})) | {s["name"] for s in
                                                     logs.get("secretOptions", [])}
            missing = [o for o in REQUIRED_LOG_OPTIONS.get(driver, ()) if o not in given]
            if missing:
                yield finding("container-log-configuration", rel, f"{here}/options",
                              f"log driver {driver} needs {', '.join(missing)}: the container "
                              "cannot start without it",
                              "add " + ", ".join(f'"{o}": ...' for o in missing) + " to options")
            if driver == "awsfirelens" and not any("firelensConfiguration" in c for c in items):
                yield finding("container-log-configuration", rel, f"{here}/logDriver",
                              "log driver awsfirelens needs a log router container (one with "
                              "firelensConfiguration) in the task",
                              "add the FireLens log router container, or use awslogs")


@rule("container-limits", ERROR, "ulimits are named once with softLimit ≤ hardLimit, and a "
      "healthCheck command runs something (CMD or CMD-SHELL and a command)",
      "fix the limit or the health check command")
def container_limits(ctx: Context) -> Iterator[Finding]:
    for rel, taskdef in ctx.taskdef_items():
        for ci, container in enumerate(containers(taskdef)):
            here = f"/containerDefinitions/{ci}"
            named: set[str] = set()
            for ui, limit in enumerate(container.get("ulimits", [])):
                if limit["name"] in named:
                    yield finding("container-limits", rel, f"{here}/ulimits/{ui}/name",
                                  f"ulimit {limit['name']!r} is set twice", "keep one of them")
                named.add(limit["name"])
                if limit["softLimit"] > limit["hardLimit"]:
                    yield finding("container-limits", rel, f"{here}/ulimits/{ui}/softLimit",
                                  f"ulimit {limit['name']} softLimit {limit['softLimit']} is above "
                                  f"its hardLimit {limit['hardLimit']}: the container cannot start",
                                  "lower softLimit or raise hardLimit")
            command = container.get("healthCheck", {}).get("command")
            if command and command[0] in ("CMD", "CMD-SHELL") and not any(
                    part.strip() for part in command[1:]):
                yield finding("container-limits", rel, f"{here}/healthCheck/command",
                              f"the health check says {command[0]} but gives no command to run",
                              "e.g. [\"CMD-SHELL\", \"curl -f http://localhost/ || exit 1\"]")


@rule("container-memory", ERROR, "every container has memory or memoryReservation (or the task "
      "a memory size), and memoryReservation is not above memory",
      "set \"memory\" (hard limit, MiB) or \"memoryReservation\" (soft limit) on the container")
def container_memory(ctx: Context) -> Iterator[Finding]:
    for rel, taskdef in ctx.taskdef_items():
        for index, container in enumerate(containers(taskdef)):
            here = f"/containerDefinitions/{index}"
            if "memory" not in taskdef and not ({"memory", "memoryReservation"} & set(container)):
                yield finding(
                    "container-memory", rel, here,
                    f"container {container['name']!r} has neither memory nor "
                    "memoryReservation and the task has no memory size: ECS rejects it on "
                    "EC2")
            if ("memory" in container and "memoryReservation" in container
                    and container["memoryReservation"] > container["memory"]):
                yield finding(
                    "container-memory", rel, f"{here}/memoryReservation",
                    f"memoryReservation {container['memoryReservation']} MiB is above the "
                    f"hard limit memory {container['memory']} MiB",
                    "lower memoryReservation or raise memory")


CHECKS = (
    container_essential, container_names_unique, container_references,
    container_log_configuration, container_limits, container_memory,
)
