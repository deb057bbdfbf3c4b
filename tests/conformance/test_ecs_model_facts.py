"""release/core/ecs_model.json is what the installed botocore ECS model says, and plan reads it."""

from __future__ import annotations

import ast
import importlib.util
from pathlib import Path

from release.core import ecs_model

ROOT = Path(__file__).resolve().parents[2]


def generator():
    spec = importlib.util.spec_from_file_location("ecs_model_facts",
                                                  ROOT / "scripts" / "ecs_model_facts.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_committed_facts_match_the_installed_botocore_model() -> None:
    facts = generator()
    wanted = facts.render(facts.facts(facts.load_model()))
    assert ecs_model.FACTS.read_text() == wanted, (
        "botocore's ECS model changed: run `python scripts/ecs_model_facts.py` and review the "
        "diff of release/core/ecs_model.json: a new member that DescribeTaskDefinition reports "
        "when nobody set it needs its default (STATED_ELSEWHERE if the phrasing is new)")


def test_the_defaults_plan_relies_on_are_there() -> None:
    td, container = ecs_model.defaults("TaskDefinition"), ecs_model.defaults("ContainerDefinition")
    assert (td["enableFaultInjection"], td["networkMode"]) == (False, "bridge")
    assert (container["essential"], container["cpu"], container["versionConsistency"],
            container["privileged"]) == (True, 0, "enabled", False)
    assert ecs_model.defaults("PortMapping")["protocol"] == "tcp"
    assert ecs_model.defaults("HealthCheck") == {"interval": 30, "timeout": 5, "retries": 3}
    service = ecs_model.defaults("Service")
    assert (service["propagateTags"], service["enableECSManagedTags"],
            service["enableExecuteCommand"], service["healthCheckGracePeriodSeconds"]) == (
        "NONE", False, False, 0)
    config = ecs_model.defaults("DeploymentConfiguration")
    assert (config["maximumPercent"], config["minimumHealthyPercent"]) == (200, 100)
    breaker = ecs_model.defaults("DeploymentCircuitBreaker")
    assert (breaker["enable"], breaker["rollback"]) == (False, False)
    assert ecs_model.structure("TaskDefinition", "containerDefinitions") == "ContainerDefinition"
    assert ecs_model.structure("Service", "deploymentConfiguration") == "DeploymentConfiguration"


def test_every_default_says_where_the_documentation_gives_it() -> None:
    for shape, members in ecs_model.facts()["defaults"].items():
        for member, entry in members.items():
            assert entry["documented"], f"{shape}.{member}"


def test_phrasings_are_typed_by_the_member_shape() -> None:
    facts = generator()
    enum = {"type": "string", "enum": ["host", "task"]}
    assert facts.documented_default("The default is a private namespace.", enum) is None
    assert facts.documented_default("The default is tcp.", {"type": "string",
                                                           "enum": ["tcp", "udp"]}) == (
        "tcp", "The default is tcp.")
    assert facts.documented_default("The default value is 30 seconds.", {"type": "integer"}
                                    ) == (30, "The default value is 30 seconds.")
    assert facts.documented_default("The default is 1. The default is 2.",
                                    {"type": "integer"}) is None  # ambiguous: no default


def test_the_pure_core_reads_the_facts_without_botocore() -> None:
    for name in ("plan.py", "ecs_model.py"):
        tree = ast.parse((ROOT / "release" / "core" / name).read_text())
        imported = {alias.name.split(".")[0] for node in ast.walk(tree)
                    if isinstance(node, ast.Import) for alias in node.names}
        imported |= {(node.module or "").split(".")[0] for node in ast.walk(tree)
                     if isinstance(node, ast.ImportFrom)}
        assert not imported & {"boto3", "botocore", "docker", "git"}, name
