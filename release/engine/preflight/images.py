"""Preflight's image check: every image of the revision exists where it will be pulled from.

An image in ECR (each pin in the repository it names, `ImagePin.repository_in`, and any
other image whose registry is an ECR registry) is looked up with DescribeImages by digest,
else tag. Any other image (a sidecar from Docker Hub, Quay, GHCR, public ECR, a local
registry) by its registry's manifest API (adapters/registry_api.py): found, missing, or "not
checked" with the reason — private, or unreachable from where the release runs (no network
is the reason then, never an error).
"""

from __future__ import annotations

from release.adapters import registry_api
from release.core import preflight as pf
from release.core.references import ImageRef, images_of, parse_image
from release.engine.preflight.context import ROLLBACK, Context, Denied, not_checked


def check(ctx: Context) -> list[pf.Result]:
    results = []
    unreachable: dict[str, str] = {}  # registry → why (asked once a preflight)
    for index, container, image in images_of(ctx.taskdef):
        ref = parse_image(image)
        at = ctx.origin.image(index)
        ecr = ref.ecr(ctx.env)
        if ecr is not None:
            results.append(_in_ecr(ctx, ref, container, ecr, at))
        else:
            results.append(_in_registry(ctx, ref, container, at, unreachable))
    return results or [pf.placed("images", pf.OK, "images", "the revision names no image")]


def _shown(ref: ImageRef) -> str:
    return f"{ref.repository}@{ref.digest or ref.tag or 'latest'}"


def _in_ecr(ctx: Context, ref: ImageRef, container: str, ecr: tuple[str, str],
            at: tuple[str, str]) -> pf.Result:
    account, region = ecr
    client = ctx.client("ecr", region)
    image_id = {"imageDigest": ref.digest} if ref.digest else {"imageTag": ref.tag or "latest"}
    resource = f"image {_shown(ref)}"
    try:
        ctx.call(client, "describe_images", registryId=account, repositoryName=ref.repository,
                 imageIds=[image_id])
    except (client.exceptions.ImageNotFoundException,
            client.exceptions.RepositoryNotFoundException) as exc:
        kind = type(exc).__name__
        return pf.placed("images", pf.PROBLEM, resource,
                         f"missing image: {_shown(ref)} (container {container}) is not in ECR "
                         f"({kind})", _missing_fix(ctx, kind), at)
    except Denied as exc:
        return not_checked("images", resource, exc, at)
    return pf.placed("images", pf.OK, resource, f"in ECR (container {container})", "", at)


def _missing_fix(ctx: Context, kind: str) -> str:
    env, spec = ctx.env.name, ctx.spec.name
    if ctx.mode == ROLLBACK:
        return ("roll back to another revision with --to (see `release history`), or push "
                "that image again; nothing was changed")
    fix = (f"push it with `release build --env {env} --service {spec} --push`, or pin an "
           "image that exists with `release promote`")
    if kind == "RepositoryNotFoundException":
        fix += f"; create the repository with `release bootstrap --env {env}`"
    return fix


def _in_registry(ctx: Context, ref: ImageRef, container: str, at: tuple[str, str],
                 unreachable: dict[str, str]) -> pf.Result:
    resource = f"image {ref.image}"
    if ref.registry in unreachable:
        return pf.placed("images", pf.NOT_CHECKED, resource,
                         f"not checked: {unreachable[ref.registry]}", "", at)
    answer = registry_api.lookup(ref.registry, ref.repository, ref.reference)
    if answer.state == registry_api.FOUND:
        if ref.digest and answer.digest and answer.digest != ref.digest:
            return pf.placed("images", pf.PROBLEM, resource,
                             f"{ref.registry} answers digest {answer.digest} for {ref.digest}",
                             "pin the digest the registry holds", at)
        return pf.placed("images", pf.OK, resource, f"in {ref.registry} (container "
                         f"{container}; {answer.digest or 'no digest given'})", "", at)
    if answer.state == registry_api.MISSING:
        return pf.placed("images", pf.PROBLEM, resource,
                         f"missing image: {ref.repository}:{ref.reference} is not in "
                         f"{ref.registry} ({answer.detail}); container {container} cannot "
                         "be pulled", "pin an image that exists (by digest)", at)
    if answer.state == registry_api.DENIED:
        private = any(c.get("name") == container and c.get("repositoryCredentials")
                      for c in ctx.taskdef.get("containerDefinitions") or [])
        why = ("a private image: pulled with its repositoryCredentials, which preflight does "
               "not read" if private else "the registry wants credentials (a private image, "
               "or one that does not exist)")
        return pf.placed("images", pf.NOT_CHECKED, resource, f"not checked: {why}", "", at)
    unreachable[ref.registry] = answer.detail
    return pf.placed("images", pf.NOT_CHECKED, resource, f"not checked: {answer.detail}",
                     "", at)
