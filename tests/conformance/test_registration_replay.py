"""What ECS rewrites on register is not a change: each rewrite replayed in the shape AWS returns.

Each case registers a RegisterTaskDefinition input as ECS documents it (registered.py, an
oracle written from the API reference apart from release/core/registration.py), puts the
DescribeTaskDefinition answer through botocore's Stubber, and asks plan what changed:
nothing. The same answer against an input that really differs still shows the change.
"""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any

import pytest
from botocore.loaders import Loader
from registered import described, input_problems, validated, with_images

from release.core import plan, registration
from release.core.records import Record

ROOT = Path(__file__).resolve().parents[2]
ACCOUNT = "123456789012"
RECORD = Record(env="staging", service="api", commit="3f2a9c1", outcome="completed").tags()


def doc_text(documentation: str) -> str:
    plain = re.sub(r"<[^>]+>", " ", documentation)
    return re.sub(r"\s+([.,;:)])", r"\1", re.sub(r"\s+", " ", plain)).strip()


def base(**members: Any) -> dict[str, Any]:
    return with_images({"family": "api", "containerDefinitions": [
        {"name": "api", "memory": 512, "portMappings": [{"containerPort": 8080}]}], **members})


def changes_against_registered(written: dict[str, Any], desired: dict[str, Any] | None = None,
                               region: str = "us-east-1") -> list[str]:
    """Register `written` as ECS does in `region`, then plan `desired` (default: the same)."""
    assert input_problems(written) == ""
    tags = registration.merged_tags(written.get("tags"), RECORD)
    answer = validated(described(written, 3, account=ACCOUNT, region=region, tags=tags), region)
    live_tags = {t["key"]: t.get("value", "") for t in answer["tags"]}
    wanted = written if desired is None else desired
    return [c.one_line() for c in plan.taskdef_changes(
        answer["taskDefinition"], wanted, live_tags, registration.Where(ACCOUNT, region))]


# ------------------------------------------------------------------ each rewrite, both ways

REWRITTEN = {
    "cpu in vCPU": (base(cpu="1 vCPU", memory="2048"), {"cpu": "2 vCPU"},
                    ['~ cpu: "1024" → "2048"']),
    "cpu in lowercase vcpu, a fraction": (base(cpu="0.5 vcpu", memory="1024"),
                                          {"cpu": "1 vcpu"}, ['~ cpu: "512" → "1024"']),
    "memory in GB": (base(memory="2 GB"), {"memory": "3GB"}, ['~ memory: "2048" → "3072"']),
    "memory in GB, no space, a fraction": (base(memory="0.5GB"), {"memory": "1024"},
                                           ['~ memory: "512" → "1024"']),
    "task role by name": (base(taskRoleArn="api-task"), {"taskRoleArn": "other-task"},
                          ['~ taskRoleArn: "arn:aws:iam::123456789012:role/api-task" → '
                           '"arn:aws:iam::123456789012:role/other-task"']),
    "execution role by name": (base(executionRoleArn="ecsTaskExecutionRole"),
                               {"executionRoleArn": "arn:aws:iam::210987654321:role/x"},
                               ['~ executionRoleArn: "arn:aws:iam::123456789012:role/'
                                'ecsTaskExecutionRole" → "arn:aws:iam::210987654321:role/x"']),
    "EFS volume without rootDirectory": (
        base(volumes=[{"name": "data", "efsVolumeConfiguration": {"fileSystemId": "fs-1"}}]),
        {"volumes": [{"name": "data", "efsVolumeConfiguration": {
            "fileSystemId": "fs-1", "rootDirectory": "/data"}}]},
        ['~ volumes[data].efsVolumeConfiguration.rootDirectory: "/" → "/data"']),
    "EFS access point without rootDirectory or iam": (
        base(volumes=[{"name": "ap", "efsVolumeConfiguration": {
            "fileSystemId": "fs-1", "transitEncryption": "ENABLED",
            "authorizationConfig": {"accessPointId": "fsap-1"}}}]),
        {"volumes": [{"name": "ap", "efsVolumeConfiguration": {
            "fileSystemId": "fs-1", "transitEncryption": "ENABLED",
            "authorizationConfig": {"accessPointId": "fsap-1", "iam": "ENABLED"}}}]},
        ['~ volumes[ap].efsVolumeConfiguration.authorizationConfig.iam: "DISABLED" → '
         '"ENABLED"']),
    "health check with its defaults left out": (
        base(containerDefinitions=[{"name": "api", "memory": 512, "image": "a@sha256:" + "1" * 64,
                                    "healthCheck": {"command": ["CMD", "true"]}}]),
        {"containerDefinitions": [{"name": "api", "memory": 512, "image": "a@sha256:" + "1" * 64,
                                   "healthCheck": {"command": ["CMD", "true"], "retries": 4}}]},
        ["~ containerDefinitions[api].healthCheck.retries: 3 → 4"]),
    "the file's tags": (base(tags=[{"key": "team", "value": "payments"}, {"key": "tier"}]),
                        {"tags": [{"key": "team", "value": "checkout"}]},
                        ['~ tags[team]: "payments" → "checkout"', '- tags[tier] (was "")']),
}


