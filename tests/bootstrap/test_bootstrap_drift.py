"""Hand-made changes to a bootstrapped platform are planned back, with a reason, and repaired.

The cases share one bootstrapped account (bootstrapping is the slow part): each
case starts from a clean plan, makes its change, checks the plan, applies it and
leaves the account clean again for the next one.
"""

from __future__ import annotations

import json
import shutil

import pytest
from bootstrap_helpers import (
    ACCOUNT,
    PROJECT,
    apply_plan,
    assert_seed_infrastructure,
    edit_environment,
    environment,
    seed_document,
    seed_trust,
)

from release.adapters.aws import Aws
from release.engine.bootstrap import MANAGED_INSTANCE_POLICY, build_plan
from release_sandbox.network import seed_repo
from release_sandbox.testing import fresh_moto, sandbox_credentials


@pytest.fixture(scope="module")
def bootstrapped(moto_url, tmp_path_factory):
    """(Aws, Environment) of a sandbox account that `release bootstrap` has just set up."""
    fresh_moto()  # the server runs in this process (conftest.aws_url)
    root = tmp_path_factory.mktemp("drift") / "config"
    for name in ("environments", "taskdefs", "schemas"):
        if (PROJECT / name).is_dir():
            shutil.copytree(PROJECT / name, root / name)
    edit_environment(root, "sandbox", lambda doc: doc["endpoints"].update(aws=moto_url))
    seed_repo(moto_url, root)  # the documents' subnets and security groups, as a sandbox
    with sandbox_credentials():  # the tool brings no keys of its own
        env = environment(root)
        aws = Aws(env)
        apply_plan(aws, build_plan(aws, env))
        yield aws, env


def _drain_off(aws):
    aws.elb.modify_load_balancer_attributes(
        LoadBalancerName="akkaElb",
        LoadBalancerAttributes={"ConnectionDraining": {"Enabled": False}})


def _health_target(aws):
    live = aws.elb.describe_load_balancers(
        LoadBalancerNames=["akkaElb"])["LoadBalancerDescriptions"][0]["HealthCheck"]
    aws.elb.configure_health_check(LoadBalancerName="akkaElb",
                                   HealthCheck={**live, "Target": "HTTP:80/"})


def _seeds_second_repository_call(aws):
    # exactly what the seed's second set-repository-policy does: the Jenkins statement goes
    policy = seed_document("repositoryPolicy-ecs", **{"<account-id>": ACCOUNT})
    aws.ecr.set_repository_policy(repositoryName="akka-firehose", policyText=json.dumps(policy))


def _mutable_tags(aws):
    aws.ecr.put_image_tag_mutability(repositoryName="akka-firehose", imageTagMutability="MUTABLE")


def _no_scan(aws):
    aws.ecr.put_image_scanning_configuration(repositoryName="akka-firehose",
                                             imageScanningConfiguration={"scanOnPush": False})


def _firehose_on_everything(aws):
    doc = aws.iam.get_role_policy(RoleName="ecsInstanceRole",
                                  PolicyName="firehosePolicy")["PolicyDocument"]
    doc["Statement"][0]["Resource"] = "*"
    aws.iam.put_role_policy(RoleName="ecsInstanceRole", PolicyName="firehosePolicy",
                            PolicyDocument=json.dumps(doc))


def _managed_detached(aws):
    aws.iam.detach_role_policy(RoleName="ecsInstanceRole", PolicyArn=MANAGED_INSTANCE_POLICY)


def _inline_deleted(aws):
    aws.iam.delete_role_policy(RoleName="ecsServiceRole", PolicyName="ecsServicePolicy")


def _trust_widened(aws):
    doc = seed_trust("ecsServiceRole")
    doc["Statement"][0]["Principal"]["Service"] = ["ecs.amazonaws.com", "ec2.amazonaws.com"]
    aws.iam.update_assume_role_policy(RoleName="ecsServiceRole", PolicyDocument=json.dumps(doc))


def _profile_emptied(aws):
    aws.iam.remove_role_from_instance_profile(InstanceProfileName="ecsServer",
                                              RoleName="ecsInstanceRole")


def _cluster_deleted(aws):
    aws.ecs.delete_cluster(cluster="AkkaCluster")


def _listener_retargeted(aws):
    aws.elb.delete_load_balancer_listeners(LoadBalancerName="akkaElb", LoadBalancerPorts=[80])
    aws.elb.create_load_balancer_listeners(LoadBalancerName="akkaElb", Listeners=[
        {"Protocol": "HTTP", "LoadBalancerPort": 80, "InstanceProtocol": "HTTP",
         "InstancePort": 8080}])


DRIFT = [
    (_drain_off, ["modify_load_balancer_attributes"],
     "connection draining disabled instead of enabled"),
    (_health_target, ["configure_health_check"],
     "health check differs (Target HTTP:80/ -> HTTP:80/api/healthcheck)"),
    (_seeds_second_repository_call, ["set_repository_policy"],
     "policy differs (statement jenkins_push_pull missing)"),
    (_mutable_tags, ["put_image_tag_mutability"], "tags are MUTABLE, want IMMUTABLE"),
    (_no_scan, ["put_image_scanning_configuration"], "scanOnPush is False, want True"),
    (_firehose_on_everything, ["put_role_policy"], "policy differs (Resource)"),
    (_managed_detached, ["attach_role_policy"], "managed policy not attached"),
    (_inline_deleted, ["put_role_policy"], "inline policy missing"),
    (_trust_widened, ["update_assume_role_policy"], "trust policy differs (Principal)"),
    (_profile_emptied, ["add_role_to_instance_profile"], "not in the instance profile"),
    (_cluster_deleted, ["create_cluster"], "cluster is INACTIVE"),
    (_listener_retargeted, ["delete_load_balancer_listeners", "create_load_balancer_listeners"],
     "listener on port 80 differs"),
]


@pytest.mark.parametrize(("drift", "operations", "reason"), DRIFT,
                         ids=[d[0].__name__.strip("_") for d in DRIFT])
def test_a_hand_made_change_is_planned_back_and_repaired(bootstrapped, drift, operations,
                                                         reason):
    aws, env = bootstrapped
    assert build_plan(aws, env).calls == []
    drift(aws)
    plan = build_plan(aws, env)
    assert [c.operation for c in plan.calls] == operations
    assert reason in plan.calls[0].reason
    apply_plan(aws, plan)
    assert build_plan(aws, env).calls == []
    assert_seed_infrastructure(aws, env, "akka-firehose-sandbox")
