"""What a task definition refers to outside itself, and where each reference is written.

Preflight (core/preflight.py) checks every role, secret, parameter, image and log group a
revision names before a release changes anything; to say where each one is written it
needs the document and JSON pointer of the value, which is the task definition file, the
service spec's overrides or image pin (git), or the registered revision itself (a rollback
target). Pure: strings and documents in, references and places out.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from release.core.config import Environment, ServiceSpec
from release.core.findings import pointer_of

# ------------------------------------------------------------------------------- where


@dataclass(frozen=True)
class Origin:
    """Where the values of a task definition about to run are written.

    `written` is the task definition as its document holds it (containers in the rendered
    order: overrides never add, drop or reorder one); `pins` maps a container to the
    pointer of its image pin in the service spec. For a revision read from ECS, `document`
    names the revision and there are no overrides or pins."""

    document: str  # repository-relative task definition file, or "akka-demo:3 (ECS)"
    written: Mapping[str, Any]
    spec: ServiceSpec
    pins: Mapping[str, str] = field(default_factory=dict)
    from_git: bool = True

    def taskdef(self, *path: Any) -> tuple[str, str]:
        return self.document, pointer_of(path)

    def service(self, *path: Any) -> tuple[str, str]:
        return str(self.spec.path), pointer_of(["service", *path])

    def spec_doc(self, *path: Any) -> tuple[str, str]:
        return str(self.spec.path), pointer_of(path)

    def _container(self, index: int) -> Mapping[str, Any]:
        containers = list(self.written.get("containerDefinitions") or [])
        return containers[index] if index < len(containers) else {}

    def size(self, key: str, index: int = 0) -> tuple[str, str]:
        """Where the task's `cpu` or `memory` is set: the spec's override (task level or the
        container's), else the task definition's own member."""
        overrides = self.spec.overrides if self.from_git else {}
        if key in self.written:
            if key in overrides:
                return self.spec_doc("overrides", key)
            return self.taskdef(key)
        name = str(self._container(index).get("name", ""))
        if key in ((overrides.get("containers") or {}).get(name) or {}):
            return self.spec_doc("overrides", "containers", name, key)
        if key in overrides:
            return self.spec_doc("overrides", key)
        return self.taskdef("containerDefinitions", index, key)

    def image(self, index: int) -> tuple[str, str]:
        name = str(self._container(index).get("name", ""))
        if self.from_git and name in self.pins:
            return str(self.spec.path), self.pins[name]
        return self.taskdef("containerDefinitions", index, "image")

    def secret(self, index: int, name: str, key: str = "secrets") -> tuple[str, str]:
        """A `secrets` (or logConfiguration `secretOptions`) entry by its name: the spec's
        override when it sets that name, else the task definition's own entry."""
        container = self._container(index)
        cname = str(container.get("name", ""))
        overrides = ((self.spec.overrides.get("containers") or {}).get(cname) or {})
        if self.from_git and key == "secrets" and name in (overrides.get("secrets") or {}):
            return self.spec_doc("overrides", "containers", cname, "secrets", name)
        items = (container.get("logConfiguration") or {}).get("secretOptions") \
            if key == "secretOptions" else container.get("secrets")
        position = next((i for i, item in enumerate(items or []) if item.get("name") == name),
                        None)
        if key == "secretOptions":
            return self.taskdef("containerDefinitions", index, "logConfiguration",
                                "secretOptions", position if position is not None else 0,
                                "valueFrom")
        return self.taskdef("containerDefinitions", index, "secrets",
                            position if position is not None else 0, "valueFrom")


# ------------------------------------------------------------------------------- roles

ROLE_ARN = re.compile(r"^arn:aws[a-z-]*:iam::([0-9]{12}):role/(?:.*/)?([^/]+)$")


def role_name(reference: str) -> tuple[str, str | None]:
    """(role name, account when the reference is an ARN): `ecsTaskExecutionRole` or
    `arn:aws:iam::123456789012:role/path/ecsTaskExecutionRole` (GetRole takes the name)."""
    match = ROLE_ARN.match(reference)
    return (match.group(2), match.group(1)) if match else (reference, None)


# ------------------------------------------------------------------------------- secrets

SSM, SECRETS_MANAGER = "ssm", "secretsmanager"
_ARN = re.compile(r"^arn:(aws[a-z-]*):(ssm|secretsmanager):([a-z0-9-]+):([0-9]{12}):(.+)$")


@dataclass(frozen=True)
class SecretRef:
    """One value a task's agent fetches at start: a secret, a log secret option, or the
    private registry's credentials (all with the execution role)."""

    value_from: str
    service: str  # ssm | secretsmanager
    region: str
    account: str
    name: str  # parameter name (with its leading / when hierarchical) or secret id
    container: str
    index: int  # the container's index
    entry: str  # the `name` of the secrets entry; "" for repositoryCredentials
    key: str  # secrets | secretOptions | repositoryCredentials
    partition: str = "aws"

    @property
    def label(self) -> str:
        return ("parameter" if self.service == SSM else "secret") + f" {self.name}"

    def names(self) -> list[str]:
        """The parameter names DescribeParameters may know it by: an ARN's `parameter/a` is
        the parameter `a` or `/a` (a name with levels always starts with /)."""
        if self.service != SSM or self.name.startswith("/"):
            return [self.name]
        return [self.name, "/" + self.name]

    def resource_arn(self, found_name: str | None = None) -> str:
        """The ARN IAM evaluates for this parameter or secret."""
        if self.value_from.startswith("arn:") and self.service == SECRETS_MANAGER:
            return ":".join(self.value_from.split(":")[:7])
        if self.value_from.startswith("arn:"):
            return self.value_from
        name = (found_name or self.name).lstrip("/")
        return f"arn:{self.partition}:ssm:{self.region}:{self.account}:parameter/{name}"


def secret_ref(value_from: str, env: Environment, container: str, index: int, entry: str,
               key: str) -> SecretRef:
    """A valueFrom (ARN or same-Region parameter name) as a reference. ECS developer guide,
    "Pass Systems Manager parameters...": "If the Systems Manager Parameter Store parameter
    exists in the same Region as the task you're launching, then you can use either the full
    ARN or name of the parameter"; a Secrets Manager valueFrom is the secret's ARN, optionally
    followed by `:json-key:version-stage:version-id`."""
    match = _ARN.match(value_from)
    if not match:
        return SecretRef(value_from, SSM, env.region, env.account, value_from, container,
                         index, entry, key)
    partition, service, region, account, resource = match.groups()
    if service == SSM:
        name = resource.removeprefix("parameter")
        name = name[1:] if name.count("/") == 1 else name  # parameter/a → a (or /a)
        return SecretRef(value_from, SSM, region, account, name, container, index, entry, key,
                         partition)
    secret_id = ":".join(value_from.split(":")[:7])
    return SecretRef(value_from, SECRETS_MANAGER, region, account, secret_id, container, index,
                     entry, key, partition)


def secret_refs(taskdef: Mapping[str, Any], env: Environment) -> Iterator[SecretRef]:
    """Every secret, log secret option and registry credential of the task definition."""
    for index, container in enumerate(taskdef.get("containerDefinitions") or []):
        name = str(container.get("name", ""))
        for item in container.get("secrets") or []:
            yield secret_ref(str(item.get("valueFrom", "")), env, name, index,
                             str(item.get("name", "")), "secrets")
        for item in (container.get("logConfiguration") or {}).get("secretOptions") or []:
            yield secret_ref(str(item.get("valueFrom", "")), env, name, index,
                             str(item.get("name", "")), "secretOptions")
        credentials = (container.get("repositoryCredentials") or {}).get("credentialsParameter")
        if credentials:
            ref = secret_ref(str(credentials), env, name, index, "", "repositoryCredentials")
            if ref.service == SSM:  # a name, not an ARN: private registry credentials are
                ref = SecretRef(ref.value_from, SECRETS_MANAGER, ref.region, ref.account,
                                ref.value_from, name, index, "", "repositoryCredentials")
            yield ref


def secret_place(origin: Origin, ref: SecretRef) -> tuple[str, str]:
    if ref.key == "repositoryCredentials":
        return origin.taskdef("containerDefinitions", ref.index, "repositoryCredentials",
                              "credentialsParameter")
    return origin.secret(ref.index, ref.entry, ref.key)


# ------------------------------------------------------------------------------- images

DOCKER_HUB = "docker.io"
ECR_HOST = re.compile(r"^([0-9]{12})\.dkr\.ecr(?:-fips)?\.([a-z0-9-]+)\.amazonaws\.com(?:\.cn)?$")


@dataclass(frozen=True)
class ImageRef:
    """A container image reference: registry host, repository, tag and/or digest."""

    image: str
    registry: str
    repository: str
    tag: str | None
    digest: str | None

    @property
    def reference(self) -> str:
        """What the registry's manifest API is asked for: the digest, else the tag."""
        return self.digest or self.tag or "latest"

    def ecr(self, env: Environment) -> tuple[str, str] | None:
        """(account, region) when the image is in ECR (the environment's registry included,
        which the sandbox names by its own address)."""
        if self.registry == env.registry:
            return env.account, env.region
        match = ECR_HOST.match(self.registry)
        return (match.group(1), match.group(2)) if match else None


def parse_image(image: str) -> ImageRef:
    """`nginx`, `nginx:1.25`, `public.ecr.aws/x/y@sha256:…`, `host:5000/a/b:t@sha256:…` as
    Docker reads them: the first part is a registry when it has a dot or a colon or is
    `localhost`, else the image is on Docker Hub (`library/` for a one-part name)."""
    rest, _, digest = image.partition("@")
    first, slash, remainder = rest.partition("/")
    if slash and ("." in first or ":" in first or first == "localhost"):
        registry, path = first, remainder
    else:
        registry, path = DOCKER_HUB, rest
    name, colon, tag = path.rpartition(":") if ":" in path.rsplit("/", 1)[-1] else (path, "", "")
    name = name if colon else path
    if registry == DOCKER_HUB and "/" not in name:
        name = f"library/{name}"
    return ImageRef(image, registry, name, tag or None, digest or None)


def images_of(taskdef: Mapping[str, Any]) -> list[tuple[int, str, str]]:
    """(container index, container name, image) of every container that names an image."""
    return [(i, str(c.get("name", "")), str(c["image"]))
            for i, c in enumerate(taskdef.get("containerDefinitions") or []) if c.get("image")]


# ------------------------------------------------------------------------------- logs


@dataclass(frozen=True)
class LogGroupRef:
    group: str
    region: str
    creates: bool  # awslogs-create-group "true": the driver creates it
    index: int
    container: str


def log_group_refs(taskdef: Mapping[str, Any], env: Environment) -> list[LogGroupRef]:
    """The awslogs groups of a task definition, in the region each names (else the
    environment's: the awslogs driver defaults to the task's Region)."""
    found = []
    for index, container in enumerate(taskdef.get("containerDefinitions") or []):
        config = container.get("logConfiguration") or {}
        options = config.get("options") or {}
        if config.get("logDriver") != "awslogs" or not options.get("awslogs-group"):
            continue
        creates = str(options.get("awslogs-create-group", "")).lower() == "true"
        found.append(LogGroupRef(str(options["awslogs-group"]),
                                 str(options.get("awslogs-region") or env.region), creates,
                                 index, str(container.get("name", ""))))
    return found
