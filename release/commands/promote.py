"""`release promote`: the one-line pin change (and commit) that requests a release."""

from __future__ import annotations

from typing import Annotated

import typer

from release.commands.common import FormatOption, RepoOption, find_repo, handles_errors
from release.output.events import OutputFormat, Reporter


@handles_errors
def promote(
    env: Annotated[str, typer.Option("--env", "-e", help="Environment whose pin to change.")],
    service: Annotated[str, typer.Option(
        "--service", "-s", help="Service (file stem or serviceName).")],
    image: Annotated[str, typer.Option(
        "--image", help="<registry>/<repo>@sha256:…, <registry>/<repo>:tag, or tag@sha256:….")],
    commit: Annotated[bool, typer.Option(
        "--commit", help="Commit the pin change (one commit, nothing else in it).")] = False,
    message: Annotated[str | None, typer.Option(
        "--message", "-m", help="Commit message (default: promote SERVICE to IMAGE in ENV).")
    ] = None,
    format: FormatOption = OutputFormat.text,
    repo: RepoOption = None,
) -> None:
    """Pin a service to an image by rewriting only the pin in its spec (and commit it)."""
    from release.engine.promote import promote_pin

    reporter = Reporter(format)
    result = promote_pin(find_repo(repo), env, service, image, commit=commit, message=message)
    pin = f"tag={result.new_tag} digest={result.new_digest}"
    if not result.changed:
        reporter.emit("promote.unchanged", f"{env}/{result.service} is already pinned to {pin}; "
                      "nothing to do", **result.as_dict())
        return
    reporter.emit("promote.done", f"{result.path.name}: {env}/{result.service} pinned to {pin} "
                  f"(was tag={result.old_tag} digest={result.old_digest})", "success",
                  **result.as_dict())
    if result.commit:
        reporter.emit("promote.commit", f"committed {result.commit[:12]}: {result.message}; "
                      "push it and the pipeline releases it", commit=result.commit)
    else:
        reporter.emit("promote.next", "not committed: review with `git diff`, then commit "
                      "(or rerun with --commit)", "dim")
