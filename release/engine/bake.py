"""The bake watch: after "stable", watch CloudWatch alarms for a while; the first in ALARM fails.

`watch_bake` is the watch itself (a canary step uses it too); that every named alarm
exists is preflight's (engine/preflight/alarms.py); `after_stable` turns
a failed bake into a failed `Verdict` so a release rolls back on its one path
(engine/deploy.py).

The watch polls DescribeAlarms (at most 100 names per call, paginated) on the
release's clock, so it takes no wall time on a virtual one. It prints every
alarm's state when first read and whenever it changes, a countdown a few times
per bake, and returns at the first alarm in ALARM with CloudWatch's StateReason.
An alarm in INSUFFICIENT_DATA is reported, not a failure: CloudWatch says so of
an alarm whose metric has no data yet, which is what a quiet service looks like.
A lost connection or throttling is retried by the one poll loop (engine/poll.py) for
up to a minute (`bake.retry`, `bake.reconnected`), then the bake gives up with exit 5.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from release.core import bake as baking
from release.core import stability
from release.core.clock import default_clock
from release.core.config import Environment, ServiceSpec
from release.core.poll import Again, Pace
from release.engine.poll import Contact, poll
from release.output.events import Reporter

POLL_SECONDS = 15.0  # CloudWatch evaluates a standard alarm once a minute (period ≥ 10 s)
COUNTDOWN_LINES = 5  # a countdown line about this many times per bake, at most once a minute
# DescribeAlarms AlarmTypes: "If you omit this parameter, only metric alarms are returned,
# even if composite alarms exist in the account." Both kinds may be watched.
ALARM_TYPES = ["MetricAlarm", "CompositeAlarm"]


@dataclass(frozen=True)
class BakeResult:
    ok: bool
    alarm: str | None  # the alarm found in ALARM (None when ok)
    reason: str  # that alarm's StateReason ("" when ok)


# ------------------------------------------------------------------------------ reading


def describe_alarms(cloudwatch: Any, names: Sequence[str]) -> dict[str, dict[str, Any]]:
    """name → MetricAlarm or CompositeAlarm, for those of `names` that exist."""
    found: dict[str, dict[str, Any]] = {}
    paginator = cloudwatch.get_paginator("describe_alarms")
    for batch in baking.batches(list(names)):
        for page in paginator.paginate(AlarmNames=batch, AlarmTypes=ALARM_TYPES):
            for alarm in page.get("MetricAlarms", []) + page.get("CompositeAlarms", []):
                found[alarm["AlarmName"]] = alarm
    return found


def state_line(name: str, alarm: dict[str, Any] | None) -> str:
    if alarm is None:
        return f"{name}: no longer exists"
    return f"{name}: {alarm.get('StateValue', '?')} ({alarm.get('StateReason', '')})"


# ------------------------------------------------------------------------------ watching


def watch_bake(env: Environment, spec: ServiceSpec, aws: Any, reporter: Reporter, *,
               minutes: float, alarms: Sequence[str], label: str) -> BakeResult:
    """Watch `alarms` for `minutes` on the release's clock; the first in ALARM ends it."""
    clock = default_clock()
    where = f"{env.name}/{spec.service_name}"
    fields = {"env": env.name, "service": spec.service_name, "label": label}
    names = list(dict.fromkeys(alarms))
    minutes = max(minutes, 0.0)
    start = clock.now()
    end = start + minutes * 60
    every = max(60.0, (end - start) / COUNTDOWN_LINES)
    watching = ", ".join(names) or "no alarms"
    reporter.emit("bake.start", f"{where}: baking {label} for {baking.minutes_text(minutes)} "
                  f"min, watching {watching}" if minutes > 0 else
                  f"{where}: reading the alarms once ({label}): {watching}",
                  minutes=minutes, alarms=names, **fields)
    seen: dict[str, str] = {}
    last_countdown = start

    def judge(now: float, states: dict[str, dict[str, Any]]) -> BakeResult | Again:
        nonlocal last_countdown
        failed = _report(reporter, where, fields, names, states, seen)
        if failed is not None:
            reason = str(states[failed].get("StateReason", ""))
            reporter.emit("bake.failed", f"{where}: alarm {failed} is in ALARM after "
                          f"{int(now - start)} s of the bake ({label}): {reason}", "error",
                          alarm=failed, reason=reason, **fields)
            return BakeResult(False, failed, reason)
        if now >= end:
            reporter.emit("bake.done", f"{where}: baked {baking.minutes_text(minutes)} min "
                          f"({label}), no alarm in ALARM", "success", alarms=names, **fields)
            return BakeResult(True, None, "")
        if now - last_countdown >= every:
            last_countdown = now
            reporter.emit("bake.progress", f"{where}: bake ({label}) "
                          f"{math.ceil((end - now) / 60)} min left; "
                          + ", ".join(f"{n} {seen.get(n, '?')}" for n in names), "dim",
                          seconds_left=round(end - now), states=dict(seen), **fields)
        return Again()

    contact = Contact(env, f"reading the alarms of {spec.service_name}", "the service was left "
                      f"as it is; check `release status --env {env.name} --service {spec.name}`",
                      reporter, "bake", f"{where}: ", "CloudWatch", fields,
                      deadline_ends_outage=False)  # the bake's last read counts: retried too
    return poll(lambda _now: describe_alarms(aws.cloudwatch, names) if names else {}, judge,
                pace=Pace(POLL_SECONDS, end), contact=contact, clock=clock)


