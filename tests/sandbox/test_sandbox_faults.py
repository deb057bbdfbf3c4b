"""Fault injection: API faults armed in-process or over HTTP; task faults on the container."""

from __future__ import annotations

import json
import urllib.request

import boto3
import botocore.config
import botocore.exceptions
import pytest

from release.core.clock import default_clock
from release_sandbox.faults import TaskFault, parse_fault


def test_throttle_answers_throttling_exception_to_json_and_query_protocols(sandbox):
    ecs, elb = sandbox.client("ecs"), sandbox.client("elb")
    sandbox.faults.throttle(2)

    with pytest.raises(botocore.exceptions.ClientError) as json_error:
        ecs.list_clusters()
    with pytest.raises(botocore.exceptions.ClientError) as query_error:
        elb.describe_load_balancers()

    assert json_error.value.response["Error"]["Code"] == "ThrottlingException"
    assert json_error.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert query_error.value.response["Error"]["Code"] == "Throttling"
    assert ecs.list_clusters()["clusterArns"] == []  # only the armed calls fail


def test_drop_closes_the_connection_without_an_answer(sandbox):
    sandbox.faults.drop(1)

    with pytest.raises(botocore.exceptions.ConnectionClosedError):
        sandbox.client("ecs").list_clusters()

    assert sandbox.client("ecs").list_clusters()["clusterArns"] == []


def test_a_retrying_client_rides_through_throttling_and_dropped_connections(sandbox):
    client = boto3.client("ecs", endpoint_url=sandbox.endpoint, region_name=sandbox.region,
                          aws_access_key_id="sandbox", aws_secret_access_key="sandbox",
                          config=botocore.config.Config(retries={"mode": "standard",
                                                                 "max_attempts": 4}))
    sandbox.faults.throttle(1)
    sandbox.faults.drop(1)

    answer = client.list_clusters()

    assert answer["ResponseMetadata"]["RetryAttempts"] == 2
    assert sandbox.faults.pending() == {"throttle": 0, "drop": 0}


def test_faults_can_be_armed_over_http_and_health_answers(sandbox):
    request = urllib.request.Request(f"{sandbox.endpoint}/_sandbox/faults", method="POST",
                                     data=json.dumps({"throttle": 3}).encode())
    with urllib.request.urlopen(request) as answer:
        assert json.loads(answer.read()) == {"throttle": 3, "drop": 0}
    with urllib.request.urlopen(f"{sandbox.endpoint}/_sandbox/health") as answer:
        health = json.loads(answer.read())
    assert health["status"] == "ok"
    assert health["faults"] == {"throttle": 3, "drop": 0}


@pytest.mark.parametrize(("value", "expected"), [
    ("crash", TaskFault(crash_exit_code=1)),
    ("crash:exit=137", TaskFault(crash_exit_code=137)),
    ("unhealthy", TaskFault(unhealthy=True)),
    ("slow-start:seconds=45", TaskFault(slow_start_seconds=45)),
    ("unhealthy;slow-start:seconds=5", TaskFault(unhealthy=True, slow_start_seconds=5)),
    ("", TaskFault()),
    ("something-else", TaskFault()),
])
def test_fault_values_are_read_from_the_container_variable(value, expected):
    assert parse_fault(value) == expected


def test_running_sandbox_makes_its_clock_the_default_and_copies_the_repository(sandbox):
    assert default_clock() is sandbox.clock
    env = json.loads((sandbox.repo / "environments/sandbox/environment.json").read_text())
    assert env["endpoints"]["aws"] == sandbox.endpoint
    assert "registry" not in env["endpoints"]
    assert (sandbox.repo / "taskdefs" / "akka-firehose.json").exists()


def test_seeded_infrastructure_and_put_image_match_the_environment(sandbox):
    sandbox.seed_infrastructure(instances=2)
    digest = sandbox.put_image("0123456789ab")

    env = sandbox.environment()
    ecs, ecr, elb = (sandbox.client(n) for n in ("ecs", "ecr", "elb"))
    arns = ecs.list_container_instances(cluster=env.cluster)["containerInstanceArns"]
    described = ecs.describe_container_instances(cluster=env.cluster, containerInstances=arns)
    cpu = {r["name"]: r["integerValue"] for r in
           described["containerInstances"][0]["registeredResources"] if r["type"] == "INTEGER"}
    assert len(arns) == 2
    assert cpu == {"CPU": 2048, "MEMORY": 3943}
    repository = ecr.describe_repositories(repositoryNames=[env.ecr_repository])["repositories"][0]
    assert repository["imageTagMutability"] == "IMMUTABLE"
    image = ecr.describe_images(repositoryName=env.ecr_repository,
                                imageIds=[{"imageTag": "0123456789ab"}])["imageDetails"][0]
    assert image["imageDigest"] == digest
    attributes = elb.describe_load_balancer_attributes(LoadBalancerName=env.load_balancer.name)
    draining = attributes["LoadBalancerAttributes"]["ConnectionDraining"]
    assert draining == {"Enabled": env.load_balancer.draining_enabled,
                        "Timeout": env.load_balancer.draining_timeout}
