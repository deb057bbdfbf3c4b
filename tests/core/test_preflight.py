"""Preflight's pure parts: the result table and the refusal, where each reference is written,
the references themselves, the live first-wave arithmetic, and IAM policy evaluation."""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path

import pytest

from release.core import policies
from release.core import preflight as pf
from release.core.config import load_repo
from release.core.references import Origin, parse_image, role_name, secret_refs
from release.core.rolling import Need, Room, first_wave, need_of

PROJECT = Path(__file__).resolve().parents[2]


def repo_env_spec():
    repo = load_repo(PROJECT)
    return repo, repo.environment("staging"), repo.services_of("staging")[0]


# ------------------------------------------------------------------------------ the report


def test_every_problem_is_in_the_refusal_with_its_place_and_fix() -> None:
    results = [
        pf.placed("roles", pf.PROBLEM, "execution role x", "execution role x does not exist",
                  "create it", ("taskdefs/a.json", "/executionRoleArn")),
        pf.placed("account", pf.OK, "account 1", "fine"),
        pf.placed("secrets", pf.PROBLEM, "parameter /p", "parameter /p does not exist",
                  "put it", ("environments/s/services/a.json", "/overrides/containers/a/"
                             "secrets/P")),
        pf.placed("images", pf.NOT_CHECKED, "image nginx", "not checked: offline")]
    report = pf.report("sandbox", "svc", "git", results)
    assert not report.passed and report.counts() == {
        "problem": 2, "warning": 0, "not checked": 1, "ok": 1}
    message, hint = report.refusal()
    assert message.startswith("sandbox/svc: preflight found 2 problems; nothing was changed")
    assert "1. roles: execution role x does not exist (taskdefs/a.json#/executionRoleArn)" \
        in message
    assert "#/overrides/containers/a/secrets/P" in message
    assert hint == "1. create it; 2. put it"
    assert [row[:2] for row in report.rows()] == [
        ["roles", "problem"], ["secrets", "problem"], ["images", "not checked"],
        ["account", "ok"]]
    assert report.headline() == ("sandbox/svc: preflight of git refuses the release: "
                                 "2 problems, 1 not checked, 1 ok")
    one = pf.report("sandbox", "svc", "git", results[:2])
    assert one.refusal() == ("sandbox/svc: preflight: roles: execution role x does not exist "
                             "(taskdefs/a.json#/executionRoleArn); nothing was changed",
                             "create it")


def test_a_release_that_changes_nothing_needs_only_the_account_check() -> None:
    assert [name for name in pf.CHECK_NAMES if pf.needed_when_unchanged(name)] == ["account"]


# ------------------------------------------------------------------------------ where


def test_each_value_is_found_where_it_is_written() -> None:
    repo, env, spec = repo_env_spec()
    doc = {"family": "f", "executionRoleArn": "r", "containerDefinitions": [
        {"name": "app", "secrets": [{"name": "A", "valueFrom": "/a"},
                                    {"name": "B", "valueFrom": "/b"}],
         "logConfiguration": {"logDriver": "awsfirelens", "secretOptions": [
             {"name": "apikey", "valueFrom": "/k"}]}},
        {"name": "akka-firehose", "image": "x"}]}
    overrides = {"containers": {"app": {"secrets": {"C": "/c"}}}}
    spec = dataclasses.replace(spec, overrides=overrides)
    origin = Origin("taskdefs/f.json", doc, spec, {"akka-firehose": "/images/akka-firehose"})
    assert origin.taskdef("executionRoleArn") == ("taskdefs/f.json", "/executionRoleArn")
    assert origin.secret(0, "B") == ("taskdefs/f.json", "/containerDefinitions/0/secrets/1/"
                                                        "valueFrom")
    assert origin.secret(0, "C") == (str(spec.path), "/overrides/containers/app/secrets/C")
    assert origin.secret(0, "apikey", "secretOptions") == (
        "taskdefs/f.json", "/containerDefinitions/0/logConfiguration/secretOptions/0/valueFrom")
    assert origin.image(1) == (str(spec.path), "/images/akka-firehose")
    assert origin.image(0) == ("taskdefs/f.json", "/containerDefinitions/0/image")
    revision = Origin("f:3 (registered in ECS)", doc, spec, {}, from_git=False)
    assert revision.image(1) == ("f:3 (registered in ECS)", "/containerDefinitions/1/image")
    assert revision.service("role") == (str(spec.path), "/service/role")


# ------------------------------------------------------------------------------ references


