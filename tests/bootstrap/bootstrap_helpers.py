"""Helpers shared by the bootstrap tests (documents, the seed's JSON, environments)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from release.engine.bootstrap import MANAGED_INSTANCE_POLICY

PROJECT = Path(__file__).resolve().parents[2]
SEED = Path(__file__).resolve().parent / "seed"


def edit_environment(root: Path, env: str, change) -> None:
    path = root / "environments" / env / "environment.json"
    doc = json.loads(path.read_text())
    change(doc)
    path.write_text(json.dumps(doc, indent=2) + "\n")


def environment(root: Path, env: str = "sandbox"):
    from release.core import config

    return config.load_repo(root, [env]).environment(env)


def seed_document(name: str, **placeholders: str) -> dict[str, Any]:
    """One of the seed's JSON documents with its <placeholders> filled in."""
    text = (SEED / f"{name}.json").read_text()
    for placeholder, value in placeholders.items():
        text = text.replace(placeholder, value)
    return json.loads(text)


def run_bootstrap(repo: Path, *args: str, input: str | None = None):
    """`release bootstrap --repo REPO ARGS...` through the real CLI."""
    from typer.testing import CliRunner

    from release.cli import app

    return CliRunner().invoke(app, ["bootstrap", "--repo", str(repo), *args], input=input)


def canonical(document: str | dict[str, Any]) -> dict[str, Any]:
    """Parsed JSON with list values sorted and statements ordered by Sid (test-side, simple)."""
    doc = json.loads(document) if isinstance(document, str) else document
    statements = doc["Statement"] if isinstance(doc["Statement"], list) else [doc["Statement"]]
    return {"Version": doc.get("Version"),
            "Statement": sorted(({k: sorted(v) if isinstance(v, list) else v
                                  for k, v in s.items()} for s in statements),
                                key=lambda s: s.get("Sid", ""))}


ACCOUNT = "123456789012"


def create_jenkins_role(aws, name: str = "jenkins") -> None:
    """What an operator does once where Jenkins runs (bootstrap creates it only when asked)."""
    aws.iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                                  "Principal": {"Service": "ec2.amazonaws.com"}}]}))


def seed_trust(name: str) -> dict:
    """The seed's trust document in the 2012-10-17 policy language (see release.bootstrap)."""
    return {**seed_document(name), "Version": "2012-10-17"}


def assert_seed_infrastructure(aws, env, stream: str) -> None:
    iam, elb, ecs, ecr = aws.iam, aws.elb, aws.ecs, aws.ecr
    # IAM: the seed's documents, compared as parsed JSON
    instance_role = iam.get_role(RoleName="ecsInstanceRole")["Role"]
    assert canonical(instance_role["AssumeRolePolicyDocument"]) == canonical(
        seed_trust("ecsInstanceRole"))
    attached = iam.list_attached_role_policies(RoleName="ecsInstanceRole")["AttachedPolicies"]
    assert [p["PolicyArn"] for p in attached] == [MANAGED_INSTANCE_POLICY]
    assert sorted(iam.list_role_policies(RoleName="ecsInstanceRole")["PolicyNames"]) == [
        "ecrPullPolicy", "firehosePolicy"]
    ecr_pull = iam.get_role_policy(RoleName="ecsInstanceRole", PolicyName="ecrPullPolicy")
    assert canonical(ecr_pull["PolicyDocument"]) == canonical(seed_document("ecrPullPolicy"))
    firehose = iam.get_role_policy(RoleName="ecsInstanceRole", PolicyName="firehosePolicy")
    assert canonical(firehose["PolicyDocument"]) == canonical(seed_document(
        "firehosePolicy", **{"aws-region": "us-east-1", "<account-ID>": ACCOUNT,
                             "<delivery-stream-name>": stream}))
    assert "*" not in json.dumps(firehose["PolicyDocument"]["Statement"][0]["Resource"])
    profile = iam.get_instance_profile(InstanceProfileName="ecsServer")["InstanceProfile"]
    assert [r["RoleName"] for r in profile["Roles"]] == ["ecsInstanceRole"]
    service_role = iam.get_role(RoleName="ecsServiceRole")["Role"]
    assert canonical(service_role["AssumeRolePolicyDocument"]) == canonical(
        seed_trust("ecsServiceRole"))
    service_policy = iam.get_role_policy(RoleName="ecsServiceRole", PolicyName="ecsServicePolicy")
    assert canonical(service_policy["PolicyDocument"]) == canonical(
        seed_document("ecsServicePolicy"))
    # classic ELB: the seed's listener, health check and draining
    lb = elb.describe_load_balancers(LoadBalancerNames=["akkaElb"])["LoadBalancerDescriptions"][0]
    assert [d["Listener"] for d in lb["ListenerDescriptions"]] == [
        {"Protocol": "HTTP", "LoadBalancerPort": 80, "InstanceProtocol": "HTTP",
         "InstancePort": 80}]
    assert len(lb["Subnets"]) == 2 and len(lb["SecurityGroups"]) == 1
    check = env.load_balancer.health_check
    assert lb["HealthCheck"] == {"Target": check.target, "Interval": check.interval,
                                 "UnhealthyThreshold": check.unhealthy_threshold,
                                 "HealthyThreshold": check.healthy_threshold,
                                 "Timeout": check.timeout}
    attributes = elb.describe_load_balancer_attributes(LoadBalancerName="akkaElb")
    assert attributes["LoadBalancerAttributes"]["ConnectionDraining"] == {
        "Enabled": True, "Timeout": env.load_balancer.draining_timeout}
    # ECS cluster and ECR repository (one policy with BOTH of the seed's statements)
    clusters = ecs.describe_clusters(clusters=["AkkaCluster"])["clusters"]
    assert [c["status"] for c in clusters] == ["ACTIVE"]
    repository = ecr.describe_repositories(repositoryNames=["akka-firehose"])["repositories"][0]
    assert repository["imageTagMutability"] == "IMMUTABLE"
    assert repository["imageScanningConfiguration"] == {"scanOnPush": True}
    policy = ecr.get_repository_policy(repositoryName="akka-firehose")["policyText"]
    ids = {"<account-id>": ACCOUNT, "<Jenkins-role>": "jenkins"}
    merged = seed_document("repositoryPolicy-jenkins", **ids)
    merged["Statement"] += seed_document("repositoryPolicy-ecs", **ids)["Statement"]
    assert canonical(policy) == canonical(merged)


def apply_plan(aws, plan):
    """Run a bootstrap plan with the command's executor, its events kept out of the way."""
    import io

    from release.engine.bootstrap import executor
    from release.output.events import OutputFormat, Reporter

    reporter = Reporter(OutputFormat.json, stream=io.StringIO())
    return executor(aws, plan.env, reporter).execute(plan).results
