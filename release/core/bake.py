"""The bake: how long to watch a release after it is stable, and which alarms say it is bad.

"Stable" says every new task serves and nothing drains; it does not say the new
revision serves well. A release that answers 500s passes every health check.
So a service may ask for a bake in its spec:

    "release": {"bake": {"minutes": 10, "alarms": ["akka-firehose-5xx", ...]}}

After stable the release watches those CloudWatch alarms for `minutes`; the
first one in ALARM fails the release (cause `alarm`) and it is rolled back
like any failed release. ECS deployment alarms (`deploymentConfiguration.alarms`)
are read here too: their names must exist as well, and their state is reported.

Pure: parses the spec's documents; the watch itself is engine/bake.py.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from release.core.config import ServiceSpec

# CloudWatch MetricAlarm.StateValue (botocore model, StateValue enum)
OK = "OK"
ALARM = "ALARM"
INSUFFICIENT_DATA = "INSUFFICIENT_DATA"

# DescribeAlarms AlarmNames: "Member must have length less than or equal to 100"
# (botocore model, AlarmNames max 100): more names take more calls.
ALARM_NAMES_PER_CALL = 100


@dataclass(frozen=True)
class Bake:
    """What `release.bake` asks for: minutes to watch after stable, alarms to watch."""

    minutes: float
    alarms: tuple[str, ...]

    @property
    def seconds(self) -> int:
        return round(self.minutes * 60)

    def describe(self) -> str:
        """"bake 10 min, alarms a, b" — the words `plan` and the budget use."""
        names = ", ".join(self.alarms) if self.alarms else "none"
        return f"bake {minutes_text(self.minutes)} min, alarms {names}"


def minutes_text(minutes: float) -> str:
    """10 → "10", 2.5 → "2.5": minutes as people write them."""
    return str(int(minutes)) if float(minutes).is_integer() else f"{minutes:g}"


def bake_of(spec: ServiceSpec) -> Bake | None:
    """`release.bake` of a spec, None when it asks for none (absent, or 0 minutes)."""
    raw = (spec.doc.get("release") or {}).get("bake")
    if not isinstance(raw, Mapping):
        return None
    minutes = raw.get("minutes", 0)
    if isinstance(minutes, bool) or not isinstance(minutes, int | float) or minutes <= 0:
        return None
    alarms = tuple(dict.fromkeys(str(a) for a in raw.get("alarms") or []))
    return Bake(float(minutes), alarms)


@dataclass(frozen=True)
class DeploymentAlarms:
    """ECS's own `deploymentConfiguration.alarms` (DeploymentAlarms: alarmNames, enable,
    rollback) as the spec sets them."""

    names: tuple[str, ...]
    enable: bool
    rollback: bool


def deployment_alarms(spec: ServiceSpec) -> DeploymentAlarms | None:
    """The spec's ECS deployment alarms, None when it sets none."""
    raw: Any = spec.deployment_configuration.get("alarms")
    if not isinstance(raw, Mapping) or not raw.get("alarmNames"):
        return None
    names = tuple(dict.fromkeys(str(a) for a in raw.get("alarmNames") or []))
    return DeploymentAlarms(names, bool(raw.get("enable", False)),
                            bool(raw.get("rollback", False)))


def watched_alarms(spec: ServiceSpec) -> tuple[str, ...]:
    """Every alarm name the release reads: the bake's, then ECS's deployment alarms."""
    bake = bake_of(spec)
    ecs = deployment_alarms(spec)
    return tuple(dict.fromkeys((bake.alarms if bake else ()) + (ecs.names if ecs else ())))


def batches(names: tuple[str, ...] | list[str], size: int = ALARM_NAMES_PER_CALL
            ) -> list[list[str]]:
    """Names in groups DescribeAlarms accepts in one call."""
    items = list(names)
    return [items[i:i + size] for i in range(0, len(items), size)]