def test_secret_references_by_name_parameter_arn_secret_arn_and_registry_credentials() -> None:
    _, env, _ = repo_env_spec()
    secret = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:db-AbCdEf"
    taskdef = {"containerDefinitions": [{"name": "app", "secrets": [
        {"name": "A", "valueFrom": "/akka/a"},
        {"name": "B", "valueFrom": "arn:aws:ssm:us-east-1:123456789012:parameter/akka/b"},
        {"name": "C", "valueFrom": "arn:aws:ssm:us-east-1:123456789012:parameter/flat"},
        {"name": "D", "valueFrom": f"{secret}:password:AWSCURRENT:"}],
        "repositoryCredentials": {"credentialsParameter": "dockerhub"}}]}
    refs = list(secret_refs(taskdef, env))
    assert [(r.service, r.region, r.name) for r in refs] == [
        ("ssm", "us-east-1", "/akka/a"), ("ssm", "us-east-1", "/akka/b"),
        ("ssm", "us-east-1", "flat"), ("secretsmanager", "eu-west-1", secret),
        ("secretsmanager", "us-east-1", "dockerhub")]
    assert refs[2].names() == ["flat", "/flat"]  # parameter/flat is `flat` or `/flat`
    assert refs[0].resource_arn() == "arn:aws:ssm:us-east-1:123456789012:parameter/akka/a"
    assert refs[3].resource_arn() == secret
    assert refs[4].key == "repositoryCredentials"


@pytest.mark.parametrize(("image", "registry", "repository", "reference"), [
    ("nginx", "docker.io", "library/nginx", "latest"),
    ("nginx:1.27", "docker.io", "library/nginx", "1.27"),
    ("datadog/agent:7", "docker.io", "datadog/agent", "7"),
    ("public.ecr.aws/aws-observability/aws-for-fluent-bit@sha256:" + "5c" * 32,
     "public.ecr.aws", "aws-observability/aws-for-fluent-bit", "sha256:" + "5c" * 32),
    ("127.0.0.1:5050/sidecar:v1@sha256:" + "ab" * 32, "127.0.0.1:5050", "sidecar",
     "sha256:" + "ab" * 32),
    ("localhost/app", "localhost", "app", "latest"),
])
def test_image_references_as_docker_reads_them(image, registry, repository, reference) -> None:
    ref = parse_image(image)
    assert (ref.registry, ref.repository, ref.reference) == (registry, repository, reference)


def test_ecr_images_are_told_by_their_host_or_the_environments_registry() -> None:
    _, env, _ = repo_env_spec()
    ecr = parse_image("210987654321.dkr.ecr.eu-west-1.amazonaws.com/shared/base:1")
    assert ecr.ecr(env) == ("210987654321", "eu-west-1")
    sandbox = dataclasses.replace(env, registry_override="127.0.0.1:5050")
    assert parse_image("127.0.0.1:5050/akka-firehose:v1").ecr(sandbox) == (
        env.account, env.region)
    assert parse_image("quay.io/prometheus/node-exporter:v1").ecr(env) is None


def test_role_names_from_arns_with_paths() -> None:
    assert role_name("arn:aws:iam::123456789012:role/service/ecsTaskExecutionRole") == (
        "ecsTaskExecutionRole", "123456789012")
    assert role_name("ecsTaskExecutionRole") == ("ecsTaskExecutionRole", None)


# ------------------------------------------------------------------------------ capacity

SEED = {"networkMode": "bridge", "containerDefinitions": [
    {"name": "a", "cpu": 1024, "memory": 1024,
     "portMappings": [{"containerPort": 8080, "hostPort": 80}]}]}


def test_the_seeds_task_needs_its_size_and_host_port() -> None:
    assert need_of(SEED) == Need(1024, 1024, frozenset({"80"}))
    udp = {"networkMode": "host", "containerDefinitions": [{"name": "dns", "memory": 64,
           "portMappings": [{"containerPort": 53, "protocol": "udp"}]}]}
    assert need_of(udp).ports == {"53/udp"}


def two_full_instances() -> tuple[list[Room], list[tuple[str, Need]]]:
    new = need_of(SEED)
    rooms = [Room("i-1", 1024, 2919, frozenset({"22", "80"})),
             Room("i-2", 1024, 2919, frozenset({"22", "80"}))]
    return rooms, [("i-1", new), ("i-2", new)]


