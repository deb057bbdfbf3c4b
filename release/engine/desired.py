"""Git's version of one service in the words ECS answers in: what every verb that compares
git with live compares.

A spec names its target groups, subnets, security groups and Service Connect namespace
as people do (a target group or namespace by name, a subnet or security group by its Name
tag); DescribeServices answers with the ARNs and ids. Compared unresolved, a
service released a minute ago would differ from git by every name. So `plan`,
`deploy`, `apply --dry-run` and `status` all take git's version from `git_version`
and compare it with live through core/plan.drift: one resolution, one comparison.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from release.core.config import ConfigRepo, ServiceSpec
from release.core.errors import InvalidInput
from release.core.render import render_service


@dataclass(frozen=True)
class GitVersion:
    """The spec with its names resolved to ARNs and ids, and the rendered task definition."""

    spec: ServiceSpec
    taskdef: dict[str, Any]


def render(repo: ConfigRepo, spec: ServiceSpec, aws: Any = None) -> dict[str, Any]:
    """The task definition git asks for: the rendered document (no AWS call), or the revision
    a spec names (/taskDefinition/revision, `deploy --revision`) as DescribeTaskDefinition
    answers: released as it is, it must exist and be of the service's family."""
    if spec.revision is None:
        return render_service(repo, spec)
    from release.adapters import live as live_state

    try:
        taskdef, _tags = live_state.describe_revision(aws.ecs, spec.revision)
    except aws.ecs.exceptions.ClientException:
        raise InvalidInput(f"task definition revision {spec.revision!r} does not exist",
                           "name a registered revision (family:N or its ARN) in "
                           "/taskDefinition/revision, or pass --revision; nothing was changed",
                           where=str(spec.path)) from None
    if taskdef.get("family") != spec.family:
        raise InvalidInput(f"{spec.revision} belongs to family {taskdef.get('family')!r}, not "
                           f"the service's {spec.family!r}",
                           "release a revision of the service's own family; nothing was changed",
                           where=str(spec.path))
    return taskdef


def resolve_names(aws: Any, repo: ConfigRepo, spec: ServiceSpec) -> ServiceSpec:
    """Target group names → ARNs (DescribeTargetGroups), awsvpc subnet and security group
    names → ids (DescribeSubnets, DescribeSecurityGroups), a Service Connect namespace name
    → its ARN (Cloud Map ListNamespaces); ids and ARNs are kept as written. Raises
    InvalidInput naming what does not exist."""
    from release.adapters import awsvpc, namespaces
    from release.engine import balancers

    env = repo.environment(spec.env)
    spec = namespaces.resolve(aws, env, balancers.resolve(aws, env, spec))
    return awsvpc.resolve(aws, env, spec)


def git_version(aws: Any, repo: ConfigRepo, spec: ServiceSpec,
                taskdef: dict[str, Any] | None = None) -> GitVersion:
    """Git's version of `spec` as ECS would hold it; `taskdef` when already rendered."""
    rendered = taskdef if taskdef is not None else render(repo, spec, aws)
    if spec.revision and rendered.get("taskDefinitionArn"):  # family:N → the ARN ECS answers
        spec = dataclasses.replace(spec, revision=rendered["taskDefinitionArn"])
    return GitVersion(resolve_names(aws, repo, spec), rendered)
