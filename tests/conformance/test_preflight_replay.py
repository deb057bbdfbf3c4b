"""Each preflight check reads AWS's answers in their real shapes (botocore's Stubber, which
validates every queued answer against the model), refusals and AccessDenied included.

A task definition of the staging service gains an execution role, a task role, secrets
from SSM (by name and by ARN), Secrets Manager (with a JSON key) and private registry
credentials; each check is asked on its own and its results are held to the place (document
and JSON pointer) and the fix it names.
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Iterator
from typing import Any

import pytest
import shapes_preflight as aws_says
from preflight_support import PROJECT, Clients, context
from shapes_preflight import ACCOUNT, REGION
from stub_clients import stubbed_client

from release.core.config import TaskDefinition, load_repo
from release.core.plan import Live
from release.engine.preflight import capacity, images, load_balancer, logs, roles, secrets
from release.engine.preflight import scan_gate as gate_check

PARAMETER_ARN = f"arn:aws:ssm:{REGION}:{ACCOUNT}:parameter/akka/api-key"
SECRET_ARN = f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:akka/db-AbCdEf"
REGISTRY_SECRET = f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:dockerhub-AbCdEf"
CMK = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
EXEC = f"arn:aws:iam::{ACCOUNT}:role/akkaTaskExecution"
TASKDEF_FILE = "taskdefs/akka-firehose.json"


def client(name: str) -> Iterator[tuple[Any, Any]]:
    yield from stubbed_client(name)


@pytest.fixture
def iam() -> Iterator[tuple[Any, Any]]:
    yield from client("iam")


@pytest.fixture
def ssm() -> Iterator[tuple[Any, Any]]:
    yield from client("ssm")


@pytest.fixture
def secretsmanager() -> Iterator[tuple[Any, Any]]:
    yield from client("secretsmanager")


@pytest.fixture
def ecs() -> Iterator[tuple[Any, Any]]:
    yield from client("ecs")


def staging(change: Any = None, service: dict[str, Any] | None = None):
    """(repo, env, spec) with the staging task definition changed by `change(doc)`."""
    repo = load_repo(PROJECT)
    spec = repo.services_of("staging")[0]
    doc = copy.deepcopy(repo.taskdefs[TASKDEF_FILE].doc)
    if change:
        change(doc)
    repo = dataclasses.replace(repo, taskdefs={**repo.taskdefs,
                                               TASKDEF_FILE: TaskDefinition(TASKDEF_FILE, doc)})
    if service is not None:
        spec = dataclasses.replace(spec, service=service)
    return repo, repo.environment("staging"), spec


def with_secrets(doc: dict[str, Any]) -> None:
    doc["executionRoleArn"] = EXEC
    doc["taskRoleArn"] = "akkaTask"
    container = doc["containerDefinitions"][0]
    container["secrets"] = [{"name": "DB_PASSWORD", "valueFrom": "/akka/db-password"},
                            {"name": "API_KEY", "valueFrom": PARAMETER_ARN},
                            {"name": "DB_USER", "valueFrom": f"{SECRET_ARN}:username::"}]
    container["repositoryCredentials"] = {"credentialsParameter": REGISTRY_SECRET}


# ------------------------------------------------------------------------------ roles


def test_roles_missing_untrusting_and_present_each_named_at_its_pointer(iam) -> None:
    iam_client, stub = iam
    repo, env, spec = staging(with_secrets)
    stub.add_response("get_role", aws_says.get_role(
        "akkaTaskExecution", aws_says.trust("ecs-tasks.amazonaws.com")),
        {"RoleName": "akkaTaskExecution"})
    stub.add_client_error("get_role", "NoSuchEntity", "The role with name akkaTask cannot "
                          "be found.", 404, expected_params={"RoleName": "akkaTask"})
    stub.add_response("get_role", aws_says.get_role(
        "ecsServiceRole", aws_says.trust("ec2.amazonaws.com")), {"RoleName": "ecsServiceRole"})
    results = roles.check(context(env, spec, Clients(iam=iam_client), repo=repo))
    assert [(r.status, r.resource) for r in results] == [
        ("ok", "execution role akkaTaskExecution"), ("problem", "task role akkaTask"),
        ("problem", "service role ecsServiceRole")]
    ok, missing, untrusting = results
    assert ok.where == f"{TASKDEF_FILE}#/executionRoleArn"
    assert missing.where == f"{TASKDEF_FILE}#/taskRoleArn"
    assert f"does not exist in account {ACCOUNT}" in missing.message
    assert "ecs-tasks.amazonaws.com" in missing.fix
    assert untrusting.where == f"{spec.path}#/service/role"
    assert "does not trust ecs.amazonaws.com" in untrusting.message
    assert "it trusts ec2.amazonaws.com" in untrusting.message


def test_a_role_the_credentials_may_not_read_is_not_checked(iam) -> None:
    iam_client, stub = iam
    repo, env, spec = staging()
    stub.add_client_error("get_role", **aws_says.denied("iam:GetRole", "role ecsServiceRole"),
                          expected_params={"RoleName": "ecsServiceRole"})
    [result] = roles.check(context(env, spec, Clients(iam=iam_client), repo=repo))
    assert result.status == "not checked" and "iam:GetRole" in result.message


# ------------------------------------------------------------------------------ secrets


def queue_exec_role(stub: Any) -> None:
    stub.add_response("get_role", aws_says.get_role(
        "akkaTaskExecution", aws_says.trust("ecs-tasks.amazonaws.com")),
        {"RoleName": "akkaTaskExecution"})


def test_secrets_that_exist_and_may_be_read_and_one_that_is_missing(
        iam, ssm, secretsmanager) -> None:
    (iam_client, iam_stub), (ssm_client, ssm_stub), (sm_client, sm_stub) = \
        iam, ssm, secretsmanager
    repo, env, spec = staging(with_secrets)
    ssm_stub.add_response("describe_parameters", {"Parameters": [
        aws_says.parameter("/akka/db-password", key=CMK)]}, {
        "ParameterFilters": [{"Key": "Name", "Option": "Equals",
                              "Values": ["/akka/db-password", "/akka/api-key"]}],
        "MaxResults": 50})
    sm_stub.add_response("describe_secret", aws_says.secret("akka/db"),
                         {"SecretId": SECRET_ARN})
    sm_stub.add_response("describe_secret", aws_says.secret("dockerhub"),
                         {"SecretId": REGISTRY_SECRET})
    queue_exec_role(iam_stub)
    password = f"arn:aws:ssm:{REGION}:{ACCOUNT}:parameter/akka/db-password"
    iam_stub.add_response("simulate_principal_policy", aws_says.simulated(
        "ssm:GetParameters", {password: "allowed"}),
        {"PolicySourceArn": EXEC, "ActionNames": ["ssm:GetParameters"],
         "ResourceArns": [password]})
    iam_stub.add_response("simulate_principal_policy", aws_says.simulated(
        "kms:Decrypt", {CMK: "implicitDeny"}),
        {"PolicySourceArn": EXEC, "ActionNames": ["kms:Decrypt"], "ResourceArns": [CMK]})
    iam_stub.add_response("simulate_principal_policy", aws_says.simulated(
        "secretsmanager:GetSecretValue", {SECRET_ARN: "allowed", REGISTRY_SECRET: "allowed"}),
        {"PolicySourceArn": EXEC, "ActionNames": ["secretsmanager:GetSecretValue"],
         "ResourceArns": [SECRET_ARN, REGISTRY_SECRET]})
    ctx = context(env, spec, Clients(iam=iam_client, ssm=ssm_client,
                                     secretsmanager=sm_client), repo=repo)
    results = secrets.check(ctx)
    assert [(r.status, r.resource) for r in results] == [
        ("problem", "parameter /akka/api-key"),
        ("problem", "execution role akkaTaskExecution")]
    missing, decrypt = results
    assert missing.where == f"{TASKDEF_FILE}#/containerDefinitions/0/secrets/1/valueFrom"
    assert f"does not exist in {REGION}" in missing.message
    assert "kms:Decrypt" in decrypt.message and CMK in decrypt.message
    assert "parameter /akka/db-password" in decrypt.message
    assert decrypt.where == f"{TASKDEF_FILE}#/containerDefinitions/0/secrets/0/valueFrom"
    assert "key's policy" in decrypt.fix
    assert ctx.calls == {"DescribeParameters": 1, "DescribeSecret": 2, "GetRole": 1,
                         "SimulatePrincipalPolicy": 3}


def test_an_execution_role_that_may_not_read_is_named_with_the_action_and_the_secret(
        iam, ssm) -> None:
    (iam_client, iam_stub), (ssm_client, ssm_stub) = iam, ssm

    def one_secret(doc: dict[str, Any]) -> None:
        doc["executionRoleArn"] = EXEC
        doc["containerDefinitions"][0]["secrets"] = [
            {"name": "DB_PASSWORD", "valueFrom": "/akka/db-password"}]

    repo, env, spec = staging(one_secret)
    ssm_stub.add_response("describe_parameters", {"Parameters": [
        aws_says.parameter("/akka/db-password")]}, None)
    queue_exec_role(iam_stub)
    password = f"arn:aws:ssm:{REGION}:{ACCOUNT}:parameter/akka/db-password"
    iam_stub.add_response("simulate_principal_policy", aws_says.simulated(
        "ssm:GetParameters", {password: "implicitDeny"}, organizations=False), None)
    [result] = secrets.check(context(env, spec, Clients(iam=iam_client, ssm=ssm_client),
                                     repo=repo))
    assert result.status == "problem"
    assert result.message.startswith("execution role akkaTaskExecution may not "
                                      f"ssm:GetParameters on {password}")
    assert "an organization's SCP denies it" in result.message
    assert result.fix == f"allow ssm:GetParameters on {password} in a policy of role " \
                         "akkaTaskExecution"


def test_credentials_that_may_not_simulate_say_not_checked_once(iam, ssm, secretsmanager
                                                                 ) -> None:
    (iam_client, iam_stub), (ssm_client, ssm_stub), (sm_client, sm_stub) = \
        iam, ssm, secretsmanager
    repo, env, spec = staging(with_secrets)
    ssm_stub.add_response("describe_parameters", {"Parameters": [
        aws_says.parameter("/akka/db-password"), aws_says.parameter("/akka/api-key")]}, None)
    sm_stub.add_response("describe_secret", aws_says.secret("akka/db"), None)
    sm_stub.add_response("describe_secret", aws_says.secret("dockerhub"), None)
    queue_exec_role(iam_stub)
    iam_stub.add_client_error("simulate_principal_policy",
                              **aws_says.denied("iam:SimulatePrincipalPolicy", EXEC))
    results = secrets.check(context(env, spec, Clients(
        iam=iam_client, ssm=ssm_client, secretsmanager=sm_client), repo=repo))
    assert [(r.status, r.resource) for r in results] == [
        ("not checked", "execution role akkaTaskExecution")]
    assert "iam:SimulatePrincipalPolicy" in results[0].message
    assert "4 secret(s)" in results[0].message


def test_a_secret_scheduled_for_deletion_or_unknown_is_missing(iam, secretsmanager) -> None:
    (iam_client, _), (sm_client, sm_stub) = iam, secretsmanager

    def two(doc: dict[str, Any]) -> None:
        doc["executionRoleArn"] = EXEC
        doc["containerDefinitions"][0]["secrets"] = [
            {"name": "A", "valueFrom": SECRET_ARN}, {"name": "B", "valueFrom": REGISTRY_SECRET}]

    repo, env, spec = staging(two)
    sm_stub.add_response("describe_secret", {**aws_says.secret("akka/db"), "DeletedDate":
                                             aws_says.AT}, None)
    sm_stub.add_client_error("describe_secret", "ResourceNotFoundException", "Secrets Manager "
                             "can't find the specified secret.", 400)
    results = secrets.check(context(env, spec, Clients(iam=iam_client,
                                                       secretsmanager=sm_client), repo=repo))
    assert [r.status for r in results] == ["problem", "problem"]
    assert results[1].where == f"{TASKDEF_FILE}#/containerDefinitions/0/secrets/1/valueFrom"


def test_parameters_the_credentials_may_not_describe_are_not_checked(ssm) -> None:
    ssm_client, stub = ssm

    def one(doc: dict[str, Any]) -> None:
        doc["executionRoleArn"] = EXEC
        doc["containerDefinitions"][0]["secrets"] = [{"name": "A", "valueFrom": "/akka/a"}]

    repo, env, spec = staging(one)
    stub.add_client_error("describe_parameters", "AccessDeniedException",
                          "not authorized to perform: ssm:DescribeParameters", 400)
    [result] = secrets.check(context(env, spec, Clients(ssm=ssm_client), repo=repo))
    assert result.status == "not checked" and "ssm:DescribeParameters" in result.message


# ------------------------------------------------------------------------------ images


def test_a_pinned_image_missing_from_ecr_names_the_pin_and_the_build() -> None:
    ecr = stubbed_client("ecr")
    ecr_client, stub = next(ecr)
    repo, env, spec = staging()
    stub.add_client_error("describe_images", "ImageNotFoundException", "The image with imageId "
                          "{imageDigest:'sha256:0000', imageTag:'null'} does not exist within "
                          "the repository with name 'akka-firehose' in the registry with id "
                          f"'{ACCOUNT}'", 400)
    [result] = images.check(context(env, spec, Clients(ecr=ecr_client), repo=repo))
    assert result.status == "problem" and result.message.startswith("missing image: ")
    assert result.where == f"{spec.path}#/image"
    assert "release build --env staging --service akka-firehose --push" in result.fix
    stub.add_client_error("describe_images", "RepositoryNotFoundException", "The repository "
                          "with name 'akka-firehose' does not exist", 400)
    [result] = images.check(context(env, spec, Clients(ecr=ecr_client), repo=repo))
    assert "release bootstrap --env staging" in result.fix
    stub.add_client_error("describe_images", **aws_says.denied("ecr:DescribeImages"))
    [result] = images.check(context(env, spec, Clients(ecr=ecr_client), repo=repo))
    assert result.status == "not checked"
    next(ecr, None)


# ------------------------------------------------------------------------------ logs


def test_log_groups_present_missing_created_by_the_driver_and_in_another_region() -> None:
    here_gen, there_gen = stubbed_client("logs"), stubbed_client("logs")
    (here, here_stub), (there, there_stub) = next(here_gen), next(there_gen)

    def four(doc: dict[str, Any]) -> None:
        base = doc["containerDefinitions"][0]
        sidecars = []
        for name, options in (
                ("router", {"awslogs-group": "/ecs/router"}),
                ("agent", {"awslogs-group": "/ecs/agent", "awslogs-create-group": "true"}),
                ("replica", {"awslogs-group": "/ecs/replica", "awslogs-region": "eu-west-1"})):
            sidecars.append({"name": name, "image": f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/"
                             f"{name}@sha256:{'1' * 64}", "essential": False, "memory": 64,
                             "logConfiguration": {"logDriver": "awslogs",
                                                  "options": options}})
        doc["containerDefinitions"] = [base, *sidecars]

    repo, env, spec = staging(four)
    here_stub.add_response("describe_log_groups", {"logGroups": [
        aws_says.log_group("/ecs/akka-firehose"), aws_says.log_group("/ecs/akka-firehose-2")]},
        {"logGroupNamePrefix": "/ecs/akka-firehose"})
    here_stub.add_response("describe_log_groups", {"logGroups": []},
                           {"logGroupNamePrefix": "/ecs/router"})
    here_stub.add_response("describe_log_groups", {"logGroups": []},
                           {"logGroupNamePrefix": "/ecs/agent"})
    there_stub.add_client_error("describe_log_groups", "AccessDeniedException",
                                "not authorized to perform: logs:DescribeLogGroups", 400)
    aws = Clients(logs=here, logs_eu_west_1=there)
    results = logs.check(context(env, spec, aws, repo=repo))
    assert [(r.status, r.resource) for r in results] == [
        ("ok", "log group /ecs/akka-firehose (us-east-1)"),
        ("problem", "log group /ecs/router (us-east-1)"),
        ("ok", "log group /ecs/agent (us-east-1)"),
        ("not checked", "log group /ecs/replica (eu-west-1)")]
    assert results[1].where == (f"{TASKDEF_FILE}#/containerDefinitions/1/logConfiguration/"
                                "options/awslogs-group")
    assert "release bootstrap --env staging" in results[1].fix
    assert "the driver creates it" in results[2].message
    for gen in (here_gen, there_gen):
        next(gen, None)


# ------------------------------------------------------------------------------ load balancer


def test_the_classic_elb_forwards_to_the_host_port_or_is_named_as_a_problem() -> None:
    gen = stubbed_client("elb")
    elb, stub = next(gen)
    repo, env, spec = staging()
    stub.add_response("describe_load_balancers", aws_says.classic_elb(),
                      {"LoadBalancerNames": ["akkaElb"]})
    stub.add_response("describe_load_balancers", aws_says.classic_elb(instance_port=8080),
                      None)
    stub.add_response("describe_load_balancers", aws_says.classic_elb(
        target="HTTP:8081/api/healthcheck"), None)
    stub.add_client_error("describe_load_balancers", "LoadBalancerNotFound",
                          "There is no ACTIVE Load Balancer named 'akkaElb'", 400)
    ctx = context(env, spec, Clients(elb=elb), repo=repo)
    answers = [load_balancer.check(ctx)[0] for _ in range(4)]
    assert [r.status for r in answers] == ["ok", "problem", "warning", "problem"]
    assert "no listener of akkaElb forwards to instance port 80" in answers[1].message
    assert "80→8080/HTTP" in answers[1].message
    assert "probes port 8081" in answers[2].message
    assert "does not exist" in answers[3].message
    assert answers[3].where == f"{spec.path}#/service/loadBalancers/0/loadBalancerName"
    next(gen, None)


def test_target_groups_of_the_wrong_type_unattached_or_missing_are_problems() -> None:
    gen = stubbed_client("elbv2")
    elbv2, stub = next(gen)
    repo = load_repo(PROJECT)
    spec = repo.services_of("sandbox-alb")[0]
    env = repo.environment("sandbox-alb")
    for answer in (aws_says.target_group("akka-firehose-tg"),
                   aws_says.target_group("akka-firehose-tg", target_type="instance"),
                   aws_says.target_group("akka-firehose-tg", attached=False),
                   aws_says.target_group("akka-firehose-tg", health_port="9000")):
        stub.add_response("describe_target_groups", answer, {"Names": ["akka-firehose-tg"]})
    stub.add_client_error("describe_target_groups", "TargetGroupNotFound",
                          "One or more target groups not found", 400)
    ctx = context(env, spec, Clients(elbv2=elbv2), repo=repo)
    answers = [load_balancer.check(ctx)[0] for _ in range(5)]
    assert [r.status for r in answers] == ["ok", "problem", "problem", "warning", "problem"]
    assert "awsvpc tasks register as ip targets" in answers[1].message
    assert "attached to no load balancer" in answers[2].message
    assert "probes port 9000" in answers[3].message
    next(gen, None)


# ------------------------------------------------------------------------------ capacity

TASKDEF_ARN = f"arn:aws:ecs:{REGION}:{ACCOUNT}:task-definition/akka-demo:41"


def live_of(spec: Any, taskdef: dict[str, Any]) -> Live:
    service = {"serviceName": spec.service_name, "desiredCount": 2, "runningCount": 2,
               "pendingCount": 0, "taskDefinition": TASKDEF_ARN}
    return Live(service, taskdef)


def queue_cluster(stub: Any, free: list[tuple[int, int, list[str]]],
                  old_on: tuple[int, ...] = (1, 2)) -> None:
    """The instances (CPU, MiB, ports in use left) and the service's old tasks on them."""
    arns = [aws_says.instance_arn(n) for n in range(1, len(free) + 1)]
    stub.add_response("list_container_instances", {"containerInstanceArns": arns},
                      {"cluster": "AkkaCluster", "status": "ACTIVE"})
    stub.add_response("describe_container_instances", aws_says.container_instances(free),
                      {"cluster": "AkkaCluster", "containerInstances": arns})
    tasks = [f"arn:aws:ecs:{REGION}:{ACCOUNT}:task/AkkaCluster/{n:032x}" for n in old_on]
    stub.add_response("list_tasks", {"taskArns": tasks},
                      {"cluster": "AkkaCluster", "serviceName": "akka-firehose-service"})
    stub.add_response("describe_tasks", aws_says.tasks_on(list(old_on), TASKDEF_ARN),
                      {"cluster": "AkkaCluster", "tasks": tasks})


