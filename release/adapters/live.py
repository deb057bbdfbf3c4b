"""Reading the live state from AWS: the service, its revision and records, one wait snapshot.

The boto3 side of plan and stability. The wait's polls are read by the
environment's poller (adapters/poller.py: batched rounds shared by every service
being waited for); `SnapshotReader` is one service's poll on its own (status).
The load balancer's view of the tasks comes from the service's health source, chosen
by its load-balancer kind (engine/balancers.health_source).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from release.core import service_settings, stability
from release.core.config import Environment, ServiceSpec, revision_family
from release.core.errors import InvalidInput
from release.core.plan import Live
from release.core.poll_rounds import no_cluster
from release.core.records import Record
from release.core.serving import HealthSource


def describe_service(ecs: Any, cluster: str, name: str, env_name: str | None = None,
                     tags: bool = False) -> dict[str, Any] | None:
    """The service, or None when it does not exist (or was deleted: INACTIVE). With `tags`
    its tags too (DescribeServices `include`: "If TAGS is specified, the tags are included
    in the response. If this field is omitted, tags aren't included in the response.")."""
    try:
        response = (ecs.describe_services(cluster=cluster, services=[name], include=["TAGS"])
                    if tags else ecs.describe_services(cluster=cluster, services=[name]))
    except ecs.exceptions.ClusterNotFoundException:
        raise no_cluster(cluster, env_name) from None
    for service in response.get("services", []):
        if service.get("status") != "INACTIVE":
            return service
    return None


def describe_revision(ecs: Any, revision: str) -> tuple[dict[str, Any], list[dict[str, str]]]:
    """A task definition revision (family:N or ARN) and its tags."""
    response = ecs.describe_task_definition(taskDefinition=revision, include=["TAGS"])
    return response["taskDefinition"], response.get("tags", [])


def fetch_live(ecs: Any, env: Environment, spec: ServiceSpec) -> Live:
    service = describe_service(ecs, env.cluster, spec.service_name, env.name)
    if service is not None:
        service = with_revision_settings(ecs, service, spec)
    if service is None or not service.get("taskDefinition"):
        return Live(service, None)
    taskdef, tags = describe_revision(ecs, service["taskDefinition"])
    return Live(service, taskdef, {t["key"]: t.get("value", "") for t in tags})


def with_revision_settings(ecs: Any, service: dict[str, Any], spec: ServiceSpec
                           ) -> dict[str, Any]:
    """The service with the settings DescribeServices does not report (gatewayConnectors,
    monitoring: only on the service revision), read when the spec states one of them."""
    wanted = [k for k in service_settings.ON_REVISION if k in spec.service]
    current = [r["arn"] for r in service.get("currentServiceRevisions") or [] if r.get("arn")]
    if not wanted or not current:
        return service
    answer = ecs.describe_service_revisions(serviceRevisionArns=current[-1:])
    revision = next(iter(answer.get("serviceRevisions") or []), {})
    return {**service, **{k: revision[k] for k in wanted if k in revision}}


def revision_arns(ecs: Any, family: str) -> list[str]:
    """Every revision of the family, newest first (releases never deregister any)."""
    arns: list[str] = []
    paginator = ecs.get_paginator("list_task_definitions")
    for page in paginator.paginate(familyPrefix=family, sort="DESC"):
        arns += [a for a in page.get("taskDefinitionArns", [])
                 if revision_family(a) == family]
    return arns


def records_of(ecs: Any, family: str, limit: int | None = None) -> list[Record]:
    """Release records of the family's newest revisions (revisions without one are skipped)."""
    records = []
    for arn in revision_arns(ecs, family)[:limit]:
        tags = ecs.list_tags_for_resource(resourceArn=arn).get("tags", [])
        record = Record.from_tags(arn, tags)
        if record is not None:
            records.append(record)
    return records


def resolve_revision(ecs: Any, family: str, given: str) -> str:
    """`7`, `akka-demo:7` or a full ARN → the ARN of an existing revision."""
    name = f"{family}:{given}" if given.isdigit() else given
    try:
        taskdef, _ = describe_revision(ecs, name)
    except ecs.exceptions.ClientException:
        raise InvalidInput(f"task definition revision {name!r} does not exist",
                           f"list the releases with `release history`; revisions are "
                           f"{family}:N") from None
    if taskdef.get("family") != family:
        raise InvalidInput(f"{name} belongs to family {taskdef.get('family')!r}, not {family!r}",
                           "roll back to a revision of the service's own family")
    return taskdef["taskDefinitionArn"]


@dataclass
class SnapshotReader:
    """One service's polls on their own (status): a poller of its own with one member."""

    aws: Any
    cluster: str
    service_name: str
    health: HealthSource | None  # None: behind no load balancer
    _member: Any = None

    def __post_init__(self) -> None:
        from release.adapters.poller import EnvPoller

        self._member = EnvPoller(self.aws).join(self.cluster, self.service_name, self.health)

    @property
    def describe_services_calls(self) -> int:
        return int(self._member.describe_services_calls)

    def read(self, now: float) -> stability.Snapshot:
        return self._member.read(now)
