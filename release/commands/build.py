"""`release build`: build a service's image from its git commit and push it to ECR.

Thin: options, validation, picking the service and context; the work is in
release/image.py (docker and boto3 are imported there, inside functions).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from release.commands.common import (
    EnvOption,
    FormatOption,
    RepoOption,
    find_repo,
    handles_errors,
    load_valid_repo,
)
from release.core.errors import InvalidInput, UsageError
from release.output.events import OutputFormat, Reporter

ServiceNameOption = Annotated[
    str | None,
    typer.Option("--service", "-s", help="The service (file stem or serviceName); may be left "
                 "out when the environment has exactly one."),
]
ContextOption = Annotated[
    Path | None,
    typer.Option("--context", help="Build context folder (default: the service's "
                 "build.context, relative to the config repository).", show_default=False),
]
PushOption = Annotated[bool, typer.Option("--push", help="Push to the environment's ECR "
                                          "repository and print the digest to pin.")]
DirtyOption = Annotated[bool, typer.Option("--allow-dirty", help="Build uncommitted changes; "
                                           "the tag then reads <commit>-dirty-<hash>.")]


@handles_errors
def build(
    env: EnvOption,
    service: ServiceNameOption = None,
    context: ContextOption = None,
    push: PushOption = False,
    allow_dirty: DirtyOption = False,
    format: FormatOption = OutputFormat.text,  # noqa: A002 (the option is called --format)
    repo: RepoOption = None,
) -> dict[str, Any]:
    """Build the service image (tag = git commit of the context) and push it to ECR.

    When the tag is already in ECR nothing is built or pushed: the existing
    digest is returned. Exit 1 for a failing Dockerfile step or a dirty tree,
    5 when the engine, ECR or the registry cannot be reached or refuse the login.
    """
    from release.adapters import image

    reporter = Reporter(format)
    root = find_repo(repo)
    cfg = load_valid_repo(root, [env], reporter)
    environment = cfg.environment(env)
    specs = cfg.services_of(env, service)
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
    result = image.build_and_push(environment, context, reporter, push=push,
                                  allow_dirty=allow_dirty)
    summary = result.as_dict()
    outcome = ("already in ECR, nothing built or pushed" if result.existing
               else "built and pushed" if result.pushed else "built locally (not pushed)")
    lines = [f"{'repository':<11}{result.repository}", f"{'tag':<11}{result.tag}",
             f"{'digest':<11}{result.digest or '-'}",
             f"{'reference':<11}{result.reference or result.image}",
             f"{'revision':<11}{result.revision}", f"{'outcome':<11}{outcome}"]
    message = ("\n".join(lines) if reporter.format is OutputFormat.text
               else result.reference or result.image)
    reporter.emit("build.result", message, "success", **summary)
    return summary