def test_port_80_taken_everywhere_with_no_stop_allowed_places_nothing() -> None:
    rooms, old = two_full_instances()
    wave = first_wave(rooms, old, need_of(SEED), 2, 100, 200)
    assert (wave.can_start, wave.can_stop, wave.placed) == (2, 0, 0) and wave.stuck
    assert wave.lacking == {"i-1": ("PORTS",), "i-2": ("PORTS",)}
    assert wave.binding == {"PORTS"}
    assert wave.all_fit == 2  # once the old tasks are gone the new ones fit: only the order


def test_stopping_what_the_minimum_allows_frees_the_port() -> None:
    rooms, old = two_full_instances()
    wave = first_wave(rooms, old, need_of(SEED), 2, 50, 100)
    assert (wave.can_start, wave.can_stop, wave.placed) == (0, 1, 1) and not wave.stuck


def test_a_spare_instance_takes_the_first_new_task() -> None:
    rooms, old = two_full_instances()
    rooms.append(Room("i-3", 2048, 3943, frozenset({"22"})))
    wave = first_wave(rooms, old, need_of(SEED), 2, 100, 200)
    assert wave.placed == 1 and not wave.stuck


def test_more_memory_than_any_instance_has_is_stuck_on_memory_alone() -> None:
    rooms, old = two_full_instances()
    big = Need(1024, 4096, frozenset({"80"}))
    wave = first_wave(rooms, old, big, 2, 50, 100)
    assert wave.stuck and wave.all_fit == 0
    assert wave.binding == {"MEMORY"}  # i-1 lacks memory even with its port freed


def test_a_new_service_has_no_old_tasks_and_scaled_to_zero_needs_nothing() -> None:
    rooms = [Room("i-1", 2048, 3943)]
    assert first_wave(rooms, [], need_of(SEED), 2, 100, 200).placed == 1
    assert not first_wave(rooms, [], need_of(SEED), 0, 100, 200).stuck


# ------------------------------------------------------------------------------ IAM


def test_policy_evaluation_follows_the_evaluation_logic() -> None:
    allow = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "SSM:GetParameter*",
         "Resource": "arn:aws:ssm:*:*:parameter/akka/*"}]}
    deny = {"Statement": {"Effect": "Deny", "Action": "ssm:*",
                          "Resource": "arn:aws:ssm:*:*:parameter/akka/root"}}
    conditional = {"Statement": [{"Effect": "Allow", "Action": "kms:Decrypt", "Resource": "*",
                                  "Condition": {"StringEquals": {"kms:ViaService": "x"}}}]}
    arn = "arn:aws:ssm:us-east-1:123456789012:parameter/akka/"
    assert policies.evaluate([allow], "ssm:GetParameters", arn + "db")[0] == "allowed"
    assert policies.evaluate([allow, deny], "ssm:GetParameters", arn + "root")[0] == \
        "explicitDeny"
    assert policies.evaluate([allow], "ssm:GetParameters", arn.replace("akka", "Akka") + "x")[
        0] == "implicitDeny"  # resources match case-sensitively
    assert policies.evaluate([json.dumps(conditional)], "kms:Decrypt", "k")[0] == "implicitDeny"
    not_action = {"Statement": [{"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"}]}
    assert policies.evaluate([not_action], "ssm:GetParameters", "x")[0] == "allowed"
    assert policies.evaluate([not_action], "iam:GetRole", "x")[0] == "implicitDeny"


def test_a_trust_policy_trusts_the_service_it_names() -> None:
    document = policies.trust_policy("ecs-tasks.amazonaws.com")
    assert policies.trusts(document, "ecs-tasks.amazonaws.com")
    assert not policies.trusts(document, "ecs.amazonaws.com")
    with_condition = {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"Service": ["ecs-tasks.amazonaws.com"]},
        "Action": "sts:AssumeRole",
        "Condition": {"StringEquals": {"aws:SourceAccount": "123456789012"}}}]}
    assert policies.trusts(json.dumps(with_condition), "ecs-tasks.amazonaws.com")


def test_the_jenkins_policy_in_the_docs_grants_every_read_preflight_makes() -> None:
    text = (PROJECT / "docs" / "gitops.md").read_text()
    block = re.search(r"### The IAM the Jenkins role needs.*?```json\n(.*?)```", text, re.S)
    assert block, "the Jenkins policy block in docs/gitops.md"
    statements = json.loads(block.group(1))["Statement"]
    granted = {a for s in statements if s.get("Effect") == "Allow"
               for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])}
    wanted = {a for actions in policies.PREFLIGHT_ACTIONS.values() for a in actions}
    assert wanted - granted == set()
    assert set(policies.PREFLIGHT_ACTIONS) == set(pf.CHECK_NAMES) - {"account"}
