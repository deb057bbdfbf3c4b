"""Where moto alone answers differently from AWS, and the sandbox answers as AWS does."""

from __future__ import annotations

import json
from pathlib import Path

from registry_push import push_image
from sandbox_world import CLUSTER, World
from typer.testing import CliRunner

from release.cli import app
from release.engine.bootstrap import MANAGED_INSTANCE_POLICY
from release_sandbox.server import registry_dir
from release_sandbox.testing import running_sandbox, total_resources

REPO_ROOT = Path(__file__).resolve().parents[2]
POLICY_WARNING = "does not know the AWS managed policy"


def resources(ci: dict, key: str) -> dict[str, int]:
    return {r["name"]: r["integerValue"] for r in ci[key] if r["type"] == "INTEGER"}


def test_bootstrap_attaches_the_managed_instance_policy_without_a_warning_and_registers_t2_medium(
        tmp_path, monkeypatch):
    # Nothing in the caller's environment asks moto for its managed policies: the sandbox must.
    monkeypatch.delenv("MOTO_IAM_LOAD_MANAGED_POLICIES", raising=False)
    with running_sandbox(REPO_ROOT, tmp_path) as sandbox:
        result = CliRunner().invoke(app, ["bootstrap", "--repo", str(sandbox.repo), "--env",
                                          "sandbox", "--yes", "--instances", "2"])

        assert result.exit_code == 0, result.output
        assert POLICY_WARNING not in result.output
        iam = sandbox.client("iam")
        attached = [p["PolicyArn"] for role in iam.list_roles()["Roles"]
                    for p in iam.list_attached_role_policies(
                        RoleName=role["RoleName"])["AttachedPolicies"]]
        assert MANAGED_INSTANCE_POLICY in attached
        ecs = sandbox.client("ecs")
        cluster = sandbox.environment().cluster
        arns = ecs.list_container_instances(cluster=cluster)["containerInstanceArns"]
        described = ecs.describe_container_instances(cluster=cluster, containerInstances=arns)
        assert len(arns) == 2
        for ci in described["containerInstances"]:
            assert resources(ci, "registeredResources") == {"CPU": 2048, "MEMORY": 3943}
            assert resources(ci, "remainingResources") == {"CPU": 2048, "MEMORY": 3943}


def test_registered_total_resources_are_reported_and_limit_placement(world: World):
    world.build(instances=1, cpu=1536, memory=3000)
    world.create_service(world.task_definition(cpu=1024), desired=1)
    world.run_until(world.steady)
    arn = world.ecs.list_container_instances(cluster=CLUSTER)["containerInstanceArns"][0]
    ci = world.ecs.describe_container_instances(cluster=CLUSTER,
                                                containerInstances=[arn])["containerInstances"][0]

    assert resources(ci, "registeredResources") == {"CPU": 1536, "MEMORY": 3000}
    assert resources(ci, "remainingResources") == {"CPU": 512, "MEMORY": 3000 - 1024}

    # With moto's 4096 units a second task would fit by CPU and be refused for the port only.
    world.ecs.update_service(cluster=CLUSTER, service="akka-firehose-service", desiredCount=2)
    world.sb.advance(5)
    assert any("has insufficient CPU units available." in m for m in world.messages())
    assert world.service()["runningCount"] == 1


def test_list_tasks_matches_the_cluster_exactly_not_as_a_prefix(world: World):
    world.build(instances=1)
    staging = f"{CLUSTER}-staging"
    world.ecs.create_cluster(clusterName=staging)
    instance = world.sb.client("ec2").run_instances(ImageId="ami-840e42ee", MinCount=1,
                                                    MaxCount=1)["Instances"][0]["InstanceId"]
    world.ecs.register_container_instance(
        cluster=staging, instanceIdentityDocument=json.dumps({"instanceId": instance}),
        totalResources=total_resources(2048, 3943))
    definition = world.task_definition()
    production_task = world.ecs.run_task(cluster=CLUSTER, taskDefinition=definition,
                                         count=1)["tasks"][0]["taskArn"]
    staging_answer = world.ecs.run_task(cluster=staging, taskDefinition=definition, count=1)
    staging_task = staging_answer["tasks"][0]["taskArn"]
    staging_arn = world.ecs.describe_clusters(clusters=[staging])["clusters"][0]["clusterArn"]

    assert world.ecs.list_tasks(cluster=CLUSTER)["taskArns"] == [production_task]
    assert world.ecs.list_tasks(cluster=staging)["taskArns"] == [staging_task]
    assert world.ecs.list_tasks(cluster=staging_arn)["taskArns"] == [staging_task]


