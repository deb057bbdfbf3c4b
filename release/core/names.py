"""Names that become paths: an environment (a folder under environments/) and a service (a
file stem under services/).

A name given on the command line is joined to the repository's path by `init`, `promote`
and others; `../../x` or `/etc` would write or read outside the repository. So a name is
checked against what it may be before it is used at all: an environment as its folder and
environment.json's `name` must be (the schema's pattern), a service as ECS names one (letters,
digits, `_` and `-`, up to 255) with the dots a file stem may add. Pure.
"""

from __future__ import annotations

import re

from release.core.errors import UsageError

# environment.schema.json /name: "must equal its folder name"
ENVIRONMENT = re.compile(r"^[a-z][a-z0-9-]{0,62}$")
# CreateService serviceName: "Up to 255 letters (uppercase and lowercase), numbers, underscores,
# and hyphens are allowed"; a spec's file stem may also hold dots, never as its first character.
SERVICE = re.compile(r"^[A-Za-z0-9_-][A-Za-z0-9_.-]{0,254}$")


def environment_problem(name: str) -> str | None:
    """Why `name` cannot be an environment's name, or None."""
    if ENVIRONMENT.match(name):
        return None
    return (f"{name!r} is not an environment name: a folder under environments/ is named with "
            "a lowercase letter, then lowercase letters, digits or '-' (at most 63)")


def service_problem(name: str) -> str | None:
    """Why `name` cannot name a service (file stem or serviceName), or None."""
    if SERVICE.match(name):
        return None
    return (f"{name!r} is not a service name: letters, digits, '_', '-' and '.' (not first), "
            "at most 255, as ECS names a service and its spec file is named")


def check_environment(name: str) -> str:
    """`name` when it may become a path; else exit 2 (usage) before anything is read."""
    problem = environment_problem(name)
    if problem:
        raise UsageError(problem, "pass --env with the name of a folder under environments/")
    return name


def check_service(name: str) -> str:
    """`name` when it may become a path; else exit 2 (usage) before anything is read."""
    problem = service_problem(name)
    if problem:
        raise UsageError(problem, "pass --service with a spec's file stem or its serviceName")
    return name
