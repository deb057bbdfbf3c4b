"""`release promote`: the one-line pin change (and commit, and push) that requests a release."""

from __future__ import annotations

from typing import Annotated

import typer

from release.commands.common import (
    FormatOption,
    RepoOption,
    environment_names,
    find_repo,
    handles_errors,
    service_names,
)
from release.output.events import OutputFormat, Reporter

ImageOption = Annotated[str | None, typer.Option("--image", help="<registry>/<repo>@sha256:…, "
    "<registry>/<repo>:tag, tag@sha256:…, or @FILE: the digest of `release build --push "
    "--format json` output.")]
ContainerOption = Annotated[str | None, typer.Option("--container", help="The container "
    "whose pin to change (default: the load balancer's; with @FILE or --from, default every "
    "container the service pins).")]
FromOption = Annotated[str | None, typer.Option("--from", help="Pin to what is live and "
    "completed in this environment (its release record), instead of --image.",
    callback=environment_names)]
PushOption = Annotated[bool, typer.Option("--push", help="Push the commit (fast-forward only; "
    "a branch that moved is refused, never forced).")]


@handles_errors
def promote(
    env: Annotated[str, typer.Option("--env", "-e", help="Environment whose pin to change.",
                                     callback=environment_names)],
    service: Annotated[str | None, typer.Option(
        "--service", "-s", help="Service (file stem or serviceName); with --from, default all.",
        callback=service_names)] = None,
    image: ImageOption = None, source: FromOption = None, container: ContainerOption = None,
    commit: Annotated[bool, typer.Option(
        "--commit", help="Commit the pin change (one commit, nothing else in it).")] = False,
    push: PushOption = False,
    branch: Annotated[str | None, typer.Option("--branch", help="Branch to push to (default: "
                      "$GIT_BRANCH, $BRANCH_NAME, the checked-out branch).")] = None,
    remote: Annotated[str, typer.Option("--remote", help="Remote to push to.")] = "origin",
    message: Annotated[str | None, typer.Option(
        "--message", "-m", help="Commit message (default: promote SERVICE to IMAGE in ENV).")
    ] = None,
    format: FormatOption = OutputFormat.text,
    repo: RepoOption = None,
) -> None:
    from release.engine.promote_run import promote_and_push

    promote_and_push(find_repo(repo), Reporter(format), env, service, image, source, commit,
                     push, branch, remote, message, container)
