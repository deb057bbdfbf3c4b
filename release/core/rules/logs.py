"""Logs: release can find each task's container lines, and bootstrap can create their group.

Why: the wait prints a failing task's last lines and `release logs` shows them on demand,
both from the awslogs stream `prefix/container/task-id` (core/awslogs.py); without
awslogs-stream-prefix the stream is named by Docker container ID, which no ECS API reports.
Bootstrap creates the groups in the environment's region only.
"""

from __future__ import annotations

from collections.abc import Iterator

from release.core.findings import WARNING, Finding
from release.core.rolling import containers
from release.core.rules.base import Context, finding, rule, with_taskdef


@rule("logs-stream-prefix", WARNING, "an awslogs container sets awslogs-stream-prefix, so its "
      "streams are named by task (prefix/container/task-id)",
      "add \"awslogs-stream-prefix\": \"ecs\" to the options")
def logs_stream_prefix(ctx: Context) -> Iterator[Finding]:
    for rel, taskdef in ctx.taskdef_items():
        for index, container in enumerate(containers(taskdef)):
            config = container.get("logConfiguration") or {}
            if config.get("logDriver") == "awslogs" and not (config.get("options") or {}).get(
                    "awslogs-stream-prefix"):
                yield finding("logs-stream-prefix", rel,
                              f"/containerDefinitions/{index}/logConfiguration/options",
                              f"container {container.get('name')} logs with awslogs without "
                              "awslogs-stream-prefix: its streams are named by Docker "
                              "container ID, so release cannot show a failing task's lines")


@rule("logs-region", WARNING, "awslogs-region is the region of each environment that uses the "
      "task definition", "set awslogs-region to the environment's region")
def logs_region(ctx: Context) -> Iterator[Finding]:
    elsewhere: dict[tuple[str, int], tuple[str, str, list[str]]] = {}
    for view, taskdef in with_taskdef(ctx):
        for index, container in enumerate(containers(taskdef)):
            config = container.get("logConfiguration") or {}
            region = (config.get("options") or {}).get("awslogs-region")
            if (view.env is not None and config.get("logDriver") == "awslogs" and region
                    and region != view.env.region):
                key = (view.taskdef_rel, index)
                name, _, envs = elsewhere.setdefault(key, (container.get("name", ""), region, []))
                envs.append(f"{view.env_name} ({view.env.region})")
    for (rel, index), (name, region, envs) in elsewhere.items():  # once per container
        yield finding("logs-region", rel,
                      f"/containerDefinitions/{index}/logConfiguration/options/awslogs-region",
                      f"container {name} logs to {region}, but environment(s) "
                      f"{', '.join(sorted(set(envs)))} are elsewhere: bootstrap creates a log "
                      "group only in its environment's region",
                      f"set awslogs-region to the environment's region, or create the group in "
                      f"{region} yourself")


CHECKS = (logs_stream_prefix, logs_region)
