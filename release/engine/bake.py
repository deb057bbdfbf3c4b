"""The bake watch: after "stable", watch CloudWatch alarms for a while; the first in ALARM fails.

`watch_bake` is the watch itself (a canary step uses it too); `check_alarms` is
the check before any change (every named alarm exists); `after_stable` turns
a failed bake into a failed `Verdict` so a release rolls back on its one path
(engine/deploy.py).

The watch polls DescribeAlarms (at most 100 names per call, paginated) on the
release's clock, so it takes no wall time on a virtual one. It prints every
alarm's state when first read and whenever it changes, a countdown a few times
per bake, and returns at the first alarm in ALARM with CloudWatch's StateReason.
An alarm in INSUFFICIENT_DATA is reported, not a failure: CloudWatch says so of
an alarm whose metric has no data yet, which is what a quiet service looks like.
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
from release.core.errors import InvalidInput, Unreachable
from release.output.events import Reporter

POLL_SECONDS = 15.0  # CloudWatch evaluates a standard alarm once a minute (period ≥ 10 s)
COUNTDOWN_LINES = 5  # a countdown line about this many times per bake, at most once a minute
RECONNECT_SECONDS = 60.0
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


def check_alarms(env: Environment, spec: ServiceSpec, aws: Any) -> dict[str, dict[str, Any]]:
    """Before any change: every alarm the spec names (bake and ECS deployment alarms) exists.
    Raises InvalidInput naming the missing ones; returns what DescribeAlarms said."""
    from release.engine.wait import aws_step

    names = baking.watched_alarms(spec)
    if not names:
        return {}
    with aws_step(env, f"reading the CloudWatch alarms of {spec.service_name}"):
        found = describe_alarms(aws.cloudwatch, names)
    missing = [n for n in names if n not in found]
    if missing:
        where = "/release/bake/alarms" if baking.bake_of(spec) else ""
        ecs = baking.deployment_alarms(spec)
        if ecs and set(missing) & set(ecs.names):
            where = (where + " or " if where else "") + \
                "/service/deploymentConfiguration/alarms/alarmNames"
        raise InvalidInput(
            f"{spec.path} {where}: CloudWatch alarm(s) {', '.join(missing)} do not exist in "
            f"{env.name} ({env.region}); nothing was changed",
            f"create them (`release bootstrap --env {env.name}` creates the alarms "
            f"environment.json /alarms defines) or fix the names in {spec.path}")
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
    names = list(dict.fromkeys(alarms))
    start = clock.now()
    end = start + max(minutes, 0.0) * 60
    every = max(60.0, (end - start) / COUNTDOWN_LINES)
    reporter.emit("bake.start", f"{where}: baking {label} for {_m(end - start)} min, watching "
                  f"{', '.join(names) or 'no alarms'}", env=env.name, service=spec.service_name,
                  label=label, minutes=minutes, alarms=names)
    seen: dict[str, str] = {}
    last_countdown = start
    while True:
        now = clock.now()
        states = _read(env, spec, aws, reporter, names, now) if names else {}
        for name in names:
            alarm = states.get(name)
            line = state_line(name, alarm)
            value = alarm.get("StateValue", "") if alarm else "MISSING"
            if seen.get(name) != value:
                seen[name] = value
                reporter.emit("bake.alarm", f"  {where}: alarm {line}",
                              "error" if value == baking.ALARM else
                              "dim" if value == baking.OK else "warn",
                              env=env.name, service=spec.service_name, label=label, alarm=name,
                              state=value, reason=(alarm or {}).get("StateReason", ""))
            if value == baking.ALARM:
                reason = str(alarm.get("StateReason", "")) if alarm else ""
                reporter.emit("bake.failed", f"{where}: alarm {name} is in ALARM after "
                              f"{int(now - start)} s of the bake ({label}): {reason}", "error",
                              env=env.name, service=spec.service_name, label=label,
                              alarm=name, reason=reason)
                return BakeResult(False, name, reason)
        if now >= end:
            reporter.emit("bake.done", f"{where}: baked {_m(end - start)} min ({label}), no "
                          "alarm in ALARM", "success", env=env.name, service=spec.service_name,
                          label=label, alarms=names)
            return BakeResult(True, None, "")
        if now - last_countdown >= every:
            last_countdown = now
            reporter.emit("bake.progress", f"{where}: bake ({label}) {_m(end - now)} min left; "
                          + ", ".join(f"{n} {seen.get(n, '?')}" for n in names),
                          "dim", env=env.name, service=spec.service_name, label=label,
                          seconds_left=round(end - now), states=dict(seen))
        clock.sleep(min(POLL_SECONDS, end - now))


def _m(seconds: float) -> str:
    minutes = seconds / 60
    return str(math.ceil(minutes)) if abs(minutes - round(minutes)) > 1e-6 else str(round(minutes))


def _read(env: Environment, spec: ServiceSpec, aws: Any, reporter: Reporter,
          names: list[str], now: float) -> dict[str, dict[str, Any]]:
    """DescribeAlarms, retried through a lost connection or throttling for up to a minute."""
    from release.engine.wait import _retryable, aws_step

    clock = default_clock()
    since = now
    while True:
        try:
            return describe_alarms(aws.cloudwatch, names)
        except Exception as exc:
            if not _retryable(exc):
                with aws_step(env, f"reading the alarms of {spec.service_name}"):
                    raise
                raise
            if clock.now() - since > RECONNECT_SECONDS:
                raise Unreachable(f"lost contact with CloudWatch for {int(clock.now() - since)} s "
                                  f"while baking {spec.service_name}: {exc}",
                                  "the service was left as it is; check `release status "
                                  f"--env {env.name} --service {spec.name}`") from None
            clock.sleep(5.0)


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

