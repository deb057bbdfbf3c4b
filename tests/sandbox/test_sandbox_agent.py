"""The agent stand-in (release_sandbox/agent.py): the instances EC2 runs register themselves.

On AWS the container agent of an instance registers it with the cluster its user data
names (ECS_CLUSTER); no agent runs in the sandbox, so the emulator does it, and
`release bootstrap` plans no RegisterContainerInstance of its own.
"""

from __future__ import annotations

from typing import Any

from sandbox_world import CLUSTER

from release_sandbox.agent import AGENT_RESERVED_PORTS, cluster_of

USER_DATA = f"#!/bin/bash\necho ECS_CLUSTER={CLUSTER} >> /etc/ecs/ecs.config\n"


def _run(sb: Any, user_data: str | None = None, instance_type: str = "t2.medium") -> str:
    extra = {"UserData": user_data} if user_data is not None else {}
    reservation = sb.client("ec2").run_instances(ImageId="ami-840e42ee", MinCount=1,
                                                 MaxCount=1, InstanceType=instance_type,
                                                 **extra)
    return reservation["Instances"][0]["InstanceId"]


def _registered(sb: Any) -> dict[str, dict[str, Any]]:
    ecs = sb.client("ecs")
    arns = ecs.list_container_instances(cluster=CLUSTER)["containerInstanceArns"]
    if not arns:
        return {}
    described = ecs.describe_container_instances(cluster=CLUSTER, containerInstances=arns)
    return {ci["ec2InstanceId"]: ci for ci in described["containerInstances"]}


def _resources(ci: dict[str, Any]) -> dict[str, Any]:
    return {r["name"]: r["stringSetValue"] if r["type"] == "STRINGSET" else r["integerValue"]
            for r in ci["registeredResources"]}


def test_an_instance_naming_the_cluster_registers_with_what_its_agent_reports(sandbox):
    sandbox.client("ecs").create_cluster(clusterName=CLUSTER)
    instance = _run(sandbox, USER_DATA)

    registered = _registered(sandbox)  # at once: RunInstances returned after the agent's call
    assert list(registered) == [instance]
    resources = _resources(registered[instance])
    assert resources["CPU"] == 2048 and resources["MEMORY"] == 3943
    assert sorted(resources["PORTS"]) == sorted(AGENT_RESERVED_PORTS)


def test_an_agent_whose_cluster_does_not_exist_yet_registers_when_it_is_created(sandbox):
    instance = _run(sandbox, USER_DATA)
    sandbox.client("ecs").create_cluster(clusterName=CLUSTER)

    assert list(_registered(sandbox)) == [instance]


def test_an_instance_without_ecs_cluster_in_its_user_data_is_not_a_container_instance(sandbox):
    sandbox.client("ecs").create_cluster(clusterName=CLUSTER)
    _run(sandbox)
    _run(sandbox, "#!/bin/bash\necho ECS_CLUSTER=Other >> /etc/ecs/ecs.config\n")

    assert _registered(sandbox) == {}


def test_an_instance_registers_once_and_stays_out_once_deregistered(sandbox):
    ecs = sandbox.client("ecs")
    ecs.create_cluster(clusterName=CLUSTER)
    first = _run(sandbox, USER_DATA)
    ecs.deregister_container_instance(
        cluster=CLUSTER, containerInstance=_registered(sandbox)[first]["containerInstanceArn"],
        force=True)
    second = _run(sandbox, USER_DATA)
    sandbox.advance(5)

    assert list(_registered(sandbox)) == [second]


def test_the_cluster_is_read_from_the_line_the_user_data_writes():
    class Encoded:
        def decode(self) -> str:
            return "#!/bin/bash\necho ECS_CLUSTER=AkkaCluster-staging >> /etc/ecs/ecs.config\n"

    assert cluster_of(Encoded()) == "AkkaCluster-staging"
    assert cluster_of("#!/bin/bash\nyum update -y\n") is None
    assert cluster_of(None) is None
