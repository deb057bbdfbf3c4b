"""Plan: desired vs live after normalisation, the ordered calls, and the time budget."""

from __future__ import annotations

import copy
import dataclasses
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from release.core import ecs_model
from release.core import plan as pl
from release.core.calls import Ref
from release.core.config import load_repo
from release.core.errors import UsageError
from release.core.render import render_service

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def repo():
    return load_repo(ROOT)


@pytest.fixture
def sandbox(repo):
    env = repo.environment("sandbox")
    spec = repo.services_of("sandbox")[0]
    return env, spec, render_service(repo, spec)


def registered(body: dict[str, Any]) -> dict[str, Any]:
    """What moto's ECS gives back for a registered task definition."""
    with mock_aws():
        ecs = boto3.client("ecs", region_name="us-east-1")
        ecs.register_task_definition(**body)
        return ecs.describe_task_definition(taskDefinition=body["family"])["taskDefinition"]


def as_real_ecs_returns(live: dict[str, Any]) -> dict[str, Any]:
    """Add what the real ECS adds on top of moto (documented DescribeTaskDefinition output)."""
    live = copy.deepcopy(live)
    live.update(registeredAt="2026-01-01T00:00:00Z", registeredBy="arn:aws:iam::1:role/jenkins",
                requiresAttributes=[{"name": "com.amazonaws.ecs.capability.ecr-auth"}],
                compatibilities=["EXTERNAL", "EC2"])
    for c in live["containerDefinitions"]:
        c.update(systemControls=[], mountPoints=[], volumesFrom=[])
        c["environment"] = list(reversed(c["environment"]))
    return live


def test_registered_revision_of_the_same_documents_plans_no_change(sandbox) -> None:
    env, spec, desired = sandbox
    live = as_real_ecs_returns(registered(desired))
    assert pl.taskdef_changes(live, desired) == []


def test_defaults_ecs_fills_in_are_not_changes(sandbox) -> None:
    _, _, desired = sandbox
    sparse = copy.deepcopy(desired)
    container = sparse["containerDefinitions"][0]
    del container["essential"]
    del container["portMappings"][0]["protocol"]
    live = copy.deepcopy(desired)
    live["containerDefinitions"][0]["cpu"] = 1024
    assert pl.taskdef_changes(live, sparse) == []


def test_an_environment_variable_change_is_one_named_change(sandbox) -> None:
    _, _, desired = sandbox
    live = registered(desired)
    changed = copy.deepcopy(desired)
    env_vars = changed["containerDefinitions"][0]["environment"]
    next(v for v in env_vars if v["name"] == "DEPLOY_ENV")["value"] = "other"
    changes = pl.taskdef_changes(live, changed)
    assert [c.path for c in changes] == [
        "containerDefinitions[akka-firehose].environment[DEPLOY_ENV].value"]
    assert changes[0].one_line() == (
        '~ containerDefinitions[akka-firehose].environment[DEPLOY_ENV].value: '
        '"sandbox" → "other"')


def test_a_new_image_digest_is_a_change(sandbox) -> None:
    _, _, desired = sandbox
    live = registered(desired)
    changed = copy.deepcopy(desired)
    container = changed["containerDefinitions"][0]
    container["image"] = container["image"][:-1] + "2"
    assert [c.path for c in pl.taskdef_changes(live, changed)] == [
        "containerDefinitions[akka-firehose].image"]


def test_a_removed_host_port_is_a_change_to_dynamic_ports(sandbox) -> None:
    _, _, desired = sandbox
    live = registered(desired)
    changed = copy.deepcopy(desired)
    del changed["containerDefinitions"][0]["portMappings"][0]["hostPort"]
    (change,) = pl.taskdef_changes(live, changed)
    assert (change.live, change.desired) == (80, 0)


