"""The CreateService members beyond the load balancer (rules/service_members.py): one change
that makes each rule fire, one near miss that keeps it quiet; and real service definitions
that use them validate."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from test_rules_target_groups import ALB_SERVICE, FARGATE_TASKDEF, service, taskdef
from validate_helpers import STAGING_SERVICE, edit

from release.core.validate import validate_repo

Change = Callable[[Path], None]
NAMESPACE = "arn:aws:servicediscovery:us-east-1:123456789012:namespace/ns-abcdefghijklmnop"
REGISTRY = "arn:aws:servicediscovery:us-east-1:123456789012:service/srv-abcdefghijklmnop"
SPOT = [{"capacityProvider": "FARGATE_SPOT", "weight": 3},
        {"capacityProvider": "FARGATE", "base": 1, "weight": 1}]


def staging(change) -> Change:
    return lambda repo: edit(repo, STAGING_SERVICE, change)


def on_spot(doc) -> None:
    doc["service"].pop("launchType")
    doc["service"]["capacityProviderStrategy"] = [dict(item) for item in SPOT]


def named_port(doc) -> None:
    doc["containerDefinitions"][0]["portMappings"][0]["name"] = "http"


def connect(port_name: str) -> Change:
    def apply(repo: Path) -> None:
        taskdef(named_port)(repo)
        service(lambda d: d["service"].update(serviceConnectConfiguration={
            "enabled": True, "namespace": NAMESPACE,
            "services": [{"portName": port_name, "clientAliases": [{"port": 80}]}]}))(repo)
    return apply


def ebs(name: str) -> Change:
    def apply(repo: Path) -> None:
        taskdef(lambda d: d.setdefault("volumes", []).append(
            {"name": "data", "configuredAtLaunch": True}))(repo)
        service(lambda d: d["service"].update(volumeConfigurations=[{"name": name,
            "managedEBSVolume": {"roleArn": "arn:aws:iam::123456789012:role/ecsEbs",
                                 "sizeInGiB": 20}}]))(repo)
    return apply


# rule id, change that fires it, file and pointer it names, near miss that stays quiet
MEMBER_CASES: list[tuple[str, Change, str, str, Change]] = [
    ("service-controller", service(lambda d: d["service"].update(
        deploymentController={"type": "CODE_DEPLOY"})),
     ALB_SERVICE, "/service/deploymentController/type",
     service(lambda d: d["service"].update(deploymentController={"type": "ECS"}))),
    ("capacity-strategy", service(lambda d: d["service"].update(
        capacityProviderStrategy=[dict(item) for item in SPOT])),
     ALB_SERVICE, "/service/launchType", service(on_spot)),
    ("capacity-strategy", service(lambda d: (on_spot(d), d["service"][
        "capacityProviderStrategy"][0].update(base=1))),
     ALB_SERVICE, "/service/capacityProviderStrategy/1/base", service(on_spot)),
    ("service-port-names", connect("web"),
     ALB_SERVICE, "/service/serviceConnectConfiguration/services/0/portName", connect("http")),
    ("service-registries", staging(lambda d: d["service"].update(
        serviceRegistries=[{"registryArn": REGISTRY}])),
     STAGING_SERVICE, "/service/serviceRegistries/0",
     staging(lambda d: d["service"].update(serviceRegistries=[{
         "registryArn": REGISTRY, "containerName": "akka-firehose", "containerPort": 8080}]))),
    ("service-volumes", ebs("logs"), ALB_SERVICE, "/service/volumeConfigurations/0/name",
     ebs("data")),
    ("service-role", service(lambda d: d["service"].update(role="ecsServiceRole")),
     ALB_SERVICE, "/service/role", staging(lambda d: d["service"].update(
         role="ecsServiceRole"))),
]


def _id(case) -> str:
    return f"{case[0]}:{case[3]}"


def _found(repo: Path, rule: str):
    report = validate_repo(repo)
    assert not [f for f in report.findings if f.rule in ("internal-error", "schema")], \
        report.findings
    return report, [f for f in report.findings if f.rule == rule]


@pytest.mark.parametrize("case", MEMBER_CASES, ids=[_id(c) for c in MEMBER_CASES])
def test_member_rule_fires_with_file_and_pointer(repo: Path, case) -> None:
    rule, fire, file, pointer, _ = case
    fire(repo)
    report, found = _found(repo, rule)
    assert (file, pointer) in {(f.file, f.pointer) for f in found}, report.findings
    assert all(f.severity == "error" and f.message and f.fix for f in found)


@pytest.mark.parametrize("case", MEMBER_CASES, ids=[_id(c) for c in MEMBER_CASES])
def test_member_rule_stays_quiet_on_a_near_miss(repo: Path, case) -> None:
    rule, _, _, _, quiet = case
    quiet(repo)
    _, found = _found(repo, rule)
    assert found == []


def test_a_fargate_spot_service_with_service_connect_cloud_map_and_ebs_validates(
        repo: Path) -> None:
    """The members the issue found refused (capacity providers, Service Connect, Cloud Map,
    EBS at launch, AZ rebalancing), written as public service definitions write them."""
    service(on_spot)(repo)
    connect("http")(repo)
    ebs("data")(repo)
    service(lambda d: d["service"].update(serviceRegistries=[{"registryArn": REGISTRY}],
                                          availabilityZoneRebalancing="ENABLED"))(repo)
    report = validate_repo(repo, envs=["sandbox-alb"])
    assert [f for f in report.findings if f.severity == "error"] == []
    assert FARGATE_TASKDEF in {f"taskdefs/{p.name}" for p in (repo / "taskdefs").iterdir()}
