"""A Service Connect namespace named as people name it, resolved to the ARN ECS reports.

CreateService takes either ("The namespace name or full Amazon Resource Name (ARN) of the
Cloud Map namespace for use with Service Connect", ServiceConnectConfiguration.namespace),
but DescribeServices answers with the namespace's ARN, which carries its id
(arn:aws:servicediscovery:REGION:ACCOUNT:namespace/ns-...), not its name: a spec that names
its namespace, as the ECS developer guide's and ecspresso's service definitions do, would
differ from live by that name on every `plan`. So the name becomes the ARN first, like a
target group name (adapters/target_groups.resolve), through Cloud Map's ListNamespaces with
the NAME filter. ListNamespaces "gets MaxResults namespaces and then filters them", so an
empty page is not the end: every page is read.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from release.core.config import Environment, ServiceSpec
from release.core.errors import InvalidInput

POINTER = "/service/serviceConnectConfiguration/namespace"


def namespace_arn(servicediscovery: Any, name: str, env: Environment | None = None) -> str:
    """The ARN of the Cloud Map namespace `name` (kept as written when it is an ARN)."""
    if name.startswith("arn:"):
        return name
    pages = servicediscovery.get_paginator("list_namespaces").paginate(
        Filters=[{"Name": "NAME", "Values": [name], "Condition": "EQ"}])
    found = sorted({str(ns["Arn"]) for page in pages for ns in page.get("Namespaces", [])
                    if ns.get("Name") == name})
    where = f" in environment {env.name}" if env is not None else ""
    if not found:
        raise InvalidInput(f"Service Connect namespace {name!r} ({POINTER}) does not "
                           f"exist{where}",
                           "create the Cloud Map namespace, or name an existing one (its name "
                           "or ARN); nothing was changed")
    if len(found) > 1:
        raise InvalidInput(f"{len(found)} Cloud Map namespaces are named {name!r}{where}: "
                           f"{', '.join(found)}",
                           f"write the ARN of the service's namespace in {POINTER}; nothing "
                           "was changed")
    return found[0]


def resolve(aws: Any, env: Environment, spec: ServiceSpec) -> ServiceSpec:
    """The spec with its Service Connect namespace as the ARN DescribeServices reports."""
    connect = spec.service.get("serviceConnectConfiguration") or {}
    name = connect.get("namespace")
    if not isinstance(name, str) or not name or name.startswith("arn:"):
        return spec
    resolved = {**connect, "namespace": namespace_arn(aws.servicediscovery, name, env)}
    return dataclasses.replace(spec, service={**spec.service,
                                              "serviceConnectConfiguration": resolved})
