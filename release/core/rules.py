"""Cross-document rules: what no schema can express, checked before anything touches AWS.

Each rule has a stable id, a severity, a one-line summary and the usual fix
(docs/validation.md is the table of them). Rules see only documents that
passed their schema, so shapes are trusted; values are not. A rule that
still crashes becomes an `internal-error` finding instead of a traceback.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from release.core import config
from release.core.validate import ERROR, WARNING, Finding, Loaded, pointer_of


@dataclass(frozen=True)
class Rule:
    id: str
    severity: str
    summary: str
    fix: str


RULES: dict[str, Rule] = {}
RuleFn = Callable[["Context"], Iterator[Finding]]
_CHECKS: list[tuple[str, RuleFn, bool]] = []  # (id, check, needs botocore)


def rule(id: str, severity: str, summary: str, fix: str,
         api: bool = False) -> Callable[[RuleFn], RuleFn]:
    """Register a rule function under its id (the table in docs/validation.md lists them)."""

    def register(fn: RuleFn) -> RuleFn:
        RULES[id] = Rule(id, severity, summary, fix)
        _CHECKS.append((id, fn, api))
        return fn

    return register


def describe(id: str, severity: str, summary: str, fix: str) -> None:
    """Document a check that lives elsewhere (the schema and document layer)."""
    RULES[id] = Rule(id, severity, summary, fix)


# The document and schema layer (release/validate.py) reports these.
describe("repo-layout", ERROR, "the repository has environments/<env>/environment.json and "
         "services/<name>.json", "create the missing folder or file, or pass --repo")
describe("unknown-environment", ERROR, "every --env names a folder under environments/",
         "use one of the listed environment names")
describe("json-malformed", ERROR, "the file is readable UTF-8 JSON (reported with line:column)",
         "fix the syntax at the line and column shown")
describe("document-type", ERROR, "every document is a readable regular file (not a named pipe, "
         "device or folder: those would block or never end)",
         "replace it with a regular JSON file, or remove it")
describe("document-size", ERROR, "a document is at most 1 MiB (read no further; ECS itself "
         "accepts task definitions of at most 64 KiB)", "split the document or remove what does "
         "not belong")
describe("json-depth", ERROR, "arrays and objects nest at most 64 levels deep",
         "flatten the document")
describe("json-bom", WARNING, "the file has no UTF-8 byte order mark (release ignores one; "
         "other JSON tools may refuse it)", "save the file as UTF-8 without a BOM")
describe("json-duplicate-key", ERROR, "no object repeats a key (JSON readers silently keep "
         "the last one)", "keep one of them")
describe("schema-file", ERROR, "the repository's schemas/ files are usable JSON Schemas",
         "restore the schema file")
describe("schema-unknown-key", ERROR, "no unknown keys (with a 'did you mean' hint)",
         "fix the spelling or remove the key")
describe("schema-required", ERROR, "required keys are present", "add the key")
describe("schema-type", ERROR, "values have the right JSON type", "use the type shown")
describe("schema-enum", ERROR, "values are one of the allowed words", "use one of the listed words")
describe("schema-range", ERROR, "numbers are within the ECS/ELB documented range",
         "use a value in range")
describe("schema-length", ERROR, "strings and lists are within length limits", "shorten or fill")
describe("schema-pattern", ERROR, "names, ARNs, digests and paths have the documented form",
         "match the pattern shown")
describe("schema-unique", ERROR, "lists that must not repeat do not", "remove the duplicate")
describe("schema-invalid", ERROR, "other schema constraints (one of several allowed forms)",
         "see the schema")
describe("internal-error", ERROR, "a rule could not run (a bug in the tool, never in the input)",
         "report it with the document that triggers it")


# ----------------------------------------------------------------------------- context

# vCPUs and GiB of common container instance types (Amazon EC2 instance types page).
INSTANCE_TYPES: dict[str, tuple[int, float]] = {
    "t2.nano": (1, 0.5), "t2.micro": (1, 1), "t2.small": (1, 2), "t2.medium": (2, 4),
    "t2.large": (2, 8), "t2.xlarge": (4, 16), "t2.2xlarge": (8, 32),
    "t3.nano": (2, 0.5), "t3.micro": (2, 1), "t3.small": (2, 2), "t3.medium": (2, 4),
    "t3.large": (2, 8), "t3.xlarge": (4, 16), "t3.2xlarge": (8, 32),
    "t3a.medium": (2, 4), "t3a.large": (2, 8), "t3a.xlarge": (4, 16),
    "m5.large": (2, 8), "m5.xlarge": (4, 16), "m5.2xlarge": (8, 32), "m5.4xlarge": (16, 64),
    "m6i.large": (2, 8), "m6i.xlarge": (4, 16), "m6i.2xlarge": (8, 32),
    "c5.large": (2, 4), "c5.xlarge": (4, 8), "c5.2xlarge": (8, 16),
    "r5.large": (2, 16), "r5.xlarge": (4, 32),
}

# Plain-text secrets: names that say "secret", values that look like credentials.
SECRET_NAME = re.compile(
    r"(PASSWORD|PASSWD|PASSPHRASE|SECRET|TOKEN|API_?KEY|ACCESS_?KEY|PRIVATE_?KEY|CREDENTIAL"
    r"|(^|[_.-])PASS([_.-]|$))", re.IGNORECASE)
NOT_A_SECRET_NAME = re.compile(
    r"(_ARN|_FILE|_PATH|_NAME|_ID|_URL|_URI|_ENDPOINT|_HOST|_REGION|_TTL|_TIMEOUT|_SECONDS|"
    r"_LENGTH|_EXPIRY|_HEADER)$", re.IGNORECASE)
SECRET_VALUES = [
    (re.compile(r"\b(AKIA|ASIA)[0-9A-Z]{16}\b"), "an AWS access key id"),
    (re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----"), "a private key"),
    (re.compile(r"\bgh[pousr]_[A-Za-z0-9]{36,}\b"), "a GitHub token"),
    (re.compile(r"\bxox[abprs]-[A-Za-z0-9-]{10,}"), "a Slack token"),
    (re.compile(r"\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]+"), "a JWT"),
    (re.compile(r"[a-z][a-z0-9+.-]*://[^/\s:@]+:[^/\s@]+@"), "a URL with a password"),
]


@dataclass
class ServiceView:
    """One service with everything its rules need, resolved once."""

    env_name: str
    rel: str
    doc: dict[str, Any]
    spec: config.ServiceSpec
    env: config.Environment | None
    env_rel: str | None
    taskdef_rel: str
    taskdef: dict[str, Any] | None  # None when missing or broken


class Context:
    def __init__(self, loaded: Loaded) -> None:
        self.loaded = loaded
        self.environments: dict[str, tuple[str, config.Environment]] = {}
        self.services: list[ServiceView] = []
        for name, (rel, doc) in loaded.environments.items():
            self.environments[name] = (rel, config.Environment.from_doc(
                Path(rel), doc, name))
        for (env_name, _), (rel, doc) in loaded.services.items():
            spec = config.ServiceSpec.from_doc(env_name, Path(rel), doc)
            env_rel, env = self.environments.get(env_name, (None, None))
            self.services.append(ServiceView(env_name, rel, doc, spec, env, env_rel,
                                             spec.taskdef_file,
                                             loaded.taskdefs.get(spec.taskdef_file)))

    def taskdef_items(self) -> Iterator[tuple[str, dict[str, Any]]]:
        return iter(self.loaded.taskdefs.items())


def run_rules(loaded: Loaded, api_check: bool = True) -> list[Finding]:
    """Every registered rule over the loaded documents; a crash is a finding, not a traceback."""
    try:
        ctx = Context(loaded)
    except Exception as exc:  # noqa: BLE001 - the promise is: never a traceback
        return [Finding(ERROR, "internal-error", ".", "",
                        f"cannot prepare the rules: {type(exc).__name__}: {exc}",
                        RULES["internal-error"].fix)]
    out: list[Finding] = []
    seen: set[tuple[str, str, str, str]] = set()
    for rule_id, check, needs_botocore in _CHECKS:
        if needs_botocore and not api_check:
            continue
        try:
            found = list(check(ctx))
        except Exception as exc:  # noqa: BLE001
            found = [Finding(ERROR, "internal-error", ".", "",
                             f"rule {rule_id} crashed: {type(exc).__name__}: {exc}",
                             RULES["internal-error"].fix)]
        for finding in found:
            key = (finding.rule, finding.file, finding.pointer, finding.message)
            if key not in seen:
                seen.add(key)
                out.append(finding)
    return out


def _f(rule_id: str, file: str, pointer: str, message: str, fix: str | None = None,
       severity: str | None = None) -> Finding:
    meta = RULES[rule_id]
    return Finding(severity or meta.severity, rule_id, file, pointer, message, fix or meta.fix)


# ----------------------------------------------------------------------------- helpers


def containers(taskdef: dict[str, Any]) -> list[dict[str, Any]]:
    return list(taskdef.get("containerDefinitions", []))


def container_index(taskdef: dict[str, Any], name: str) -> int | None:
    for index, container in enumerate(containers(taskdef)):
        if container.get("name") == name:
            return index
    return None


def static_host_ports(taskdef: dict[str, Any]) -> bool:
    """True when tasks bind fixed instance ports (bridge with hostPort ≠ 0, or host mode)."""
    mode = taskdef.get("networkMode", "bridge")
    if mode == "host":
        return any(c.get("portMappings") for c in containers(taskdef))
    if mode != "bridge":
        return False
    return any(m.get("hostPort", 0) for c in containers(taskdef) for m in c.get("portMappings", []))


def host_port(taskdef: dict[str, Any], mapping: dict[str, Any]) -> int:
    """The instance port a mapping binds: host mode uses the container port itself."""
    if taskdef.get("networkMode", "bridge") == "host":
        return int(mapping.get("hostPort", mapping.get("containerPort", 0)) or 0)
    return int(mapping.get("hostPort", 0) or 0)


def parse_cpu(value: Any) -> int | None:
    """Task-level cpu ("1024", "1 vCPU", or an override integer) in CPU units."""
    text = str(value).strip()
    match = re.fullmatch(r"([0-9]+(?:\.[0-9]+)?) ?[vV][cC][pP][uU]", text)
    if match:
        return int(float(match.group(1)) * 1024)
    return int(text) if text.isdigit() else None


def parse_memory(value: Any) -> int | None:
    """Task-level memory ("1024", "1GB", "1 GB", or an override integer) in MiB."""
    text = str(value).strip()
    match = re.fullmatch(r"([0-9]+(?:\.[0-9]+)?) ?GB", text)
    if match:
        return int(float(match.group(1)) * 1024)
    return int(text) if text.isdigit() else None


def effective_taskdef(view: ServiceView) -> dict[str, Any]:
    """The task definition with the service's cpu/memory overrides applied (no image)."""
    assert view.taskdef is not None
    body = {k: v for k, v in view.taskdef.items() if k != "containerDefinitions"}
    overrides = view.spec.overrides
    for key in ("cpu", "memory"):
        if key in overrides:
            body[key] = str(overrides[key])
    per = overrides.get("containers", {})
    merged = []
    for container in containers(view.taskdef):
        copy = dict(container)
        for key in ("cpu", "memory", "memoryReservation"):
            if key in per.get(container.get("name"), {}):
                copy[key] = per[container.get("name")][key]
        merged.append(copy)
    body["containerDefinitions"] = merged
    return body


