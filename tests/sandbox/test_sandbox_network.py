"""The sandbox seeds the network its documents name (release_sandbox/network.py).

In AWS the subnets and security groups an environment names exist before bootstrap
runs; moto has only its default VPC. The sandbox makes each named one in a VPC of
its own, tagged with the name, so bootstrap finds it by Name tag as it would in AWS.
"""

from __future__ import annotations

from pathlib import Path

from release_sandbox.network import VPC_NAME, network_names, sandbox_documents, seed_network
from release_sandbox.testing import running_sandbox

REPO_ROOT = Path(__file__).resolve().parents[2]


def named(ec2, kind: str, name: str) -> list[dict]:
    if kind == "subnet":
        return ec2.describe_subnets(Filters=[{"Name": "tag:Name", "Values": [name]}])["Subnets"]
    return ec2.describe_security_groups(
        Filters=[{"Name": "tag:Name", "Values": [name]}])["SecurityGroups"]


def test_a_started_sandbox_has_the_subnets_and_groups_its_environments_name(tmp_path):
    with running_sandbox(REPO_ROOT, tmp_path) as sandbox:
        ec2 = sandbox.client("ec2")
        [vpc] = ec2.describe_vpcs(Filters=[{"Name": "tag:Name", "Values": [VPC_NAME]}])["Vpcs"]
        docs = sandbox_documents(sandbox.repo)
        assert {d["name"] for d in docs} >= {"sandbox", "sandbox-alb"}
        subnets = {n for d in docs for n in network_names(d)[0]}
        groups = {n for d in docs for n in network_names(d)[1]}
        assert subnets == {"subnet-a", "subnet-b"} and groups == {"sg-a"}
        seeded = [named(ec2, "subnet", n)[0] for n in sorted(subnets)]
        assert {s["VpcId"] for s in seeded} == {vpc["VpcId"]}
        assert len({s["AvailabilityZone"] for s in seeded}) == 2  # spread, as bootstrap spreads
        assert len({s["CidrBlock"] for s in seeded}) == 2
        [group] = named(ec2, "security group", "sg-a")
        assert group["VpcId"] == vpc["VpcId"]
        # The default VPC stays the first, as code that takes "the" VPC expects.
        assert ec2.describe_vpcs()["Vpcs"][0]["IsDefault"] is True

        # Seeding again, or a document naming one more subnet, adds only what is missing.
        again = seed_network(ec2, docs)
        assert again == {"subnets": [], "security_groups": []}
        more = seed_network(ec2, [{"loadBalancer": {"subnets": ["subnet-a", "subnet-c"]}}])
        assert more == {"subnets": ["subnet-c"], "security_groups": []}
        cidrs = [s["CidrBlock"] for s in ec2.describe_subnets(
            Filters=[{"Name": "vpc-id", "Values": [vpc["VpcId"]]}])["Subnets"]]
        assert len(cidrs) == len(set(cidrs)) == 3


def test_an_environment_of_real_aws_is_not_the_sandboxs(tmp_path):
    # Only documents that name an AWS endpoint are the sandbox's: staging's are left alone.
    with running_sandbox(REPO_ROOT, tmp_path) as sandbox:
        names = [p.parent.name for p in sorted((sandbox.repo / "environments").glob(
            "*/environment.json"))]
        docs = sandbox_documents(sandbox.repo)
        assert "staging" in names and len(docs) < len(names)
        assert all(d.get("endpoints", {}).get("aws") for d in docs)
