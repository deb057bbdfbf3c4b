"""The CloudWatch alarms an environment defines (environment.json `/alarms`), for bootstrap.

A bake (core/bake.py) watches alarms by name; someone has to create them.
The environment document may define them, so `release bootstrap` creates
and corrects them like the rest of the infrastructure:

    "alarms": {"akka-firehose-staging-5xx": {"metricName": "HTTPCode_Backend_5XX",
               "statistic": "Sum", "comparisonOperator": "GreaterThanOrEqualToThreshold",
               "threshold": 5, "period": 60, "evaluationPeriods": 1}}

Each entry is PutMetricAlarm's input in camelCase. Left out, the namespace is
`AWS/ELB` and the one dimension the environment's classic ELB
(`LoadBalancerName`): the seed's metrics (HTTPCode_Backend_5XX,
UnHealthyHostCount, Latency) on `akkaElb` are the documented example. Missing
data is `notBreaching` unless set: the ELB publishes HTTPCode_Backend_5XX only
when there is such an answer, so a healthy quiet service has none.

Pure: the documents in, PutMetricAlarm parameters and differences out.
"""

from __future__ import annotations

from typing import Any

from release.core.config import Environment

DEFAULT_NAMESPACE = "AWS/ELB"
DEFAULT_TREAT_MISSING = "notBreaching"
# the fields of a MetricAlarm that bootstrap compares (DescribeAlarms names them as
# PutMetricAlarm takes them)
COMPARED = ("Namespace", "MetricName", "Statistic", "ComparisonOperator", "Threshold", "Period",
            "EvaluationPeriods", "DatapointsToAlarm", "TreatMissingData", "AlarmDescription",
            "Unit", "ExtendedStatistic")


def definitions(env: Environment) -> dict[str, dict[str, Any]]:
    """name → PutMetricAlarm parameters, for every alarm the environment defines."""
    return {name: put_params(env, name, spec)
            for name, spec in (env.doc.get("alarms") or {}).items()}


def put_params(env: Environment, name: str, spec: dict[str, Any]) -> dict[str, Any]:
    """One definition as PutMetricAlarm input (camelCase keys → the API's PascalCase)."""
    params: dict[str, Any] = {"AlarmName": name, "Namespace": DEFAULT_NAMESPACE,
                              "TreatMissingData": DEFAULT_TREAT_MISSING}
    for key, value in spec.items():
        if key == "dimensions":
            continue
        api_key = "AlarmDescription" if key == "description" else key[:1].upper() + key[1:]
        params[api_key] = float(value) if api_key == "Threshold" else value
    dimensions = spec.get("dimensions")
    if dimensions is None:
        dimensions = {"LoadBalancerName": env.load_balancer.name}
    params["Dimensions"] = [{"Name": k, "Value": str(v)} for k, v in dimensions.items()]
    return params


def difference(wanted: dict[str, Any], live: dict[str, Any]) -> list[str]:
    """What a live MetricAlarm has other than its definition, one phrase per field (a field
    the definition leaves out is AWS's to choose, not a difference)."""
    out = []
    for key in COMPARED:
        want, have = wanted.get(key), live.get(key)
        if key == "Threshold" and want is not None and have is not None:
            want, have = float(want), float(have)
        if want is not None and want != have:
            out.append(f"{key} {have!r} → {want!r}")
    wanted_dims = sorted((d["Name"], d["Value"]) for d in wanted.get("Dimensions", []))
    live_dims = sorted((d["Name"], d["Value"]) for d in live.get("Dimensions", []))
    if wanted_dims != live_dims:
        out.append(f"Dimensions {dict(live_dims)} → {dict(wanted_dims)}")
    return out