def live_service(spec, **overrides: Any) -> dict[str, Any]:
    service = {
        "serviceName": spec.service_name, "status": "ACTIVE", "desiredCount": 2,
        "taskDefinition": "arn:aws:ecs:us-east-1:123456789012:task-definition/akka-demo:7",
        "loadBalancers": copy.deepcopy(spec.service["loadBalancers"]),
        "roleArn": "arn:aws:iam::123456789012:role/ecsServiceRole",
        "deploymentConfiguration": {
            "maximumPercent": 100, "minimumHealthyPercent": 50,
            "deploymentCircuitBreaker": {"enable": True, "rollback": True},
            "alarms": {"alarmNames": [], "enable": False, "rollback": False}},
        "healthCheckGracePeriodSeconds": 10, "launchType": "EC2", "deployments": [],
    }
    service.update(overrides)
    return service


def test_service_settings_equal_to_the_spec_are_no_change(sandbox) -> None:
    _, spec, _ = sandbox
    assert pl.service_changes(spec, live_service(spec)) == ([], [])


def test_service_setting_changes_are_listed_and_updatable(sandbox) -> None:
    _, spec, _ = sandbox
    live = live_service(spec, desiredCount=3, healthCheckGracePeriodSeconds=None)
    live["deploymentConfiguration"]["minimumHealthyPercent"] = 100
    updatable, recreate = pl.service_changes(spec, live)
    assert sorted(c.path for c in updatable) == [
        "service.deploymentConfiguration.minimumHealthyPercent", "service.desiredCount",
        "service.healthCheckGracePeriodSeconds"]
    assert recreate == []


def test_load_balancer_or_role_change_needs_recreation(sandbox) -> None:
    env, spec, desired = sandbox
    live = live_service(spec, roleArn="arn:aws:iam::123456789012:role/otherRole")
    live["loadBalancers"][0]["containerPort"] = 9090
    plan = pl.make_plan(env, spec, desired, pl.Live(live, registered(desired)))
    assert [c.path for c in plan.recreate_changes] == ["service.loadBalancers", "service.role"]
    assert not plan.unchanged
    assert all("re-create" in b for b in plan.blockers)


def test_plan_for_a_missing_service_registers_then_creates(sandbox) -> None:
    env, spec, desired = sandbox
    plan = pl.make_plan(env, spec, desired, pl.Live(None, None),
                        tags=[{"key": "release:commit", "value": "abc"}])
    assert [c.operation for c in plan.calls] == ["register_task_definition", "create_service"]
    register, create = plan.calls
    assert register.params["tags"] == [{"key": "release:commit", "value": "abc"}]
    assert create.params["taskDefinition"] == Ref("register",
                                                  ("taskDefinition", "taskDefinitionArn"))
    assert create.params["cluster"] == "AkkaCluster"
    assert create.params["loadBalancers"] == spec.service["loadBalancers"]


def test_plan_for_a_changed_revision_registers_then_updates(sandbox) -> None:
    env, spec, desired = sandbox
    live_td = registered(desired)
    changed = copy.deepcopy(desired)
    changed["containerDefinitions"][0]["memory"] = 512
    plan = pl.make_plan(env, spec, changed, pl.Live(live_service(spec), live_td))
    assert [c.operation for c in plan.calls] == ["register_task_definition", "update_service"]
    update = plan.calls[1].params
    assert update["service"] == spec.service_name
    assert update["desiredCount"] == 2
    assert "loadBalancers" not in update and "role" not in update


def test_settings_only_change_updates_without_registering(sandbox) -> None:
    env, spec, desired = sandbox
    plan = pl.make_plan(env, spec, desired,
                        pl.Live(live_service(spec, desiredCount=1), registered(desired)))
    assert [c.operation for c in plan.calls] == ["update_service"]
    assert plan.calls[0].params["taskDefinition"].endswith("akka-demo:7")


def test_nothing_to_change_means_no_calls(sandbox) -> None:
    env, spec, desired = sandbox
    plan = pl.make_plan(env, spec, desired, pl.Live(live_service(spec), registered(desired)))
    assert plan.unchanged and plan.calls == []
    assert plan.as_dict()["unchanged"] is True


def test_auto_budget_follows_health_checks_and_draining(sandbox, repo) -> None:
    env, spec, desired = sandbox
    budget = pl.budget_for(env, spec, desired)
    lb = env.load_balancer
    per_wave = 30 + lb.health_check.healthy_threshold * lb.health_check.interval + \
        lb.draining_timeout + 30  # placement + health checks + draining + stopTimeout
    assert (budget.seconds, budget.waves, budget.source) == (2 * per_wave + 60, 2, "auto")
    assert "2 waves" in budget.explanation
    assert f"{lb.draining_timeout} s draining" in budget.explanation
    prod_env = repo.environment("production")
    prod = pl.budget_for(prod_env, repo.services_of("production")[0], desired)
    assert prod.seconds == 2 * (30 + 60 + 300 + 30) + 84


