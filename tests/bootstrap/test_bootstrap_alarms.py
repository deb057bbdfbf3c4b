"""Bootstrap's alarm step: environment.json /alarms → PutMetricAlarm, once, and corrected."""

from __future__ import annotations

import json

from bootstrap_helpers import PROJECT, apply_plan, edit_environment, environment

from release.engine.bootstrap import Plan
from release.engine.bootstrap_alarms import plan_alarms


def staging_alarms() -> dict:
    """The documented example: staging's alarms on the seed's ELB metrics."""
    doc = json.loads((PROJECT / "environments/staging/environment.json").read_text())
    return {name.replace("-staging-", "-sandbox-"): spec for name, spec in doc["alarms"].items()}


def test_bootstrap_creates_the_defined_alarms_once_and_corrects_a_changed_one(
        repo, sandbox_aws) -> None:
    edit_environment(repo, "sandbox", lambda d: d.update(alarms=staging_alarms()))
    sandbox_aws.cloudwatch.put_metric_alarm(  # not in the document: left alone
        AlarmName="someone-elses", Namespace="AWS/EC2", MetricName="CPUUtilization",
        Statistic="Average", Period=300, EvaluationPeriods=1, Threshold=90.0,
        ComparisonOperator="GreaterThanThreshold")
    env = environment(repo)
    first = Plan(env)  # the step alone; `release bootstrap` runs it in tests/engine's bake
    plan_alarms(sandbox_aws, env, first)
    assert [c.reason for c in first.calls] == ["alarm does not exist"] * 3
    apply_plan(sandbox_aws, first)

    alarms = {a["AlarmName"]: a for a in sandbox_aws.cloudwatch.describe_alarms()["MetricAlarms"]}
    five = alarms["akka-firehose-sandbox-5xx"]
    assert (five["Namespace"], five["MetricName"], five["Statistic"], five["Threshold"],
            five["ComparisonOperator"], five["Period"], five["EvaluationPeriods"],
            five["TreatMissingData"]) == ("AWS/ELB", "HTTPCode_Backend_5XX", "Sum", 5.0,
                                         "GreaterThanOrEqualToThreshold", 60, 1, "notBreaching")
    assert five["Dimensions"] == [{"Name": "LoadBalancerName", "Value": "akkaElb"}]
    assert alarms["akka-firehose-sandbox-latency"]["Unit"] == "Seconds"
    assert alarms["akka-firehose-sandbox-unhealthy-hosts"]["MetricName"] == "UnHealthyHostCount"

    again = Plan(env)
    plan_alarms(sandbox_aws, env, again)
    assert again.calls == []
    edit_environment(repo, "sandbox", lambda d: d["alarms"]["akka-firehose-sandbox-5xx"].update(
        threshold=10))
    changed = Plan(environment(repo))
    plan_alarms(sandbox_aws, changed.env, changed)
    calls = changed.calls
    assert [(c.operation, c.params["AlarmName"]) for c in calls] == [
        ("put_metric_alarm", "akka-firehose-sandbox-5xx")]
    assert "Threshold 5.0 → 10.0" in calls[0].reason
    assert "someone-elses" in {a["AlarmName"] for a in
                               sandbox_aws.cloudwatch.describe_alarms()["MetricAlarms"]}
