"""CPU and memory: containers fit their task, the task size is in range, a task fits an instance.

Why: ECS accepts a task definition whose task cannot be placed on any of the
environment's instances; the release would then wait for "unable to place a
task" until its budget ran out. Instance sizes come from release/core/rolling.py.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from release.core import rolling
from release.core.findings import ERROR, WARNING, Finding
from release.core.rolling import containers, parse_cpu, parse_memory, task_size
from release.core.rules.base import (
    Context,
    finding,
    rule,
    with_taskdef,
)


@rule("resources-task-size", ERROR, "containers' cpu and memory fit inside the task's cpu and "
      "memory", "raise the task size or lower the containers' cpu/memory")
def resources_task_size(ctx: Context) -> Iterator[Finding]:
    def check(rel: str, pointer_base: str, taskdef: dict[str, Any]) -> Iterator[Finding]:
        task_cpu = parse_cpu(taskdef["cpu"]) if "cpu" in taskdef else None
        task_mem = parse_memory(taskdef["memory"]) if "memory" in taskdef else None
        items = containers(taskdef)
        total_cpu = sum(int(c.get("cpu", 0)) for c in items)
        if task_cpu is not None and total_cpu > task_cpu:
            yield finding("resources-task-size", rel, f"{pointer_base}/cpu",
                          f"containers reserve {total_cpu} CPU units, more than the task's "
                          f"{task_cpu}")
        if task_mem is not None:
            for index, container in enumerate(items):
                for key in ("memory", "memoryReservation"):
                    if key in container and container[key] > task_mem:
                        yield finding("resources-task-size", rel,
                                      f"/containerDefinitions/{index}/{key}",
                                      f"container {container['name']!r} {key} {container[key]} MiB "
                                      f"is more than the task's memory {task_mem} MiB")

    own: dict[str, set[str]] = {}
    for rel, taskdef in ctx.taskdef_items():
        found = list(check(rel, "", taskdef))
        own[rel] = {f.message for f in found}
        yield from found
    for view, taskdef in with_taskdef(ctx):
        if view.spec.overrides:
            for problem in check(view.taskdef_rel, "", taskdef):
                if problem.message not in own.get(view.taskdef_rel, set()):
                    yield finding("resources-task-size", view.rel, "/overrides",
                                  f"with this service's overrides: {problem.message}")


# RegisterTaskDefinition: "Supported values are between 128 CPU units (0.125 vCPUs) and
# 196608 CPU units (192 vCPUs)."
TASK_CPU_RANGE = (128, 196608)


@rule("resources-task-cpu", ERROR, "a task-level cpu (in the task definition or an override) is "
      "128 to 196608 CPU units (0.125 to 192 vCPU)", "use e.g. \"256\", \"1024\" or \"2 vCPU\"")
def resources_task_cpu(ctx: Context) -> Iterator[Finding]:
    low, high = TASK_CPU_RANGE
    for rel, taskdef in ctx.taskdef_items():
        units = parse_cpu(taskdef["cpu"]) if "cpu" in taskdef else None
        if units is not None and not low <= units <= high:
            yield finding("resources-task-cpu", rel, "/cpu",
                          f"task cpu {taskdef['cpu']!r} is {units} CPU units, outside {low}-{high}")
    for view in ctx.services:
        if "cpu" in view.spec.overrides:
            units = parse_cpu(view.spec.overrides["cpu"])
            if units is not None and not low <= units <= high:
                yield finding("resources-task-cpu", view.rel, "/overrides/cpu",
                              f"cpu override {view.spec.overrides['cpu']!r} is {units} CPU units, "
                              f"outside {low}-{high}")


@rule("resources-instance", ERROR, "one task fits on one container instance of the "
      "environment's instance type (CPU units and MiB)",
      "lower the task's cpu/memory or use a larger instance type in environment.json /instances")
def resources_instance(ctx: Context) -> Iterator[Finding]:
    for view, taskdef in with_taskdef(ctx):
        if view.env is None or not rolling.on_instances(taskdef,
                                                         view.spec.service.get("launchType")):
            continue
        size = rolling.instance_resources(view.env.instance_type)
        if size is None:
            yield finding("resources-instance", view.env_rel or view.rel, "/instances/type",
                          f"instance type {view.env.instance_type!r} is not in the tool's table: "
                          "cpu/memory fit is not checked",
                          "use a listed type or check the fit by hand", severity=WARNING)
            continue
        cpu, memory = task_size(taskdef)
        units, mib = size
        for key, needed, has, unit in (("cpu", cpu, units, "CPU units"),
                                       ("memory", memory, mib, "MiB")):
            if needed <= has:
                continue
            if key in view.spec.overrides:
                where, pointer = view.rel, f"/overrides/{key}"
            else:
                where = view.taskdef_rel
                pointer = f"/{key}" if key in view.taskdef else "/containerDefinitions"
            yield finding("resources-instance", where, pointer,
                          f"a task needs {needed} {unit} but a {view.env.instance_type} has {has}"
                          + (" registered with ECS" if key == "memory" else "")
                          + f" (environment {view.env_name})")


CHECKS = (resources_task_size, resources_task_cpu, resources_instance)
