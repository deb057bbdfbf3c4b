"""The ECS API's own parameter validation of the rendered register-task-definition input.

Why: the schemas describe the fields people write; the API's validator is
what boto3 itself would refuse before sending anything, so running it on the
rendered input catches what slipped between the two (e.g. 2.0 where the API
wants an integer) without a network call. The check itself is botocore's and
lives at the edge (release/adapters/apicheck.py): the caller passes it in as
`Context.request_check`, and without one this rule does not run.
"""

from __future__ import annotations

from collections.abc import Iterator

from release.core import config
from release.core.findings import ERROR, Finding
from release.core.render import render_taskdef
from release.core.rules.base import Context, finding, rule


@rule("api-register-task-definition", ERROR, "the rendered register-task-definition input passes "
      "botocore's own parameter validation (offline, against the ECS service model; run by "
      "`release validate --strict` and by every command that goes on to call AWS)",
      "fix the field botocore names (types and required members of the ECS API)")
def api_register_task_definition(ctx: Context) -> Iterator[Finding]:
    if ctx.request_check is None:
        return
    for view in ctx.services:
        if view.taskdef is None or view.env is None:
            continue
        taskdef = config.TaskDefinition(view.taskdef_rel, view.taskdef)
        rendered = render_taskdef(view.env, view.spec, taskdef)
        for problem in ctx.request_check(rendered):
            yield finding("api-register-task-definition", view.rel, "",
                          f"rendered task definition ({view.taskdef_rel} + this spec) fails the "
                          f"ECS API's parameter validation: {problem}")


CHECKS = (api_register_task_definition,)
