"""`release build`: build a service's images from their git commit and push them to ECR.

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
ContainerOption = Annotated[
    str | None,
    typer.Option("--container", help="Build only this pinned container's image (default: "
                 "every pinned container that names a build context)."),
]
PushOption = Annotated[bool, typer.Option("--push", help="Push each image to its ECR "
                                          "repository and print the digest to pin.")]
DirtyOption = Annotated[bool, typer.Option("--allow-dirty", help="Build uncommitted changes; "
                                           "the tag then reads <commit>-dirty-<hash>.")]


@handles_errors
def build(
    env: EnvOption,
    service: ServiceNameOption = None,
    context: ContextOption = None,
    container: ContainerOption = None,
    push: PushOption = False,
    allow_dirty: DirtyOption = False,
    format: FormatOption = OutputFormat.text,  # noqa: A002 (the option is called --format)
    repo: RepoOption = None,
) -> dict[str, Any]:
    from release.engine.build import build as build_service
    from release.engine.build import describe
    from release.engine.validate import load_valid

    reporter = Reporter(format)
    root = find_repo(repo)
    config_repo = load_valid(root, [env])
    results = build_service(root, config_repo, env, service, context, reporter, push=push,
                            allow_dirty=allow_dirty, container=container)
    message = ("\n\n".join("\n".join(describe(r)) for r in results)
               if reporter.format is OutputFormat.text
               else " ".join(r.reference or r.image for r in results))
    fields = {**results[0].as_dict(), "images": [r.as_dict() for r in results]}
    reporter.emit("build.result", message, "success", **fields)
    return fields
