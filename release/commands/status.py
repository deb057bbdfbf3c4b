"""`release status`: the live state of a service and its drift from git."""

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
from release.commands.service_options import reporter_for, specs_of
from release.output.events import OutputFormat


@handles_errors
def status(
    env: EnvOption,
    service: ServiceOption = None,
    repo: RepoOption = None,
    format: FormatOption = OutputFormat.text,
) -> None:
    from release.engine.status import statuses
    from release.engine.validate import load_environment

    reporter = reporter_for(format)
    config_repo = load_environment(find_repo(repo), env, service, reporter)
    for found in statuses(config_repo, specs_of(config_repo, env, service)):
        _render(reporter, found, details=format is not OutputFormat.json)


def _render(reporter: Any, st: Any, details: bool) -> None:
    from release.core.deployments import short

    where = f"{st.env}/{st.service}"
    if not st.exists:
        reporter.emit("status", f"{where}: does not exist (release deploy creates it)", "warn",
                      **st.fields())
        return
    reporter.emit("status", f"{where}: {short(st.revision)}, {st.state}: {st.verdict.summary}",
                  "success" if st.state == "stable" else "warn", **st.fields())
    if st.canary:
        reporter.emit("status.canary", f"  canary {st.canary['service']}: {st.canary['note']}",
                      "warn", **st.canary)
    if not details:
        return
    record = st.record
    reporter.emit("status.record", f"  released {record.at} by {record.by}: commit "
                  f"{record.commit[:12]}, {_images(record)}, outcome "
                  f"{record.outcome or '?'}"
                  + (f", restored {record.restored_at}" if record.restored_at else "")
                  if record is not None else
                  "  no release record on this revision (registered outside `release`)")
    reporter.table("deployments", ["id", "status", "revision", "desired", "running", "pending",
                                   "rollout"], [list(r.values()) for r in st.deployments])
    reporter.table("tasks", ["task", "revision", "last", "desired", "instance", "load balancer"],
                   [list(r.values()) for r in st.tasks])
    reporter.emit("status.drift", "  in sync with git" if not st.drift else
                  "  drift from git (`release plan` shows it, `release deploy` fixes it):",
                  "success" if not st.drift else "warn")
    for line in st.drift:
        reporter.emit("status.drift", f"    {line}")


def _images(record: Any) -> str:
    """`image sha256:…`, or each container's digest when the service pins several."""
    images = record.image_map
    if len(images) > 1:
        return "images " + ", ".join(f"{name} {image[:19]}" for name, image in images.items())
    return f"image {record.image[:19]}"
