"""What a task's start needs (sandbox/release_sandbox/startup.py): a revision naming an execution
role, a secret, an image or a log group that does not exist never runs in the sandbox,
as on ECS — each failure worded as ECS words it, then fixed to show the task starts."""

from __future__ import annotations

import json
from typing import Any

import botocore.exceptions
import pytest
from sandbox_world import CLUSTER, CONTAINER, IMAGE, SERVICE, World, put_image

from release_sandbox.startup import trusts_ecs_tasks

ROLE = "ecsTaskExecutionRole"
ROLE_ARN = f"arn:aws:iam::123456789012:role/{ROLE}"
PARAMETER = "/akka-firehose/sandbox/db-password"
GROUP = "/ecs/akka-firehose"


def trust(service: str = "ecs-tasks.amazonaws.com") -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}]})


def execution_role(world: World, service: str = "ecs-tasks.amazonaws.com") -> None:
    world.sb.client("iam").create_role(RoleName=ROLE, AssumeRolePolicyDocument=trust(service))


def register(world: World, role: str | None = ROLE_ARN, fargate: bool = False,
             **container: Any) -> str:
    """A revision of the world's container with `container`'s fields (secrets, image, ...)."""
    definition = {"name": CONTAINER, "image": IMAGE, "cpu": 256, "memory": 512,
                  "essential": True, "portMappings": [{"containerPort": 8080, "hostPort": 80,
                                                       "protocol": "tcp"}], **container}
    params: dict[str, Any] = {"family": "akka-demo", "containerDefinitions": [definition]}
    if fargate:
        definition["portMappings"] = [{"containerPort": 8080, "protocol": "tcp"}]
        params.update(networkMode="awsvpc", requiresCompatibilities=["FARGATE"], cpu="256",
                      memory="512")
    else:
        params.update(networkMode="bridge", requiresCompatibilities=["EC2"])
    if role:
        params["executionRoleArn"] = role
    return world.ecs.register_task_definition(**params)["taskDefinition"]["taskDefinitionArn"]


def first_stop(world: World) -> dict[str, Any]:
    """The first task that reached STOPPED."""
    def stopped() -> list[dict[str, Any]]:
        return [t for t in world.tasks("STOPPED") if t["lastStatus"] == "STOPPED"]

    world.run_until(lambda: bool(stopped()), limit=30)
    return stopped()[0]


def assert_failed_to_start(task: dict[str, Any], reason: str,
                           container_reason: str | None = None) -> None:
    """ECS's shape of a task that never started: TaskFailedToStart, no startedAt, no exit
    code; the failing container carries the reason when the failure is a container's."""
    assert task["lastStatus"] == "STOPPED" and task["desiredStatus"] == "STOPPED"
    assert task["stopCode"] == "TaskFailedToStart"
    assert task["stoppedReason"] == reason
    assert "startedAt" not in task
    (container,) = task["containers"]
    assert "exitCode" not in container
    assert container.get("reason") == container_reason


def test_a_missing_ssm_parameter_stops_the_task_as_the_ec2_agent_words_it(world) -> None:
    world.build()
    execution_role(world)
    world.create_service(register(world, secrets=[{"name": "DB_PASSWORD",
                                                   "valueFrom": PARAMETER}]), desired=1)
    task = first_stop(world)
    assert_failed_to_start(task, "Fetching secret data from SSM Parameter Store in us-east-1: "
                                 f"invalid parameters: {PARAMETER}")
    assert world.service()["runningCount"] == 0
    # the parameter appears: the next task ECS starts runs
    world.sb.client("ssm").put_parameter(Name=PARAMETER, Value="s3cret", Type="SecureString")
    world.run_until(lambda: world.service()["runningCount"] == 1, limit=60)


def test_a_missing_ssm_parameter_on_fargate_is_a_resource_initialization_error(world) -> None:
    ec2 = world.sb.client("ec2")
    world.ecs.create_cluster(clusterName=CLUSTER)
    put_image(world.sb)
    execution_role(world)
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.0.1.0/24")["Subnet"]["SubnetId"]
    group = ec2.create_security_group(GroupName="tasks", Description="tasks",
                                      VpcId=vpc)["GroupId"]
    arn = f"arn:aws:ssm:us-east-1:123456789012:parameter{PARAMETER}"
    taskdef = register(world, fargate=True, secrets=[{"name": "DB", "valueFrom": arn}])
    world.ecs.create_service(cluster=CLUSTER, serviceName=SERVICE, taskDefinition=taskdef,
                             desiredCount=1, launchType="FARGATE", networkConfiguration={
                                 "awsvpcConfiguration": {"subnets": [subnet],
                                                         "securityGroups": [group]}})
    assert_failed_to_start(first_stop(world), (
        "ResourceInitializationError: unable to pull secrets or registry auth: execution "
        "resource retrieval failed: unable to retrieve secrets from ssm: service call has been "
        f"retried 1 time(s): invalid ssm parameters: {arn}"))
    # a parameter named by its ARN resolves once it exists
    world.sb.client("ssm").put_parameter(Name=PARAMETER, Value="s3cret", Type="SecureString")
    world.run_until(lambda: world.service()["runningCount"] == 1, limit=60)


def test_a_missing_secrets_manager_secret_stops_the_task(world) -> None:
    world.build()
    execution_role(world)
    secret = "arn:aws:secretsmanager:us-east-1:123456789012:secret:akka/db-AbCdEf"
    world.create_service(register(world, secrets=[{"name": "DB", "valueFrom": secret
                                                   + ":password::"}]), desired=1)
    assert_failed_to_start(first_stop(world), (
        f"Fetching secret data from AWS Secrets Manager in region us-east-1: secret {secret}: "
        "ResourceNotFoundException: Secrets Manager can't find the specified secret."))