def task_size(taskdef: dict[str, Any]) -> tuple[int, int]:
    """CPU units and MiB one task reserves on an instance."""
    cpu = parse_cpu(taskdef["cpu"]) if "cpu" in taskdef else None
    memory = parse_memory(taskdef["memory"]) if "memory" in taskdef else None
    if cpu is None:
        cpu = sum(int(c.get("cpu", 0)) for c in containers(taskdef))
    if memory is None:
        memory = sum(int(c.get("memory", c.get("memoryReservation", 0)))
                     for c in containers(taskdef))
    return cpu, memory


@dataclass
class RollingPlan:
    """What a rolling update can do with static ports on a fixed set of instances."""

    capacity: int  # tasks the instances can hold at once
    desired: int
    can_start: int  # new tasks ECS may start before stopping any
    can_stop: int  # old tasks ECS may stop first (minimumHealthyPercent)

    @property
    def stuck(self) -> bool:
        return self.desired > 0 and self.can_start <= 0 and self.can_stop <= 0

    @property
    def waves(self) -> int:
        per_wave = max(1, min(self.desired, self.can_start + self.can_stop))
        return max(1, math.ceil(self.desired / per_wave))


def rolling_plan(view: ServiceView, taskdef: dict[str, Any]) -> RollingPlan | None:
    """Capacity and first move of a rolling update; None when the instances are unknown."""
    env = view.env
    if env is None or view.spec.service.get("schedulingStrategy") == "DAEMON":
        return None
    count = env.instance_count
    desired = view.spec.desired_count
    cpu, memory = task_size(taskdef)
    per_instance = math.inf
    size = INSTANCE_TYPES.get(env.instance_type)
    if size:
        if cpu > 0:
            per_instance = min(per_instance, (size[0] * 1024) // cpu)
        if memory > 0:
            per_instance = min(per_instance, int(size[1] * 1024) // memory)
    if static_host_ports(taskdef):
        per_instance = min(per_instance, 1)
    if per_instance == math.inf:
        return None
    capacity = int(count * per_instance)
    minimum = math.ceil(desired * view.spec.minimum_healthy_percent / 100)
    maximum = math.floor(desired * view.spec.maximum_percent / 100)
    running = min(desired, capacity)
    can_start = min(capacity - running, maximum - running)
    can_stop = running - minimum
    return RollingPlan(capacity, desired, can_start, can_stop)


def with_taskdef(ctx: Context) -> Iterator[tuple[ServiceView, dict[str, Any]]]:
    for view in ctx.services:
        if view.taskdef is not None:
            yield view, effective_taskdef(view)


def lb_entries(view: ServiceView) -> Iterator[tuple[int, dict[str, Any]]]:
    return enumerate(view.spec.service.get("loadBalancers", []))


# ----------------------------------------------------------------------------- task definitions


@rule("taskdef-file", ERROR, "the service's taskDefinition.file exists under taskdefs/",
      "create the file or correct the path (repository-relative, e.g. taskdefs/app.json)")
def taskdef_file(ctx: Context) -> Iterator[Finding]:
    for view in ctx.services:
        if view.taskdef_rel not in ctx.loaded.present:
            known = ", ".join(sorted(ctx.loaded.present & set(ctx.loaded.taskdefs)))
            yield _f("taskdef-file", view.rel, "/taskDefinition/file",
                     f"task definition file {view.taskdef_rel!r} does not exist",
                     f"create it or use one of: {known or 'no task definitions yet'}")


@rule("taskdef-family", ERROR, "the service's taskDefinition.family equals the file's family",
      "make both families the same (the family is the name revisions register under)")
def taskdef_family(ctx: Context) -> Iterator[Finding]:
    for view in ctx.services:
        if view.taskdef is not None and view.taskdef["family"] != view.spec.family:
            yield _f("taskdef-family", view.rel, "/taskDefinition/family",
                     f"family {view.spec.family!r} does not match {view.taskdef_rel}'s family "
                     f"{view.taskdef['family']!r}",
                     f"set /taskDefinition/family to {view.taskdef['family']!r}")


@rule("taskdef-image", ERROR, "task definitions do not name an image (the release fills it "
      "in from the service's pin)", "remove `image`; pin the image in the service spec's /image")
def taskdef_image(ctx: Context) -> Iterator[Finding]:
    for rel, taskdef in ctx.taskdef_items():
        for index, container in enumerate(containers(taskdef)):
            if "image" in container:
                yield _f("taskdef-image", rel, f"/containerDefinitions/{index}/image",
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
            yield _f("taskdef-unused", rel, "", "no service uses this task definition")


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
            yield _f("taskdef-size", rel, "", f"the task definition is {sizes[rel]:,} bytes as "
                     f"JSON; ECS registers at most {MAX_TASKDEF_BYTES:,} (64 KiB)")
    for view in ctx.services:
        size = sizes.get(view.taskdef_rel)
        if view.taskdef is None or view.env is None or size is None or size > MAX_TASKDEF_BYTES:
            continue
        # Rendering adds at most the overrides and an image reference: render only when close.
        if size + 2 * json_size(view.spec.overrides) + 1024 <= MAX_TASKDEF_BYTES:
            continue
        from release.core.render import render_taskdef

        rendered = json_size(render_taskdef(view.env, view.spec, config.TaskDefinition(
            view.taskdef_rel, view.taskdef)))
        if rendered > MAX_TASKDEF_BYTES:
            yield _f("taskdef-size", view.rel, "/overrides",
                     f"with this service's overrides and image, {view.taskdef_rel} renders to "
                     f"{rendered:,} bytes; ECS registers at most {MAX_TASKDEF_BYTES:,} (64 KiB)")


@rule("container-essential", ERROR, "at least one container is essential (ECS requires one)",
      "set \"essential\": true on the main container (left out, it defaults to true)")
def container_essential(ctx: Context) -> Iterator[Finding]:
    for rel, taskdef in ctx.taskdef_items():
        items = containers(taskdef)
        if items and not any(c.get("essential", True) for c in items):
            yield _f("container-essential", rel, "/containerDefinitions",
                     "no container is essential: ECS rejects the task definition")


@rule("container-names-unique", ERROR, "container names are unique within a task definition",
      "rename one of the containers")
def container_names_unique(ctx: Context) -> Iterator[Finding]:
    for rel, taskdef in ctx.taskdef_items():
        seen: dict[str, int] = {}
        for index, container in enumerate(containers(taskdef)):
            name = container["name"]
            if name in seen:
                yield _f("container-names-unique", rel, f"/containerDefinitions/{index}/name",
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
            for li, link in enumerate(container.get("links", [])):
                target = link.split(":", 1)[0]
                if target not in others:
                    yield _f("container-references", rel, f"{here}/links/{li}",
                             f"link to {target!r}, which is not another container of this task"
                             + _hint(target, others), f"use one of: {', '.join(others) or 'none'}")
            for di, dep in enumerate(container.get("dependsOn", [])):
                target, condition = dep["containerName"], dep["condition"]
                pointer = f"{here}/dependsOn/{di}"
                if target not in others:
                    yield _f("container-references", rel, f"{pointer}/containerName",
                             f"depends on {target!r}, which is not another container of this "
                             "task" + _hint(target, others),
                             f"use one of: {', '.join(others) or 'none'}")
                elif condition in ("COMPLETE", "SUCCESS") and by_name[target].get("essential",
                                                                                   True):
                    yield _f("container-references", rel, f"{pointer}/condition",
                             f"condition {condition} waits for {target!r} to exit, but it is "
                             "essential: its exit stops the whole task",
                             f"set \"essential\": false on {target!r}, or use START or HEALTHY")
                elif condition == "HEALTHY" and "healthCheck" not in by_name[target]:
                    yield _f("container-references", rel, f"{pointer}/condition",
                             f"condition HEALTHY waits for {target!r}'s health check, which it "
                             "does not have: the task never starts",
                             f"add a healthCheck to {target!r}, or use START")
            for vi, source in enumerate(container.get("volumesFrom", [])):
                target = source.get("sourceContainer")
                if target not in others:
                    yield _f("container-references", rel,
                             f"{here}/volumesFrom/{vi}/sourceContainer",
                             f"volumes from {target!r}, which is not another container of this "
                             "task", f"use one of: {', '.join(others) or 'none'}")
            for mi, mount in enumerate(container.get("mountPoints", [])):
                if mount.get("sourceVolume") not in volumes:
                    yield _f("container-references", rel,
                             f"{here}/mountPoints/{mi}/sourceVolume",
                             f"mounts volume {mount.get('sourceVolume')!r}, which /volumes does "
                             "not define", "add it to the task's volumes or fix the name")


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
                yield _f("container-network-mode", rel, f"{here}/portMappings",
                         "networkMode none cannot have port mappings",
                         "remove the port mappings or use networkMode bridge")
            if mode != "bridge" and container.get("links"):
                yield _f("container-network-mode", rel, f"{here}/links",
                         f"links only work with networkMode bridge, not {mode!r}",
                         "remove links (containers reach each other on localhost) or use bridge")
            if mode == "awsvpc" and "hostname" in container:
                yield _f("container-network-mode", rel, f"{here}/hostname",
                         "hostname is not supported with networkMode awsvpc", "remove hostname")
            seen: dict[tuple[Any, str], int] = {}
            for mi, mapping in enumerate(mappings):
                if "containerPortRange" in mapping:
                    problem = _port_range_problem(mode, mapping)
                    if problem:
                        yield _f("container-network-mode", rel,
                                 f"{here}/portMappings/{mi}/containerPortRange", problem,
                                 "write FIRST-LAST with 1 ≤ FIRST < LAST ≤ 65535, no hostPort, "
                                 "in networkMode bridge or awsvpc")
                port, proto = mapping.get("containerPort"), mapping.get("protocol", "tcp")
                if port is None:
                    continue
                if (port, proto) in seen:
                    yield _f("container-network-mode", rel, f"{here}/portMappings/{mi}",
                             f"containerPort {port}/{proto} is already mapped by "
                             f"{here}/portMappings/{seen[port, proto]}",
                             "map each container port once")
                seen[port, proto] = mi
                if (mode in ("host", "awsvpc") and mapping.get("hostPort") not in (None, port)):
                    yield _f("container-network-mode", rel,
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
                yield _f("container-log-configuration", rel, f"{here}/options",
                         f"log driver {driver} needs {', '.join(missing)}: the container "
                         "cannot start without it",
                         "add " + ", ".join(f'"{o}": ...' for o in missing) + " to options")
            if driver == "awsfirelens" and not any("firelensConfiguration" in c for c in items):
                yield _f("container-log-configuration", rel, f"{here}/logDriver",
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
                    yield _f("container-limits", rel, f"{here}/ulimits/{ui}/name",
                             f"ulimit {limit['name']!r} is set twice", "keep one of them")
                named.add(limit["name"])
                if limit["softLimit"] > limit["hardLimit"]:
                    yield _f("container-limits", rel, f"{here}/ulimits/{ui}/softLimit",
                             f"ulimit {limit['name']} softLimit {limit['softLimit']} is above "
                             f"its hardLimit {limit['hardLimit']}: the container cannot start",
                             "lower softLimit or raise hardLimit")
            command = container.get("healthCheck", {}).get("command")
            if command and command[0] in ("CMD", "CMD-SHELL") and not any(
                    part.strip() for part in command[1:]):
                yield _f("container-limits", rel, f"{here}/healthCheck/command",
                         f"the health check says {command[0]} but gives no command to run",
                         "e.g. [\"CMD-SHELL\", \"curl -f http://localhost/ || exit 1\"]")


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
                    yield _f("host-ports-unique", rel, here,
                             f"host port {port}/{key[1]} is already bound by {seen[key]}")
                else:
                    seen[key] = here


@rule("container-memory", ERROR, "every container has memory or memoryReservation (or the task "
      "a memory size), and memoryReservation is not above memory",
      "set \"memory\" (hard limit, MiB) or \"memoryReservation\" (soft limit) on the container")
def container_memory(ctx: Context) -> Iterator[Finding]:
    for rel, taskdef in ctx.taskdef_items():
        for index, container in enumerate(containers(taskdef)):
            here = f"/containerDefinitions/{index}"
            if "memory" not in taskdef and not ({"memory", "memoryReservation"} & set(container)):
                yield _f("container-memory", rel, here,
                         f"container {container['name']!r} has neither memory nor "
                         "memoryReservation and the task has no memory size: ECS rejects it on "
                         "EC2")
            if ("memory" in container and "memoryReservation" in container
                    and container["memoryReservation"] > container["memory"]):
                yield _f("container-memory", rel, f"{here}/memoryReservation",
                         f"memoryReservation {container['memoryReservation']} MiB is above the "
                         f"hard limit memory {container['memory']} MiB",
                         "lower memoryReservation or raise memory")


@rule("resources-task-size", ERROR, "containers' cpu and memory fit inside the task's cpu and "
      "memory", "raise the task size or lower the containers' cpu/memory")
def resources_task_size(ctx: Context) -> Iterator[Finding]:
    def check(rel: str, pointer_base: str, taskdef: dict[str, Any]) -> Iterator[Finding]:
        task_cpu = parse_cpu(taskdef["cpu"]) if "cpu" in taskdef else None
        task_mem = parse_memory(taskdef["memory"]) if "memory" in taskdef else None
        items = containers(taskdef)
        total_cpu = sum(int(c.get("cpu", 0)) for c in items)
        if task_cpu is not None and total_cpu > task_cpu:
            yield _f("resources-task-size", rel, f"{pointer_base}/cpu",
                     f"containers reserve {total_cpu} CPU units, more than the task's "
                     f"{task_cpu}")
        if task_mem is not None:
            for index, container in enumerate(items):
                for key in ("memory", "memoryReservation"):
                    if key in container and container[key] > task_mem:
                        yield _f("resources-task-size", rel,
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
            for finding in check(view.taskdef_rel, "", taskdef):
                if finding.message not in own.get(view.taskdef_rel, set()):
                    yield _f("resources-task-size", view.rel, "/overrides",
                             f"with this service's overrides: {finding.message}")


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
            yield _f("resources-task-cpu", rel, "/cpu",
                     f"task cpu {taskdef['cpu']!r} is {units} CPU units, outside {low}-{high}")
    for view in ctx.services:
        if "cpu" in view.spec.overrides:
            units = parse_cpu(view.spec.overrides["cpu"])
            if units is not None and not low <= units <= high:
                yield _f("resources-task-cpu", view.rel, "/overrides/cpu",
                         f"cpu override {view.spec.overrides['cpu']!r} is {units} CPU units, "
                         f"outside {low}-{high}")


@rule("resources-instance", ERROR, "one task fits on one container instance of the "
      "environment's instance type (CPU units and MiB)",
      "lower the task's cpu/memory or use a larger instance type in environment.json /instances")
def resources_instance(ctx: Context) -> Iterator[Finding]:
    for view, taskdef in with_taskdef(ctx):
        if view.env is None:
            continue
        size = INSTANCE_TYPES.get(view.env.instance_type)
        if size is None:
            yield _f("resources-instance", view.env_rel or view.rel, "/instances/type",
                     f"instance type {view.env.instance_type!r} is not in the tool's table: "
                     "cpu/memory fit is not checked",
                     "use a listed type or check the fit by hand", severity=WARNING)
            continue
        cpu, memory = task_size(taskdef)
        units, mib = size[0] * 1024, int(size[1] * 1024)
        for key, needed, has, unit in (("cpu", cpu, units, "CPU units"),
                                       ("memory", memory, mib, "MiB")):
            if needed <= has:
                continue
            if key in view.spec.overrides:
                where, pointer = view.rel, f"/overrides/{key}"
            else:
                where = view.taskdef_rel
                pointer = f"/{key}" if key in view.taskdef else "/containerDefinitions"
            yield _f("resources-instance", where, pointer,
                     f"a task needs {needed} {unit} but a {view.env.instance_type} has {has}"
                     + (" (and ECS registers a little less)" if key == "memory" else "")
                     + f" (environment {view.env_name})")


# ----------------------------------------------------------------------------- load balancer


@rule("lb-container-name", ERROR, "each load balancer's containerName is a container of the task "
      "definition", "use the name of the container that serves the traffic")
def lb_container_name(ctx: Context) -> Iterator[Finding]:
    for view in ctx.services:
        if view.taskdef is None:
            continue
        names = [c["name"] for c in containers(view.taskdef)]
        for index, lb in lb_entries(view):
            if lb["containerName"] not in names:
                yield _f("lb-container-name", view.rel,
                         f"/service/loadBalancers/{index}/containerName",
                         f"container {lb['containerName']!r} is not in {view.taskdef_rel}"
                         + _hint(lb["containerName"], names),
                         f"use one of: {', '.join(names)}")


def _hint(word: str, choices: list[str]) -> str:
    from release.core.validate import did_you_mean

    return did_you_mean(word, choices)


@rule("lb-container-port", ERROR, "each load balancer's containerPort is in that container's "
      "portMappings", "add the port mapping or use a mapped containerPort")
def lb_container_port(ctx: Context) -> Iterator[Finding]:
    for view in ctx.services:
        if view.taskdef is None:
            continue
        for index, lb in lb_entries(view):
            ci = container_index(view.taskdef, lb["containerName"])
            if ci is None:
                continue
            mapped = [m.get("containerPort") for m in
                      containers(view.taskdef)[ci].get("portMappings", [])]
            if lb["containerPort"] not in mapped:
                yield _f("lb-container-port", view.rel,
                         f"/service/loadBalancers/{index}/containerPort",
                         f"container {lb['containerName']!r} does not map port "
                         f"{lb['containerPort']} (its portMappings: "
                         f"{', '.join(map(str, mapped)) or 'none'})",
                         f"use a mapped port or add {{\"containerPort\": {lb['containerPort']}, "
                         f"\"hostPort\": <the ELB's instance port>}} to "
                         f"{view.taskdef_rel}#/containerDefinitions/{ci}/portMappings")


@rule("lb-instance-port", ERROR, "the classic ELB's instancePort equals the static hostPort of "
      "the load-balanced mapping (a classic ELB routes to a fixed instance port)",
      "set the mapping's hostPort to the listener's instancePort (dynamic host ports and awsvpc "
      "do not work with a classic ELB)")
def lb_instance_port(ctx: Context) -> Iterator[Finding]:
    for view in ctx.services:
        if view.taskdef is None or view.env is None:
            continue
        mode = view.taskdef.get("networkMode", "bridge")
        for index, lb in lb_entries(view):
            if "loadBalancerName" not in lb:
                continue
            ci = container_index(view.taskdef, lb["containerName"])
            if ci is None:
                continue
            here = f"/service/loadBalancers/{index}"
            if mode not in ("bridge", "host"):
                yield _f("lb-instance-port", view.taskdef_rel, "/networkMode",
                         f"networkMode {mode!r} cannot be used with a classic ELB "
                         f"({view.rel} attaches {lb['loadBalancerName']!r})",
                         "use networkMode bridge with a static hostPort")
                continue
            mappings = [(mi, m) for mi, m in enumerate(
                containers(view.taskdef)[ci].get("portMappings", []))
                if m.get("containerPort") == lb["containerPort"]]
            if not mappings:
                continue  # lb-container-port reports it
            mi, mapping = mappings[0]
            port = host_port(view.taskdef, mapping)
            instance_port = view.env.load_balancer.instance_port
            mapping_ptr = f"{view.taskdef_rel}#/containerDefinitions/{ci}/portMappings/{mi}"
            if port == 0:
                yield _f("lb-instance-port", view.rel, here,
                         f"container port {lb['containerPort']} has a dynamic host port "
                         f"({mapping_ptr}); the classic ELB {lb['loadBalancerName']!r} only "
                         f"routes to instance port {instance_port}",
                         f"set \"hostPort\": {instance_port} at {mapping_ptr}")
            elif port != instance_port:
                yield _f("lb-instance-port", view.rel, here,
                         f"the ELB routes to instance port {instance_port} but container port "
                         f"{lb['containerPort']} is published on host port {port} "
                         f"({mapping_ptr})",
                         f"set \"hostPort\": {instance_port} at {mapping_ptr}, or change "
                         f"{view.env_rel}#/loadBalancer/listener/instancePort to {port}")


@rule("lb-health-check-port", ERROR, "the ELB health check pings a port a container publishes "
      "on the instance", "point the health check target at the listener's instance port")
def lb_health_check_port(ctx: Context) -> Iterator[Finding]:
    for view in ctx.services:
        if view.taskdef is None or view.env is None or not any(
                "loadBalancerName" in lb for _, lb in lb_entries(view)):
            continue
        port = view.env.load_balancer.health_check.port
        published = {host_port(view.taskdef, m) for c in containers(view.taskdef)
                     for m in c.get("portMappings", [])}
        if port is not None and port not in published:
            yield _f("lb-health-check-port", view.env_rel or view.rel,
                     "/loadBalancer/healthCheck/target",
                     f"the health check pings instance port {port}, which no container of "
                     f"{view.taskdef_rel} publishes (host ports: "
                     f"{', '.join(map(str, sorted(p for p in published if p))) or 'none'})",
                     f"use port {view.env.load_balancer.instance_port} in the target")


@rule("lb-grace-period", ERROR, "healthCheckGracePeriodSeconds ≥ HealthyThreshold × Interval "
      "when an ELB is attached (else ECS stops new tasks before the ELB can call them healthy)",
      "raise healthCheckGracePeriodSeconds to at least HealthyThreshold × Interval")
def lb_grace_period(ctx: Context) -> Iterator[Finding]:
    for view in ctx.services:
        if view.env is None or not view.spec.service.get("loadBalancers"):
            continue
        hc = view.env.load_balancer.health_check
        needed = hc.healthy_threshold * hc.interval
        grace = view.spec.service.get("healthCheckGracePeriodSeconds", 0)
        if grace < needed:
            yield _f("lb-grace-period", view.rel, "/service/healthCheckGracePeriodSeconds",
                     f"grace period {grace} s is shorter than the {needed} s the ELB needs to "
                     f"mark a new instance healthy (HealthyThreshold {hc.healthy_threshold} × "
                     f"Interval {hc.interval} s in {view.env_rel})",
                     f"set \"healthCheckGracePeriodSeconds\": {needed} (or more)")


@rule("lb-container-essential", ERROR, "the load-balanced container is essential (else the "
      "task keeps running, and stays registered with the ELB, after it stops)",
      "set \"essential\": true on the container that serves the traffic")
def lb_container_essential(ctx: Context) -> Iterator[Finding]:
    for view in ctx.services:
        if view.taskdef is None:
            continue
        for _, lb in lb_entries(view):
            ci = container_index(view.taskdef, lb["containerName"])
            if ci is not None and not containers(view.taskdef)[ci].get("essential", True):
                yield _f("lb-container-essential", view.taskdef_rel,
                         f"/containerDefinitions/{ci}/essential",
                         f"container {lb['containerName']!r} serves {view.rel}'s load balancer "
                         "but is not essential: when it stops the task keeps running without it")


@rule("lb-health-check", ERROR, "the classic ELB health check's Timeout is less than its "
      "Interval and its target port is 1-65535 (ConfigureHealthCheck)",
      "lower timeout below interval; use a port from 1 to 65535 in the target")
def lb_health_check(ctx: Context) -> Iterator[Finding]:
    for _, (rel, env) in ctx.environments.items():
        hc = env.load_balancer.health_check
        if hc.timeout >= hc.interval:
            yield _f("lb-health-check", rel, "/loadBalancer/healthCheck/timeout",
                     f"timeout {hc.timeout} s is not less than interval {hc.interval} s; "
                     "ConfigureHealthCheck refuses it", f"use a timeout below {hc.interval}")
        if hc.port is not None and not 1 <= hc.port <= 65535:
            yield _f("lb-health-check", rel, "/loadBalancer/healthCheck/target",
                     f"port {hc.port} is outside 1-65535", "use the listener's instance port")


# ----------------------------------------------------------------------------- deployment


@rule("deploy-capacity", ERROR, "the instances can hold desiredCount tasks (one per instance "
      "with a static host port; cpu/memory per instance type)",
      "lower desiredCount or add instances (environment.json /instances/count)")
def deploy_capacity(ctx: Context) -> Iterator[Finding]:
    for view, taskdef in with_taskdef(ctx):
        plan = rolling_plan(view, taskdef)
        if plan is not None and view.env is not None and plan.desired > plan.capacity:
            yield _f("deploy-capacity", view.rel, "/service/desiredCount",
                     f"desiredCount {plan.desired} but the {view.env.instance_count} "
                     f"instance(s) of environment {view.env_name} can hold only "
                     f"{plan.capacity} task(s)"
                     + (" (a static host port allows one task per instance)"
                        if static_host_ports(taskdef) else ""))


@rule("deploy-placement", ERROR, "a rolling update can place its first new task: with static "
      "host ports, desiredCount, instance count, minimumHealthyPercent and maximumPercent must "
      "leave a free instance or allow stopping an old task first",
      "set minimumHealthyPercent ≤ 50 (ECS stops an old task first), or run more instances "
      "than desiredCount with maximumPercent > 100; a classic ELB cannot use dynamic host ports")
def deploy_placement(ctx: Context) -> Iterator[Finding]:
    for view, taskdef in with_taskdef(ctx):
        plan = rolling_plan(view, taskdef)
        if plan is None or plan.desired > plan.capacity or not plan.stuck:
            continue
        dc = view.spec.deployment_configuration
        pointer = ("/service/deploymentConfiguration/minimumHealthyPercent"
                   if "minimumHealthyPercent" in dc else "/service/deploymentConfiguration"
                   if dc else "/service")
        yield _f("deploy-placement", view.rel, pointer,
                 f"a rolling update can never start: {plan.desired} task(s) fill the "
                 f"{plan.capacity} slot(s) of environment {view.env_name}'s instances, "
                 f"minimumHealthyPercent {view.spec.minimum_healthy_percent} forbids stopping an "
                 f"old task first and maximumPercent {view.spec.maximum_percent} "
                 + ("leaves no free instance" if plan.capacity <= plan.desired else
                    "forbids starting an extra one")
                 + "; ECS would report 'unable to place a task' until the release times out")


@rule("deploy-zero-tasks", WARNING, "desiredCount 0 is meant: the service then runs no tasks, "
      "the ELB has no instance InService, and smoke checks cannot pass",
      "set desiredCount to the number of tasks to run, or remove the smoke checks while the "
      "service is scaled to zero")
def deploy_zero_tasks(ctx: Context) -> Iterator[Finding]:
    for view in ctx.services:
        if view.spec.service.get("desiredCount", 1) == 0 and view.spec.service.get(
                "schedulingStrategy") != "DAEMON":
            checks = len(view.spec.smoke_checks)
            yield _f("deploy-zero-tasks", view.rel, "/service/desiredCount",
                     "desiredCount 0: a release registers the revision and stops every task "
                     "(old tasks still drain)" + (f"; the {checks} smoke check(s) will fail with "
                                                   "nothing to answer them" if checks else ""))


@rule("timing-release-timeout", ERROR, "an explicit release timeout covers the rolling update: "
      "waves × (HealthyThreshold × Interval + draining timeout + stopTimeout)",
      "use \"timeout\": \"auto\" or a larger number of seconds")
def timing_release_timeout(ctx: Context) -> Iterator[Finding]:
    for view, taskdef in with_taskdef(ctx):
        timeout = view.spec.timeout
        if view.env is None or not isinstance(timeout, int) or isinstance(timeout, bool):
            continue
        plan = rolling_plan(view, taskdef)
        waves = plan.waves if plan is not None and not plan.stuck else 1
        lb = view.env.load_balancer
        hc = lb.health_check
        stop = max((int(c.get("stopTimeout", 30)) for c in containers(taskdef)), default=30)
        per_wave = hc.healthy_threshold * hc.interval + lb.effective_draining + stop
        needed = waves * per_wave
        if timeout < needed:
            yield _f("timing-release-timeout", view.rel, "/release/timeout",
                     f"timeout {timeout} s is shorter than the {needed} s a release needs at "
                     f"least: {waves} wave(s) × ({hc.healthy_threshold} × {hc.interval} s health "
                     f"checks + {lb.effective_draining} s draining + {stop} s stopTimeout)",
                     f"use \"auto\" or at least {needed}")


@rule("timing-draining", WARNING, "connection draining is on when an ELB is attached (else "
      "in-flight requests are cut when old tasks stop)",
      "enable connectionDraining in environment.json /loadBalancer (300 s is the default)")
def timing_draining(ctx: Context) -> Iterator[Finding]:
    for view in ctx.services:
        if (view.env is not None and view.spec.service.get("loadBalancers")
                and not view.env.load_balancer.draining_enabled):
            yield _f("timing-draining", view.env_rel or view.rel,
                     "/loadBalancer/connectionDraining",
                     "connection draining is off: requests in flight on an old task are cut "
                     "when ECS deregisters it")


# ----------------------------------------------------------------------------- secrets, image


@rule("secret-in-environment", ERROR, "no plain-text secrets in `environment` (names or values "
      "that look like passwords, tokens, keys, AWS access keys)",
      "move the value to Secrets Manager or SSM and reference it under `secrets` "
      "(valueFrom: the ARN)")
def secret_in_environment(ctx: Context) -> Iterator[Finding]:
    for rel, taskdef in ctx.taskdef_items():
        for ci, container in enumerate(containers(taskdef)):
            for ei, item in enumerate(container.get("environment", [])):
                problem = _secret_problem(item["name"], item["value"])
                if problem:
                    yield _f("secret-in-environment", rel,
                             f"/containerDefinitions/{ci}/environment/{ei}", problem)
    for view in ctx.services:
        for name, extra in view.spec.overrides.get("containers", {}).items():
            for key, value in extra.get("environment", {}).items():
                problem = _secret_problem(key, value)
                if problem:
                    yield _f("secret-in-environment", view.rel,
                             pointer_of(["overrides", "containers", name, "environment", key]),
                             problem)


def _secret_problem(name: str, value: str) -> str | None:
    for pattern, what in SECRET_VALUES:
        if pattern.search(value):
            return f"environment variable {name!r} holds what looks like {what} in plain text"
    if (value and not value.startswith("arn:") and SECRET_NAME.search(name)
            and not NOT_A_SECRET_NAME.search(name)):
        return f"environment variable {name!r} looks like a secret kept in plain text"
    return None


# `--password=x`, `PASSWORD=x`, `-Dapp.token=x` inside a command line or a label.
SECRET_ASSIGNMENT = re.compile(r"^-*(?:D)?([A-Za-z_][A-Za-z0-9_.-]*)[=:](.+)$")


@rule("secret-in-container", ERROR, "no plain-text secrets in any other container field a value "
      "can leak through (command, entryPoint, dockerLabels, health check, log options, ...): "
      "credential-looking values, or NAME=value with a secret-looking name",
      "pass the value as a secret (`secrets`, valueFrom: the ARN) and read it from the "
      "environment in the command")
def secret_in_container(ctx: Context) -> Iterator[Finding]:
    for rel, taskdef in ctx.taskdef_items():
        for ci, container in enumerate(containers(taskdef)):
            for key, value in container.items():
                if key in ("environment", "secrets", "name"):
                    continue
                for path, text in _strings(value, (key,)):
                    problem = _leak(path, text)
                    if problem:
                        yield _f("secret-in-container", rel,
                                 pointer_of(["containerDefinitions", ci, *path]), problem)


def _strings(value: Any, path: tuple) -> Iterator[tuple[tuple, str]]:
    """Every string in a value (label keys too, as `key=value`) with its path."""
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, dict):
        for key, item in value.items():
            if isinstance(item, str):
                yield (*path, key), f"{key}={item}"
            else:
                yield from _strings(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _strings(item, (*path, index))


def _leak(path: tuple, text: str) -> str | None:
    where = "/".join(map(str, path))
    for pattern, what in SECRET_VALUES:
        if pattern.search(text):
            return f"{where} holds what looks like {what} in plain text"
    for word in re.split(r"\s+", text) if path[0] != "dockerLabels" else [text]:
        match = SECRET_ASSIGNMENT.match(word)
        if match and _secret_problem(match.group(1), match.group(2).strip("'\"")):
            return f"{where} sets {match.group(1)!r} to what looks like a secret in plain text"
    return None


SECRET_ARN = re.compile(r"^arn:aws[a-z-]*:(secretsmanager:[a-z0-9-]+:[0-9]{12}:secret:.+"
                        r"|ssm:[a-z0-9-]+:[0-9]{12}:parameter/.+)$")
SSM_PARAMETER_NAME = re.compile(r"^/?(?!(?:aws|ssm))[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+){0,14}$",
                                re.IGNORECASE)


@rule("secret-value-from", ERROR, "every secret's valueFrom is a Secrets Manager secret ARN, an "
      "SSM parameter ARN, or an SSM parameter name (letters, digits, _ . - and / levels; not "
      "starting with aws or ssm)", "use the secret's full ARN (Secrets Manager) or the parameter's "
      "name or ARN (SSM Parameter Store); never the secret itself")
def secret_value_from(ctx: Context) -> Iterator[Finding]:
    def check(rel: str, path: list, value: str) -> Iterator[Finding]:
        if not (SECRET_ARN.match(value) or SSM_PARAMETER_NAME.match(value)):
            kind = ("an ARN of another service" if value.startswith("arn:") else
                    "neither an ARN nor a parameter name")
            yield _f("secret-value-from", rel, pointer_of(path),
                     f"valueFrom is {kind}; ECS cannot resolve it and the task fails to start "
                     "(ResourceInitializationError)")

    for rel, taskdef in ctx.taskdef_items():
        for ci, container in enumerate(containers(taskdef)):
            for si, item in enumerate(container.get("secrets", [])):
                yield from check(rel, ["containerDefinitions", ci, "secrets", si, "valueFrom"],
                                 item["valueFrom"])
            options = container.get("logConfiguration", {}).get("secretOptions", [])
            for si, item in enumerate(options):
                yield from check(rel, ["containerDefinitions", ci, "logConfiguration",
                                       "secretOptions", si, "valueFrom"], item["valueFrom"])
    for view in ctx.services:
        for name, extra in view.spec.overrides.get("containers", {}).items():
            for key, value in extra.get("secrets", {}).items():
                yield from check(view.rel, ["overrides", "containers", name, "secrets", key],
                                 value)


@rule("secret-execution-role", ERROR, "a task that reads secrets or private-registry "
      "credentials has an executionRoleArn (the agent fetches them with that role)",
      "set executionRoleArn to a role allowed to read the secrets (ecsTaskExecutionRole)")
def secret_execution_role(ctx: Context) -> Iterator[Finding]:
    for rel, taskdef in ctx.taskdef_items():
        if taskdef.get("executionRoleArn"):
            continue
        for ci, container in enumerate(containers(taskdef)):
            uses = [key for key in ("secrets", "repositoryCredentials") if container.get(key)]
            if container.get("logConfiguration", {}).get("secretOptions"):
                uses.append("logConfiguration/secretOptions")
            if uses:
                yield _f("secret-execution-role", rel, f"/containerDefinitions/{ci}/{uses[0]}",
                         f"container {container['name']!r} uses {uses[0]} but the task has no "
                         "executionRoleArn: its tasks stop with ResourceInitializationError "
                         "(unable to pull secrets or registry auth)")
                break
    for view in ctx.services:
        if view.taskdef is None or view.taskdef.get("executionRoleArn"):
            continue
        for name, extra in view.spec.overrides.get("containers", {}).items():
            if extra.get("secrets"):
                yield _f("secret-execution-role", view.rel,
                         pointer_of(["overrides", "containers", name, "secrets"]),
                         f"this service adds secrets to {name!r} but {view.taskdef_rel} has no "
                         "executionRoleArn: its tasks stop with ResourceInitializationError")


@rule("image-pin-mutable", ERROR, "the image pin is immutable: a sha256 digest, or a tag other "
      "than `latest` (a warning when the tag-only pin is in a repository with mutable tags)",
      "pin the digest (`release build` writes it), or an immutable tag")
def image_pin_mutable(ctx: Context) -> Iterator[Finding]:
    for view in ctx.services:
        pin = view.spec.image
        if pin.digest:
            continue
        if pin.tag == "latest":
            yield _f("image-pin-mutable", view.rel, "/image/tag",
                     "the image is pinned to `latest`, which moves with every push: a rollback "
                     "or a new instance would run whatever was pushed last")
        elif view.env is not None and not view.env.doc.get("ecr", {}).get("tagImmutability"):
            yield _f("image-pin-mutable", view.rel, "/image",
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
            yield _f("image-container", view.rel, "/image/container",
                     f"container {view.spec.image.container!r} is not in {view.taskdef_rel}"
                     + _hint(view.spec.image.container, names),
                     f"use one of: {', '.join(names)}")
        for name in view.spec.overrides.get("containers", {}):
            if name not in names:
                yield _f("image-container", view.rel,
                         pointer_of(["overrides", "containers", name]),
                         f"override for container {name!r}, which is not in "
                         f"{view.taskdef_rel}" + _hint(name, names),
                         f"use one of: {', '.join(names)}")


# ----------------------------------------------------------------------------- references


@rule("ref-load-balancer", ERROR, "the service's loadBalancerName is the environment's classic "
      "ELB (target groups are not used)", "use the ELB name from environment.json /loadBalancer")
def ref_load_balancer(ctx: Context) -> Iterator[Finding]:
    for view in ctx.services:
        if view.env is None:
            continue
        for index, lb in lb_entries(view):
            here = f"/service/loadBalancers/{index}"
            if "targetGroupArn" in lb:
                yield _f("ref-load-balancer", view.rel, f"{here}/targetGroupArn",
                         "a target group belongs to an ALB/NLB; this environment uses the "
                         f"classic ELB {view.env.load_balancer.name!r}",
                         f"replace it with \"loadBalancerName\": "
                         f"\"{view.env.load_balancer.name}\"")
            elif "loadBalancerName" not in lb:
                yield _f("ref-load-balancer", view.rel, here,
                         "the load balancer entry names no load balancer",
                         f"add \"loadBalancerName\": \"{view.env.load_balancer.name}\"")
            elif lb["loadBalancerName"] != view.env.load_balancer.name:
                yield _f("ref-load-balancer", view.rel, f"{here}/loadBalancerName",
                         f"load balancer {lb['loadBalancerName']!r} is not environment "
                         f"{view.env_name}'s ELB {view.env.load_balancer.name!r}",
                         f"use {view.env.load_balancer.name!r}")


@rule("ref-cluster", ERROR, "a cluster named in the service spec is the environment's cluster",
      "remove /service/cluster (the environment's is used) or make them equal")
def ref_cluster(ctx: Context) -> Iterator[Finding]:
    for view in ctx.services:
        cluster = view.spec.service.get("cluster")
        if (view.env is not None and cluster is not None and cluster != view.env.cluster
                and not str(cluster).endswith(f":cluster/{view.env.cluster}")):
            yield _f("ref-cluster", view.rel, "/service/cluster",
                     f"cluster {cluster!r} is not environment {view.env_name}'s cluster "
                     f"{view.env.cluster!r}")


@rule("ref-role", ERROR, "the service role is the environment's iam.serviceRole",
      "use the role named in environment.json /iam/serviceRole")
def ref_role(ctx: Context) -> Iterator[Finding]:
    for view in ctx.services:
        role = view.spec.service.get("role")
        expected = view.env.iam.get("serviceRole") if view.env is not None else None
        if role is not None and expected and role != expected and not str(role).endswith(
                f"/{expected}"):
            yield _f("ref-role", view.rel, "/service/role",
                     f"role {role!r} is not environment {view.env_name}'s service role "
                     f"{expected!r}", f"use {expected!r}")


@rule("ref-repository", ERROR, "an image repository named in the pin is the environment's ECR "
      "repository", "remove /image/repository or make it equal to ecr.repository")
def ref_repository(ctx: Context) -> Iterator[Finding]:
    for view in ctx.services:
        repository = view.doc.get("image", {}).get("repository")
        if view.env is not None and repository and repository != view.env.ecr_repository:
            yield _f("ref-repository", view.rel, "/image/repository",
                     f"repository {repository!r} is not environment {view.env_name}'s ECR "
                     f"repository {view.env.ecr_repository!r}")


@rule("ref-environment-name", ERROR, "environment.json's name equals its folder name",
      "rename the folder or fix /name")
def ref_environment_name(ctx: Context) -> Iterator[Finding]:
    for name, (rel, env) in ctx.environments.items():
        declared = env.doc.get("name")
        if declared is not None and declared != name:
            yield _f("ref-environment-name", rel, "/name",
                     f"name {declared!r} differs from the folder name {name!r}",
                     f"set \"name\": {name!r}")


@rule("ref-service-name", ERROR, "service names are unique within an environment",
      "rename one of the services")
def ref_service_name(ctx: Context) -> Iterator[Finding]:
    seen: dict[tuple[str, str], str] = {}
    for view in ctx.services:
        key = (view.env_name, view.spec.service_name)
        if key in seen:
            yield _f("ref-service-name", view.rel, "/service/serviceName",
                     f"service {key[1]!r} is also defined by {seen[key]}")
        else:
            seen[key] = view.rel


@rule("env-promotion-order", WARNING, "environments have distinct promotion orders",
      "give each environment its own promotion.order")
def env_promotion_order(ctx: Context) -> Iterator[Finding]:
    seen: dict[int, str] = {}
    for name, (rel, env) in sorted(ctx.environments.items()):
        if "order" not in env.doc.get("promotion", {}):
            continue
        if env.promotion_order in seen:
            yield _f("env-promotion-order", rel, "/promotion/order",
                     f"promotion order {env.promotion_order} is also {seen[env.promotion_order]}'s:"
                     f" which one is released first is undefined")
        else:
            seen[env.promotion_order] = name


# ----------------------------------------------------------------------------- AWS API shape


@rule("api-register-task-definition", ERROR, "the rendered register-task-definition input passes "
      "botocore's own parameter validation (offline, against the ECS service model; run by "
      "`release validate --strict` and by every command that goes on to call AWS)",
      "fix the field botocore names (types and required members of the ECS API)", api=True)
def api_register_task_definition(ctx: Context) -> Iterator[Finding]:
    views = [v for v in ctx.services if v.taskdef is not None and v.env is not None]
    if not views:
        return
    from release.core.apicheck import register_task_definition_problems
    from release.core.render import render_taskdef

    for view in views:
        assert view.taskdef is not None and view.env is not None
        taskdef = config.TaskDefinition(view.taskdef_rel, view.taskdef)
        rendered = render_taskdef(view.env, view.spec, taskdef)
        for problem in register_task_definition_problems(rendered):
            yield _f("api-register-task-definition", view.rel, "",
                     f"rendered task definition ({view.taskdef_rel} + this spec) fails the ECS "
                     f"API's parameter validation: {problem}")


def rules_table() -> str:
    """The rules as a Markdown table (docs/validation.md embeds it; a test keeps them equal)."""
    rows = ["| id | severity | what it checks | the fix |", "| --- | --- | --- | --- |"]
    for item in RULES.values():
        cells = [f"`{item.id}`", item.severity, item.summary, item.fix]
        rows.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    return "\n".join(rows)


from release.core import rules_init_run  # noqa: E402,F401  (registers its rules)
