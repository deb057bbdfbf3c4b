"""release/core/registration.py: ECS's rewrites on register, as pure functions."""

from __future__ import annotations

import pytest

from release.core import registration as reg

HOME = reg.Where("123456789012", "eu-west-1")


@pytest.mark.parametrize(("written", "stored"), [
    ("1 vCPU", "1024"), ("1 vcpu", "1024"), ("0.25 vCPU", "256"), ("2vCPU", "2048"),
    ("1024", "1024"), (512, "512"), ("a lot", "a lot")])
def test_task_cpu_is_stored_in_cpu_units(written, stored) -> None:
    assert reg.task_cpu(written) == stored


@pytest.mark.parametrize(("written", "stored"), [
    ("2 GB", "2048"), ("1GB", "1024"), ("0.5 GB", "512"), ("3072", "3072"), (1024, "1024"),
    ("2 gigs", "2 gigs")])
def test_task_memory_is_stored_in_mib(written, stored) -> None:
    assert reg.task_memory(written) == stored


def test_a_role_name_becomes_an_arn_and_an_arn_stays() -> None:
    assert reg.role_arn("app", HOME) == "arn:aws:iam::123456789012:role/app"
    assert reg.role_arn("app", reg.Where("1", "cn-northwest-1")) == "arn:aws-cn:iam::1:role/app"
    assert reg.role_arn("arn:aws:iam::9:role/x", HOME) == "arn:aws:iam::9:role/x"
    assert reg.role_arn("app", None) == "app"


def test_registered_rewrites_only_what_ecs_rewrites_and_twice_is_once() -> None:
    doc = {"family": "f", "cpu": "1 vCPU", "memory": "2 GB", "taskRoleArn": "app",
           "executionRoleArn": "arn:aws:iam::9:role/exec",
           "volumes": [{"name": "a", "efsVolumeConfiguration": {"fileSystemId": "fs-1"}},
                       {"name": "b", "efsVolumeConfiguration": {"fileSystemId": "fs-1",
                                                                "rootDirectory": "/data"}},
                       {"name": "c"}],
           "containerDefinitions": [{"name": "x", "cpu": 256}]}
    once = reg.registered(doc, HOME)
    assert once == {**doc, "cpu": "1024", "memory": "2048",
                    "taskRoleArn": "arn:aws:iam::123456789012:role/app",
                    "volumes": [{"name": "a", "efsVolumeConfiguration": {
                        "fileSystemId": "fs-1", "rootDirectory": "/"}}, *doc["volumes"][1:]]}
    assert reg.registered(once, HOME) == once
    assert doc["cpu"] == "1 vCPU"  # the input is left as it was


def test_where_comes_from_an_arn() -> None:
    arn = "arn:aws-us-gov:ecs:us-gov-west-1:123456789012:task-definition/app:3"
    assert reg.Where.of_arn(arn) == reg.Where("123456789012", "us-gov-west-1")
    assert reg.Where.of_arn("app:3") is None and reg.Where.of_arn(None) is None


def test_the_files_tags_exclude_the_records_and_aws_and_merge_before_the_record() -> None:
    assert reg.file_tags({"team": "a", "release:env": "x", "AWS:cf": "y", "tier": None}) == {
        "team": "a", "tier": ""}
    record = [{"key": "release:env", "value": "staging"}]
    assert reg.merged_tags([{"key": "team", "value": "a"},
                            {"key": "release:env", "value": "mine"}], record) == [
        {"key": "team", "value": "a"}, {"key": "release:env", "value": "staging"}]
    assert reg.merged_tags(None, None) == []
