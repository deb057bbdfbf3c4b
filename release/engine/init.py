"""`release init`: read a live service from AWS and write its documents (release/core/adopt.py).

Reads only: DescribeServices, DescribeTaskDefinition (with tags), the classic ELB
(DescribeLoadBalancers, DescribeLoadBalancerAttributes), ECR DescribeImages for each
image in the environment's ECR registry (its digest, or a tag of its digest), and the
cluster's container instances (their type and count for environment.json). Files are
written only after every read succeeded, and none is overwritten without `force`.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from release.adapters import aws as aws_adapter
from release.adapters import live as live_state
from release.core import adopt, names
from release.core.config import Environment
from release.core.documents import DocumentError, discover, inside, read_json
from release.core.errors import InvalidInput, UsageError


@dataclass(frozen=True)
class InitResult:
    written: list[str]
    kept: list[str]  # environment.json that already existed
    decisions: list[str]


def _environment(repo: Path, env: str, cluster: str, region: str | None) -> Environment:
    """The environment's own document when it exists (its account is checked), else one
    made from the options, whose account is the credentials' own."""
    path = repo / "environments" / env / "environment.json"
    if path.exists():
        try:
            return Environment.from_doc(path, read_json(path, root=repo), env)
        except (DocumentError, KeyError, TypeError, ValueError, AttributeError) as exc:
            raise InvalidInput(f"{path} cannot be used: {exc}",
                               "fix it (`release validate`), or remove it and init writes "
                               "one; nothing was written", where=str(path)) from None
    region = region or os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
    if not region:
        raise UsageError("no region: environment.json does not exist yet",
                         "pass --region (or set AWS_REGION)")
    doc = {"name": env, "account": "", "region": region, "cluster": cluster,
           "ecr": {"repository": "unknown"}, "instances": {"type": "t2.medium", "count": 0},
           "loadBalancer": {"name": "", "listener": {}, "healthCheck": {
               "target": "TCP:80", "interval": 30, "timeout": 5, "unhealthyThreshold": 2,
               "healthyThreshold": 10}}}
    return Environment.from_doc(path, doc, env)


def managing_spec(repo: Path, env: str, service: str) -> str | None:
    """The spec of `env` (relative path) that manages `service`: its serviceName, or its file
    name when it cannot be read (validation speaks of that)."""
    for (_, stem), path in sorted(discover(repo, [env]).services.items()):
        try:
            name = (read_json(path).get("service") or {}).get("serviceName")
        except (DocumentError, OSError, ValueError, AttributeError):
            name = None
        if service in (name, stem):
            return path.relative_to(repo).as_posix()
    return None


def _connect(env: Environment) -> tuple[Any, str]:
    if env.account:
        return aws_adapter.connect(env), env.account
    clients = aws_adapter.Aws(env)
    return clients, clients.identity().account


def _resolve_digest(ecr: Any, account: str, repository: str, tag: str | None
                    ) -> tuple[str | None, str | None]:
    """(digest, a tag of it) from ECR; (None, tag) when the image is not in this ECR."""
    if not tag:
        return None, None
    try:
        details = ecr.describe_images(registryId=account, repositoryName=repository,
                                      imageIds=[{"imageTag": tag}])["imageDetails"]
    except (ecr.exceptions.ImageNotFoundException, ecr.exceptions.RepositoryNotFoundException):
        return None, tag
    return (details[0].get("imageDigest") if details else None), tag


def _digest_tag(ecr: Any, account: str, repository: str, digest: str) -> str | None:
    try:
        details = ecr.describe_images(registryId=account, repositoryName=repository,
                                      imageIds=[{"imageDigest": digest}])["imageDetails"]
    except (ecr.exceptions.ImageNotFoundException, ecr.exceptions.RepositoryNotFoundException):
        return None
    tags = details[0].get("imageTags") if details else None
    return sorted(tags)[0] if tags else None


def _instances(clients: Any, cluster: str) -> tuple[str | None, int]:
    ecs = clients.ecs
    arns = ecs.list_container_instances(cluster=cluster).get("containerInstanceArns", [])
    if not arns:
        return None, 0
    described = ecs.describe_container_instances(cluster=cluster, containerInstances=arns[:100])
    types = [a.get("value") for ci in described.get("containerInstances", [])
             for a in ci.get("attributes") or [] if a.get("name") == "ecs.instance-type"]
    if not types:
        ids = [ci["ec2InstanceId"] for ci in described.get("containerInstances", [])]
        reservations = clients.ec2.describe_instances(InstanceIds=ids[:1])["Reservations"]
        types = [i["InstanceType"] for r in reservations for i in r["Instances"]]
    return (types[0] if types else None), len(arns)