@pytest.mark.parametrize("case", sorted(REWRITTEN))
def test_the_registered_shape_plans_nothing_to_change(case: str) -> None:
    written, _, _ = REWRITTEN[case]
    assert changes_against_registered(written) == []


@pytest.mark.parametrize("case", sorted(REWRITTEN))
def test_a_real_change_against_the_registered_shape_is_still_one(case: str) -> None:
    written, change, expected = REWRITTEN[case]
    assert changes_against_registered(written, {**copy.deepcopy(written), **change}) == expected


@pytest.mark.parametrize(("region", "arn"), [
    ("us-east-1", "arn:aws:iam::123456789012:role/api-task"),
    ("cn-north-1", "arn:aws-cn:iam::123456789012:role/api-task"),
    ("us-gov-west-1", "arn:aws-us-gov:iam::123456789012:role/api-task"),
])
def test_role_names_become_arns_of_the_environments_partition(region: str, arn: str) -> None:
    written = base(taskRoleArn="api-task", executionRoleArn="api-execution")
    answer = validated(described(written, 1, account=ACCOUNT, region=region), region)
    assert answer["taskDefinition"]["taskRoleArn"] == arn
    assert changes_against_registered(written, region=region) == []
    assert registration.registered(written, registration.Where(ACCOUNT, region))[
        "taskRoleArn"] == arn


def test_a_role_name_in_another_account_is_a_change() -> None:
    written = base(taskRoleArn="api-task")
    answer = validated(described(written, 1, account="210987654321"))
    assert [c.path for c in plan.taskdef_changes(
        answer["taskDefinition"], written, {},
        registration.Where(ACCOUNT, "us-east-1"))] == ["taskRoleArn"]


def test_without_the_environment_the_live_revisions_account_is_used() -> None:
    written = base(taskRoleArn="api-task", cpu="1 vCPU", memory="1 GB")
    answer = validated(described(written, 1, account="210987654321", region="cn-north-1"),
                       "cn-north-1")
    assert plan.taskdef_changes(answer["taskDefinition"], written) == []


def test_the_record_and_aws_tags_are_not_compared_but_the_files_are() -> None:
    written = base(tags=[{"key": "team", "value": "payments"}])
    answer = validated(described(written, 1, tags=[
        {"key": "team", "value": "payments"}, {"key": "aws:cloudformation:stack-name",
                                               "value": "api"}, *RECORD]))
    live_tags = {t["key"]: t["value"] for t in answer["tags"]}
    assert plan.taskdef_changes(answer["taskDefinition"], written, live_tags) == []
    untagged = {k: v for k, v in written.items() if k != "tags"}
    assert [c.one_line() for c in plan.taskdef_changes(
        answer["taskDefinition"], untagged, live_tags)] == ['- tags[team] (was "payments")']


# ------------------------------------------------------------- the documentation behind them

def test_every_rewrite_quotes_the_ecs_model_as_botocore_has_it() -> None:
    shapes = Loader().load_service_model("ecs", "service-2")["shapes"]
    quoted = [r for r in registration.REWRITES if r.model is not None]
    assert {r.member for r in quoted} >= {"cpu", "memory", "taskRoleArn",
                                         "volumes[].efsVolumeConfiguration.rootDirectory"}
    for rewrite in quoted:
        shape, member = rewrite.model
        assert rewrite.sentence in doc_text(shapes[shape]["members"][member]["documentation"]), (
            f"{shape}.{member} no longer says {rewrite.sentence!r}: check the rewrite")


def test_partitions_follow_botocores_endpoint_data() -> None:
    endpoints = Loader().load_data("endpoints")
    regions = {region: p["partition"] for p in endpoints["partitions"] for region in p["regions"]}
    assert len(regions) > 30
    assert {region: registration.partition(region) for region in regions} == regions
