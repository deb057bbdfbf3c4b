"""The bake watch and the alarm check read DescribeAlarms in the shape CloudWatch returns it.

A real boto3 CloudWatch client answered by botocore's Stubber, which validates the
parameters and the responses against the CloudWatch model: MetricAlarms as a
threshold alarm reports them (StateValue, StateReason, StateReasonData,
StateUpdatedTimestamp), an alarm just created (no StateReasonData, no description),
a composite alarm, and DescribeAlarms' paging and its 100-names limit.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from botocore.stub import Stubber
from preflight_support import Clients, context
from stub_clients import stubbed_client

from release.core import stability
from release.core.bake import Bake, bake_of, batches
from release.core.clock import VirtualClock, use_clock
from release.core.config import load_repo
from release.engine.bake import ALARM_TYPES, after_stable, watch_bake
from release.engine.preflight import alarms as alarm_check
from release.output.events import Reporter

PROJECT = Path(__file__).resolve().parents[2]
T = dt.datetime(2026, 12, 2, 3, 0, tzinfo=dt.UTC)
REASON = ("Threshold Crossed: 1 datapoint [12.0 (02/12/26 03:01:00)] was greater than or "
          "equal to the threshold (5.0).")


def metric_alarm(name: str, state: str = "OK", reason: str | None = None,
                 created: bool = False) -> dict[str, Any]:
    """A MetricAlarm as DescribeAlarms returns one for a classic ELB metric. A just-created
    alarm has no StateReasonData (and this one no AlarmDescription): real AWS omits both."""
    alarm: dict[str, Any] = {
        "AlarmName": name,
        "AlarmArn": f"arn:aws:cloudwatch:us-east-1:123456789012:alarm:{name}",
        "AlarmConfigurationUpdatedTimestamp": T, "ActionsEnabled": True,
        "OKActions": [], "AlarmActions": [], "InsufficientDataActions": [],
        "StateValue": state,
        "StateReason": reason or ("Unchecked: Initial alarm creation" if created else
                                  "Threshold Crossed: 1 datapoint [0.0 (02/12/26 02:59:00)] "
                                  "was not greater than or equal to the threshold (5.0)."),
        "StateUpdatedTimestamp": T, "StateTransitionedTimestamp": T,
        "MetricName": "HTTPCode_Backend_5XX", "Namespace": "AWS/ELB", "Statistic": "Sum",
        "Dimensions": [{"Name": "LoadBalancerName", "Value": "akkaElb"}],
        "Period": 60, "EvaluationPeriods": 1, "Threshold": 5.0,
        "ComparisonOperator": "GreaterThanOrEqualToThreshold", "TreatMissingData": "notBreaching",
    }
    if not created:
        alarm["AlarmDescription"] = "backend 5XX answers behind akkaElb"
        alarm["StateReasonData"] = ('{"version":"1.0","queryDate":"2026-12-02T03:01:30.000+0000",'
                                    '"statistic":"Sum","period":60,"threshold":5.0}')
    return alarm


@pytest.fixture
def cloudwatch() -> Iterator[tuple[Any, Stubber]]:
    yield from stubbed_client("cloudwatch")


@pytest.fixture
def clock() -> Iterator[VirtualClock]:
    virtual = VirtualClock()
    previous = use_clock(virtual)
    yield virtual
    use_clock(previous)


def answer(stub: Stubber, names: list[str], alarms: list[dict[str, Any]],
           composite: list[dict[str, Any]] | None = None, token: str | None = None,
           next_token: str | None = None) -> None:
    params: dict[str, Any] = {"AlarmNames": names, "AlarmTypes": ALARM_TYPES}
    if token:
        params["NextToken"] = token
    response: dict[str, Any] = {"MetricAlarms": alarms, "CompositeAlarms": composite or []}
    if next_token:
        response["NextToken"] = next_token
    stub.add_response("describe_alarms", response, params)


def staging(bake: dict[str, Any] | None = None, ecs_alarms: dict[str, Any] | None = None):
    repo = load_repo(PROJECT)
    spec = repo.services_of("staging")[0]
    doc = dict(spec.doc)
    release = dict(doc.get("release") or {})
    if bake is not None:
        release["bake"] = bake
    else:
        release.pop("bake", None)
    doc["release"] = release
    service = dict(spec.service)
    config = dict(service.get("deploymentConfiguration") or {})
    if ecs_alarms is not None:
        config["alarms"] = ecs_alarms
    service["deploymentConfiguration"] = config
    return repo.environment("staging"), dataclasses.replace(spec, doc=doc, service=service)


def test_a_clean_bake_watches_for_its_minutes_and_reports_each_state_once(
        cloudwatch, clock) -> None:
    client, stub = cloudwatch
    env, spec = staging({"minutes": 2, "alarms": ["a-5xx", "a-latency"]})
    names = ["a-5xx", "a-latency"]
    # polls every 15 s for 120 s: 9 reads; the latency alarm has no data at first
    answer(stub, names, [metric_alarm("a-5xx"), metric_alarm("a-latency", "INSUFFICIENT_DATA",
                                                             created=True)])
    for _ in range(8):
        answer(stub, names, [metric_alarm("a-5xx"), metric_alarm("a-latency")])
    reporter = Reporter("json")
    start = clock.now()
    result = watch_bake(env, spec, SimpleNamespace(cloudwatch=client), reporter, minutes=2,
                        alarms=names, label="release")
    assert result == type(result)(True, None, "")
    assert clock.now() - start == pytest.approx(120)
    states = [(e.data["alarm"], e.data["state"]) for e in reporter.events
              if e.kind == "bake.alarm"]
    assert states == [("a-5xx", "OK"), ("a-latency", "INSUFFICIENT_DATA"), ("a-latency", "OK")]
    assert reporter.events[-1].kind == "bake.done"


def test_the_first_alarm_in_alarm_ends_the_bake_with_its_state_reason(cloudwatch, clock) -> None:
    client, stub = cloudwatch
    env, spec = staging()
    answer(stub, ["a-5xx"], [metric_alarm("a-5xx")])
    answer(stub, ["a-5xx"], [metric_alarm("a-5xx", "ALARM", REASON)])
    reporter = Reporter("json")
    result = watch_bake(env, spec, SimpleNamespace(cloudwatch=client), reporter, minutes=10,
                        alarms=["a-5xx"], label="canary")
    assert (result.ok, result.alarm, result.reason) == (False, "a-5xx", REASON)
    failed = [e for e in reporter.events if e.kind == "bake.failed"]
    assert failed and failed[0].data["label"] == "canary" and REASON in failed[0].message


def test_a_composite_alarm_counts_and_pages_are_followed(cloudwatch, clock) -> None:
    client, stub = cloudwatch
    env, spec = staging({"minutes": 1, "alarms": ["a-5xx", "all"]})
    composite = {"AlarmName": "all", "StateValue": "ALARM", "StateReason": "arn:aws:cloudwatch:"
                 "us-east-1:123456789012:alarm:a-5xx transitioned to ALARM",
                 "AlarmRule": "ALARM(a-5xx)", "StateUpdatedTimestamp": T}
    answer(stub, ["a-5xx", "all"], [metric_alarm("a-5xx")], next_token="page2")
    answer(stub, ["a-5xx", "all"], [], [composite], token="page2")
    result = watch_bake(env, spec, SimpleNamespace(cloudwatch=client), Reporter("json"),
                        minutes=1, alarms=["a-5xx", "all"], label="release")
    assert (result.ok, result.alarm) == (False, "all")


def test_missing_alarms_are_preflight_problems_naming_each_pointer_and_the_fix(
        cloudwatch) -> None:
    client, stub = cloudwatch
    env, spec = staging({"minutes": 5, "alarms": ["a-5xx", "gone"]},
                        {"alarmNames": ["ecs-gone"], "enable": True, "rollback": True})
    answer(stub, ["a-5xx", "gone", "ecs-gone"], [metric_alarm("a-5xx")])
    results = alarm_check.check(context(env, spec, Clients(cloudwatch=client)))
    assert [(r.status, r.resource) for r in results] == [
        ("ok", "alarm a-5xx"), ("problem", "alarm gone"), ("problem", "alarm ecs-gone")]
    gone, ecs_gone = results[1], results[2]
    assert "CloudWatch alarm gone does not exist in staging" in gone.message
    assert gone.pointer == "/release/bake/alarms/1"
    assert ecs_gone.pointer == "/service/deploymentConfiguration/alarms/alarmNames/0"
    assert gone.document == str(spec.path)
    assert "release bootstrap --env staging" in gone.fix


def test_more_than_100_names_take_more_than_one_call(cloudwatch) -> None:
    client, stub = cloudwatch
    names = [f"alarm-{i:03}" for i in range(150)]
    env, spec = staging({"minutes": 5, "alarms": names})
    assert [len(b) for b in batches(tuple(names))] == [100, 50]
    answer(stub, names[:100], [metric_alarm(n) for n in names[:100]])
    answer(stub, names[100:], [metric_alarm(n) for n in names[100:]])
    ctx = context(env, spec, Clients(cloudwatch=client))
    results = alarm_check.check(ctx)
    assert len(results) == 150 and {r.status for r in results} == {"ok"}
    assert ctx.calls == {"DescribeAlarms": 2}


def test_credentials_that_may_not_describe_alarms_are_not_checked(cloudwatch) -> None:
    client, stub = cloudwatch
    env, spec = staging({"minutes": 5, "alarms": ["a-5xx"]})
    stub.add_client_error("describe_alarms", "AccessDenied", "User: arn:aws:sts::123456789012:"
                          "assumed-role/jenkins/build-7 is not authorized to perform: "
                          "cloudwatch:DescribeAlarms", 403)
    [result] = alarm_check.check(context(env, spec, Clients(cloudwatch=client)))
    assert result.status == "not checked"
    assert "cloudwatch:DescribeAlarms" in result.message


def test_a_failed_bake_is_a_failed_verdict_with_cause_alarm(cloudwatch, clock) -> None:
    client, stub = cloudwatch
    env, spec = staging({"minutes": 5, "alarms": ["a-5xx"]})
    assert bake_of(spec) == Bake(5.0, ("a-5xx",))
    answer(stub, ["a-5xx"], [metric_alarm("a-5xx", "ALARM", REASON)])
    stable = stability.Verdict(stability.STABLE, "2/2 new tasks InService")
    verdict = after_stable(env, spec, SimpleNamespace(cloudwatch=client), Reporter("json"),
                           stable)
    assert verdict.state == stability.FAILED and verdict.cause == stability.ALARM
    assert "a-5xx" in verdict.reason and REASON in verdict.reason


def test_enabled_ecs_deployment_alarms_are_read_after_stable_even_without_a_bake(
        cloudwatch, clock) -> None:
    client, stub = cloudwatch
    env, spec = staging(ecs_alarms={"alarmNames": ["ecs-5xx"], "enable": True,
                                    "rollback": True})
    answer(stub, ["ecs-5xx"], [metric_alarm("ecs-5xx", "ALARM", REASON)])
    stable = stability.Verdict(stability.STABLE, "2/2 new tasks InService")
    verdict = after_stable(env, spec, SimpleNamespace(cloudwatch=client), Reporter("json"),
                           stable)
    assert (verdict.state, verdict.cause) == (stability.FAILED, stability.ALARM)
    assert "ecs-5xx" in verdict.reason


def test_ecs_deployment_alarms_not_enabled_are_reported_but_never_fail(cloudwatch, clock) -> None:
    client, stub = cloudwatch
    env, spec = staging(ecs_alarms={"alarmNames": ["ecs-5xx"], "enable": False,
                                    "rollback": False})
    answer(stub, ["ecs-5xx"], [metric_alarm("ecs-5xx", "ALARM", REASON)])
    reporter = Reporter("json")
    stable = stability.Verdict(stability.STABLE, "2/2 new tasks InService")
    verdict = after_stable(env, spec, SimpleNamespace(cloudwatch=client), reporter, stable)
    assert verdict is stable
    [event] = [e for e in reporter.events if e.kind == "bake.alarm"]
    assert event.data["state"] == "ALARM" and "not enabled" in event.message
