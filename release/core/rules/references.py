"""References between documents: load balancer, cluster, role, repository, names, order.

Why: a service spec names things its environment owns; a name that differs
from the environment's would deploy into, or route through, something else. Image
repositories are the exception: a service names its own (each pin's `repository`), and
only two build contexts sharing one would be wrong.
"""

from __future__ import annotations

from collections.abc import Iterator

from release.core.findings import ERROR, WARNING, Finding
from release.core.pin import ImagePin
from release.core.rules.base import (
    Context,
    finding,
    rule,
)
from release.core.template_checks import is_opaque


@rule("ref-cluster", ERROR, "a cluster named in the service spec is the environment's cluster",
      "remove /service/cluster (the environment's is used) or make them equal")
def ref_cluster(ctx: Context) -> Iterator[Finding]:
    for view in ctx.services:
        cluster = view.spec.service.get("cluster")
        if (view.env is not None and cluster is not None and cluster != view.env.cluster
                and not str(cluster).endswith(f":cluster/{view.env.cluster}")
                and not is_opaque(cluster) and not is_opaque(view.env.cluster)):
            yield finding("ref-cluster", view.rel, "/service/cluster",
                          f"cluster {cluster!r} is not environment {view.env_name}'s cluster "
                          f"{view.env.cluster!r}")


@rule("ref-role", ERROR, "the service role is the environment's iam.serviceRole",
      "use the role named in environment.json /iam/serviceRole")
def ref_role(ctx: Context) -> Iterator[Finding]:
    for view in ctx.services:
        role = view.spec.service.get("role")
        expected = view.env.iam.get("serviceRole") if view.env is not None else None
        if role is not None and expected and role != expected and not str(role).endswith(
                f"/{expected}") and not is_opaque(role) and not is_opaque(expected):
            yield finding("ref-role", view.rel, "/service/role",
                          f"role {role!r} is not environment {view.env_name}'s service role "
                          f"{expected!r}", f"use {expected!r}")


@rule("ref-repository", ERROR, "images built from different contexts go to different "
      "repositories (an image's tag is the commit that last changed its context: one commit "
      "changing two contexts would tag both images alike in one repository)",
      "give each built container its own /images/<container>/repository")
def ref_repository(ctx: Context) -> Iterator[Finding]:
    """Why an error: ECR tags are immutable, so the second build of the same tag finds the
    first image "already in ECR" and its container would run the other context's image."""
    built: dict[tuple[str, str], tuple[str, str, tuple[str, str | None]]] = {}
    for view in ctx.services:
        if view.env is None:
            continue
        for pin in view.spec.images:
            if pin.build is None:
                continue
            source = (pin.build.context.strip("/"), pin.build.dockerfile)
            key = (view.env_name, pin.repository_in(view.env))
            first = built.setdefault(key, (view.rel, pin.pointer, source))
            if first[2] != source:
                yield finding("ref-repository", view.rel, _repository_pointer(pin),
                              f"repository {key[1]!r} also receives the image built from "
                              f"{first[2][0]!r} ({first[0]}#{first[1]}), but this pin builds "
                              f"{source[0]!r}: both would be tagged with one commit")


def _repository_pointer(pin: ImagePin) -> str:
    if pin.pointer == "/image":
        return "/image/repository" if pin.repository else "/build/context"
    return f"{pin.pointer}/repository" if pin.repository else f"{pin.pointer}/build/context"


@rule("ref-environment-name", ERROR, "environment.json's name equals its folder name",
      "rename the folder or fix /name")
def ref_environment_name(ctx: Context) -> Iterator[Finding]:
    for name, (rel, env) in ctx.environments.items():
        declared = env.doc.get("name")
        if declared is not None and declared != name:
            yield finding("ref-environment-name", rel, "/name",
                          f"name {declared!r} differs from the folder name {name!r}",
                          f"set \"name\": {name!r}")


@rule("ref-service-name", ERROR, "service names are unique within an environment",
      "rename one of the services")
def ref_service_name(ctx: Context) -> Iterator[Finding]:
    seen: dict[tuple[str, str], str] = {}
    for view in ctx.services:
        key = (view.env_name, view.spec.service_name)
        if key in seen:
            yield finding("ref-service-name", view.rel, "/service/serviceName",
                          f"service {key[1]!r} is also defined by {seen[key]}")
        else:
            seen[key] = view.rel


@rule("env-promotion-order", WARNING, "environments have distinct promotion orders",
      "give each environment its own promotion.order")
def env_promotion_order(ctx: Context) -> Iterator[Finding]:
    seen: dict[int, str] = {}
    for name, (rel, env) in sorted(ctx.environments.items()):
        if "order" not in env.doc.get("promotion", {}):
            continue
        if env.promotion_order in seen:
            yield finding(
                "env-promotion-order", rel, "/promotion/order",
                f"promotion order {env.promotion_order} is also {seen[env.promotion_order]}'s:"
                f" which one is released first is undefined")
        else:
            seen[env.promotion_order] = name


CHECKS = (
    ref_cluster, ref_role, ref_repository, ref_environment_name,
    ref_service_name, env_promotion_order,
)
