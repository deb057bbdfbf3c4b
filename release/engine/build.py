"""Which service and build context a `release build` means, then build and push once.

The verb parses options and renders the result; choosing the service (one per
environment unless named) and its context folder is a decision worth one place.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from release.core.config import ConfigRepo, inside
from release.core.errors import InvalidInput, UsageError
from release.output.events import Reporter


def build(root: Path, config_repo: ConfigRepo, env: str, service: str | None,
          context: Path | None, reporter: Reporter, *, push: bool, allow_dirty: bool) -> Any:
    """Build the one chosen service's image (and push it); the adapter's BuildResult.

    The context must be a folder of the config repository, links followed, whether the spec
    names it (validation refuses one outside: `image-build-context`) or --context does."""
    from release.adapters import image

    specs = config_repo.services_of(env, service)
    if len(specs) != 1:
        names = ", ".join(s.name for s in specs)
        raise UsageError(f"environment {env!r} has several services ({names})",
                         "name one with --service")
    spec = specs[0]
    if context is None:
        if not spec.build_context:
            raise InvalidInput(f"service {spec.name!r} in {env!r} names no build context",
                               f'add "build": {{"context": "<folder>"}} to {spec.path}, '
                               "or pass --context")
        context = root / spec.build_context
    else:
        context = Path(context).resolve()  # --context is relative to the working directory
    if not inside(root, context):
        raise InvalidInput(
            f"the build context {context} is outside the config repository {root}",
            "build from a folder of the config repository (a git submodule is one): an image "
            "built elsewhere would be tagged with another checkout's commit, which this "
            "repository's history does not hold; nothing was built")
    return image.build_and_push(config_repo.environment(env), context, reporter, push=push,
                                allow_dirty=allow_dirty)


def describe(result: Any) -> list[str]:
    """The result as aligned `name value` lines for the console."""
    outcome = ("already in ECR, nothing built or pushed" if result.existing
               else "built and pushed" if result.pushed else "built locally (not pushed)")
    return [f"{'repository':<11}{result.repository}", f"{'tag':<11}{result.tag}",
            f"{'digest':<11}{result.digest or '-'}",
            f"{'reference':<11}{result.reference or result.image}",
            f"{'revision':<11}{result.revision}", f"{'outcome':<11}{outcome}"]
