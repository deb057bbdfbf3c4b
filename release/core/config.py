"""Load the config repository's documents into typed objects.

The repository layout is fixed (see docs/design.md):

    taskdefs/<name>.json                      register-task-definition input, image left out
    environments/<env>/environment.json       where: account, region, cluster, ELB, IAM, ...
    environments/<env>/services/<name>.json   what: the service spec and its image pin

`read_json` is the one reader of documents (validate, the typed loaders and
gitops all use it): only regular files, at most 1 MiB, UTF-8 with an optional
byte order mark, at most 64 levels deep; every problem is a `DocumentError`
(with line and column for malformed JSON), never a hang or another exception.
The typed loaders trust that `validate` has passed.
"""

from __future__ import annotations

import itertools
import json
import os
import re
import stat
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ENVIRONMENTS_DIR = "environments"
TASKDEFS_DIR = "taskdefs"
SCHEMAS_DIR = "schemas"


# Bounds on what one document may be: a registered task definition may be at most 64 KiB
# (Amazon ECS service quotas), so a megabyte is generous for any document here and still
# keeps a mistaken (or hostile) file from costing minutes; real documents nest about 8 deep.
MAX_DOCUMENT_BYTES = 1024 * 1024
MAX_DEPTH = 64
BOM = "\ufeff"


class DocumentError(Exception):
    """A document that cannot be read or parsed; carries where, for the report.

    `rule` is the validation rule id the problem is reported under (docs/validation.md).
    """

    def __init__(self, path: Path | str, message: str, line: int | None = None,
                 column: int | None = None, rule: str = "json-malformed",
                 fix: str = "") -> None:
        self.path = Path(path)
        self.message = message
        self.line = line
        self.column = column
        self.rule = rule
        self.fix = fix
        where = f"{self.path}:{line}:{column}" if line is not None else str(self.path)
        super().__init__(f"{where}: {message}")


LINK_FIX = ("replace the link with the document itself (or a link to a file inside the "
            "repository): release reads only what the repository holds")


def outside_error(path: Path | str) -> DocumentError:
    """The refusal of a document whose symbolic link leads outside the repository."""
    return DocumentError(path, f"a symbolic link that leads outside the repository (to "
                         f"{leads_to(Path(path))}); it is not read", rule="document-link",
                         fix=LINK_FIX)


def read_bytes(path: Path, root: Path | None = None) -> bytes:
    """The bytes of a regular file of at most MAX_DOCUMENT_BYTES; anything else a DocumentError.

    Opened without blocking and checked on the open descriptor, so a FIFO, a device or
    a folder named *.json is refused instead of hanging or streaming forever. With `root`,
    a path that leads outside it (through a symbolic link, `..`) is refused unread.
    """
    if root is not None and not inside(root, path):
        raise outside_error(path)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError:
        raise DocumentError(path, "file not found", rule="repo-layout",
                            fix="create it (see docs/validation.md for the layout)") from None
    except OSError as exc:
        raise DocumentError(path, f"cannot read: {exc.strerror or exc}", rule="document-type",
                            fix="make it a readable regular file") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise DocumentError(path, f"not a regular file ({_file_kind(info.st_mode)})",
                                rule="document-type",
                                fix="replace it with a regular JSON file, or remove it")
        if info.st_size > MAX_DOCUMENT_BYTES:
            raise DocumentError(path, _too_large(info.st_size), rule="document-size",
                                fix=SIZE_FIX)
        chunks: list[bytes] = []
        left = MAX_DOCUMENT_BYTES + 1
        ask = info.st_size + 1  # the size fstat saw, +1 to meet the end: no 1 MiB buffer per read
        while left > 0 and (chunk := os.read(fd, min(left, ask))):  # usually one read and EOF
            chunks.append(chunk)
            left -= len(chunk)
            ask = 64 * 1024  # more than fstat saw (it grows as we read): go on in 64 KiB steps
        raw = b"".join(chunks)
    except OSError as exc:
        raise DocumentError(path, f"cannot read: {exc.strerror or exc}", rule="document-type",
                            fix="make it a readable regular file") from None
    finally:
        os.close(fd)
    if len(raw) > MAX_DOCUMENT_BYTES:  # grew while we read it
        raise DocumentError(path, _too_large(len(raw)), rule="document-size", fix=SIZE_FIX)
    return raw