def test_budget_from_spec_or_option(sandbox) -> None:
    env, spec, desired = sandbox
    fixed = dataclasses.replace(spec, timeout=900)
    assert pl.budget_for(env, fixed, desired).seconds == 900
    assert pl.budget_for(env, fixed, desired, "auto").source == "auto"
    assert pl.budget_for(env, spec, desired, "45").seconds == 45
    with pytest.raises(UsageError):
        pl.budget_for(env, spec, desired, "soon")


def test_rollback_plan_points_back_without_registering(sandbox) -> None:
    env, spec, desired = sandbox
    live = pl.Live(live_service(spec), registered(desired))
    previous = "arn:aws:ecs:us-east-1:123456789012:task-definition/akka-demo:5"
    plan = pl.rollback_plan(env, spec, live, previous)
    assert [c.operation for c in plan.calls] == ["update_service"]
    assert plan.calls[0].params["taskDefinition"] == previous
    assert not plan.registers


# ------------------------------------------------- members at their API defaults (ECS model)


def with_aws_defaults(live: dict[str, Any]) -> dict[str, Any]:
    """Members real DescribeTaskDefinition reports at their defaults although nobody set them."""
    live = copy.deepcopy(live)
    live.update(enableFaultInjection=False, placementConstraints=[], volumes=[])
    for c in live["containerDefinitions"]:
        c.update(versionConsistency="enabled", privileged=False, readonlyRootFilesystem=False,
                 linuxParameters={"initProcessEnabled": False, "capabilities": {}})
        if "healthCheck" in c:
            c["healthCheck"].update(interval=30, timeout=5, retries=3)
    return live


def with_health_check(desired: dict[str, Any]) -> dict[str, Any]:
    desired = copy.deepcopy(desired)
    desired["containerDefinitions"][0]["healthCheck"] = {
        "command": ["CMD-SHELL", "curl -f http://localhost:8080/api/healthcheck"]}
    return desired


def test_members_at_their_api_defaults_are_not_changes(sandbox) -> None:
    _, _, desired = sandbox
    desired = with_health_check(desired)
    live = with_aws_defaults(as_real_ecs_returns(registered(desired)))
    assert live["enableFaultInjection"] is False
    assert pl.taskdef_changes(live, desired) == []


def test_a_member_the_document_writes_is_compared_even_at_its_default(sandbox) -> None:
    _, _, desired = sandbox
    written = copy.deepcopy(desired)
    written["enableFaultInjection"] = False
    written["containerDefinitions"][0]["linuxParameters"] = {"initProcessEnabled": False}
    assert pl.taskdef_changes(registered(desired), written) == []  # live omits both: defaults
    written["enableFaultInjection"] = True
    live = with_aws_defaults(registered(desired))
    (change,) = pl.taskdef_changes(live, written)
    assert (change.path, change.live, change.desired) == ("enableFaultInjection", False, True)


def test_a_removed_member_that_live_still_has_is_a_change(sandbox) -> None:
    _, _, desired = sandbox
    live = with_aws_defaults(registered(desired))
    live["containerDefinitions"][0]["privileged"] = True
    live["containerDefinitions"][0]["linuxParameters"]["initProcessEnabled"] = True
    changes = pl.taskdef_changes(live, desired)
    assert [c.one_line() for c in changes] == [
        '- containerDefinitions[akka-firehose].linuxParameters (was {"initProcessEnabled": true})',
        "- containerDefinitions[akka-firehose].privileged (was true)"]


def test_essential_false_against_the_default_true_is_a_change(sandbox) -> None:
    _, _, desired = sandbox
    live = registered(desired)
    del live["containerDefinitions"][0]["essential"]  # omitted means essential
    changed = copy.deepcopy(desired)
    changed["containerDefinitions"][0]["essential"] = False
    (change,) = pl.taskdef_changes(live, changed)
    assert (change.path, change.live, change.desired) == (
        "containerDefinitions[akka-firehose].essential", True, False)


