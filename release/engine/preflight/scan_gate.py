"""Preflight's scan-gate check: the image's scan findings pass the environment's
`ecr.scanGate` (core/scan_gate.py judges, engine/scan_gate.py reads).

A release (`deploy`, `apply`) waits for a scan in progress up to the gate's waitSeconds
before it answers — unless an earlier check already refuses the release, which then does
not wait. `plan` and `release preflight` take the answer as it is now. A rollback is not
gated: going back to the last good image in an incident stays possible
(docs/user-guide.md).
"""

from __future__ import annotations

from release.core import preflight as pf
from release.core import scan_gate as gating
from release.engine import scan_gate
from release.engine.preflight.context import DEPLOY, ROLLBACK, Context


def check(ctx: Context) -> list[pf.Result]:
    at = (str(ctx.env.path), "/ecr/scanGate")
    if gating.gate_of(ctx.env.doc) is None:
        return [pf.placed("scan-gate", pf.OK, "scan gate", "the environment has no "
                          "ecr.scanGate")]
    if ctx.mode == ROLLBACK:
        return [pf.placed("scan-gate", pf.OK, "scan gate", "a rollback is not gated", "", at)]
    if ctx.spec.revision:  # the gate judges the pins; a named revision has none
        return [pf.placed("scan-gate", pf.OK, "scan gate", "a named revision (/taskDefinition/"
                          "revision) has no pin to judge", "", at)]
    resource = f"image {ctx.env.ecr_repository}@{ctx.spec.image.digest or ctx.spec.image.tag}"
    waits = ctx.mode == DEPLOY and ctx.problems == 0 and ctx.reporter is not None
    answer = (scan_gate.settle(ctx.env, ctx.spec, ctx.aws, ctx.reporter) if waits
              else scan_gate.for_plan(ctx.env, ctx.spec, ctx.aws))
    if answer is None or answer.state == "pass":
        return [pf.placed("scan-gate", pf.OK, resource, answer.message if answer else "",
                          "", at)]
    if answer.state == "refuse" or waits:
        return [pf.placed("scan-gate", pf.PROBLEM, resource, answer.message, answer.fix, at)]
    return [pf.placed("scan-gate", pf.WARNING, resource, f"{answer.message}: `release "
                      "deploy` would wait for it", answer.fix, at)]
