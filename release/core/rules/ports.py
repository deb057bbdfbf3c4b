"""Port mappings: they fit the network mode, and no static host port is bound twice.

Why: a classic ELB routes to one fixed instance port, so port mappings
decide whether a task can run at all (a host port bound twice never starts)
and whether ECS accepts the mapping in the task's networkMode.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from release.core.findings import ERROR, Finding
from release.core.rolling import containers, host_port
from release.core.rules.base import (
    Context,
    finding,
    rule,
)


@rule("container-network-mode", ERROR, "port mappings and links fit the task's networkMode: "
      "none has no port mappings, host and awsvpc map hostPort = containerPort, links need "
      "bridge, hostname is not allowed with awsvpc; a container maps each containerPort once",
      "change the mapping, or the networkMode")
def container_network_mode(ctx: Context) -> Iterator[Finding]:
    for rel, taskdef in ctx.taskdef_items():
        mode = taskdef.get("networkMode", "bridge")
        for ci, container in enumerate(containers(taskdef)):
            here = f"/containerDefinitions/{ci}"
            mappings = container.get("portMappings", [])
            if mode == "none" and mappings:
                yield finding("container-network-mode", rel, f"{here}/portMappings",
                              "networkMode none cannot have port mappings",
                              "remove the port mappings or use networkMode bridge")
            if mode != "bridge" and container.get("links"):
                yield finding(
                    "container-network-mode", rel, f"{here}/links",
                    f"links only work with networkMode bridge, not {mode!r}",
                    "remove links (containers reach each other on localhost) or use bridge")
            if mode == "awsvpc" and "hostname" in container:
                yield finding(
                    "container-network-mode", rel, f"{here}/hostname",
                    "hostname is not supported with networkMode awsvpc", "remove hostname")
            seen: dict[tuple[Any, str], int] = {}
            for mi, mapping in enumerate(mappings):
                if "containerPortRange" in mapping:
                    problem = _port_range_problem(mode, mapping)
                    if problem:
                        yield finding(
                            "container-network-mode", rel,
                            f"{here}/portMappings/{mi}/containerPortRange", problem,
                            "write FIRST-LAST with 1 ≤ FIRST < LAST ≤ 65535, no hostPort, "
                            "in networkMode bridge or awsvpc")
                port, proto = mapping.get("containerPort"), mapping.get("protocol", "tcp")
                if port is None:
                    continue
                if (port, proto) in seen:
                    yield finding("container-network-mode", rel, f"{here}/portMappings/{mi}",
                                  f"containerPort {port}/{proto} is already mapped by "
                                  f"{here}/portMappings/{seen[port, proto]}",
                                  "map each container port once")
                seen[port, proto] = mi
                if (mode in ("host", "awsvpc") and mapping.get("hostPort") not in (None, port)):
                    yield finding("container-network-mode", rel,
                                  f"{here}/portMappings/{mi}/hostPort",
                                  f"with networkMode {mode} the host port is the container port "
                                  f"{port}, not {mapping['hostPort']}",
                                  f"remove hostPort or set it to {port}")


def _port_range_problem(mode: str, mapping: dict[str, Any]) -> str | None:
    """What ContainerDefinition's containerPortRange rules a mapping breaks, if any."""
    first, _, last = mapping["containerPortRange"].partition("-")
    if not 1 <= int(first) < int(last) <= 65535:
        return (f"containerPortRange {mapping['containerPortRange']!r} must run from a lower to "
                "a higher port within 1-65535")
    if "hostPort" in mapping:
        return "a containerPortRange takes no hostPort (ECS chooses the host ports)"
    if mode not in ("bridge", "awsvpc"):
        return f"containerPortRange needs networkMode bridge or awsvpc, not {mode!r}"
    return None


@rule("host-ports-unique", ERROR, "no two port mappings of a task bind the same static host port",
      "give each mapping its own hostPort (a classic ELB needs one fixed instance port)")
def host_ports_unique(ctx: Context) -> Iterator[Finding]:
    for rel, taskdef in ctx.taskdef_items():
        seen: dict[tuple[int, str], str] = {}
        for ci, container in enumerate(containers(taskdef)):
            for mi, mapping in enumerate(container.get("portMappings", [])):
                port = host_port(taskdef, mapping)
                if not port:
                    continue
                key = (port, mapping.get("protocol", "tcp"))
                here = f"/containerDefinitions/{ci}/portMappings/{mi}/hostPort"
                if key in seen:
                    yield finding("host-ports-unique", rel, here,
                                  f"host port {port}/{key[1]} is already bound by {seen[key]}")
                else:
                    seen[key] = here


CHECKS = (container_network_mode, host_ports_unique)