def test_a_missing_log_group_fails_the_container_start_unless_the_driver_may_create_it(
        world) -> None:
    world.build()
    logging = {"logDriver": "awslogs", "options": {
        "awslogs-group": GROUP, "awslogs-region": "us-east-1", "awslogs-stream-prefix": "ecs"}}
    world.create_service(register(world, role=None, logConfiguration=logging), desired=1)
    reason = ("CannotStartContainerError: Error response from daemon: failed to initialize "
              "logging driver: failed to create Cloudwatch log stream: ResourceNotFoundException: "
              "The specified log group does not exist.")
    assert_failed_to_start(first_stop(world), reason, reason)
    # awslogs-create-group "true": the driver creates the group and the task runs
    logging["options"]["awslogs-create-group"] = "true"
    world.update(register(world, role=None, logConfiguration=logging))
    world.run_until(world.steady, limit=120)
    groups = world.sb.client("logs").describe_log_groups()["logGroups"]
    assert [g["logGroupName"] for g in groups] == [GROUP]


def test_an_image_missing_from_ecr_cannot_be_pulled(world) -> None:
    world.build()
    missing = IMAGE.replace("1" * 64, "2" * 64)
    world.create_service(register(world, role=None, image=missing), desired=1, minimum=0)
    reason = (f"CannotPullContainerError: Error response from daemon: manifest for {missing} not "
              "found: manifest unknown: Requested image not found")
    assert_failed_to_start(first_stop(world), reason, reason)
    assert world.service()["deployments"][0]["failedTasks"] >= 1  # the breaker counts it
    # a tag ECR holds (alone or beside the digest), and an image of a registry the sandbox
    # does not serve, all start
    world.update(register(world, role=None, image=IMAGE.split("@")[0] + ":v1"))
    world.run_until(world.steady, limit=120)
    world.update(register(world, role=None, image=IMAGE.replace("@", ":v1@")))
    world.run_until(world.steady, limit=120)
    world.update(register(world, role=None, image="public.ecr.aws/docker/library/busybox:1"))
    world.run_until(world.steady, limit=120)


@pytest.mark.parametrize("trusted", ["ec2.amazonaws.com", None])
def test_an_execution_role_ecs_cannot_assume_launches_no_task(world, trusted) -> None:
    world.build()
    if trusted:
        execution_role(world, trusted)  # exists, but trusts another service
    world.create_service(register(world), desired=1)
    world.sb.advance(30)
    assert world.all_tasks() == []
    expected = (f"(service {SERVICE}) failed to launch a task with (error ECS was unable to "
                f"assume the role '{ROLE_ARN}' that was provided for this task. Please verify "
                "that the role being passed has the proper trust relationship and permissions "
                "and that your IAM user has permissions to pass this role.).")
    assert world.messages().count(expected) == 1  # at most once a minute
    with pytest.raises(botocore.exceptions.ClientError) as refused:
        world.ecs.run_task(cluster=CLUSTER, taskDefinition="akka-demo")
    assert refused.value.response["Error"]["Code"] == "ClientException"
    assert "ECS was unable to assume the role" in refused.value.response["Error"]["Message"]
    iam = world.sb.client("iam")
    if trusted:
        iam.update_assume_role_policy(RoleName=ROLE, PolicyDocument=trust())
    else:
        execution_role(world)
    world.run_until(world.steady, limit=120)


def test_a_task_role_ecs_cannot_assume_launches_no_task_either(world) -> None:
    world.build()
    execution_role(world)
    task_role = "arn:aws:iam::123456789012:role/akka-firehose-task"
    world.ecs.register_task_definition(
        family="akka-demo", networkMode="bridge", executionRoleArn=ROLE_ARN,
        taskRoleArn=task_role, containerDefinitions=[{
            "name": CONTAINER, "image": IMAGE, "memory": 512, "essential": True}])
    world.create_service("akka-demo", desired=1)
    world.sb.advance(10)
    assert world.all_tasks() == []
    assert any(f"unable to assume the role '{task_role}'" in m for m in world.messages())


def test_a_one_off_task_fails_to_start_the_same_way(world) -> None:
    world.build()
    execution_role(world)
    taskdef = register(world, secrets=[{"name": "DB", "valueFrom": PARAMETER}])
    arn = world.ecs.run_task(cluster=CLUSTER, taskDefinition=taskdef)["tasks"][0]["taskArn"]

    def described() -> dict[str, Any]:
        return world.ecs.describe_tasks(cluster=CLUSTER, tasks=[arn])["tasks"][0]

    world.run_until(lambda: described()["lastStatus"] == "STOPPED", limit=30)
    assert_failed_to_start(described(), "Fetching secret data from SSM Parameter Store in "
                                         f"us-east-1: invalid parameters: {PARAMETER}")


@pytest.mark.parametrize("policy, trusted", [
    (json.loads(trust()), True),
    ({"Statement": {"Effect": "Allow", "Action": ["sts:AssumeRole"],
                    "Principal": {"Service": ["ec2.amazonaws.com", "ecs-tasks.amazonaws.com"]}}},
     True),
    (json.loads(trust("ecs.amazonaws.com")), False),
    ({"Statement": [{"Effect": "Deny", "Action": "sts:AssumeRole",
                     "Principal": {"Service": "ecs-tasks.amazonaws.com"}}]}, False),
    ("not json", False),
])
def test_trust_policy_must_let_ecs_tasks_assume_the_role(policy, trusted) -> None:
    assert trusts_ecs_tasks(json.dumps(policy) if isinstance(policy, dict) else policy) is trusted