def test_what_ecs_adds_comes_from_the_model() -> None:
    added = ecs_model.added_by_ecs()  # what core/diff.py drops from a live revision
    assert {"taskDefinitionArn", "revision", "status", "registeredAt", "registeredBy",
            "compatibilities", "requiresAttributes", "deregisteredAt"} <= added
    assert not added & {"family", "containerDefinitions", "enableFaultInjection", "cpu"}


def with_service(spec, **settings: Any):
    return dataclasses.replace(spec, service={**spec.service, **settings})


def test_service_settings_stated_at_their_api_defaults_match_a_live_that_omits_them(
        sandbox) -> None:
    _, spec, _ = sandbox
    spec = with_service(
        spec, propagateTags="NONE", enableECSManagedTags=False, enableExecuteCommand=False,
        healthCheckGracePeriodSeconds=0, deploymentController={"type": "ECS"},
        placementConstraints=[],
        deploymentConfiguration={"maximumPercent": 200, "minimumHealthyPercent": 100,
                                 "deploymentCircuitBreaker": {"enable": False,
                                                              "rollback": False}})
    live = live_service(spec, healthCheckGracePeriodSeconds=None)
    del live["healthCheckGracePeriodSeconds"]
    live["deploymentConfiguration"] = {}
    assert pl.service_changes(spec, live) == ([], [])


def test_service_members_the_spec_does_not_state_are_not_changes(sandbox) -> None:
    _, spec, _ = sandbox
    live = live_service(spec, propagateTags="TASK_DEFINITION", enableExecuteCommand=True,
                        availabilityZoneRebalancing="ENABLED",
                        deploymentController={"type": "ECS"})
    live["deploymentConfiguration"].update(strategy="ROLLING", bakeTimeInMinutes=0,
                                           lifecycleHooks=[])
    live["deploymentConfiguration"]["deploymentCircuitBreaker"]["resetOnHealthyTask"] = True
    assert pl.service_changes(spec, live) == ([], [])


def test_a_stated_service_setting_against_live_defaults_is_a_change(sandbox) -> None:
    _, spec, _ = sandbox
    live = live_service(spec)
    live["deploymentConfiguration"] = {"maximumPercent": 200, "minimumHealthyPercent": 100}
    updatable, _ = pl.service_changes(spec, live)
    assert [(c.path, c.live, c.desired) for c in updatable] == [
        ("service.deploymentConfiguration.minimumHealthyPercent", 100, 50),
        ("service.deploymentConfiguration.maximumPercent", 200, 100),
        ("service.deploymentConfiguration.deploymentCircuitBreaker.enable", False, True),
        ("service.deploymentConfiguration.deploymentCircuitBreaker.rollback", False, True)]


def test_a_second_deploy_against_a_live_revision_with_aws_defaults_registers_nothing(
        stage) -> None:
    """On the sandbox: release, make the stored revision look as real ECS reports it, deploy
    again: nothing registered, 'nothing to change'."""
    from moto.backends import get_backend

    stage.pin("v1")
    assert stage.cli("deploy").exit_code == 0
    backend = get_backend("ecs")[stage.sandbox.account][stage.sandbox.region]
    (revision,) = backend.task_definitions["akka-demo"].values()
    revision.enable_fault_injection = False  # what moto leaves out and real ECS returns
    revision.registered_by = "arn:aws:sts::123456789012:assumed-role/jenkins/build-42"
    for container in revision.container_definitions:
        container.update(versionConsistency="enabled", privileged=False, systemControls=[])
    live = stage.ecs().describe_task_definition(taskDefinition="akka-demo:1")["taskDefinition"]
    assert live["enableFaultInjection"] is False
    assert live["containerDefinitions"][0]["versionConsistency"] == "enabled"
    before = stage.revisions()
    run = stage.cli("deploy")
    assert run.exit_code == 0, run.output
    assert "nothing to change" in run.first("release.unchanged")["message"]
    assert not run.has("release.call")
    assert stage.revisions() == before == ["akka-demo:1"]
    assert stage.live_revision() == "akka-demo:1"
