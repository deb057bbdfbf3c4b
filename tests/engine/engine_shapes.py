"""Hand-made API responses for the stability table tests, checked against botocore's model.

The builders return exactly the dicts boto3 hands back (DescribeServices'
Service, DescribeTasks' Task, DescribeInstanceHealth's InstanceState), and
`assert_shape` walks them through the service model so a typo in a key (or a
key the API never returns) fails the test instead of silently testing nothing.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import botocore.session

ACCOUNT = "123456789012"
CLUSTER_ARN = f"arn:aws:ecs:us-east-1:{ACCOUNT}:cluster/AkkaCluster"
SERVICE = "akka-firehose-service"
OLD_TD = f"arn:aws:ecs:us-east-1:{ACCOUNT}:task-definition/akka-demo:1"
NEW_TD = f"arn:aws:ecs:us-east-1:{ACCOUNT}:task-definition/akka-demo:2"
OLD_DEPLOYMENT = "ecs-svc/1111111111111111111"
NEW_DEPLOYMENT = "ecs-svc/2222222222222222222"
T0 = 1_700_000_000.0

_models: dict[str, Any] = {}


def _model(service: str) -> Any:
    if service not in _models:
        _models[service] = botocore.session.get_session().get_service_model(service)
    return _models[service]


def assert_shape(data: Any, service: str, shape_name: str) -> None:
    """Fail when `data` has a key or a type that the API's output shape does not have."""
    _check(data, _model(service).shape_for(shape_name), shape_name)


def _check(data: Any, shape: Any, where: str) -> None:
    kind = shape.type_name
    if kind == "structure":
        assert isinstance(data, dict), f"{where}: expected an object"
        for key, value in data.items():
            assert key in shape.members, f"{where}.{key}: not in the {shape.name} shape"
            _check(value, shape.members[key], f"{where}.{key}")
    elif kind == "list":
        assert isinstance(data, list), f"{where}: expected a list"
        for i, item in enumerate(data):
            _check(item, shape.member, f"{where}[{i}]")
    elif kind == "string":
        assert isinstance(data, str), f"{where}: expected a string"
        if shape.enum:
            assert data in shape.enum, f"{where}: {data!r} not one of {shape.enum}"
    elif kind in ("integer", "long"):
        assert isinstance(data, int) and not isinstance(data, bool), f"{where}: expected int"
    elif kind == "boolean":
        assert isinstance(data, bool), f"{where}: expected bool"
    elif kind == "timestamp":
        assert isinstance(data, datetime), f"{where}: expected a datetime (boto3 parses them)"


def at(seconds: float) -> datetime:
    return datetime.fromtimestamp(T0 + seconds, tz=UTC)


def deployment(dep_id: str, td: str, status: str = "PRIMARY", *, desired: int = 2,
               running: int = 0, pending: int = 0, rollout: str | None = "IN_PROGRESS",
               reason: str | None = None, failed: int = 0) -> dict[str, Any]:
    d: dict[str, Any] = {
        "id": dep_id, "status": status, "taskDefinition": td, "desiredCount": desired,
        "pendingCount": pending, "runningCount": running, "failedTasks": failed,
        "createdAt": at(0), "updatedAt": at(0), "launchType": "EC2",
    }
    if rollout is not None:
        d["rolloutState"] = rollout
        d["rolloutStateReason"] = reason or f"ECS deployment {dep_id} {rollout.lower()}."
    return d


def service(deployments: list[dict[str, Any]], *, desired: int = 2, running: int = 2,
            pending: int = 0, events: list[dict[str, Any]] | None = None,
            status: str = "ACTIVE") -> dict[str, Any]:
    primary = next(d for d in deployments if d["status"] == "PRIMARY")
    return {
        "serviceArn": f"arn:aws:ecs:us-east-1:{ACCOUNT}:service/AkkaCluster/{SERVICE}",
        "serviceName": SERVICE, "clusterArn": CLUSTER_ARN, "status": status,
        "desiredCount": desired, "runningCount": running, "pendingCount": pending,
        "launchType": "EC2", "taskDefinition": primary["taskDefinition"],
        "loadBalancers": [{"loadBalancerName": "akkaElb", "containerName": "akka-firehose",
                           "containerPort": 8080}],
        "deploymentConfiguration": {
            "maximumPercent": 100, "minimumHealthyPercent": 50,
            "deploymentCircuitBreaker": {"enable": True, "rollback": True}},
        "deployments": deployments, "events": events or [],
        "roleArn": f"arn:aws:iam::{ACCOUNT}:role/ecsServiceRole",
        "healthCheckGracePeriodSeconds": 10, "schedulingStrategy": "REPLICA",
        "deploymentController": {"type": "ECS"}, "createdAt": at(-3600),
    }


def event(event_id: str, message: str, seconds: float = 0) -> dict[str, Any]:
    return {"id": event_id, "createdAt": at(seconds), "message": message}


def instance_arn(n: int) -> str:
    return f"arn:aws:ecs:us-east-1:{ACCOUNT}:container-instance/AkkaCluster/ci-{n}"


_NOT_STARTED = {"PROVISIONING", "PENDING", "ACTIVATING"}


def task(task_id: str, td: str, *, instance: int, last: str = "RUNNING",
         desired: str = "RUNNING", started_by: str = NEW_DEPLOYMENT,
         started_at: float | None = 0, stopped_at: float | None = None,
         stopped_reason: str | None = None, stop_code: str | None = None,
         exit_code: int | None = None) -> dict[str, Any]:
    arn = f"arn:aws:ecs:us-east-1:{ACCOUNT}:task/AkkaCluster/{task_id}"
    container: dict[str, Any] = {"containerArn": f"{arn}/c", "taskArn": arn,
                                 "name": "akka-firehose", "lastStatus": last}
    if exit_code is not None:
        container["exitCode"] = exit_code
    t: dict[str, Any] = {
        "taskArn": arn, "clusterArn": CLUSTER_ARN, "taskDefinitionArn": td,
        "containerInstanceArn": instance_arn(instance), "lastStatus": last,
        "desiredStatus": desired, "group": f"service:{SERVICE}", "startedBy": started_by,
        "launchType": "EC2", "containers": [container], "createdAt": at(0),
    }
    if started_at is not None and last not in _NOT_STARTED:
        t["startedAt"] = at(started_at)  # ECS sets it when the task reaches RUNNING
    if stopped_at is not None:
        t["stoppedAt"] = at(stopped_at)
    if stopped_reason is not None:
        t["stoppedReason"] = stopped_reason
    if stop_code is not None:
        t["stopCode"] = stop_code
    return t


def health(instance: str, state: str = "InService", description: str = "N/A",
           reason: str = "N/A") -> dict[str, Any]:
    return {"InstanceId": instance, "State": state, "ReasonCode": reason,
            "Description": description}


DRAINING = "Instance deregistration currently in progress."
INSTANCE_IDS = {instance_arn(n): f"i-{n:017x}" for n in range(1, 5)}


def ec2(n: int) -> str:
    return INSTANCE_IDS[instance_arn(n)]