def with_percents(spec: Any, minimum: int, maximum: int) -> Any:
    service = copy.deepcopy(spec.service)
    service["deploymentConfiguration"].update(minimumHealthyPercent=minimum,
                                              maximumPercent=maximum)
    return dataclasses.replace(spec, service=service)


def test_every_instance_port_taken_and_no_stop_allowed_refuses_the_release(ecs) -> None:
    ecs_client, stub = ecs
    repo, env, spec = staging()
    spec = with_percents(spec, 100, 200)
    queue_cluster(stub, [(1024, 2919, ["80"]), (1024, 2919, ["80"])])
    ctx = context(env, spec, Clients(ecs=ecs_client), repo=repo)
    ctx.live = live_of(spec, ctx.taskdef)
    [result] = capacity.check(ctx)
    assert result.status == "problem"
    assert result.message.startswith("no new task can be placed: each task needs 1024 CPU "
                                     "units, 1024 MiB, host port(s) 80")
    assert "i-0aaaaaaaaaaaaaaa1 lacks PORTS" in result.message
    assert "maximumPercent 200 lets ECS start 2 beside them" in result.message
    assert "minimumHealthyPercent 100 stop 0 first" in result.message
    assert "lower minimumHealthyPercent" in result.fix
    assert result.where == f"{spec.path}#/service/deploymentConfiguration"