def test_registry_images_are_imported_into_a_repository_created_after_a_restart(tmp_path):
    images = tmp_path / "images"
    with running_sandbox(REPO_ROOT, tmp_path / "first", registry=True,
                         registry_dir=images) as first:
        repository = first.environment().ecr_repository
        first.client("ecr").create_repository(repositoryName=repository)
        digest = push_image(first.registry.url, first.registry.password, repository, "v1")

    with running_sandbox(REPO_ROOT, tmp_path / "second", registry=True,
                         registry_dir=images) as second:
        ecr = second.client("ecr")
        assert ecr.describe_repositories()["repositories"] == []

        ecr.create_repository(repositoryName=repository, imageTagMutability="IMMUTABLE")
        ecr.create_repository(repositoryName="never-pushed")

        found = ecr.describe_images(repositoryName=repository,
                                    imageIds=[{"imageTag": "v1"}])["imageDetails"]
        assert [image["imageDigest"] for image in found] == [digest]
        assert ecr.describe_images(repositoryName="never-pushed")["imageDetails"] == []
        assert second.registry.mirror_errors == []

        # What `release build --push` asks before building: the tag is there, so it skips.
        from release.adapters.aws import Aws
        from release.adapters.ecr_images import existing_digest

        env = second.environment()
        assert existing_digest(Aws(env), env, "v1") == digest


def test_server_registry_dir_comes_from_the_environment_or_the_state_dir(tmp_path, monkeypatch):
    monkeypatch.delenv("RELEASE_SANDBOX_REGISTRY_DIR", raising=False)
    assert registry_dir(tmp_path / "state") == tmp_path / "state" / "registry"

    monkeypatch.setenv("RELEASE_SANDBOX_REGISTRY_DIR", str(tmp_path / "kept"))
    assert registry_dir(tmp_path / "state") == tmp_path / "kept"


def test_registered_task_definitions_are_described_in_the_form_ecs_stores(sandbox):
    # moto keeps "1 vCPU", a role name and an EFS volume without rootDirectory as written;
    # ECS converts them on register (core/registration.py) and answers the converted form.
    ecs = sandbox.client("ecs")
    answer = ecs.register_task_definition(
        family="rewritten", cpu="1 vCPU", memory="2 GB", taskRoleArn="akka-task",
        executionRoleArn="arn:aws:iam::210987654321:role/shared-execution",
        containerDefinitions=[{"name": "app", "image": "app@sha256:" + "a" * 64}],
        volumes=[{"name": "data", "efsVolumeConfiguration": {"fileSystemId": "fs-12345678"}},
                 {"name": "scratch"}])["taskDefinition"]
    described = ecs.describe_task_definition(taskDefinition="rewritten:1")["taskDefinition"]

    for revision in (answer, described):
        assert (revision["cpu"], revision["memory"]) == ("1024", "2048")
        assert revision["taskRoleArn"] == f"arn:aws:iam::{sandbox.account}:role/akka-task"
        assert revision["executionRoleArn"] == "arn:aws:iam::210987654321:role/shared-execution"
        efs = revision["volumes"][0]["efsVolumeConfiguration"]
        assert efs == {"fileSystemId": "fs-12345678", "rootDirectory": "/"}
        assert revision["volumes"][1] == {"name": "scratch"}
