"""What moto cannot know: the network that the sandbox's environment documents name.

An environment document names its subnets and security groups by id or by Name tag
(`/loadBalancer/subnets`, `/instances/securityGroups`, …). In AWS they exist before
`release bootstrap` runs: the account's network is not the tool's to make, and
bootstrap refuses names it cannot find. moto starts with a default VPC only and cannot
create a subnet whose id is `subnet-a`; so the sandbox, when it starts, makes one VPC
(Name tag release-sandbox) and in it a subnet or security group tagged with each name a
sandbox environment uses. Bootstrap then finds them by Name tag, as it would in AWS.

A sandbox environment is one whose document names an AWS endpoint (`/endpoints/aws`).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

VPC_NAME = "release-sandbox"
VPC_CIDR = "10.0.0.0/16"  # beside moto's default VPC (172.31.0.0/16)


def sandbox_documents(repo: Path) -> list[dict[str, Any]]:
    """The environment documents of `repo` that name an AWS endpoint (the sandbox's)."""
    docs = []
    for path in sorted((repo / "environments").glob("*/environment.json")):
        doc = json.loads(path.read_text())
        if (doc.get("endpoints") or {}).get("aws"):
            docs.append(doc)
    return docs


def network_names(doc: dict[str, Any]) -> tuple[list[str], list[str]]:
    """(subnets, security groups) a document names, in document order, each once."""
    lb, instances = doc.get("loadBalancer") or {}, doc.get("instances") or {}
    subnets = [*lb.get("subnets", []), *instances.get("subnets", [])]
    groups = [*lb.get("securityGroups", []), *instances.get("securityGroups", [])]
    return list(dict.fromkeys(subnets)), list(dict.fromkeys(groups))


def _tags(resource: str, name: str) -> dict[str, Any]:
    return {"ResourceType": resource, "Tags": [{"Key": "Name", "Value": name}]}


def _known(items: Iterable[dict[str, Any]], id_key: str) -> set[str]:
    """Ids and Name tags of existing subnets or security groups."""
    known = set()
    for item in items:
        known.add(item[id_key])
        known |= {t["Value"] for t in item.get("Tags", []) if t["Key"] == "Name"}
    return known


def seed_network(ec2: Any, docs: Iterable[dict[str, Any]]) -> dict[str, list[str]]:
    """Create the subnets and security groups `docs` name that do not exist yet.

    `ec2` is a client of the sandbox in the documents' region. Idempotent: a name that
    exists as an id or a Name tag is left alone. Returns what was created, by kind.
    """
    subnets: list[str] = []
    groups: list[str] = []
    for doc in docs:
        named_subnets, named_groups = network_names(doc)
        subnets += [n for n in named_subnets if n not in subnets]
        groups += [n for n in named_groups if n not in groups]
    have_subnets = _known(ec2.describe_subnets()["Subnets"], "SubnetId")
    have_groups = _known(ec2.describe_security_groups()["SecurityGroups"], "GroupId")
    missing_subnets = [(i, n) for i, n in enumerate(subnets) if n not in have_subnets]
    missing_groups = [n for n in groups if n not in have_groups]
    created: dict[str, list[str]] = {"subnets": [], "security_groups": []}
    if not missing_subnets and not missing_groups:
        return created
    vpc = _vpc(ec2)
    zones = sorted(z["ZoneName"] for z in ec2.describe_availability_zones()["AvailabilityZones"]
                   if z.get("State", "available") == "available")
    used = {s["CidrBlock"] for s in ec2.describe_subnets(
        Filters=[{"Name": "vpc-id", "Values": [vpc]}])["Subnets"]}
    for index, name in missing_subnets:  # the n-th name: 10.0.n.0/24 in the n-th zone
        while f"10.0.{index}.0/24" in used:
            index += 1
        used.add(f"10.0.{index}.0/24")
        ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.0.{index}.0/24",
                          AvailabilityZone=zones[index % len(zones)],
                          TagSpecifications=[_tags("subnet", name)])
        created["subnets"].append(name)
    for name in missing_groups:
        ec2.create_security_group(GroupName=name, Description=f"sandbox stand-in for {name}",
                                  VpcId=vpc, TagSpecifications=[_tags("security-group", name)])
        created["security_groups"].append(name)
    return created


def _vpc(ec2: Any) -> str:
    """The sandbox's VPC (Name tag release-sandbox), made on first use."""
    found = ec2.describe_vpcs(Filters=[{"Name": "tag:Name", "Values": [VPC_NAME]}])["Vpcs"]
    if found:
        return found[0]["VpcId"]
    return ec2.create_vpc(CidrBlock=VPC_CIDR,
                          TagSpecifications=[_tags("vpc", VPC_NAME)])["Vpc"]["VpcId"]


def seed_repo(endpoint: str, repo: Path) -> dict[str, list[str]]:
    """Seed the network of every sandbox environment of `repo`, through `endpoint`."""
    import boto3

    from release_sandbox.process import CREDENTIALS

    created: dict[str, list[str]] = {"subnets": [], "security_groups": []}
    by_region: dict[str, list[dict[str, Any]]] = {}
    for doc in sandbox_documents(repo):
        by_region.setdefault(doc.get("region") or "us-east-1", []).append(doc)
    for region, docs in by_region.items():
        ec2 = boto3.client("ec2", endpoint_url=endpoint, region_name=region,
                           aws_access_key_id=CREDENTIALS["AWS_ACCESS_KEY_ID"],
                           aws_secret_access_key=CREDENTIALS["AWS_SECRET_ACCESS_KEY"])
        for kind, names in seed_network(ec2, docs).items():
            created[kind] += names
    return created