def test_more_memory_than_any_instance_frees_refuses_at_the_task_size(ecs) -> None:
    ecs_client, stub = ecs

    def big(doc: dict[str, Any]) -> None:
        doc["containerDefinitions"][0]["memory"] = 3000

    repo, env, spec = staging(big)
    spec = with_percents(spec, 50, 100)
    # another service takes 1,500 MiB on each instance besides the old task's 1,024
    queue_cluster(stub, [(1024, 1419, ["80"]), (1024, 1419, ["80"])])
    ctx = context(env, spec, Clients(ecs=ecs_client), repo=repo)
    ctx.live = live_of(spec, copy.deepcopy(ctx.taskdef))
    ctx.live.taskdef["containerDefinitions"][0]["memory"] = 1024
    [result] = capacity.check(ctx)
    assert result.status == "problem"
    assert "i-0aaaaaaaaaaaaaaa1 lacks MEMORY;" in result.message  # its old task stopped
    assert "i-0aaaaaaaaaaaaaaa2 lacks MEMORY/PORTS" in result.message
    assert result.fix.startswith("no instance has 3000 MiB free (the most: 2443 MiB")
    assert "minimumHealthyPercent" not in result.fix
    assert result.where == f"{TASKDEF_FILE}#/containerDefinitions/0/memory"


