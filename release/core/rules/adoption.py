"""What `release init` writes and `release run` reads.

Why: a value init did not copy (a placeholder for a plain-text value that looked
like a secret) must never reach ECS, and a beforeDeploy command must name a
container the task definition has, or the release would stop at its hook.
"""

from __future__ import annotations

from collections.abc import Iterator

from release.core.findings import ERROR, Finding
from release.core.placeholders import placeholder_values
from release.core.rolling import containers
from release.core.rules.base import Context, finding, rule


@rule("init-placeholder", ERROR, "no environment value is a placeholder `release init` wrote "
      "instead of a plain-text value that looked like a secret",
      "move the variable to `secrets` (valueFrom: an SSM parameter or Secrets Manager ARN), or "
      "write the value if it is not secret")
def init_placeholder(ctx: Context) -> Iterator[Finding]:
    for rel, taskdef in ctx.taskdef_items():
        for pointer, name in placeholder_values(taskdef):
            yield finding("init-placeholder", rel, pointer,
                     f"{name} is a placeholder: `release init` did not copy its live value "
                     "because it looks like a secret")


@rule("before-deploy-container", ERROR, "release.beforeDeploy.container names a container of "
      "the task definition", "use one of the task definition's container names, or leave "
      "`container` out (the load balancer's container)")
def before_deploy_container(ctx: Context) -> Iterator[Finding]:
    for view in ctx.services:
        hook = (view.doc.get("release") or {}).get("beforeDeploy") or {}
        if view.taskdef is None or "container" not in hook:
            continue
        names = [c.get("name") for c in containers(view.taskdef)]
        if hook["container"] not in names:
            yield finding("before-deploy-container", view.rel, "/release/beforeDeploy/container",
                     f"container {hook['container']!r} is not in {view.taskdef_rel}",
                     f"use one of: {', '.join(str(n) for n in names)}")


CHECKS = (init_placeholder, before_deploy_container)
