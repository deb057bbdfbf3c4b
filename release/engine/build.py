"""Which service, containers and build contexts a `release build` means; build and push each once.

The verb parses options and renders the result; choosing the service (one per
environment unless named), its pinned containers (every one with a build context,
or the one `--container` names) and their context folders is a decision worth one
place. Each image goes to its own repository (the pin's, else the environment's), so
"already in ECR, nothing built" holds per image: an unchanged rebuild of a
several-image service builds nothing.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from release.core.config import ConfigRepo, ServiceSpec
from release.core.documents import inside
from release.core.errors import InvalidInput, UsageError
from release.core.pin import ImagePin
from release.core.render import pinned_container
from release.output.events import Reporter


def _spec(config_repo: ConfigRepo, env: str, service: str | None) -> ServiceSpec:
    specs = config_repo.services_of(env, service)
    if len(specs) != 1:
        names = ", ".join(s.name for s in specs)
        raise UsageError(f"environment {env!r} has several services ({names})",
                         "name one with --service")
    return specs[0]


def build_requests(root: Path, config_repo: ConfigRepo, spec: ServiceSpec,
                   container: str | None, context: Path | None) -> list[Any]:
    """One BuildRequest per pinned container to build, the primary's first.

    Every pin with a build context is built; with `container`, only that one. `context`
    (--context) replaces the chosen pin's folder, so it needs one pin to apply to.
    """
    from release.adapters.image import BuildRequest

    taskdef = config_repo.taskdef_for(spec)
    named = {pinned_container(spec, pin, taskdef): pin for pin in spec.images}
    primary = pinned_container(spec, spec.image, taskdef)
    if container is not None and container not in named:
        raise InvalidInput(f"service {spec.name!r} in {spec.env!r} pins no container "
                           f"{container!r}", f"pinned containers: {', '.join(named)}")
    chosen = ({container: named[container]} if container is not None else
              {name: pin for name, pin in sorted(named.items(), key=lambda i: i[0] != primary)})
    if context is not None and len(chosen) > 1:
        raise UsageError(f"--context is one folder, and {spec.name!r} pins "
                         f"{len(chosen)} containers ({', '.join(chosen)})",
                         "name the one to build with --container")
    requests = []
    for name, pin in chosen.items():
        folder = (Path(context).resolve() if context is not None  # relative to where it runs
                  else _context_of(root, spec, name, pin, single=len(chosen) == 1))
        if folder is None:
            continue
        build = pin.build
        _within(root, folder, build.dockerfile if build and context is None else None)
        requests.append(BuildRequest(
            folder, pin.repository_in(config_repo.environment(spec.env)),
            build.dockerfile if build and context is None else None,
            tuple(sorted(build.args.items())) if build and context is None else (), name))
    if not requests:
        raise InvalidInput(f"service {spec.name!r} in {spec.env!r} names no build context",
                           f"add \"build\": {{\"context\": \"<folder>\"}} to a pin under "
                           f"/images in {spec.path}, or pass --context")
    return requests


def _within(root: Path, folder: Path, dockerfile: str | None) -> None:
    """A context (and its Dockerfile) must be a folder of the config repository, links
    followed, whether the spec names it (validation refuses one outside it:
    `image-build-context`) or --context does: an image is tagged with the commit it was built
    from, and a build from another checkout would carry a commit this repository's history
    does not hold (docs/image.md)."""
    for path, what in ((folder, "build context"),
                       (folder / dockerfile if dockerfile else None, "Dockerfile")):
        if path is not None and not inside(root, path):
            raise InvalidInput(
                f"the {what} {path} is outside the config repository {root}",
                "build from a folder of the config repository (a git submodule is one); "
                "nothing was built")


def _context_of(root: Path, spec: ServiceSpec, name: str, pin: ImagePin, single: bool
                ) -> Path | None:
    """The pin's context folder; a pin without one is an image built elsewhere (skipped),
    unless it is the only one asked for."""
    if pin.build is not None:
        return root / pin.build.context
    if single:
        where = f"{pin.pointer}/build" if pin.pointer != "/image" else "/build"
        raise InvalidInput(f"service {spec.name!r} in {spec.env!r} names no build context "
                           f"for container {name!r}",
                           f'add "build": {{"context": "<folder>"}} at {where} in {spec.path}, '
                           "or pass --context")
    return None


def build(root: Path, config_repo: ConfigRepo, env: str, service: str | None,
          context: Path | None, reporter: Reporter, *, push: bool, allow_dirty: bool,
          container: str | None = None) -> list[Any]:
    """Build the chosen service's images (and push them): the adapter's BuildResults, the
    primary container's first. Identical requests (same context, Dockerfile, arguments and
    repository) are built once and their result shared."""
    from release.adapters import image

    spec = _spec(config_repo, env, service)
    environment = config_repo.environment(env)
    results: list[Any] = []
    done: dict[tuple[Any, ...], Any] = {}
    for request in build_requests(root, config_repo, spec, container, context):
        key = (request.context.resolve(), request.repository, request.dockerfile, request.args)
        if key in done:
            results.append(dataclasses.replace(done[key], container=request.container))
            continue
        if len(spec.images) > 1:
            reporter.emit("build.image", f"container {request.container}: "
                          f"{request.repository} from {request.context}",
                          container=request.container, repository=request.repository)
        done[key] = image.build_and_push(environment, request, reporter, push=push,
                                         allow_dirty=allow_dirty)
        results.append(done[key])
    return results


def describe(result: Any) -> list[str]:
    """One image's result as aligned `name value` lines for the console."""
    outcome = ("already in ECR, nothing built or pushed" if result.existing
               else "built and pushed" if result.pushed else "built locally (not pushed)")
    lines = [f"{'container':<11}{result.container}"] if result.container else []
    return lines + [f"{'repository':<11}{result.repository}", f"{'tag':<11}{result.tag}",
                    f"{'digest':<11}{result.digest or '-'}",
                    f"{'reference':<11}{result.reference or result.image}",
                    f"{'revision':<11}{result.revision}", f"{'outcome':<11}{outcome}"]
