"""A revision named on the command line (`rollback --to`, `run --revision`), checked before use.

Its own module because both verbs read it and neither should import the other. Pure.
"""

from __future__ import annotations

from typing import Any

from release.core.errors import InvalidInput


def check_revision_arn(environment: Any, family: str, given: str, option: str = "--to") -> None:
    """An ARN given to --to (or `release run --revision`) must name this environment's
    account, region and family.

    ECS resolves a task definition ARN by family:revision in the caller's own account
    and region, so an ARN copied from another account would silently name the local
    revision of the same name.
    """
    if not given.startswith("arn:"):
        return
    parts = given.split(":", 5)
    resource = parts[5] if len(parts) == 6 else ""
    named_family = resource.removeprefix("task-definition/").rsplit(":", 1)[0]
    expected = (f"arn:aws:ecs:{environment.region}:{environment.account}:"
                f"task-definition/{family}:N")
    if (len(parts) != 6 or parts[2] != "ecs" or parts[3] != environment.region
            or parts[4] != environment.account or not resource.startswith("task-definition/")
            or named_family != family):
        raise InvalidInput(f"{option} {given} is not a revision of this service in "
                           f"{environment.name} (account {environment.account}, region "
                           f"{environment.region}, family {family})",
                           f"name a revision as N, {family}:N or {expected}; nothing was "
                           "changed")
