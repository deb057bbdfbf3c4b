"""`release build`: build a service's image from its git commit and push it to ECR.

Thin: options and the rendered result; choosing the service and context is in
release/engine/build.py, the work in release/adapters/image.py (docker and boto3
are imported there, inside functions).
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
    service_names,
)
from release.output.events import OutputFormat, Reporter

ServiceNameOption = Annotated[
    str | None,
    typer.Option("--service", "-s", help="The service (file stem or serviceName); may be left "
                 "out when the environment has exactly one.", callback=service_names),
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
    from release.engine.build import build as build_service
    from release.engine.build import describe

    reporter = Reporter(format)
    root = find_repo(repo)
    config_repo = load_valid_repo(root, [env], reporter)
    result = build_service(root, config_repo, env, service, context, reporter, push=push,
                           allow_dirty=allow_dirty)
    message = ("\n".join(describe(result)) if reporter.format is OutputFormat.text
               else result.reference or result.image)
    reporter.emit("build.result", message, "success", **result.as_dict())
    return result.as_dict()