def read_live(env: Environment, cluster: str, name: str, env_repository: str | None = None
              ) -> adopt.LiveService:
    """What AWS says of the service; `env_repository` is the ecr.repository of an
    environment.json that is kept (a pin in another repository then names its own)."""
    clients, account = _connect(env)
    with aws_adapter.aws_errors(env, f"reading {cluster}/{name}"):
        service = live_state.describe_service(clients.ecs, cluster, name)
        if service is None:
            raise InvalidInput(f"service {name!r} does not exist in cluster {cluster!r}",
                               "check --cluster and --service (`aws ecs list-services`)")
        taskdef, tags = live_state.describe_revision(clients.ecs, service["taskDefinition"])
        lb, attributes = None, None
        names = [b["loadBalancerName"] for b in service.get("loadBalancers") or []
                 if b.get("loadBalancerName")]
        if names:
            lb = clients.elb.describe_load_balancers(
                LoadBalancerNames=names[:1])["LoadBalancerDescriptions"][0]
            attributes = clients.elb.describe_load_balancer_attributes(
                LoadBalancerName=names[0])["LoadBalancerAttributes"]
        registry = env.registry_override or f"{account}.dkr.ecr.{env.region}.amazonaws.com"
        images = [_resolved(clients.ecr, account, str(c.get("name")), str(c.get("image", "")))
                  for c in taskdef["containerDefinitions"]
                  if str(c.get("image", "")).startswith(registry + "/")]
        container = adopt.image_container(service, taskdef)
        primary = next((i for i in images if i.container == container), None)
        if primary is None and not images:  # nothing in ECR: the LB's container, as before
            image = next(str(c.get("image", "")) for c in taskdef["containerDefinitions"]
                         if c.get("name") == container)
            primary = _resolved(clients.ecr, account, container, image)
        instance_type, count = _instances(clients, cluster)
    endpoint = clients.endpoint if aws_adapter.is_local(clients.endpoint) else None
    digest, image_tag = (primary.digest, primary.tag) if primary else (None, None)
    return adopt.LiveService(env.name, account, env.region, cluster, service, taskdef, tags,
                             lb, attributes, digest, image_tag, instance_type, count, endpoint,
                             tuple(images), env_repository)


def _resolved(ecr: Any, account: str, container: str, image: str) -> adopt.LiveImage:
    """A container's image with what ECR knows of it: the digest of its tag, or a tag of
    its digest (each in the image's own repository)."""
    _, repository, tag, digest = adopt.image_parts(image)
    if digest:
        image_tag = _digest_tag(ecr, account, repository, digest)
    else:
        digest, image_tag = _resolve_digest(ecr, account, repository, tag)
    return adopt.LiveImage(container, repository, image_tag, digest)


def init(repo: Path, env: str, cluster: str, service: str, region: str | None = None,
         force: bool = False) -> InitResult:
    """Read the live service, then write its documents under `repo`, and nowhere else: the
    environment's and service's names are checked before they become paths, and every file
    written must stay inside the repository, links followed.

    A service the environment already manages (a spec whose serviceName, or file name, is
    `service`) is refused before AWS is read: a second spec would release it twice. With
    --force the spec is rewritten in its own file, never beside it."""
    names.check_environment(env)
    names.check_service(service)
    managed = managing_spec(repo, env, service)
    spec_file = f"environments/{env}/services/{service}.json"
    if managed is not None and managed != spec_file and not force:
        raise InvalidInput(
            f"environment {env} already manages service {service!r} in {managed}; init would "
            "write a second spec for it",
            f"`release plan --env {env} --service {Path(managed).stem}` shows how git and the "
            "live service differ; pass --force to rewrite that spec from the live service; "
            "nothing was written")
    environment = _environment(repo, env, cluster, region)
    env_file = f"environments/{env}/environment.json"
    kept = [env_file] if (repo / env_file).is_file() else []
    adopted = adopt.adopt(read_live(environment, cluster, service,
                                    environment.ecr_repository if kept else None))
    if managed is not None and managed != spec_file and spec_file in adopted.documents:
        adopted.documents[managed] = adopted.documents.pop(spec_file)
    targets = [p for p in adopted.documents if p not in kept]
    escaping = [p for p in targets if not inside(repo, p)]
    if escaping:
        raise InvalidInput(f"would write outside the repository: {', '.join(escaping)}",
                           "a folder or file there is a symbolic link out of the repository, "
                           "or a live name is not a file name; nothing was written")
    existing = [p for p in targets if (repo / p).exists()]
    if existing and not force:
        raise InvalidInput(f"would overwrite {', '.join(existing)}",
                           "pass --force to replace them, or init into another --repo; "
                           "nothing was written")
    for rel in targets:
        path = repo / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(adopted.documents[rel], indent=2) + "\n")
    return InitResult(targets, kept, adopted.decisions)
