"""awsvpc and Fargate: a task with its own network interface has its subnets, and runs.

Why: a Fargate task without awsvpc, or with a CPU/memory pair Fargate does not offer,
fails at CreateService or RegisterTaskDefinition; an awsvpc task's network interface
needs the service's subnets (CreateService's networkConfiguration).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from release.core.findings import ERROR, Finding
from release.core.rolling import parse_cpu, parse_memory
from release.core.rules.base import Context, ServiceView, effective_taskdef, finding, rule

# Valid task-level CPU units → memory (MiB) on Fargate. ECS developer guide, "Troubleshoot
# Amazon ECS task definition invalid CPU or memory errors": "For task definitions that specify
# FARGATE for the requiresCompatibilities parameter (even if EC2 is also specified), you must
# use one of the values in the following table": 256 (.25 vCPU) with 512, 1024 or 2048; 512
# with 1024 to 4096; 1024 with 2048 to 8192; 2048 with 4096 to 16384; 4096 with 8192 to 30720,
# each in 1024 increments; 8192 with 16 GB to 60 GB in 4 GB increments and 16384 with 32 GB to
# 120 GB in 8 GB increments ("This option requires Linux platform 1.4.0 or later").
FARGATE_SIZES: dict[int, tuple[int, ...]] = {
    256: (512, 1024, 2048),
    512: tuple(range(1024, 4097, 1024)),
    1024: tuple(range(2048, 8193, 1024)),
    2048: tuple(range(4096, 16385, 1024)),
    4096: tuple(range(8192, 30721, 1024)),
    8192: tuple(range(16384, 61441, 4096)),
    16384: tuple(range(32768, 122881, 8192)),
}


def on_fargate(view: ServiceView, taskdef: dict[str, Any]) -> bool:
    """The service launches on Fargate (launchType, or a FARGATE capacity provider), or the
    task definition asks for FARGATE compatibility."""
    service = view.spec.service
    providers = [p.get("capacityProvider", "") for p in
                 service.get("capacityProviderStrategy") or []]
    return (service.get("launchType") == "FARGATE"
            or any(str(p).startswith("FARGATE") for p in providers)
            or "FARGATE" in (taskdef.get("requiresCompatibilities") or []))


@rule("awsvpc-network-configuration", ERROR, "a service whose task definition uses networkMode "
      "awsvpc has networkConfiguration.awsvpcConfiguration (its subnets)",
      "add \"networkConfiguration\": {\"awsvpcConfiguration\": {\"subnets\": [...], "
      "\"securityGroups\": [...]}} to the service")
def awsvpc_network_configuration(ctx: Context) -> Iterator[Finding]:
    for view in ctx.services:
        if view.taskdef is None or view.taskdef.get("networkMode") != "awsvpc":
            continue
        if not (view.spec.service.get("networkConfiguration") or {}).get("awsvpcConfiguration"):
            yield finding("awsvpc-network-configuration", view.rel, "/service",
                          f"{view.taskdef_rel} uses networkMode awsvpc: each task gets its own "
                          "network interface, and CreateService needs its subnets")


@rule("fargate-network-mode", ERROR, "a Fargate service's task definition uses networkMode "
      "awsvpc (the only mode Fargate supports)", "set \"networkMode\": \"awsvpc\"")
def fargate_network_mode(ctx: Context) -> Iterator[Finding]:
    for view in ctx.services:
        if view.taskdef is None or not on_fargate(view, view.taskdef):
            continue
        mode = view.taskdef.get("networkMode", "bridge")
        if mode != "awsvpc":
            yield finding("fargate-network-mode", view.taskdef_rel, "/networkMode",
                          f"{view.rel} runs on Fargate, which supports only networkMode awsvpc, "
                          f"not {mode!r}")


@rule("fargate-task-size", ERROR, "a Fargate task definition sets task-level cpu and memory to "
      "one of the pairs Fargate offers (256 with 512-2048 MiB, 512 with 1024-4096, 1024 with "
      "2048-8192, 2048 with 4096-16384, 4096 with 8192-30720, ...)",
      "set task-level \"cpu\" and \"memory\" to a valid Fargate pair")
def fargate_task_size(ctx: Context) -> Iterator[Finding]:
    for view in ctx.services:
        if view.taskdef is None or not on_fargate(view, view.taskdef):
            continue
        taskdef = effective_taskdef(view)
        cpu = parse_cpu(taskdef["cpu"]) if "cpu" in taskdef else None
        memory = parse_memory(taskdef["memory"]) if "memory" in taskdef else None
        if cpu is None or memory is None:
            missing = " and ".join(w for w, v in (("cpu", cpu), ("memory", memory)) if v is None)
            yield finding("fargate-task-size", view.taskdef_rel, "",
                          f"{view.rel} runs on Fargate, which needs task-level {missing}",
                          "add e.g. \"cpu\": \"256\", \"memory\": \"512\" at the top level")
        elif memory not in FARGATE_SIZES.get(cpu, ()):
            offered = FARGATE_SIZES.get(cpu)
            choices = (f"with cpu {cpu}: memory {offered[0]} to {offered[-1]} MiB"
                       + (f" in steps of {offered[1] - offered[0]}" if len(offered) > 3 else
                          f" ({', '.join(map(str, offered))})") if offered else
                       f"cpu must be one of {', '.join(map(str, FARGATE_SIZES))}")
            yield finding("fargate-task-size", view.taskdef_rel, "/memory" if offered else "/cpu",
                          f"cpu {cpu} with memory {memory} MiB is not a Fargate task size "
                          f"({view.rel} runs on Fargate): {choices}")


CHECKS = (awsvpc_network_configuration, fargate_network_mode, fargate_task_size)