def test_a_wave_that_fits_is_ok_and_says_how_many_it_places(ecs) -> None:
    ecs_client, stub = ecs
    repo, env, spec = staging()
    spec = with_percents(spec, 50, 200)
    queue_cluster(stub, [(1024, 2919, ["80"]), (1024, 2919, ["80"]), (2048, 3943, [])])
    ctx = context(env, spec, Clients(ecs=ecs_client), repo=repo)
    ctx.live = live_of(spec, ctx.taskdef)
    [result] = capacity.check(ctx)
    assert result.status == "ok"
    assert "the first wave places 2 of 2" in result.message
    assert ctx.calls == {"ListContainerInstances": 1, "DescribeContainerInstances": 1,
                         "ListTasks": 1, "DescribeTasks": 1}


def test_a_strategy_naming_a_provider_the_cluster_lacks_or_an_inactive_one(ecs) -> None:
    ecs_client, stub = ecs
    repo = load_repo(PROJECT)
    base = repo.services_of("sandbox-alb")[0]
    env = dataclasses.replace(repo.environment("sandbox-alb"), cluster="AkkaCluster")
    service = copy.deepcopy(base.service)
    service.pop("launchType")
    service["capacityProviderStrategy"] = [
        {"capacityProvider": "FARGATE_SPOT", "weight": 3},
        {"capacityProvider": "asg-ondemand", "weight": 1},
        {"capacityProvider": "asg-spot", "weight": 1}]
    spec = dataclasses.replace(base, service=service)
    stub.add_response("describe_clusters", aws_says.cluster(["FARGATE", "FARGATE_SPOT",
                                                              "asg-ondemand"]),
                      {"clusters": ["AkkaCluster"]})
    stub.add_response("describe_capacity_providers", aws_says.capacity_provider(
        "asg-ondemand", status="INACTIVE"), {"capacityProviders": ["asg-ondemand"]})
    results = capacity.check(context(env, spec, Clients(ecs=ecs_client), repo=repo))
    assert [(r.status, r.resource) for r in results] == [
        ("ok", "capacity provider FARGATE_SPOT"), ("problem", "capacity provider asg-ondemand"),
        ("problem", "capacity provider asg-spot")]
    assert "INACTIVE" in results[1].message
    assert "has no capacity provider 'asg-spot'" in results[2].message
    assert results[2].pointer == "/service/capacityProviderStrategy/2/capacityProvider"
    stub.add_response("describe_clusters", aws_says.cluster(["asg-ondemand"]), None)
    stub.add_response("describe_capacity_providers", aws_says.capacity_provider("asg-ondemand"),
                      None)
    service["capacityProviderStrategy"] = [{"capacityProvider": "asg-ondemand", "weight": 1}]
    [result] = capacity.check(context(env, dataclasses.replace(base, service=service),
                                      Clients(ecs=ecs_client), repo=repo))
    assert result.status == "ok" and "managed scaling ENABLED" in result.message


