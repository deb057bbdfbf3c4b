"""`release bootstrap` against moto: the seed's infrastructure, idempotence, drift repair."""

from __future__ import annotations

import base64

from bootstrap_helpers import (
    apply_plan,
    assert_seed_infrastructure,
    create_jenkins_role,
    environment,
    run_bootstrap,
)

from release.engine.bootstrap import build_plan


def test_first_run_creates_the_seed_infrastructure_with_the_seeds_settings(repo, sandbox_aws):
    result = run_bootstrap(repo, "--env", "sandbox", "--yes")
    assert result.exit_code == 0, result.output
    assert "change(s) applied" in result.output
    assert_seed_infrastructure(sandbox_aws, environment(repo), "akka-firehose-sandbox")


def test_staging_gets_300_seconds_of_draining_and_its_own_stream(repo, aws_url, monkeypatch):
    from release.adapters.aws import Aws

    monkeypatch.setenv("RELEASE_AWS_ENDPOINT", aws_url)
    env = environment(repo, "staging")
    create_jenkins_role(Aws(env))  # staging's Jenkins role is the operator's, not bootstrap's
    result = run_bootstrap(repo, "--env", "staging", "--yes")
    assert result.exit_code == 0, result.output
    assert_seed_infrastructure(Aws(env), env, "akka-firehose-staging")
    attributes = Aws(env).elb.describe_load_balancer_attributes(LoadBalancerName="akkaElb")
    assert attributes["LoadBalancerAttributes"]["ConnectionDraining"] == {
        "Enabled": True, "Timeout": 300}
    # the seed's configure-health-check, exactly
    lb = Aws(env).elb.describe_load_balancers(LoadBalancerNames=["akkaElb"])
    assert lb["LoadBalancerDescriptions"][0]["HealthCheck"] == {
        "Target": "HTTP:80/api/healthcheck", "Interval": 30, "UnhealthyThreshold": 5,
        "HealthyThreshold": 2, "Timeout": 3}


def test_without_the_jenkins_role_bootstrap_stops_naming_it_and_creates_nothing(
        repo, aws_url, monkeypatch):
    from release.adapters.aws import Aws

    monkeypatch.setenv("RELEASE_AWS_ENDPOINT", aws_url)
    result = run_bootstrap(repo, "--env", "staging", "--yes")
    assert result.exit_code == 1, result.output
    assert "the Jenkins role 'jenkins' does not exist in account 123456789012" in result.output
    assert "iam.createJenkinsRole" in result.output
    aws = Aws(environment(repo, "staging"))
    assert aws.iam.list_roles()["Roles"] == []
    assert aws.ecr.describe_repositories()["repositories"] == []


def test_asked_to_create_it_the_jenkins_role_comes_before_the_policy_naming_it(repo,
                                                                                sandbox_aws):
    env = environment(repo)
    assert env.create_jenkins_role  # the sandbox's document asks for it
    operations = [(c.operation, c.target) for c in build_plan(sandbox_aws, env).calls]
    assert operations.index(("create_role", "jenkins")) < operations.index(
        ("set_repository_policy", "akka-firehose policy"))
    assert run_bootstrap(repo, "--env", "sandbox", "--yes").exit_code == 0
    role = sandbox_aws.iam.get_role(RoleName="jenkins")["Role"]
    assert role["AssumeRolePolicyDocument"]["Statement"][0]["Principal"] == {
        "Service": "ec2.amazonaws.com"}
    assert sandbox_aws.iam.list_role_policies(RoleName="jenkins")["PolicyNames"] == []


def test_second_run_plans_no_changes(repo, sandbox_aws):
    assert run_bootstrap(repo, "--env", "sandbox", "--yes").exit_code == 0
    # the awslogs groups of the task definitions too (engine/bootstrap_logs.py), only once
    assert [g["logGroupName"] for g in sandbox_aws.logs.describe_log_groups()["logGroups"]] == [
        "/ecs/akka-firehose", "/ecs/audit-worker"]
    assert build_plan(sandbox_aws, environment(repo)).calls == []
    again = run_bootstrap(repo, "--env", "sandbox", "--yes")
    assert again.exit_code == 0, again.output
    assert "nothing to change" in again.output


def _tagged_instances(aws):
    reservations = aws.ec2.describe_instances(Filters=[
        {"Name": "tag:release:cluster", "Values": ["AkkaCluster"]},
        {"Name": "instance-state-name", "Values": ["pending", "running"]}])["Reservations"]
    return [i for r in reservations for i in r["Instances"]]


def _registered_instance_ids(aws):
    arns = aws.ecs.list_container_instances(cluster="AkkaCluster")["containerInstanceArns"]
    if not arns:
        return []
    described = aws.ecs.describe_container_instances(cluster="AkkaCluster",
                                                     containerInstances=arns)
    return sorted(c["ec2InstanceId"] for c in described["containerInstances"])


def test_instances_are_launched_spread_over_subnets_and_left_to_their_agents(repo,
                                                                           sandbox_aws):
    """Bootstrap registers no container instance: the agent an instance runs does (on AWS;
    in the sandbox, `release_sandbox.agent`). Here moto runs alone, so none registers."""
    result = run_bootstrap(repo, "--env", "sandbox", "--yes", "--instances", "2")
    assert result.exit_code == 0, result.output
    instances = _tagged_instances(sandbox_aws)
    assert len(instances) == 2
    assert len({i["SubnetId"] for i in instances}) == 2  # one per subnet, like the seed
    lb = sandbox_aws.elb.describe_load_balancers(
        LoadBalancerNames=["akkaElb"])["LoadBalancerDescriptions"][0]
    assert {i["SubnetId"] for i in instances} == set(lb["Subnets"])
    for instance in instances:
        assert instance["ImageId"] == "ami-840e42ee"
        assert instance["InstanceType"] == "t2.medium"
        assert instance["IamInstanceProfile"]["Arn"].endswith(":instance-profile/ecsServer")
        data = sandbox_aws.ec2.describe_instance_attribute(
            InstanceId=instance["InstanceId"], Attribute="userData")["UserData"]["Value"]
        assert base64.b64decode(data).decode() == (
            "#!/bin/bash\necho ECS_CLUSTER=AkkaCluster >> /etc/ecs/ecs.config\n")
    assert _registered_instance_ids(sandbox_aws) == []


def test_a_rerun_counts_the_tagged_instances_and_adds_only_the_missing_ones(repo, sandbox_aws):
    env = environment(repo)
    assert run_bootstrap(repo, "--env", "sandbox", "--yes", "--instances", "2").exit_code == 0
    assert build_plan(sandbox_aws, env, instances=2).calls == []
    plan = build_plan(sandbox_aws, env, instances=3)
    assert [c.operation for c in plan.calls] == ["run_instances"]  # the agent registers it
    assert plan.calls[0].reason == "instance 3 of 3 missing"
    apply_plan(sandbox_aws, plan)
    assert len(_tagged_instances(sandbox_aws)) == 3
    fewer = build_plan(sandbox_aws, env, instances=1)
    assert fewer.calls == [] and "never terminates" in fewer.notes[0]


def test_an_instance_missing_from_the_cluster_is_the_agents_business_as_on_aws(repo,
                                                                             sandbox_aws):
    """Bootstrap plans no registration for an instance its cluster lacks, as on AWS."""
    env = environment(repo)
    assert run_bootstrap(repo, "--env", "sandbox", "--yes", "--instances", "1").exit_code == 0
    assert _registered_instance_ids(sandbox_aws) == []  # moto alone: no agent registered it
    plan = build_plan(sandbox_aws, env, instances=1)
    assert plan.calls == [] and plan.notes == []
