"""Bootstrap's alarm step: the CloudWatch alarms environment.json `/alarms` defines.

Read with DescribeAlarms (by name, at most 100 per call); a missing alarm, or
one whose definition differs, becomes one PutMetricAlarm (which creates or
replaces the whole alarm: CloudWatch API reference, PutMetricAlarm, "When this
operation creates an alarm, the alarm state is immediately set to
INSUFFICIENT_DATA ... Any actions associated with the new state are then
executed. When you update an existing alarm, its state is left unchanged").
Alarms the document does not define are left alone.
"""

from __future__ import annotations

from typing import Any

from release.core import alarms
from release.core.calls import ApiCall
from release.core.config import Environment


def plan_alarms(aws: Any, env: Environment, plan: Any) -> None:
    """Add a put_metric_alarm to `plan` for each defined alarm that is missing or differs."""
    from release.engine.bake import describe_alarms

    wanted = alarms.definitions(env)
    if not wanted:
        return
    live = describe_alarms(aws.cloudwatch, list(wanted))
    for name, params in wanted.items():
        found = live.get(name)
        if found is None:
            reason = "alarm does not exist"
        else:
            changed = alarms.difference(params, found)
            if not changed:
                continue
            reason = "alarm differs: " + "; ".join(changed)
        plan.add(ApiCall("cloudwatch", "put_metric_alarm", params, reason, f"alarm {name}"))