# ------------------------------------------------------------------------------ scan gate


def test_a_rollback_is_not_gated() -> None:
    repo, env, spec = staging()
    env = dataclasses.replace(env, doc={**env.doc, "ecr": {**env.doc["ecr"], "scanGate": {
        "severities": ["CRITICAL"]}}})
    [result] = gate_check.check(context(env, spec, Clients(), repo=repo, mode="rollback"))
    assert result.status == "ok" and "not gated" in result.message


# ------------------------------------------------------------------------------ health probe


def test_the_health_path_is_asked_on_each_live_task_when_asked_for(ecs) -> None:
    import http.server
    import socket
    import threading

    class Health(http.server.BaseHTTPRequestHandler):
        answers = {"/api/healthcheck": 200}

        def log_message(self, *args: Any) -> None:
            return None

        def do_GET(self) -> None:
            self.send_response(self.answers.get(self.path, 404))
            self.end_headers()

    def server(status: int) -> Any:
        class Answering(Health):
            answers = {"/api/healthcheck": status}
        httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Answering)
        threading.Thread(target=httpd.serve_forever, daemon=True).start()
        return httpd

    healthy, failing = server(200), server(503)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]
    ecs_client, stub = ecs
    ec2_gen = stubbed_client("ec2")
    ec2, ec2_stub = next(ec2_gen)
    repo, env, spec = staging()
    tasks = aws_says.tasks_on([1, 2, 3], TASKDEF_ARN)
    for task, port in zip(tasks["tasks"], (healthy.server_address[1],
                                           failing.server_address[1], closed), strict=True):
        task["containers"][0]["networkBindings"][0]["hostPort"] = port
    arns = [t["taskArn"] for t in tasks["tasks"]]
    stub.add_response("list_tasks", {"taskArns": arns}, None)
    stub.add_response("describe_tasks", tasks, None)
    stub.add_response("describe_container_instances", aws_says.container_instances(
        [(0, 0, [])] * 3), None)
    ec2_stub.add_response("describe_instances", {"Reservations": [{
        "ReservationId": "r-0a1b2c3d4e5f6a7b8", "OwnerId": ACCOUNT, "Instances": [
            {"InstanceId": f"i-0aaaaaaaaaaaaaaa{n}", "PrivateIpAddress": "127.0.0.1"}
            for n in (1, 2, 3)]}]}, None)
    from release.engine.preflight import probe

    ctx = context(env, spec, Clients(ecs=ecs_client, ec2=ec2), repo=repo)
    results = probe.check(ctx)
    assert [r.status for r in results] == ["ok", "warning", "not checked"]
    assert results[0].message == (f"GET http://127.0.0.1:{healthy.server_address[1]}"
                                  "/api/healthcheck answered 200")
    assert "answered 503" in results[1].message
    for httpd in (healthy, failing):
        httpd.shutdown()
        httpd.server_close()
    next(ec2_gen, None)


def test_while_a_deployment_is_under_way_the_room_is_not_checked(ecs) -> None:
    ecs_client, _ = ecs  # nothing is read: the room of tasks starting and draining is unknown
    repo, env, spec = staging()
    ctx = context(env, spec, Clients(ecs=ecs_client), repo=repo)
    ctx.live = live_of(spec, ctx.taskdef)
    ctx.live.service["deployments"] = [
        {"id": "ecs-svc/2", "status": "PRIMARY", "taskDefinition": TASKDEF_ARN,
         "desiredCount": 2, "runningCount": 1, "pendingCount": 1},
        {"id": "ecs-svc/1", "status": "ACTIVE", "taskDefinition": TASKDEF_ARN,
         "desiredCount": 0, "runningCount": 1, "pendingCount": 0}]
    [result] = capacity.check(ctx)
    assert result.status == "not checked" and "ecs-svc/2" in result.message
    assert ctx.calls == {}
