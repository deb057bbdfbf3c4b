"""An awsvpc service's network, named as people name it: subnets and security groups by id
or by their Name tag (as environment.json names them for bootstrap), turned into the ids
CreateService and UpdateService need before either is called."""

from __future__ import annotations

import dataclasses
from typing import Any

from release.core.config import Environment, ServiceSpec
from release.core.errors import InvalidInput

KINDS = {"subnets": ("describe_subnets", "Subnets", "SubnetId", "subnet-id"),
         "securityGroups": ("describe_security_groups", "SecurityGroups", "GroupId", "group-id")}


def ids(ec2: Any, key: str, names: list[str], env: Environment) -> list[str]:
    """Each name as an id: itself when it is one, else the resource tagged Name=it."""
    operation, field, id_key, id_filter = KINDS[key]
    describe = getattr(ec2, operation)
    found = {item[id_key]: item[id_key] for item in describe(
        Filters=[{"Name": id_filter, "Values": names}])[field]}
    for item in describe(Filters=[{"Name": "tag:Name", "Values": names}])[field]:
        tag = next((t["Value"] for t in item.get("Tags", []) if t["Key"] == "Name"), None)
        found.setdefault(tag, item[id_key])
    missing = [n for n in names if n not in found]
    if missing:
        raise InvalidInput(
            f"{key} {', '.join(missing)} of the service's networkConfiguration not found in "
            f"{env.region} (neither as id nor as Name tag)",
            "create them (`release bootstrap` does for the load balancer's), or name existing "
            "ones; nothing was changed")
    return [found[n] for n in names]


def resolve(aws: Any, env: Environment, spec: ServiceSpec) -> ServiceSpec:
    """The spec with its awsvpcConfiguration's subnets and security groups as ids."""
    config = (spec.service.get("networkConfiguration") or {}).get("awsvpcConfiguration")
    if not config:
        return spec
    resolved = dict(config)
    for key in KINDS:
        if config.get(key):
            resolved[key] = ids(aws.ec2, key, list(config[key]), env)
    if resolved == config:
        return spec
    service = {**spec.service, "networkConfiguration": {
        **spec.service["networkConfiguration"], "awsvpcConfiguration": resolved}}
    return dataclasses.replace(spec, service=service)
