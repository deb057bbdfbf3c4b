"""The poller's batched reads against answers in real AWS's shapes (Stubber validates them).

DescribeServices takes at most 10 services and answers a name it does not know with
a `failures` entry (reason MISSING) instead of a service; DescribeTasks takes at
most 100 tasks and answers a task it no longer knows (stopped long ago) the same
way (ECS API reference, DescribeServices / DescribeTasks: `failures`, "Any failures
associated with the call"; Failure.reason MISSING).
"""

from __future__ import annotations

import copy
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from shapes_service import CLUSTER, SERVICE, SERVICE_ARN, deployment, service, task

from release.adapters.poller import EnvPoller


class Clients:
    def __init__(self) -> None:
        self.ecs = boto3.client("ecs", region_name="us-east-1", aws_access_key_id="x",
                                aws_secret_access_key="x")


def named(name: str) -> dict[str, Any]:
    doc = copy.deepcopy(service([deployment(1, running=1, desired=1)], running=1, desired=1))
    doc.update(serviceName=name, serviceArn=SERVICE_ARN.replace(SERVICE, name))
    doc.pop("loadBalancers")
    return doc


def task_of(name: str, i: int, last: str = "RUNNING") -> dict[str, Any]:
    doc = task(f"{name}-t{i}", 1, 1, last, started=-100)
    doc["group"] = f"service:{name}"
    return doc


def missing(arn: str) -> dict[str, str]:
    return {"arn": arn, "reason": "MISSING"}


def test_twelve_services_are_two_describe_services_calls_and_a_missing_one_is_gone() -> None:
    names = [f"svc-{i:02d}" for i in range(12)]
    aws = Clients()
    poller = EnvPoller(aws)
    members = [poller.join(CLUSTER, n, None) for n in names]
    with Stubber(aws.ecs) as stub:
        stub.add_response("describe_services", {"services": [named(n) for n in names[:10]],
                                                "failures": []},
                          {"cluster": CLUSTER, "services": names[:10]})
        stub.add_response("describe_services", {"services": [named(names[10])], "failures": [
            missing(SERVICE_ARN.replace(SERVICE, names[11]))]},
            {"cluster": CLUSTER, "services": names[10:]})
        for n in names[:11]:
            for status in ("RUNNING", "STOPPED"):
                arns = [task_of(n, 0)["taskArn"]] if status == "RUNNING" else []
                stub.add_response("list_tasks", {"taskArns": arns},
                                  {"cluster": CLUSTER, "serviceName": n, "desiredStatus": status})
        stub.add_response("describe_tasks", {"tasks": [task_of(n, 0) for n in names[:11]],
                                             "failures": []},
                          {"cluster": CLUSTER, "tasks": [task_of(n, 0)["taskArn"]
                                                         for n in names[:11]]})
        stub.add_response("describe_container_instances", {"containerInstances": [
            {"containerInstanceArn": task_of(names[0], 0)["containerInstanceArn"],
             "ec2InstanceId": "i-0107d9717afefb49b", "status": "ACTIVE"}], "failures": []})
        for m in members:
            m.wanted_at = 0.0
        snaps = [m.read(1.0) for m in members]
        stub.assert_no_pending_responses()
    assert [s.service["status"] for s in snaps] == ["ACTIVE"] * 11 + ["INACTIVE"]
    assert [len(s.tasks) for s in snaps] == [1] * 11 + [0]
    assert poller.rounds[0]["DescribeServices"] == 2