def _report(reporter: Reporter, where: str, fields: dict[str, Any], names: list[str],
            states: dict[str, dict[str, Any]], seen: dict[str, str]) -> str | None:
    """Print each alarm whose state is new; the first alarm in ALARM, else None."""
    for name in names:
        alarm = states.get(name)
        value = alarm.get("StateValue", "") if alarm else "MISSING"
        if seen.get(name) != value:
            seen[name] = value
            level = ("error" if value == baking.ALARM else
                     "dim" if value == baking.OK else "warn")
            reporter.emit("bake.alarm", f"  {where}: alarm {state_line(name, alarm)}", level,
                          alarm=name, state=value, reason=(alarm or {}).get("StateReason", ""),
                          **fields)
    return next((n for n in names if seen.get(n) == baking.ALARM), None)


# ------------------------------------------------------------------------ in a release


def after_stable(env: Environment, spec: ServiceSpec, aws: Any, reporter: Reporter,
                 verdict: stability.Verdict) -> stability.Verdict:
    """A stable verdict, baked: the spec's bake (and the ECS deployment alarms it enables)
    watched; an alarm in ALARM → a failed verdict (cause `alarm`) that the release rolls
    back on its one path. Any other verdict passes through."""
    bake = baking.bake_of(spec)
    ecs = baking.deployment_alarms(spec)
    if verdict.state != stability.STABLE or (bake is None and ecs is None):
        return verdict
    if bake is None and ecs is not None and not ecs.enable:
        _report_only(env, spec, aws, reporter, ecs.names)
        return verdict
    watched = baking.watched_alarms(spec) if ecs is None or ecs.enable else (
        bake.alarms if bake else ())
    result = watch_bake(env, spec, aws, reporter, minutes=bake.minutes if bake else 0,
                        alarms=watched, label="release")
    if result.ok and ecs is not None and not ecs.enable:
        _report_only(env, spec, aws, reporter, ecs.names)
    if result.ok:
        return verdict
    return stability.Verdict(
        stability.FAILED, f"alarm {result.alarm} in ALARM", stability.ALARM,
        f"alarm {result.alarm} went into ALARM during the bake: {result.reason}",
        f"look at what alarm {result.alarm} measures (the CloudWatch console, or "
        f"`aws cloudwatch describe-alarm-history --alarm-name {result.alarm}`), fix the "
        "revision and release again", counts=verdict.counts)


def _report_only(env: Environment, spec: ServiceSpec, aws: Any, reporter: Reporter,
                 names: Sequence[str]) -> None:
    """ECS deployment alarms that are set but not enabled: their state, once, as information."""
    from release.engine.wait import aws_step

    with aws_step(env, f"reading the deployment alarms of {spec.service_name}"):
        states = describe_alarms(aws.cloudwatch, names)
    for name in names:
        reporter.emit("bake.alarm", f"  {env.name}/{spec.service_name}: deployment alarm "
                      f"(not enabled) {state_line(name, states.get(name))}", "dim",
                      env=env.name, service=spec.service_name, alarm=name,
                      state=(states.get(name) or {}).get("StateValue", "MISSING"))

