"""Bootstrap's ECR step: every repository the environment's image pins name.

A service names the repository of each image it pins (`/image/repository`,
`/images/<container>/repository`; default the environment's `ecr.repository`), so
one environment may need several. Each is planned the same way as the seed's one:
created with the environment's tag immutability and scan-on-push setting, with the
seed's two repository statements (`jenkins_push_pull`, `ecs_instance_pull`) in ONE
policy document, and drift in any of the three planned back. Only Describe/Get
calls are made here; the executor makes the rest.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

from release.core.calls import ApiCall
from release.core.config import Environment
from release.core.policies import policy_difference, repository_policy

# What ECR answers SetRepositoryPolicy when a principal does not exist (or not yet):
# InvalidParameterException "Invalid parameter at 'PolicyText' failed to satisfy
# constraint: 'Principal not found'".
PRINCIPAL_NOT_FOUND = "InvalidParameterException: Principal not found"


def ecr_settings(env: Environment) -> tuple[str, bool]:
    """(imageTagMutability, scanOnPush) from the environment's `ecr` block; both on by default."""
    ecr = env.doc.get("ecr", {})
    mutability = "IMMUTABLE" if ecr.get("tagImmutability", True) else "MUTABLE"
    return mutability, bool(ecr.get("scanOnPush", True))


def describe(repositories: Mapping[str, list[str]], env: Environment) -> str:
    """One line naming each repository and the pins that name it (the bootstrap's output)."""
    parts = []
    for name, pins in repositories.items():
        who = ", ".join(pins) if pins else "no service pins it"
        default = "the environment's ecr.repository; " if name == env.ecr_repository else ""
        parts.append(f"{name} ({default}{who})")
    return f"ECR repositories of {env.name}: " + "; ".join(parts)


def plan_repositories(ecr: Any, env: Environment, repositories: Mapping[str, list[str]],
                      absent_on: Callable[..., Any], retry_seconds: float) -> list[ApiCall]:
    """The calls that make each named repository match the environment document."""
    calls: list[ApiCall] = []
    for name, pins in repositories.items():
        calls += _repository(ecr, env, name, pins, absent_on, retry_seconds)
    return calls


def _repository(ecr: Any, env: Environment, name: str, pins: list[str],
                absent_on: Callable[..., Any], retry_seconds: float) -> list[ApiCall]:
    mutability, scan = ecr_settings(env)
    policy = repository_policy(env)
    registry = env.account  # every ECR call names the environment's registry
    found = absent_on({"RepositoryNotFoundException"}, ecr.describe_repositories,
                      registryId=registry, repositoryNames=[name])
    live = found["repositories"][0] if found else None
    calls: list[ApiCall] = []
    set_policy_reason = "repository policy missing"
    if live is None:
        named_by = f" (pinned by {', '.join(pins)})" if pins else ""
        calls.append(ApiCall("ecr", "create_repository",
                             {"registryId": registry, "repositoryName": name,
                              "imageTagMutability": mutability,
                              "imageScanningConfiguration": {"scanOnPush": scan}},
                             f"repository does not exist{named_by}", name))
    else:
        if live.get("imageTagMutability", "MUTABLE") != mutability:
            calls.append(ApiCall("ecr", "put_image_tag_mutability",
                                 {"registryId": registry, "repositoryName": name,
                                  "imageTagMutability": mutability},
                                 f"tags are {live.get('imageTagMutability')}, want {mutability}",
                                 name))
        live_scan = bool(live.get("imageScanningConfiguration", {}).get("scanOnPush"))
        if live_scan != scan:
            calls.append(ApiCall("ecr", "put_image_scanning_configuration",
                                 {"registryId": registry, "repositoryName": name,
                                  "imageScanningConfiguration": {"scanOnPush": scan}},
                                 f"scanOnPush is {live_scan}, want {scan}", name))
        current = absent_on({"RepositoryPolicyNotFoundException"}, ecr.get_repository_policy,
                            registryId=registry, repositoryName=name)
        if current is not None:
            difference = policy_difference(policy, current["policyText"])
            if difference is None:
                return calls
            set_policy_reason = f"policy differs ({difference})"
    calls.append(ApiCall("ecr", "set_repository_policy",
                         {"registryId": registry, "repositoryName": name,
                          "policyText": json.dumps(policy)},
                         f"{set_policy_reason} (retried for up to {retry_seconds:.0f} s while "
                         "ECR does not see a just-created role yet)",
                         f"{name} policy", retry_on=(PRINCIPAL_NOT_FOUND,)))
    return calls