def test_150_tasks_are_two_describe_tasks_calls_and_a_missing_task_relists() -> None:
    aws = Clients()
    poller = EnvPoller(aws)
    member = poller.join(CLUSTER, "big", None)
    tasks = [task_of("big", i) for i in range(150)]
    arns = [t["taskArn"] for t in tasks]
    big = named("big")
    with Stubber(aws.ecs) as stub:
        stub.add_response("describe_services", {"services": [big], "failures": []},
                          {"cluster": CLUSTER, "services": ["big"]})
        stub.add_response("list_tasks", {"taskArns": arns[:100], "nextToken": "page-2"},
                          {"cluster": CLUSTER, "serviceName": "big", "desiredStatus": "RUNNING"})
        stub.add_response("list_tasks", {"taskArns": arns[100:]},
                          {"cluster": CLUSTER, "serviceName": "big", "desiredStatus": "RUNNING",
                           "nextToken": "page-2"})
        stub.add_response("list_tasks", {"taskArns": []},
                          {"cluster": CLUSTER, "serviceName": "big", "desiredStatus": "STOPPED"})
        stub.add_response("describe_tasks", {"tasks": tasks[:100], "failures": []},
                          {"cluster": CLUSTER, "tasks": arns[:100]})
        stub.add_response("describe_tasks", {"tasks": tasks[100:149],
                                             "failures": [missing(arns[149])]},
                          {"cluster": CLUSTER, "tasks": arns[100:]})
        stub.add_response("describe_container_instances", {"containerInstances": [
            {"containerInstanceArn": tasks[0]["containerInstanceArn"],
             "ec2InstanceId": "i-0107d9717afefb49b", "status": "ACTIVE"}], "failures": []})
        first = member.read(1.0)
        # the same counts and events, but a task was MISSING: the list is read again
        stub.add_response("describe_services", {"services": [big], "failures": []},
                          {"cluster": CLUSTER, "services": ["big"]})
        for status, listed in (("RUNNING", arns[:149]), ("STOPPED", [])):
            stub.add_response("list_tasks", {"taskArns": listed},
                              {"cluster": CLUSTER, "serviceName": "big", "desiredStatus": status})
        stub.add_response("describe_tasks", {"tasks": tasks[:100], "failures": []},
                          {"cluster": CLUSTER, "tasks": arns[:100]})
        stub.add_response("describe_tasks", {"tasks": tasks[100:149], "failures": []},
                          {"cluster": CLUSTER, "tasks": arns[100:149]})
        second = member.read(3.0)
        # nothing moved, nothing went missing, every task RUNNING: DescribeServices alone
        stub.add_response("describe_services", {"services": [big], "failures": []},
                          {"cluster": CLUSTER, "services": ["big"]})
        third = member.read(5.0)
        stub.assert_no_pending_responses()
    assert len(first.tasks) == 149 and len(second.tasks) == 149
    assert third.tasks == second.tasks  # the tasks as last described
    assert [r["ListTasks"] for r in poller.rounds] == [3, 2, 0]
    assert [r["DescribeTasks"] for r in poller.rounds] == [2, 2, 0]


@pytest.mark.parametrize(("moved", "lists"), [
    ("runningCount", ["RUNNING"]),  # ECS counts more tasks than the list holds
    ("runningCount down", []),  # a known task stopping: DescribeTasks tells
    ("event", ["RUNNING"]),  # "has started 1 tasks", naming none
    ("known start", []),  # "has started 1 tasks: (task ID)" of a task already listed
    ("stop event", ["STOPPED"]),  # a task may have come and gone in between
    ("known stop", []),  # "has stopped 1 running tasks: (task ID)" of a listed task
    ("failedTasks", ["STOPPED"]),
])
def test_a_moved_count_or_a_new_event_lists_the_tasks_again(moved: str, lists: list[str]
                                                             ) -> None:
    aws = Clients()
    poller = EnvPoller(aws)
    member = poller.join(CLUSTER, "svc", None)
    before = named("svc")
    after = copy.deepcopy(before)
    one = task_of("svc", 0)
    named_one = f": (task {one['taskArn'].rsplit('/', 1)[-1]})."
    message = {"event": "has started 1 tasks", "stop event": "has stopped 1 running tasks",
               "known start": "has started 1 tasks" + named_one,
               "known stop": "has stopped 1 running tasks" + named_one}
    if moved == "runningCount":
        after["runningCount"] = 2
    elif moved == "runningCount down":
        after["runningCount"] = 0
    elif moved == "failedTasks":
        after["deployments"][0]["failedTasks"] = 1
    else:
        after["events"] = [{"id": "e-1", "message": f"(service svc) {message[moved]}",
                            "createdAt": before["createdAt"]}]
    with Stubber(aws.ecs) as stub:
        for doc, statuses in ((before, ["RUNNING", "STOPPED"]), (after, lists)):
            stub.add_response("describe_services", {"services": [doc], "failures": []})
            for status in statuses:
                stub.add_response("list_tasks", {"taskArns": [one["taskArn"]]
                                                 if status == "RUNNING" else []},
                                  {"cluster": CLUSTER, "serviceName": "svc",
                                   "desiredStatus": status})
            stub.add_response("describe_tasks", {"tasks": [one], "failures": []})
            if doc is before:
                stub.add_response("describe_container_instances", {"containerInstances": [
                    {"containerInstanceArn": one["containerInstanceArn"],
                     "ec2InstanceId": "i-0107d9717afefb49b", "status": "ACTIVE"}]})
            member.read(1.0 if doc is before else 3.0)
        stub.assert_no_pending_responses()
    assert [r["ListTasks"] for r in poller.rounds] == [2, len(lists)]
