"""Application Auto Scaling answers in the shapes AWS gives them (DescribeScalableTargets).

A scalable target of an ECS service as the API reference's example shows it: namespace,
ResourceId `service/<cluster>/<service>`, dimension, bounds, the service-linked role,
CreationTime, the three-flag SuspendedState and the target's ARN.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from botocore.stub import Stubber

CLUSTER = "AkkaCluster"
SERVICE = "akka-firehose-service"
RESOURCE = f"service/{CLUSTER}/{SERVICE}"
DIMENSION = "ecs:service:DesiredCount"
ROLE = ("arn:aws:iam::123456789012:role/aws-service-role/ecs.application-autoscaling."
        "amazonaws.com/AWSServiceRoleForApplicationAutoScaling_ECSService")
ASKED = {"ServiceNamespace": "ecs", "ResourceIds": [RESOURCE], "ScalableDimension": DIMENSION}


def scalable_target(low: int, high: int, scale_in_suspended: bool = False,
                    scale_out_suspended: bool = False, scheduled_suspended: bool = False
                    ) -> dict[str, Any]:
    return {"ServiceNamespace": "ecs", "ResourceId": RESOURCE, "ScalableDimension": DIMENSION,
            "MinCapacity": low, "MaxCapacity": high, "RoleARN": ROLE,
            "CreationTime": dt.datetime(2026, 1, 5, 9, 30, tzinfo=dt.UTC),
            "SuspendedState": {"DynamicScalingInSuspended": scale_in_suspended,
                               "DynamicScalingOutSuspended": scale_out_suspended,
                               "ScheduledScalingSuspended": scheduled_suspended},
            "ScalableTargetARN": "arn:aws:application-autoscaling:us-east-1:123456789012:"
                                 "scalable-target/0ec9a1b2c3d4e5f60718293a4b5c6d7e8f90"}


def described(*targets: dict[str, Any]) -> dict[str, Any]:
    return {"ScalableTargets": list(targets)}


def queue_scaling(client: Any, *targets: dict[str, Any]) -> Stubber:
    """One DescribeScalableTargets answered with `targets` (none: the service has none)."""
    stubber = Stubber(client)
    stubber.add_response("describe_scalable_targets", described(*targets), ASKED)
    stubber.activate()
    return stubber
