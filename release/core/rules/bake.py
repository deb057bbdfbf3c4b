"""Bake: `release.bake` can fail a release only if its alarms can go into ALARM in time.

Why: a bake that cannot fail is a plain wait that looks like a safety net. An
alarm goes into ALARM only after enough breaching datapoints, one per period
(CloudWatch: DatapointsToAlarm of EvaluationPeriods, each Period seconds), so
a bake shorter than that never sees it fire; and a bake without alarms
watches nothing. Whether the alarms exist is checked against AWS before any
change (engine/bake.py), not here.
"""

from __future__ import annotations

from collections.abc import Iterator

from release.core import bake as baking
from release.core.findings import WARNING, Finding
from release.core.rules.base import Context, finding, rule

STANDARD_PERIOD = 60  # a standard-resolution alarm: one datapoint a minute


def needed_seconds(definition: dict | None) -> int:
    """The least breaching time before an alarm can be in ALARM (a minute when unknown)."""
    if not definition:
        return STANDARD_PERIOD
    points = definition.get("datapointsToAlarm") or definition.get("evaluationPeriods") or 1
    return int(definition.get("period") or STANDARD_PERIOD) * int(points)


@rule("bake-shorter-than-alarm", WARNING, "the bake lasts at least as long as each of its "
      "alarms needs to go into ALARM (period × datapoints to alarm)",
      "make release.bake.minutes longer, or the alarm's period or evaluation periods shorter")
def bake_shorter_than_alarm(ctx: Context) -> Iterator[Finding]:
    for view in ctx.services:
        bake = baking.bake_of(view.spec)
        if bake is None:
            continue
        defined = (view.env.doc.get("alarms") or {}) if view.env is not None else {}
        short = {name: needed for name in bake.alarms
                 if (needed := needed_seconds(defined.get(name))) > bake.seconds}
        if short:
            named = ", ".join(f"{name} ({needed} s)" for name, needed in short.items())
            yield finding("bake-shorter-than-alarm", view.rel, "/release/bake/minutes",
                          f"the bake lasts {bake.seconds} s, but alarm(s) {named} need longer "
                          "of breaching data to go into ALARM: they cannot fail this bake",
                          f"use at least {-(-max(short.values()) // 60)} minutes")

@rule("bake-no-alarms", WARNING, "a bake names at least one alarm (without, it only waits)",
      "name the alarms to watch in release.bake.alarms (environment.json /alarms can define "
      "them for `release bootstrap`)")
def bake_no_alarms(ctx: Context) -> Iterator[Finding]:
    for view in ctx.services:
        bake = baking.bake_of(view.spec)
        ecs = baking.deployment_alarms(view.spec)
        if bake is not None and not bake.alarms and not (ecs and ecs.enable):
            yield finding("bake-no-alarms", view.rel, "/release/bake",
                          f"the bake waits {bake.seconds} s but watches no alarm: nothing "
                          "can fail it")


CHECKS = (bake_shorter_than_alarm, bake_no_alarms)
