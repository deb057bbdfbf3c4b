"""One-off tasks (`release run`, `release.beforeDeploy`): the run variant and RunTask's refusals.

The run variant. A service whose containers bind a static host port (bridge `hostPort`,
or any mapping in host mode) holds that port on every instance one of its tasks runs on.
ECS places a task only on an instance where none of its static host ports is in use ("How
Amazon ECS places tasks on container instances"), so with one task per instance — the
seed's two instances and two tasks — a one-off task of the service's own revision fits
nowhere: RunTask answers `RESOURCE:PORTS` for each instance. A one-off task serves no
traffic, so it runs in a variant: the revision as registered, without the port mappings
that bind a static host port, in a family of its own, `<family>-run`.

Why a family of its own: the service's family is what the tool reads as the service's
history (release records, `release history`, rollback targets, `--revision N`), and the
revision the deploy compares with is the service's live one. A variant registered in the
family would become "the newest revision" there; in `<family>-run` it never can, no rollback
resolves to it (rollback takes only revisions of the service's family), and ListTaskDefinitions
of the family does not list it ("familyPrefix: The full family name to filter the
ListTaskDefinitions results with", ECS API reference).

Registered once, reused while unchanged: the variant carries the tag
`release-run:content` = the SHA-256 of exactly what it registers (its RegisterTaskDefinition
input, tags aside) and `release-run:variant-of` = the revision it was made from; the engine
reuses a revision of the variant family whose content tag equals the one it would register.
The `release-run:` prefix is not the release records' `release:`: a variant holds no record.

RunTask's refusals. RunTask answers `failures` ([{arn, reason, detail}], API reference,
Failure) when it starts no task; the reasons are those of "API failure reasons" (ECS
developer guide) for RunTask and StartTask. `refusal` turns them into one message and one
fix each.
"""

from __future__ import annotations

import copy
import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from release.core import ecs_model, rolling
from release.core.deployments import short

VARIANT_SUFFIX = "-run"
TAG_VARIANT_OF = "release-run:variant-of"
TAG_CONTENT = "release-run:content"
MAX_FAMILY = 255  # RegisterTaskDefinition family: "Up to 255 letters ..., numbers, hyphens ..."


# ----------------------------------------------------------------------------- the run variant


def static_ports(taskdef: dict[str, Any]) -> list[int]:
    """The instance ports the revision's tasks bind (none: a one-off task of it places as is)."""
    return sorted({port for c in rolling.containers(taskdef)
                   for m in c.get("portMappings") or []
                   if (port := rolling.host_port(taskdef, m))})


def variant_family(family: str) -> str:
    return family + VARIANT_SUFFIX


@dataclass(frozen=True)
class Variant:
    """What the engine registers (or finds) for a one-off task of `source`."""

    source: str  # family:revision it was made from
    family: str
    ports: list[int]  # the static host ports it leaves out
    register: dict[str, Any]  # RegisterTaskDefinition input, tags aside
    content: str  # sha256:<hex> of `register`

    @property
    def tags(self) -> list[dict[str, str]]:
        return [{"key": TAG_VARIANT_OF, "value": self.source},
                {"key": TAG_CONTENT, "value": self.content}]


