"""Load the config repository's documents into typed objects.

The files are found and read by core/documents.py (the layout, the one safe reader);
the image pins are core/pin.py's. The typed loaders trust that `validate` has passed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from release.core.documents import discover, read_json
from release.core.pin import ImagePin, pins_of


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
