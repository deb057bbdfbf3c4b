"""Bootstrap's container instances: the tagged EC2 instances that join the cluster.

A re-run finds (and counts) the instances it launched by their tag, launches only the
missing ones (spread over the environment's subnets) and never terminates any.
"""

from __future__ import annotations

from typing import Any

from release.core.calls import ApiCall
from release.core.config import Environment
from release.core.policies import iam_name

INSTANCE_TAG = "release:cluster"  # how a re-run finds (and counts) the instances it launched
LIVE_INSTANCE_STATES = ["pending", "running", "stopping", "stopped"]


def user_data(env: Environment) -> str:
    """The seed's user data minus `yum update -y` (a boot-time upgrade is not reproducible)."""
    return f"#!/bin/bash\necho ECS_CLUSTER={env.cluster} >> /etc/ecs/ecs.config\n"


def plan_instances(planner: Any, wanted: int) -> None:
    """Launch what is missing of `wanted` tagged instances, spread over the subnets."""
    env = planner.env
    ec2 = planner.aws.ec2
    existing: list[dict[str, Any]] = []
    for page in ec2.get_paginator("describe_instances").paginate(Filters=[
            {"Name": f"tag:{INSTANCE_TAG}", "Values": [env.cluster]},
            {"Name": "instance-state-name", "Values": LIVE_INSTANCE_STATES}]):
        for reservation in page["Reservations"]:
            existing.extend(reservation["Instances"])
    if len(existing) > wanted:
        planner.plan.notes.append(
               f"{len(existing)} instances tagged {INSTANCE_TAG}={env.cluster} exist, "
               f"{wanted} asked for: bootstrap never terminates instances")
    subnets = [planner._subnets.get(s, s) for s in env.instances.get("subnets", [])]
    groups = [planner._groups.get(g, g) for g in env.instances.get("securityGroups", [])]
    per_subnet = {i: 0 for i in range(len(subnets))}
    for instance in existing:
        for i, subnet in enumerate(subnets):
            if instance.get("SubnetId") == subnet:
                per_subnet[i] += 1
    for n in range(len(existing), wanted):
        params: dict[str, Any] = {
            "ImageId": env.instances["ami"], "InstanceType": env.instance_type,
            "MinCount": 1, "MaxCount": 1,
            "IamInstanceProfile": {"Name": iam_name(env, "instanceProfile")},
            "UserData": user_data(env),
            "TagSpecifications": [{"ResourceType": "instance", "Tags": [
                {"Key": INSTANCE_TAG, "Value": env.cluster},
                {"Key": "Name", "Value": f"{env.cluster}-{n + 1}"}]}],
        }
        target = "new instance"
        if subnets:  # spread: the least used subnet, in document order on a tie
            index = min(per_subnet, key=lambda i: (per_subnet[i], i))
            per_subnet[index] += 1
            params["SubnetId"] = subnets[index]
            target = f"instance in {env.instances['subnets'][index]}"
        if groups:
            params["SecurityGroupIds"] = groups
        key = f"instance:{n + 1}"
        planner.plan.add(ApiCall("ec2", "run_instances", params,
                                 f"instance {n + 1} of {wanted} missing", target, key=key,
                                 retry_on=("InvalidParameterValue",)))
