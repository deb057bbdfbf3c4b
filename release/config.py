"""Load the config repository's documents into typed objects.

The repository layout is fixed (see docs/design.md):

    taskdefs/<name>.json                      register-task-definition input, image left out
    environments/<env>/environment.json       where: account, region, cluster, ELB, IAM, ...
    environments/<env>/services/<name>.json   what: the service spec and its image pin

This module only reads; it trusts that `validate` has passed. Readers that must
survive broken input (validate itself) use `read_json` and `discover`, which
report problems as `DocumentError` with a line and column instead of raising
anything else.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ENVIRONMENTS_DIR = "environments"
TASKDEFS_DIR = "taskdefs"
SCHEMAS_DIR = "schemas"


class DocumentError(Exception):
    """A document that cannot be read or parsed; carries where, for the report."""

    def __init__(self, path: Path | str, message: str, line: int | None = None,
                 column: int | None = None) -> None:
        self.path = Path(path)
        self.message = message
        self.line = line
        self.column = column
        where = f"{self.path}:{line}:{column}" if line is not None else str(self.path)
        super().__init__(f"{where}: {message}")


def read_json(path: Path) -> Any:
    """Parse one JSON document; malformed JSON becomes a DocumentError with line:column."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise DocumentError(path, "file not found") from None
    except UnicodeDecodeError as exc:
        raise DocumentError(path, f"not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    except OSError as exc:
        raise DocumentError(path, f"cannot read: {exc.strerror}") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise DocumentError(path, f"malformed JSON: {exc.msg}", exc.lineno, exc.colno) from None


@dataclass(frozen=True)
class DocumentSet:
    """The document files of a repository, found by layout, not yet parsed."""

    root: Path
    environments: dict[str, Path]  # env name -> environment.json
    services: dict[tuple[str, str], Path]  # (env, service file stem) -> spec
    taskdefs: dict[str, Path]  # repo-relative path -> file


def discover(root: Path, only_envs: list[str] | None = None) -> DocumentSet:
    """Find the documents by the repository layout (environment folders, services, taskdefs)."""
    root = Path(root)
    envs: dict[str, Path] = {}
    services: dict[tuple[str, str], Path] = {}
    env_root = root / ENVIRONMENTS_DIR
    if env_root.is_dir():
        for env_dir in sorted(p for p in env_root.iterdir() if p.is_dir()):
            if only_envs and env_dir.name not in only_envs:
                continue
            envs[env_dir.name] = env_dir / "environment.json"
            svc_dir = env_dir / "services"
            if svc_dir.is_dir():
                for spec in sorted(svc_dir.glob("*.json")):
                    services[(env_dir.name, spec.stem)] = spec
    taskdefs = {}
    td_root = root / TASKDEFS_DIR
    if td_root.is_dir():
        for td in sorted(td_root.glob("*.json")):
            taskdefs[td.relative_to(root).as_posix()] = td
    return DocumentSet(root=root, environments=envs, services=services, taskdefs=taskdefs)


@dataclass(frozen=True)
class HealthCheck:
    target: str
    interval: int
    unhealthy_threshold: int
    healthy_threshold: int
    timeout: int

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


@dataclass(frozen=True)
class LoadBalancer:
    name: str
    listener: dict[str, Any]
    subnets: list[str]
    security_groups: list[str]
    health_check: HealthCheck
    draining_enabled: bool
    draining_timeout: int

    @property
    def instance_port(self) -> int:
        return int(self.listener["instancePort"])

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
        lb = doc["loadBalancer"]
        hc = lb["healthCheck"]
        draining = lb.get("connectionDraining", {"enabled": False, "timeout": 300})
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
            load_balancer=LoadBalancer(
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
            ),
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


@dataclass(frozen=True)
class ImagePin:
    """Which image a service runs: a tag and/or a digest in the environment's repository."""

    container: str | None
    tag: str | None
    digest: str | None

    def reference(self, repository_uri: str) -> str:
        """`<registry>/<repo>@sha256:…` when pinned by digest, else `<registry>/<repo>:<tag>`."""
        if self.digest:
            return f"{repository_uri}@{self.digest}"
        return f"{repository_uri}:{self.tag}"


@dataclass(frozen=True)
class SmokeCheck:
    name: str
    method: str
    path: str
    expect_status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: Any = None


@dataclass(frozen=True)
class ServiceSpec:
    env: str
    name: str  # the spec file's stem
    path: Path
    doc: dict[str, Any]
    taskdef_file: str
    family: str
    service: dict[str, Any]  # create-service shape
    image: ImagePin
    overrides: dict[str, Any]
    timeout: str | int  # "auto" or seconds
    rollback_on_failure: bool
    smoke_checks: list[SmokeCheck]
    build_context: str | None

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
        image = doc.get("image", {})
        policy = doc.get("release", {})
        return cls(
            env=env,
            name=path.stem,
            path=path,
            doc=doc,
            taskdef_file=td["file"],
            family=td["family"],
            service=dict(doc["service"]),
            image=ImagePin(image.get("container"), image.get("tag"), image.get("digest")),
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
            build_context=doc.get("build", {}).get("context"),
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
        return self.taskdefs[spec.taskdef_file]

    def ordered_environments(self) -> list[Environment]:
        """Environments in promotion order (sandbox, staging, production, ...)."""
        return sorted(self.environments.values(), key=lambda e: (e.promotion_order, e.name))


class UnknownName(Exception):
    """An environment or service that the repository does not have."""

    def __init__(self, message: str, hint: str) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


def load_repo(root: Path, only_envs: list[str] | None = None) -> ConfigRepo:
    """Parse every document into typed objects. Call after validation has passed."""
    docs = discover(root, only_envs)
    envs = {
        name: Environment.from_doc(path.relative_to(docs.root), read_json(path), name)
        for name, path in docs.environments.items()
    }
    services = {
        key: ServiceSpec.from_doc(key[0], path.relative_to(docs.root), read_json(path))
        for key, path in docs.services.items()
    }
    taskdefs = {rel: TaskDefinition(rel, read_json(path)) for rel, path in docs.taskdefs.items()}
    return ConfigRepo(root=docs.root, environments=envs, services=services, taskdefs=taskdefs)