SIZE_FIX = ("a document this large is a mistake: ECS accepts task definitions of at most "
            "64 KiB; split it or remove what does not belong")


def _too_large(size: int) -> str:
    return (f"the file is {size:,} bytes; documents may be at most {MAX_DOCUMENT_BYTES:,} "
            "bytes (1 MiB)")


def _file_kind(mode: int) -> str:
    for test, name in ((stat.S_ISDIR, "a folder"), (stat.S_ISFIFO, "a named pipe"),
                       (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
                       (stat.S_ISSOCK, "a socket")):
        if test(mode):
            return name
    return "not a plain file"


def decode(raw: bytes, path: Path | str) -> str:
    """UTF-8 text; a leading byte order mark is dropped (RFC 8259 lets parsers ignore it)."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise DocumentError(path, f"not UTF-8 text ({exc.reason} at byte {exc.start})",
                            fix="save the document as UTF-8 JSON") from None
    return text[1:] if text.startswith(BOM) else text


_STRINGS = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"', re.S)
_BRACKETS = re.compile(r"[\[\]{}]")
_STEP = {"[": 1, "{": 1, "]": -1, "}": -1}


def nesting_depth(text: str) -> int:
    """How deeply arrays and objects nest (brackets inside strings do not count)."""
    steps = map(_STEP.__getitem__, _BRACKETS.findall(_STRINGS.sub("", text)))
    return max(itertools.accumulate(steps, initial=0))


def _not_json(word: str) -> Any:
    raise ValueError(f"{word} is not a JSON value")


def parse_json(text: str, path: Path | str,
               object_pairs_hook: Callable[[list[tuple[str, Any]]], Any] | None = None) -> Any:
    """Parse JSON text of at most MAX_DEPTH levels; NaN/Infinity refused (they are not JSON)."""
    # Fewer brackets than the bound cannot nest deeper than it: the common case costs two counts.
    depth = nesting_depth(text) if text.count("[") + text.count("{") > MAX_DEPTH else 0
    if depth > MAX_DEPTH:
        raise DocumentError(path, f"nested {depth} levels deep; documents may nest at most "
                            f"{MAX_DEPTH} levels", rule="json-depth",
                            fix="flatten the document (ECS documents nest about 8 levels)")
    try:
        return json.loads(text, object_pairs_hook=object_pairs_hook, parse_constant=_not_json)
    except json.JSONDecodeError as exc:
        raise DocumentError(path, f"malformed JSON at line {exc.lineno}, column {exc.colno}: "
                            f"{exc.msg}", exc.lineno, exc.colno,
                            fix="fix the JSON syntax there (a missing comma, quote or bracket "
                                "is usual; comments and trailing commas are not JSON)") from None
    except (RecursionError, ValueError) as exc:
        raise DocumentError(path, f"cannot parse the JSON: {exc}",
                            fix="write plain JSON values (no NaN or Infinity, numbers of "
                                "reasonable length)") from None


def read_text(path: Path, root: Path | None = None) -> str:
    """A document's text: a bounded regular file, UTF-8, without a byte order mark."""
    return decode(read_bytes(path, root), path)


def read_json(path: Path,
              object_pairs_hook: Callable[[list[tuple[str, Any]]], Any] | None = None,
              root: Path | None = None) -> Any:
    """The one JSON reader for documents: bounded, never blocks, every failure a DocumentError;
    with `root`, only a file within that repository."""
    return parse_json(read_text(path, root), path, object_pairs_hook)


@dataclass(frozen=True)
class DocumentSet:
    """The document files of a repository, found by layout, not yet parsed."""

    root: Path
    environments: dict[str, Path]  # env name -> environment.json
    services: dict[tuple[str, str], Path]  # (env, service file stem) -> spec
    taskdefs: dict[str, Path]  # repo-relative path -> file
    # repo-relative path -> where it leads: symbolic links out of the repository, never read
    outside: dict[str, str] = field(default_factory=dict)


def inside(root: Path | str, path: Path | str) -> bool:
    """Is `path`, with every symbolic link followed, within `root` (root itself included)?
    Paths that do not exist are judged as written (`..` and absolute paths still count)."""
    base = os.path.realpath(root)
    real = os.path.realpath(os.path.join(base, path))
    return real == base or real.startswith(base.rstrip(os.sep) + os.sep)


def inside_as_written(rel: str) -> bool:
    """Does a repository-relative path stay in the repository by its words alone (relative,
    no `..` above its start), links not followed?"""
    if os.path.isabs(rel):
        return False
    normal = os.path.normpath(rel)
    return normal != ".." and not normal.startswith(".." + os.sep)


def leads_to(path: Path) -> str:
    """Where a symbolic link finally leads, for a finding that says why it is not read."""
    return os.path.realpath(path)


def discover(root: Path, only_envs: list[str] | None = None) -> DocumentSet:
    """Find the documents by the repository layout (environment folders, services, taskdefs).

    A symbolic link that leads outside the repository (a folder or a file) is not a
    document of it: it is listed in `outside` (validation reports it) and never read, so a
    link to ~/.aws or another checkout cannot pass its contents off as this repository's.
    Links within the repository are followed as usual.
    """
    root = Path(root)
    envs: dict[str, Path] = {}
    services: dict[tuple[str, str], Path] = {}
    outside: dict[str, str] = {}

    def kept(path: Path) -> bool:  # one lstat for a plain file; links are followed to the end
        if not path.is_symlink() or inside(root, path):
            return True
        outside[path.relative_to(root).as_posix()] = leads_to(path)
        return False

    env_root = root / ENVIRONMENTS_DIR
    if env_root.is_dir() and kept(env_root):
        for env_dir in sorted(p for p in env_root.iterdir() if p.is_dir()):
            if only_envs and env_dir.name not in only_envs:
                continue
            if not kept(env_dir):
                continue
            env_doc = env_dir / "environment.json"
            if kept(env_doc):
                envs[env_dir.name] = env_doc
            svc_dir = env_dir / "services"
            if svc_dir.is_dir() and kept(svc_dir):
                for spec in sorted(svc_dir.glob("*.json")):
                    if kept(spec):
                        services[(env_dir.name, spec.stem)] = spec
    taskdefs = {}
    td_root = root / TASKDEFS_DIR
    if td_root.is_dir() and kept(td_root):
        for td in sorted(td_root.glob("*.json")):
            if kept(td):
                taskdefs[td.relative_to(root).as_posix()] = td
    return DocumentSet(root=root, environments=envs, services=services, taskdefs=taskdefs,
                       outside=outside)


@dataclass(frozen=True)
class HealthCheck:
    target: str
    interval: int
    unhealthy_threshold: int
    healthy_threshold: int
    timeout: int

    @property
    def healthy_after(self) -> int:
        """Seconds the ELB needs to call a new instance healthy: HealthyThreshold × Interval."""
        return self.healthy_threshold * self.interval

    @property
    def port(self) -> int | None:
        """The port of a target such as HTTP:80/api/healthcheck or TCP:80."""
        try:
            return int(self.target.split(":", 1)[1].split("/", 1)[0])
        except (IndexError, ValueError):
            return None

    @property
    def path(self) -> str:
        rest = self.target.split(":", 1)[-1]
        return "/" + rest.split("/", 1)[1] if "/" in rest else "/"


CLASSIC = "classic"
TARGET_GROUP_KINDS = ("application", "network")  # loadBalancer.type: an ALB or an NLB
DEFAULT_DEREGISTRATION_DELAY = 300  # ELBv2 target group attributes: "The default value is 300"


@dataclass(frozen=True)
class TargetGroup:
    """One ELBv2 target group of an ALB/NLB environment (loadBalancer.targetGroups[i])."""

    name: str
    protocol: str
    port: int
    target_type: str  # instance | ip (awsvpc tasks need ip)
    health_check: HealthCheck
    deregistration_delay: int  # the attribute deregistration_delay.timeout_seconds
    vpc_id: str | None
    doc: dict[str, Any]

    def matches(self, reference: str) -> bool:
        """A service's targetGroupArn names this group: its name, or an ARN with that name
        (arn:aws:elasticloadbalancing:REGION:ACCOUNT:targetgroup/NAME/ID)."""
        return reference == self.name or f":targetgroup/{self.name}/" in reference

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> TargetGroup:
        hc = doc.get("healthCheck", {})
        protocol = str(doc.get("protocol", "HTTP"))
        check_protocol = str(hc.get("protocol", protocol))
        path = hc.get("path", "/") if check_protocol in ("HTTP", "HTTPS") else ""
        attributes = doc.get("attributes", {})
        return cls(
            name=doc["name"], protocol=protocol, port=int(doc.get("port", 80)),
            target_type=str(doc.get("targetType", "instance")),
            health_check=HealthCheck(
                target=f"{check_protocol}:{hc.get('port', 'traffic-port')}{path}",
                interval=int(hc.get("intervalSeconds", 30)),
                unhealthy_threshold=int(hc.get("unhealthyThresholdCount", 2)),
                healthy_threshold=int(hc.get("healthyThresholdCount", 5)),
                timeout=int(hc.get("timeoutSeconds", 5))),
            deregistration_delay=int(attributes.get("deregistration_delay.timeout_seconds",
                                                    DEFAULT_DEREGISTRATION_DELAY)),
            vpc_id=doc.get("vpcId"), doc=doc)


@dataclass(frozen=True)
class LoadBalancer:
    """The environment's load balancer: a classic ELB, or an ALB/NLB with target groups.

    For an ALB/NLB, `health_check` and the draining figures are the slowest target
    group's, so every budget and rule written for the classic ELB stays an upper bound."""

    name: str
    listener: dict[str, Any]
    subnets: list[str]
    security_groups: list[str]
    health_check: HealthCheck
    draining_enabled: bool
    draining_timeout: int
    kind: str = CLASSIC  # classic | application | network
    target_groups: tuple[TargetGroup, ...] = ()

    @property
    def instance_port(self) -> int:
        return int(self.listener["instancePort"])

    @property
    def classic(self) -> bool:
        return self.kind == CLASSIC

    def target_group(self, reference: str) -> TargetGroup | None:
        """The target group a service's targetGroupArn (a name or an ARN) refers to."""
        return next((tg for tg in self.target_groups if tg.matches(reference)), None)

    @property
    def effective_draining(self) -> int:
        """Seconds an old task keeps serving after deregistration (0 when draining is off)."""
        return self.draining_timeout if self.draining_enabled else 0


@dataclass(frozen=True)
class Environment:
    name: str
    path: Path
    doc: dict[str, Any]
    account: str
    region: str
    cluster: str
    ecr_repository: str
    load_balancer: LoadBalancer
    iam: dict[str, str]
    instances: dict[str, Any]
    promotion_order: int
    requires_approval: bool
    firehose_stream: str | None = None
    aws_endpoint: str | None = None
    registry_override: str | None = None
    role_arn: str | None = None  # /aws/roleArn: assumed for every call in this environment
    external_id: str | None = None  # /aws/externalId: what the role's trust policy requires
    create_jenkins_role: bool = False  # /iam/createJenkinsRole: bootstrap may create it

    @property
    def registry(self) -> str:
        """The registry host images are pushed to and pinned with."""
        return self.registry_override or f"{self.account}.dkr.ecr.{self.region}.amazonaws.com"

    @property
    def repository_uri(self) -> str:
        return f"{self.registry}/{self.ecr_repository}"

    @property
    def instance_type(self) -> str:
        return str(self.instances.get("type", "t2.medium"))

    @property
    def instance_count(self) -> int:
        return int(self.instances.get("count", 0))

    @classmethod
    def from_doc(cls, path: Path, doc: dict[str, Any], name: str | None = None) -> Environment:
        endpoints = doc.get("endpoints", {})
        promotion = doc.get("promotion", {})
        access = dict(doc.get("aws", {}))
        iam = dict(doc.get("iam", {}))
        return cls(
            name=name or doc.get("name") or path.parent.name,
            path=path,
            doc=doc,
            account=str(doc["account"]),
            region=doc["region"],
            cluster=doc["cluster"],
            ecr_repository=doc["ecr"]["repository"],
            load_balancer=load_balancer_of(doc["loadBalancer"]),
            iam={k: v for k, v in iam.items() if isinstance(v, str)},
            instances=dict(doc.get("instances", {})),
            promotion_order=int(promotion.get("order", 0)),
            requires_approval=bool(promotion.get("requiresApproval", False)),
            firehose_stream=doc.get("firehose", {}).get("deliveryStream"),
            aws_endpoint=endpoints.get("aws"),
            registry_override=endpoints.get("registry"),
            role_arn=access.get("roleArn"),
            external_id=access.get("externalId"),
            create_jenkins_role=bool(iam.get("createJenkinsRole", False)),
        )


def load_balancer_of(lb: dict[str, Any]) -> LoadBalancer:
    """/loadBalancer: a classic ELB unless `type` says application or network."""
    if lb.get("type", CLASSIC) in TARGET_GROUP_KINDS:
        groups = tuple(TargetGroup.from_doc(tg) for tg in lb.get("targetGroups", []))
        slowest = max(groups, key=lambda tg: tg.health_check.healthy_after, default=None)
        delay = max((tg.deregistration_delay for tg in groups), default=0)
        return LoadBalancer(
            name=lb["name"], listener=dict(lb.get("listener", {})),
            subnets=list(lb.get("subnets", [])),
            security_groups=list(lb.get("securityGroups", [])),
            health_check=slowest.health_check if slowest else HealthCheck("HTTP:80/", 30, 2, 5, 5),
            draining_enabled=delay > 0, draining_timeout=delay, kind=lb["type"],
            target_groups=groups)
    hc = lb["healthCheck"]
    draining = lb.get("connectionDraining", {"enabled": False, "timeout": 300})
    return LoadBalancer(
        name=lb["name"],
        listener=lb["listener"],
        subnets=list(lb.get("subnets", [])),
        security_groups=list(lb.get("securityGroups", [])),
        health_check=HealthCheck(
            target=hc["target"],
            interval=int(hc["interval"]),
            unhealthy_threshold=int(hc["unhealthyThreshold"]),
            healthy_threshold=int(hc["healthyThreshold"]),
            timeout=int(hc["timeout"]),
        ),
        draining_enabled=bool(draining.get("enabled", False)),
        draining_timeout=int(draining.get("timeout", 300)),
    )


@dataclass(frozen=True)
class BuildSpec:
    """Where a pinned container's image is built from: a repository-relative context folder."""

    context: str
    dockerfile: str | None = None
    args: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_doc(cls, doc: dict[str, Any] | None) -> BuildSpec | None:
        if not doc or not doc.get("context"):
            return None
        return cls(doc["context"], doc.get("dockerfile"), dict(doc.get("args", {})))


@dataclass(frozen=True)
class ImagePin:
    """Which image one container runs: a tag and/or a digest in an ECR repository.

    `repository` None means the environment's `ecr.repository`; `pointer` is where
    the pin stands in its service spec (`/image` or `/images/<container>`), so a
    finding or a rewrite names the right place.
    """

    container: str | None
    tag: str | None
    digest: str | None
    repository: str | None = None
    build: BuildSpec | None = None
    pointer: str = "/image"

    def repository_in(self, env: Environment) -> str:
        """The ECR repository this pin's image lives in."""
        return self.repository or env.ecr_repository

    def uri_in(self, env: Environment) -> str:
        """`<registry>/<repository>` of this pin in an environment."""
        return f"{env.registry}/{self.repository_in(env)}"

    def reference(self, repository_uri: str) -> str:
        """`<registry>/<repo>@sha256:…` when pinned by digest, else `<registry>/<repo>:<tag>`."""
        if self.digest:
            return f"{repository_uri}@{self.digest}"
        return f"{repository_uri}:{self.tag}"

    def reference_in(self, env: Environment) -> str:
        return self.reference(self.uri_in(env))

    @classmethod
    def from_doc(cls, doc: dict[str, Any], pointer: str, container: str | None = None,
                 build: BuildSpec | None = None) -> ImagePin:
        return cls(container or doc.get("container"), doc.get("tag"), doc.get("digest"),
                   doc.get("repository"), build or BuildSpec.from_doc(doc.get("build")), pointer)


def pins_of(doc: dict[str, Any]) -> tuple[ImagePin, ...]:
    """A service spec's pins: `/images` (one per built container) or the single `/image`."""
    if isinstance(doc.get("images"), dict):
        pins = tuple(ImagePin.from_doc(pin, f"/images/{_escape(name)}", container=name)
                     for name, pin in doc["images"].items() if isinstance(pin, dict))
        if pins:
            return pins
    return (ImagePin.from_doc(doc.get("image", {}), "/image",
                              build=BuildSpec.from_doc(doc.get("build"))),)


def _escape(name: str) -> str:
    return name.replace("~", "~0").replace("/", "~1")


@dataclass(frozen=True)
class SmokeCheck:
    name: str
    method: str
    path: str
    expect_status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: Any = None


def revision_family(revision: str) -> str:
    """`family:N` or a task-definition ARN → its family."""
    return revision.rsplit("/", 1)[-1].rsplit(":", 1)[0]


@dataclass(frozen=True)
class ServiceSpec:
    env: str
    name: str  # the spec file's stem
    path: Path
    doc: dict[str, Any]
    taskdef_file: str | None  # None when the spec names a revision registered elsewhere
    family: str
    service: dict[str, Any]  # create-service shape
    images: tuple[ImagePin, ...]  # one per container the team builds; the first is the primary
    overrides: dict[str, Any]
    timeout: str | int  # "auto" or seconds
    rollback_on_failure: bool
    smoke_checks: list[SmokeCheck]
    revision: str | None = None  # /taskDefinition/revision: released as it is, never registered

    @property
    def image(self) -> ImagePin:
        """The primary pin: the only one, else the load balancer's container's, else the first."""
        for lb in self.service.get("loadBalancers", []):
            pin = self.pin_for(lb.get("containerName", ""))
            if pin is not None:
                return pin
        return self.images[0]

    @property
    def build_context(self) -> str | None:
        """The primary pin's build context (`/build/context` for a single `/image`)."""
        return self.image.build.context if self.image.build else None

    def pin_for(self, container: str) -> ImagePin | None:
        """The pin of a container, when the service pins it by name."""
        return next((p for p in self.images if p.container == container), None)

    @property
    def service_name(self) -> str:
        return self.service["serviceName"]

    @property
    def desired_count(self) -> int:
        return int(self.service.get("desiredCount", 1))

    @property
    def deployment_configuration(self) -> dict[str, Any]:
        return self.service.get("deploymentConfiguration", {})

    @property
    def minimum_healthy_percent(self) -> int:
        return int(self.deployment_configuration.get("minimumHealthyPercent", 100))

    @property
    def maximum_percent(self) -> int:
        return int(self.deployment_configuration.get("maximumPercent", 200))

    @classmethod
    def from_doc(cls, env: str, path: Path, doc: dict[str, Any]) -> ServiceSpec:
        td = doc["taskDefinition"]
        revision = td.get("revision")
        policy = doc.get("release", {})
        return cls(
            env=env,
            name=path.stem,
            path=path,
            doc=doc,
            taskdef_file=td.get("file"),
            family=td.get("family") or revision_family(revision or ""),
            revision=revision,
            service=dict(doc["service"]),
            images=pins_of(doc),
            overrides=dict(doc.get("overrides", {})),
            timeout=policy.get("timeout", "auto"),
            rollback_on_failure=bool(policy.get("rollbackOnFailure", True)),
            smoke_checks=[
                SmokeCheck(
                    name=c.get("name") or f"{c.get('method', 'GET')} {c['path']}",
                    method=c.get("method", "GET"),
                    path=c["path"],
                    expect_status=int(c.get("expectStatus", 200)),
                    headers=dict(c.get("headers", {})),
                    body=c.get("body"),
                )
                for c in policy.get("smokeChecks", [])
            ],
        )


@dataclass(frozen=True)
class TaskDefinition:
    """A task definition document: register-task-definition input without images."""

    path: str  # repo-relative, as services reference it
    doc: dict[str, Any]

    @property
    def family(self) -> str:
        return self.doc["family"]

    @property
    def containers(self) -> list[dict[str, Any]]:
        return list(self.doc.get("containerDefinitions", []))

    def container(self, name: str) -> dict[str, Any] | None:
        return next((c for c in self.containers if c.get("name") == name), None)

    def body(self) -> dict[str, Any]:
        """The document without editor-only keys such as $schema."""
        return {k: v for k, v in self.doc.items() if not k.startswith("$")}


@dataclass(frozen=True)
class ConfigRepo:
    root: Path
    environments: dict[str, Environment]
    services: dict[tuple[str, str], ServiceSpec]
    taskdefs: dict[str, TaskDefinition]
    commit: str | None = None  # the git commit the documents were read from, when known

    def environment(self, name: str) -> Environment:
        try:
            return self.environments[name]
        except KeyError:
            known = ", ".join(sorted(self.environments)) or "none"
            raise UnknownName(
                f"unknown environment {name!r}",
                f"environments in this repository: {known} (folders under environments/)",
            ) from None

    def services_of(self, env: str, only: str | None = None) -> list[ServiceSpec]:
        """The services of one environment; `only` picks one by file stem or serviceName."""
        self.environment(env)
        specs = [s for (e, _), s in sorted(self.services.items()) if e == env]
        if only is None:
            return specs
        picked = [s for s in specs if only in (s.name, s.service_name)]
        if not picked:
            known = ", ".join(s.name for s in specs) or "none"
            raise UnknownName(
                f"unknown service {only!r} in environment {env!r}",
                f"services there: {known} (files under environments/{env}/services/)",
            )
        return picked

    def taskdef_for(self, spec: ServiceSpec) -> TaskDefinition:
        """The document a service renders (a spec naming a revision has none: see
        engine/deploy.prepare, which reads that revision instead)."""
        if spec.taskdef_file is None:
            raise KeyError(f"{spec.path} names revision {spec.revision}, not a document")
        return self.taskdefs[spec.taskdef_file]

    def repositories_of(self, env: str) -> dict[str, list[str]]:
        """Every ECR repository an environment needs, each with the pins that name it
        (`service` for a single /image, `service/container` under /images): the
        environment's `ecr.repository` first and always, then the others by name."""
        environment = self.environment(env)
        named: dict[str, list[str]] = {environment.ecr_repository: []}
        for spec in self.services_of(env):
            if spec.revision:
                continue  # a revision registered elsewhere: its images are not ours to keep
            for pin in spec.images:
                who = spec.name if pin.pointer == "/image" else f"{spec.name}/{pin.container}"
                named.setdefault(pin.repository_in(environment), []).append(who)
        first = environment.ecr_repository
        return {first: named.pop(first), **dict(sorted(named.items()))}

    def ordered_environments(self) -> list[Environment]:
        """Environments in promotion order (sandbox, staging, production, ...)."""
        return sorted(self.environments.values(), key=lambda e: (e.promotion_order, e.name))


class UnknownName(Exception):
    """An environment or service that the repository does not have."""

    def __init__(self, message: str, hint: str) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


def load_repo(root: Path, only_envs: list[str] | None = None,
              leave_out: frozenset[str] | set[str] = frozenset()) -> ConfigRepo:
    """Parse documents into typed objects. Call after validation has passed.

    With `only_envs`, only those environments and the task definitions their
    services use are read, so a broken file elsewhere cannot stop the command.
    `leave_out` names repository-relative files validation found broken.
    """
    docs = discover(root, only_envs)

    def rel(path: Path) -> Path:
        return path.relative_to(docs.root)

    envs = {
        name: Environment.from_doc(rel(path), read_json(path), name)
        for name, path in docs.environments.items() if rel(path).as_posix() not in leave_out
    }
    services = {
        key: ServiceSpec.from_doc(key[0], rel(path), read_json(path))
        for key, path in docs.services.items() if rel(path).as_posix() not in leave_out
    }
    used = ({spec.taskdef_file for spec in services.values() if spec.taskdef_file}
            if only_envs else set(docs.taskdefs))
    taskdefs = {name: TaskDefinition(name, read_json(path)) for name, path in docs.taskdefs.items()
                if name in used and name not in leave_out}
    return ConfigRepo(root=docs.root, environments=envs, services=services, taskdefs=taskdefs)
