"""The alarm fault: a revision whose tasks make a CloudWatch alarm go into ALARM.

moto stores alarms but evaluates none: nothing publishes the ELB's metrics, so an
alarm stays as it was created. A revision's container may declare
`RELEASE_SANDBOX_FAULT=alarm:name=NAME,after=S` (faults.py): once a task of
that revision has served (InService on its load balancers, or RUNNING without
one) for S seconds, the emulator puts alarm NAME in ALARM through moto's
SetAlarmState, with a StateReason and StateReasonData worded as CloudWatch
words a threshold alarm's. When no task with that fault serves any more, the
alarm returns to OK one period later, as CloudWatch evaluates it on the next
datapoints. `POST /_sandbox/alarms {"name": N, "state": S, "reason": R}` sets
any alarm's state by hand (server.py).

What it follows: CloudWatch API reference, SetAlarmState ("Temporarily sets the
state of an alarm for testing purposes. When the updated state differs from the
previous value, the action configured for the appropriate state is invoked"),
and MetricAlarm's StateReason ("An explanation for the alarm state, in text
format") / StateReasonData ("An explanation for the alarm state, in JSON format").
The wording of the reason is what CloudWatch writes for a threshold alarm, e.g.
"Threshold Crossed: 1 datapoint [12.0 (02/12/26 03:01:00)] was greater than or
equal to the threshold (5.0)."
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from release_sandbox.world import LoadBalancers, World

COMPARISON_WORDS = {
    "GreaterThanOrEqualToThreshold": ("greater than or equal to", 1.0),
    "GreaterThanThreshold": ("greater than", 1.0),
    "LessThanThreshold": ("less than", -1.0),
    "LessThanOrEqualToThreshold": ("less than or equal to", -1.0),
}


def _naive(now: float) -> datetime:
    """moto keeps alarm timestamps as naive UTC datetimes."""
    return datetime.fromtimestamp(now, tz=UTC).replace(tzinfo=None)


def _iso(at: datetime) -> str:
    return f"{at:%Y-%m-%dT%H:%M:%S}.000+0000"


def breach(alarm: Any, now: float) -> tuple[str, str]:
    """(StateReason, StateReasonData) of a threshold alarm that one datapoint crossed."""
    words, direction = COMPARISON_WORDS.get(alarm.comparison_operator,
                                            ("greater than or equal to", 1.0))
    threshold = float(alarm.threshold or 0.0)
    value = threshold + direction * max(abs(threshold), 1.0)
    period = int(alarm.period or 60)
    at = now - now % period
    shown = datetime.fromtimestamp(at, tz=UTC)
    reason = (f"Threshold Crossed: 1 datapoint [{value} ({shown:%d/%m/%y %H:%M:%S})] was "
              f"{words} the threshold ({threshold}).")
    data = {"version": "1.0", "queryDate": _iso(datetime.fromtimestamp(now, tz=UTC)),
            "startDate": _iso(shown), "statistic": alarm.statistic or "", "period": period,
            "recentDatapoints": [value], "threshold": threshold,
            "evaluatedDatapoints": [{"timestamp": _iso(shown), "value": value}]}
    return reason, json.dumps(data)


def recovery(alarm: Any, now: float) -> tuple[str, str]:
    words, direction = COMPARISON_WORDS.get(alarm.comparison_operator,
                                            ("greater than or equal to", 1.0))
    threshold = float(alarm.threshold or 0.0)
    value = threshold - direction * max(abs(threshold), 1.0)
    shown = datetime.fromtimestamp(now - now % int(alarm.period or 60), tz=UTC)
    return (f"Threshold Crossed: 1 datapoint [{value} ({shown:%d/%m/%y %H:%M:%S})] was not "
            f"{words} the threshold ({threshold}).",
            json.dumps({"version": "1.0", "recentDatapoints": [value], "threshold": threshold}))


class AlarmFaults:
    """Puts alarms in ALARM while tasks with an alarm fault serve; back to OK after them."""

    def __init__(self, world: World, balancers: list[LoadBalancers]) -> None:
        self.world = world
        self.balancers = balancers
        self.serving_since: dict[str, float] = {}  # task arn -> first tick seen serving
        self.raised: dict[str, float | None] = {}  # alarm -> when its last faulty task went

    @property
    def cloudwatch(self) -> Any:
        from moto.backends import get_backend

        return get_backend("cloudwatch")[self.world.account][self.world.region]

    def set_state(self, name: str, state: str, reason: str, now: float,
                  reason_data: str = "{}") -> bool:
        """SetAlarmState on moto's backend, stamped with the sandbox's time. False: no alarm."""
        backend = self.cloudwatch
        if name not in backend.alarms:
            return False
        backend.set_alarm_state(name, reason, reason_data, state)
        backend.alarms[name].state_updated_timestamp = _naive(now)
        return True

    def tick(self, now: float) -> None:
        faulty: set[str] = set()
        for task in list(self.world.tasks.values()):
            name = task.fault.alarm
            if not name:
                continue
            if not self._serving(task):
                self.serving_since.pop(task.arn, None)
                continue
            since = self.serving_since.setdefault(task.arn, now)
            if now - since >= task.fault.alarm_after:
                faulty.add(name)
        for name in faulty:
            if name not in self.raised or self.raised[name] is not None:
                self._raise(name, now)
        for name, gone in list(self.raised.items()):
            if name in faulty:
                continue
            if gone is None:
                self.raised[name] = now
            elif now - gone >= self._period(name):
                self._recover(name, now)

    def _serving(self, task: Any) -> bool:
        if task.status != "RUNNING" or not task.live:
            return False
        record = self.world.services.get(task.service_key)
        if record is None:
            return True  # a one-off task serves no load balancer: running is serving
        return all(b.serving(record, task) for b in self.balancers)

    def _period(self, name: str) -> float:
        alarm = self.cloudwatch.alarms.get(name)
        return float(getattr(alarm, "period", None) or 60)

    def _raise(self, name: str, now: float) -> None:
        alarm = self.cloudwatch.alarms.get(name)
        self.raised[name] = None
        if alarm is not None and alarm.state_value != "ALARM":
            self._set(name, "ALARM", breach(alarm, now), now)

    def _recover(self, name: str, now: float) -> None:
        alarm = self.cloudwatch.alarms.get(name)
        del self.raised[name]
        if alarm is not None and alarm.state_value == "ALARM":
            self._set(name, "OK", recovery(alarm, now), now)

    def _set(self, name: str, state: str, reason: tuple[str, str], now: float) -> None:
        self.set_state(name, state, reason[0], now, reason[1])
