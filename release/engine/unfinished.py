"""A release that an earlier run left unfinished is finished by the next `release deploy`.

A release stopped by Ctrl-C, a Jenkins abort, a crash or lost contact after its
UpdateService (during its wait, its bake, or its canary's removal) is closed
`interrupted` or `unknown` in the ledger and on its revision. When ECS then
finished the rollout, the live revision is the one git asks for, so the next
`release deploy` (or `apply`) plans no change, while the release never said whether
it is good: its bake may not have run to the end, its canary may still serve, and
`promote --from` refuses it.

So when the plan changes nothing and the ledger's newest entry for the live revision
is a release that ended interrupted or unknown, `release deploy` finishes it, in a new
ledger entry (the closed one is never rewritten): the canary's removal first (its
instances drain before the service is called stable), the wait (at once when the
service is stable), the whole bake again (how much of it ran is not recorded, and the
alarms judge the service as it is now); then the entry and the revision's record are
completed, or, when the service fails the wait or the bake, it is rolled back as any
release. A deployment still in progress is resumed by engine/deploy.py itself;
ECS-native strategies are left to `release continue` and `release status`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from release.core import bake as baking
from release.core import records
from release.core.deployments import primary, short
from release.core.errors import EXIT_OK
from release.engine import canary
from release.engine.executor import calls_runner
from release.engine.outcome import RELEASED, ReleaseOutcome
from release.engine.wait import Waiter
from release.output.events import Reporter


def left_open(prepared: Any) -> records.Entry | None:
    """The release that made the live revision live, when it ended without an outcome."""
    return prepared.held.ledger.unfinished_release(prepared.live.revision_arn)


def finish(prepared: Any, waiter: Waiter, reporter: Reporter, entry: records.Entry,
           rollback: bool, wait_and_finish: Callable[..., ReleaseOutcome],
           scale_in: Any = None) -> ReleaseOutcome:
    """Finish the release `entry` left: say so, open a new entry (scale-in suspended, as
    for any release: `scale_in`), then deploy.py's wait, bake and record on the live
    deployment, concluded by the one finisher (`wait_and_finish`)."""
    env, spec, live, plan = prepared.env, prepared.spec, prepared.live, prepared.plan
    revision = live.revision_arn or ""
    where = f"{env.name}/{spec.service_name}"
    record = records.Record.from_tags(revision, [{"key": k, "value": v}
                                                 for k, v in live.taskdef_tags.items()])
    previous = (record.previous if record else entry.previous) or None
    bake = baking.bake_of(spec)
    part = plan.canary if plan.canary is not None and plan.canary.remove else None
    steps = [f"remove the canary {part.name}"] if part else []
    steps.append("wait until it is stable")
    if bake is not None:
        steps.append(f"bake the whole {baking.minutes_text(bake.minutes)} min again")
    left = f"{entry.outcome} ({entry.reason})" if entry.reason else entry.outcome
    reporter.emit("release.finish", f"{where}: the release of {short(revision)} started "
                  f"{entry.at} ended {left} before it finished; finishing it: "
                  f"{', '.join(steps)}, then record it completed", "warn", env=env.name,
                  service=spec.service_name, revision=revision, entry=entry.id,
                  left=entry.outcome, steps=steps, commit=prepared.record.commit,
                  image=prepared.record.image, images=prepared.record.image_map)
    prepared.held.ledger.begin_release(prepared.record, revision)
    if scale_in is not None:
        scale_in.suspend(prepared)
    if part is not None:  # first what was cut short: its instances drain before "stable"
        removed = canary.settle(env, spec, prepared.aws, reporter, ReleaseOutcome(
            env.name, spec.service_name, RELEASED, revision, previous,
            f"{where}: finishing the release of {short(revision)}", EXIT_OK),
            calls_runner(prepared.aws, reporter, env, "canary"))
        if removed.exit_code != EXIT_OK:
            return removed
    outcome = wait_and_finish(prepared, waiter, reporter, revision, previous, rollback,
                              record is not None, (primary(live.service or {}) or {}).get("id"))
    if outcome.status == RELEASED:
        outcome.message = (f"{outcome.message}, finishing its release of {entry.at} that "
                           f"ended {entry.outcome}")
    return outcome
