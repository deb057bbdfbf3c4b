"""The run variant and RunTask's refusals (release/core/oneoff.py), on plain documents."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from release.core import oneoff
from release.core.errors import InvalidInput


def described(network: str = "bridge", mappings: list[dict[str, Any]] | None = None,
              family: str = "akka-demo") -> dict[str, Any]:
    """A DescribeTaskDefinition body with what ECS adds to it."""
    return {
        "taskDefinitionArn": f"arn:aws:ecs:us-east-1:123456789012:task-definition/{family}:7",
        "family": family, "revision": 7, "status": "ACTIVE", "networkMode": network,
        "registeredAt": "2026-11-30T09:15:02Z", "registeredBy": "arn:aws:iam::1:role/x",
        "requiresAttributes": [{"name": "com.amazonaws.ecs.capability.ecr-auth"}],
        "compatibilities": ["EC2"], "requiresCompatibilities": ["EC2"], "volumes": [],
        "enableFaultInjection": False,
        "containerDefinitions": [
            {"name": "web", "image": "x", "cpu": 1024, "memory": 1024, "essential": True,
             "portMappings": mappings if mappings is not None else [
                 {"containerPort": 8080, "hostPort": 80, "protocol": "tcp"}]},
            {"name": "sidecar", "image": "y", "cpu": 0, "memory": 64, "essential": False}]}


def test_a_static_host_port_makes_a_variant_in_its_own_family_without_that_mapping() -> None:
    taskdef = described(mappings=[{"containerPort": 8080, "hostPort": 80, "protocol": "tcp"},
                                  {"containerPort": 9000, "hostPort": 0, "protocol": "tcp"}])
    variant = oneoff.variant_of(taskdef)
    assert variant is not None
    assert (variant.family, variant.source, variant.ports) == ("akka-demo-run", "akka-demo:7",
                                                               [80])
    web, sidecar = variant.register["containerDefinitions"]
    assert web["portMappings"] == [{"containerPort": 9000, "hostPort": 0, "protocol": "tcp"}]
    assert "portMappings" not in sidecar
    assert variant.register["family"] == "akka-demo-run"
    for added in ("taskDefinitionArn", "revision", "status", "registeredAt", "registeredBy",
                  "requiresAttributes", "compatibilities", "volumes"):
        assert added not in variant.register, added
    assert variant.register["networkMode"] == "bridge"
    assert taskdef["containerDefinitions"][0]["portMappings"][0]["hostPort"] == 80  # untouched
    assert {t["key"]: t["value"] for t in variant.tags} == {
        "release-run:variant-of": "akka-demo:7", "release-run:content": variant.content}


def test_host_mode_binds_every_container_port_and_the_variant_drops_them_all() -> None:
    variant = oneoff.variant_of(described("host", [{"containerPort": 8080}]))
    assert variant is not None and variant.ports == [8080]
    assert "portMappings" not in variant.register["containerDefinitions"][0]


@pytest.mark.parametrize("network, mappings", [
    ("bridge", [{"containerPort": 8080, "hostPort": 0}]),  # ECS picks an ephemeral port
    ("bridge", [{"containerPort": 8080}]),
    ("awsvpc", [{"containerPort": 8080, "hostPort": 8080}]),  # the task's own interface
    ("bridge", []),
])
def test_no_static_host_port_needs_no_variant(network: str, mappings: list) -> None:
    assert oneoff.variant_of(described(network, mappings)) is None


def test_the_content_tag_depends_on_the_content_only() -> None:
    first = oneoff.variant_of(described())
    other_revision = described()
    other_revision.update(revision=9, registeredAt="2026-12-01T00:00:00Z",
                          taskDefinitionArn="arn:aws:ecs:us-east-1:1:task-definition/akka-demo:9")
    reordered = dict(reversed(list(other_revision.items())))
    changed = described()
    changed["containerDefinitions"][0]["memory"] = 2048
    assert first is not None
    assert oneoff.variant_of(reordered).content == first.content  # type: ignore[union-attr]
    assert oneoff.variant_of(changed).content != first.content  # type: ignore[union-attr]
    assert first.content.startswith("sha256:") and len(first.content) == 71


def test_a_family_too_long_for_its_variant_is_refused_with_the_fix() -> None:
    with pytest.raises(InvalidInput) as refused:
        oneoff.variant_of(described(family="f" * 252))
    assert "255" in refused.value.message and "shorten" in refused.value.hint
    assert oneoff.variant_of(described(family="f" * 251)) is not None


def test_newest_first_keeps_the_family_only_and_sorts_by_revision_number() -> None:
    arn = "arn:aws:ecs:us-east-1:1:task-definition/{}".format
    given = [arn("akka-demo-run:2"), arn("akka-demo-run:10"), arn("akka-demo-run-run:11"),
             arn("akka-demo:12"), arn("akka-demo-run:9")]
    assert oneoff.newest_first(given, "akka-demo-run") == [
        arn("akka-demo-run:10"), arn("akka-demo-run:9"), arn("akka-demo-run:2")]


CI = "arn:aws:ecs:us-east-1:123456789012:container-instance/AkkaCluster/{}".format


@pytest.mark.parametrize("reason", sorted(oneoff.REASONS))
def test_every_documented_reason_has_a_meaning_and_a_fix(reason: str) -> None:
    meaning, fix = oneoff.REASONS[reason]
    told = oneoff.refusal([{"arn": CI("a1"), "reason": reason}], described(), "akka-demo-run:3")
    assert told.message.startswith(f"ECS did not start a task of akka-demo-run:3: {reason} on a1")
    assert meaning.split("{")[0] in told.message
    assert told.hint == f"{fix}; nothing ran"


def test_sizes_and_ports_are_named_and_reasons_grouped_with_their_detail() -> None:
    taskdef = copy.deepcopy(described())
    told = oneoff.refusal([
        {"arn": CI("a1"), "reason": "RESOURCE:CPU"},
        {"arn": CI("b2"), "reason": "RESOURCE:CPU"},
        {"arn": CI("c3"), "reason": "RESOURCE:PORTS", "detail": "80 in use"}],
        taskdef, "arn:aws:ecs:us-east-1:1:task-definition/akka-demo:7")
    assert told.message == (
        "ECS did not start a task of akka-demo:7: RESOURCE:CPU on a1, b2: no container "
        "instance has the CPU units the task reserves (1024 units) free; RESOURCE:PORTS on "
        "c3 (80 in use): a static host port the task binds (80) is in use on the container "
        "instance")
    assert told.hint == "; ".join([oneoff.REASONS["RESOURCE:CPU"][1],
                                   oneoff.REASONS["RESOURCE:PORTS"][1], "nothing ran"])


def test_an_unknown_reason_is_shown_as_ecs_gave_it_and_no_failure_at_all_is_said() -> None:
    told = oneoff.refusal([{"reason": "SOMETHING:NEW", "detail": "why"}], described(), "f:1")
    assert told.message == "ECS did not start a task of f:1: SOMETHING:NEW (why)"
    assert told.hint == f"{oneoff.UNKNOWN_FIX}; nothing ran"
    assert "gave no reason" in oneoff.refusal([], described(), "f:1").message
