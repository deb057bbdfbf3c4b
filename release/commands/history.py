"""`release history`: the release ledger of a service, newest first."""

from __future__ import annotations

from typing import Any

from release.commands.common import (
    EnvOption,
    FormatOption,
    RepoOption,
    ServiceOption,
    find_repo,
    handles_errors,
)
from release.commands.service_options import LimitOption, reporter_for, specs_of
from release.output.events import OutputFormat

COLUMNS = ["when", "what", "revision", "outcome", "image", "commit", "by", "build"]


@handles_errors
def history(
    env: EnvOption,
    service: ServiceOption = None,
    limit: LimitOption = 20,
    repo: RepoOption = None,
    format: FormatOption = OutputFormat.text,
) -> None:
    from release.engine.status import history_of
    from release.engine.validate import load_environment

    reporter = reporter_for(format)
    config_repo = load_environment(find_repo(repo), env, service, reporter)
    for spec in specs_of(config_repo, env, service):
        found = history_of(config_repo, spec, limit)
        if format is OutputFormat.json:
            reporter.emit("history", f"{env}/{found.service}: {len(found.rows)} entries",
                          env=env, service=found.service, live_revision=found.live_revision,
                          entries=found.rows)
            continue
        reporter.table(f"{env}/{found.service}: releases, newest first", COLUMNS,
                       [_row(r) for r in found.rows])


def _row(r: dict[str, Any]) -> list[Any]:
    from release.core.deployments import short

    return [r["when"], r["kind"] + (" (live)" if r["live"] else ""), short(r["revision"]),
            r["outcome"], _image(r),
            str(r.get("commit") or "")[:12], r.get("by"),
            r.get("build_tag") or r.get("build_url") or ""]


def _image(row: dict[str, Any]) -> str:
    """The digest (12 hex), else the reference's end; every container's for several images."""
    def shown(image: str) -> str:
        return image[:19] if image.startswith("sha256:") else image[-24:]

    images = row.get("images") or {}
    if len(images) > 1:
        return "\n".join(f"{name} {shown(str(image))}" for name, image in images.items())
    return shown(str(row.get("image") or ""))
