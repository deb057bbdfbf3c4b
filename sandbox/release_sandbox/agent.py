"""The ECS container agent's part the sandbox needs: registering the instances EC2 runs.

No agent runs in the sandbox, so nothing would register a launched instance
with its cluster. On AWS (Amazon ECS Developer Guide, "Amazon ECS container
agent configuration"), ECS_CLUSTER is "The cluster that this agent should check
into", and "Launching an Amazon ECS Linux container instance" sets it from the
instance's user data (`echo ECS_CLUSTER=name >> /etc/ecs/ecs.config`); the agent
then calls RegisterContainerInstance with the resources it found
(RegisterContainerInstance API reference, totalResources). This module does the
same for every running instance whose user data names a cluster that exists:
after RunInstances and after CreateCluster (an agent keeps trying until its
cluster exists), so `release bootstrap` plans the same calls here as on AWS.

Sandbox choices (not from AWS): an instance whose user data names no cluster is
not a container instance (only an ECS-optimized AMI runs the agent; the agent
itself would pick `default`); each instance registers once, as an agent does
when it starts: one deregistered later stays out.
"""

from __future__ import annotations

import binascii
import re
from typing import Any

from release.core.rolling import instance_resources
from release_sandbox.placement import Placement
from release_sandbox.world import World

AGENT_RESERVED_PORTS = ["22", "2375", "2376", "51678", "51679"]
_CLUSTER_LINE = re.compile(r"ECS_CLUSTER=([A-Za-z0-9_-]+)")


def agent_resources(instance_type: str) -> list[dict[str, Any]]:
    """totalResources as the agent reports them (a t2.medium's for an unknown type)."""
    cpu, memory = instance_resources(instance_type) or instance_resources("t2.medium")
    return [{"name": "CPU", "type": "INTEGER", "integerValue": cpu},
            {"name": "MEMORY", "type": "INTEGER", "integerValue": memory},
            {"name": "PORTS", "type": "STRINGSET", "stringSetValue": AGENT_RESERVED_PORTS},
            {"name": "PORTS_UDP", "type": "STRINGSET", "stringSetValue": []}]


def cluster_of(user_data: Any) -> str | None:
    """The cluster an instance's user data writes as ECS_CLUSTER, if any."""
    if user_data is None:
        return None
    try:
        text = user_data.decode() if hasattr(user_data, "decode") else str(user_data)
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None
    found = _CLUSTER_LINE.search(text)
    return found.group(1) if found else None


class Agent:
    """Registers each running instance with the cluster its user data names, once."""

    def __init__(self, world: World, placement: Placement) -> None:
        self.world = world
        self.placement = placement
        self._registered: set[str] = set()

    def _ec2(self) -> Any:
        """moto's EC2 backend if anything used EC2 yet (looking it up would create it)."""
        from moto.backends import get_backend

        accounts = get_backend("ec2")
        regions = dict.get(accounts, self.world.account)
        return None if regions is None else dict.get(regions, self.world.region)

    def sync(self) -> None:
        ec2 = self._ec2()
        if ec2 is None:
            return
        ecs = self.world.ecs
        for instance in ec2.all_running_instances():
            if instance.id in self._registered:
                continue
            cluster = cluster_of(getattr(instance, "user_data", None))
            if cluster is None or cluster not in ecs.clusters:
                continue
            known = ecs.container_instances.get(cluster, {}).values()
            if all(ci.ec2_instance_id != instance.id for ci in known):
                ci = ecs.register_container_instance(cluster, instance.id)
                self.placement.instance_registered(ci, agent_resources(instance.instance_type))
            self._registered.add(instance.id)
