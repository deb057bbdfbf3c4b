"""The alarm fault: tasks of a revision put a CloudWatch alarm in ALARM once they served a while.

Read back through the CloudWatch API (DescribeAlarms), as the bake watch reads it.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import pytest

from release_sandbox.faults import parse_fault

ALARM = "akka-5xx"


def put_alarm(sandbox, name: str = ALARM) -> None:
    sandbox.client("cloudwatch").put_metric_alarm(
        AlarmName=name, Namespace="AWS/ELB", MetricName="HTTPCode_Backend_5XX",
        Dimensions=[{"Name": "LoadBalancerName", "Value": "akkaElb"}], Statistic="Sum",
        Period=60, EvaluationPeriods=1, Threshold=5.0,
        ComparisonOperator="GreaterThanOrEqualToThreshold", TreatMissingData="notBreaching")


def alarm(sandbox, name: str = ALARM) -> dict:
    return sandbox.client("cloudwatch").describe_alarms(AlarmNames=[name])["MetricAlarms"][0]


def test_the_alarm_fault_is_read_with_its_delay() -> None:
    fault = parse_fault("slow-start:seconds=5;alarm:name=akka-5xx,after=30")
    assert (fault.alarm, fault.alarm_after, fault.slow_start_seconds) == ("akka-5xx", 30.0, 5.0)
    assert parse_fault("alarm").alarm is None  # no name: no fault, never an error


def test_tasks_that_served_long_enough_put_the_alarm_in_alarm_and_it_recovers_after_them(
        sandbox, world) -> None:
    world.build(interval=5, healthy=2)
    put_alarm(sandbox)
    good = world.task_definition()
    world.create_service(good)
    world.run_until(world.steady, step=2)
    bad = world.task_definition(fault=f"alarm:name={ALARM},after=20")
    world.update(bad)

    in_service = world.run_until(lambda: any(
        h["State"] == "InService" for h in world.health(*world.instance_ids).values())
        and any(t["taskDefinitionArn"] == bad and t["lastStatus"] == "RUNNING"
                for t in world.tasks()))
    assert alarm(sandbox)["StateValue"] == "OK"
    waited = world.run_until(lambda: alarm(sandbox)["StateValue"] == "ALARM", limit=120)
    assert 15 <= waited <= 35, waited  # 20 s after the first new task served, not at start
    found = alarm(sandbox)
    assert found["StateReason"].startswith("Threshold Crossed: 1 datapoint [10.0 (")
    assert found["StateReason"].endswith("was greater than or equal to the threshold (5.0).")
    assert json.loads(found["StateReasonData"])["threshold"] == 5.0
    assert in_service > 0

    world.update(good)  # the faulty tasks go; one period (60 s) later CloudWatch says OK
    world.run_until(lambda: all(t["taskDefinitionArn"] == good for t in world.tasks())
                    and world.steady(), limit=400, step=5)
    world.run_until(lambda: alarm(sandbox)["StateValue"] == "OK", limit=90, step=5)
    assert alarm(sandbox)["StateReason"].endswith("was not greater than or equal to the "
                                                  "threshold (5.0).")


def test_an_alarm_can_be_set_over_http(sandbox) -> None:
    put_alarm(sandbox)
    request = urllib.request.Request(
        f"{sandbox.endpoint}/_sandbox/alarms", method="POST",
        data=json.dumps({"name": ALARM, "state": "ALARM", "reason": "by hand"}).encode())
    with urllib.request.urlopen(request) as answer:
        assert json.loads(answer.read())["state"] == "ALARM"
    assert (alarm(sandbox)["StateValue"], alarm(sandbox)["StateReason"]) == ("ALARM", "by hand")
    missing = urllib.request.Request(f"{sandbox.endpoint}/_sandbox/alarms", method="POST",
                                     data=json.dumps({"name": "nope"}).encode())
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(missing)
    assert refused.value.code == 404