def content_hash(register: dict[str, Any]) -> str:
    text = json.dumps(register, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


def variant_of(taskdef: dict[str, Any]) -> Variant | None:
    """The run variant of a described revision; None when it binds no static host port.

    Its input is the revision's own (the members ECS adds and empty ones left out), in
    `<family>-run`, each mapping that binds a static host port removed; mappings ECS gives
    an ephemeral port (bridge, hostPort 0) stay.
    """
    ports = static_ports(taskdef)
    if not ports:
        return None
    family = variant_family(str(taskdef["family"]))
    if len(family) > MAX_FAMILY:
        from release.core.errors import InvalidInput

        raise InvalidInput(
            f"family {taskdef['family']!r} is too long for its run variant {family!r} "
            f"(ECS allows {MAX_FAMILY} characters)",
            "shorten the task definition's family; a one-off task of a revision that binds a "
            "static host port runs in <family>-run")
    added = ecs_model.added_by_ecs()
    register = {k: copy.deepcopy(v) for k, v in taskdef.items()
                if k not in added and v not in (None, [], {}, "")}
    register["family"] = family
    for container in register.get("containerDefinitions", []):
        if "portMappings" not in container:
            continue
        kept = [m for m in container["portMappings"] if not rolling.host_port(taskdef, m)]
        if kept:
            container["portMappings"] = kept
        else:
            del container["portMappings"]
    source = f"{taskdef['family']}:{taskdef.get('revision', '?')}"
    return Variant(source, family, ports, register, content_hash(register))


def newest_first(arns: Iterable[str], family: str) -> list[str]:
    """The ARNs of `family`'s revisions (no other family's), newest first."""
    def parts(arn: str) -> tuple[str, int]:
        name, _, number = arn.rsplit("/", 1)[-1].rpartition(":")
        return name, int(number) if number.isdigit() else -1

    return sorted((a for a in arns if parts(a)[0] == family), key=lambda a: -parts(a)[1])


# ----------------------------------------------------------------------------- RunTask's refusals

# "API failure reasons" (ECS developer guide), RunTask or StartTask: reason → (what it means,
# the fix). The RESOURCE:* names are the container instance's resources (CPU, MEMORY, PORTS,
# PORTS_UDP; ENI and GPU named on the page).
REASONS: dict[str, tuple[str, str]] = {
    "RESOURCE:CPU": (
        "no container instance has the CPU units the task reserves ({cpu} units) free",
        "add container instances (or larger ones) to the cluster, or lower the task "
        "definition's cpu"),
    "RESOURCE:MEMORY": (
        "no container instance has the memory the task reserves ({memory} MiB) free",
        "add container instances (or larger ones) to the cluster, or lower the task "
        "definition's memory/memoryReservation"),
    "RESOURCE:PORTS": (
        "a static host port the task binds ({ports}) is in use on the container instance",
        "free the port there, or add a container instance where it is free"),
    "RESOURCE:PORTS_UDP": (
        "a static UDP host port the task binds ({ports}) is in use on the container instance",
        "free the port there, or add a container instance where it is free"),
    "RESOURCE:ENI": (
        "no container instance has an elastic network interface attachment point free for "
        "an awsvpc task",
        "add container instances, use instance types with more network interfaces, or turn "
        "on ENI trunking (awsvpcTrunking)"),
    "RESOURCE:GPU": (
        "no container instance has the GPUs the task asks for free",
        "add GPU container instances to the cluster"),
    "AGENT": (
        "the container instance's ECS agent is disconnected, so ECS rejected the request",
        "reconnect the agent (restart ecs on the instance) or drain and replace the instance"),
    "LOCATION": (
        "the container instance is in an Availability Zone none of the service's awsvpc "
        "subnets is in",
        "add a subnet of that zone to the service's networkConfiguration, or subnets of "
        "several zones"),
    "ATTRIBUTE": (
        "the task definition needs a container instance attribute no instance has "
        "(its requiresAttributes, e.g. ecs.capability.task-eni for awsvpc)",
        "run instances whose agent and AMI have that capability (update the ECS-optimized "
        "AMI), or remove the parameter that needs it"),
    "MISSING": (
        "the container instance does not exist in this cluster",
        "check the cluster and region"),
    "INACTIVE": (
        "the container instance was deregistered from the cluster",
        "register container instances with the cluster"),
}
UNKNOWN_FIX = "see \"API failure reasons\" in the Amazon ECS developer guide for this reason"


@dataclass(frozen=True)
class Refusal:
    message: str
    hint: str


def refusal(failures: list[dict[str, Any]], taskdef: dict[str, Any], revision: str) -> Refusal:
    """One message and the fixes for RunTask's `failures` (grouped by reason)."""
    name = short(revision)
    if not failures:
        return Refusal(f"ECS did not start a task of {name} and gave no reason",
                       "look at the cluster's container instances and retry; nothing ran")
    cpu, memory = rolling.task_size(taskdef)
    ports = ", ".join(str(p) for p in static_ports(taskdef)) or "none"
    grouped: dict[str, tuple[list[str], list[str]]] = {}  # reason → (instances, details)
    for failure in failures:
        places, details = grouped.setdefault(str(failure.get("reason") or "unknown"), ([], []))
        where = short(failure.get("arn"), "")
        detail = str(failure.get("detail") or "")
        places.extend([where] if where else [])
        details.extend([detail] if detail and detail not in details else [])
    parts, fixes = [], []
    for reason, (places, details) in grouped.items():
        meaning, fix = REASONS.get(reason, (None, UNKNOWN_FIX))
        text = reason + (f" on {', '.join(places)}" if places else "") + (
            f" ({'; '.join(details)})" if details else "")
        if meaning:
            text += ": " + meaning.format(cpu=cpu, memory=memory, ports=ports)
        parts.append(text)
        if fix not in fixes:
            fixes.append(fix)
    return Refusal(f"ECS did not start a task of {name}: {'; '.join(parts)}",
                   "; ".join(fixes) + "; nothing ran")
