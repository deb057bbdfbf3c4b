"""No input, however broken, produces a traceback; the fast schema check agrees with jsonschema."""

from __future__ import annotations

import copy
import json
import random
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from validate_helpers import PROJECT, STAGING_ENV, STAGING_SERVICE, TASKDEF, load

from release.adapters.apicheck import register_task_definition_problems as botocore_check
from release.core import config
from release.core.render import render_taskdef
from release.core.schemacheck import compile_schema
from release.core.validate import validate_repo

KIND_OF = {TASKDEF: "taskdef", STAGING_ENV: "environment", STAGING_SERVICE: "service"}
# the ALB + Fargate example too: the environment schema's if/then/else, awsvpc, Fargate
AGREEMENT_KIND_OF = {**KIND_OF, "environments/sandbox-alb/environment.json": "environment",
                     "environments/sandbox-alb/services/akka-firehose.json": "service",
                     "taskdefs/akka-firehose-fargate.json": "taskdef"}
JUNK: list[Any] = [None, True, False, 0, -1, 1.5, 2.0, 10**30, float("inf"), float("nan"), "",
                   "x", "latest", "\ud800", "sha256:" + "0" * 64, [], [None], {}, {"a": 1},
                   "HTTP:80/", "AKIAIOSFODNN7EXAMPLE", 65536, "1 vCPU", [{"name": "a"}]]


def schema(kind: str) -> dict[str, Any]:
    return json.loads((PROJECT / "schemas" / f"{kind}.schema.json").read_text())


def paths(doc: Any, prefix: tuple = ()) -> list[tuple]:
    out = [prefix]
    if isinstance(doc, dict):
        for key, value in doc.items():
            out += paths(value, (*prefix, key))
    elif isinstance(doc, list):
        for index, value in enumerate(doc):
            out += paths(value, (*prefix, index))
    return out


def mutate(doc: Any, rng: random.Random) -> Any:
    """One random edit: replace a value, drop a key, add a (possibly misspelt) key."""
    doc = copy.deepcopy(doc)
    path = rng.choice(paths(doc))
    if not path:
        return rng.choice(JUNK)
    parent = doc
    for part in path[:-1]:
        parent = parent[part]
    action = rng.random()
    if action < 0.6:
        parent[path[-1]] = rng.choice(JUNK)
    elif action < 0.8 and isinstance(parent, dict):
        del parent[path[-1]]
    elif isinstance(parent, dict):
        parent[str(path[-1])[::-1]] = rng.choice(JUNK)
    else:
        parent.append(rng.choice(JUNK))
    return doc


@pytest.mark.parametrize("rel", list(AGREEMENT_KIND_OF))
def test_fast_schema_check_agrees_with_jsonschema_on_random_mutations(rel: str) -> None:
    rng = random.Random(f"agree-{rel}")
    kind_schema = schema(AGREEMENT_KIND_OF[rel])
    fast = compile_schema(kind_schema)
    slow = jsonschema.Draft202012Validator(kind_schema)
    base = load(PROJECT, rel)
    seen_valid = seen_invalid = 0
    for _ in range(400):
        doc = mutate(mutate(base, rng), rng) if rng.random() < 0.3 else mutate(base, rng)
        expected = slow.is_valid(doc)
        assert fast(doc) == expected, json.dumps(doc, default=str)[:500]
        seen_valid += expected
        seen_invalid += not expected
    assert seen_valid > 20 and seen_invalid > 100  # both branches exercised


def test_fast_schema_check_agrees_on_the_corpus() -> None:
    cases = json.loads((Path(__file__).parent / "corpus/cases.json").read_text())
    for name, case in cases.items():
        try:
            doc = json.loads((Path(__file__).parent / "corpus" / f"{name}.json").read_bytes())
        except ValueError:
            continue
        kind_schema = schema(KIND_OF[case["replaces"]])
        assert compile_schema(kind_schema)(doc) == jsonschema.Draft202012Validator(
            kind_schema).is_valid(doc), name


def test_random_broken_repositories_never_crash(repo: Path) -> None:
    rng = random.Random("crash")
    originals = {rel: load(PROJECT, rel) for rel in KIND_OF}
    for _ in range(40):
        for rel, doc in originals.items():
            changed = mutate(doc, rng) if rng.random() < 0.7 else doc
            (repo / rel).write_text(json.dumps(changed))
        report = validate_repo(repo, api_check=botocore_check if rng.random() < 0.3 else None)
        assert "internal-error" not in {f.rule for f in report.findings}, report.findings
        for finding in report.findings:
            json.dumps(finding.as_dict())
            finding.one_line().encode("utf-8")


@pytest.mark.parametrize("content", [
    b"", b"\x00\x01\x02\xff", b"\xef\xbb\xbf{}", b"[" * 100_000, b'{"a": ' * 5000,
    b"NaN", b'{"family": NaN}', b"1e999", b'"\\ud800"', b"{}" * 3, b"\t\n",
    '{"café": "ünïcode"}'.encode("utf-16"),
])
def test_hostile_file_contents_become_findings(repo: Path, content: bytes) -> None:
    for rel in KIND_OF:
        (repo / rel).write_bytes(content)
    report = validate_repo(repo)
    assert report.errors
    assert "internal-error" not in {f.rule for f in report.findings}
    assert {f.file for f in report.errors} >= set(KIND_OF)


def test_hostile_layouts_become_findings(repo: Path, tmp_path: Path) -> None:
    (repo / "environments/staging/services/folder.json").mkdir()
    (repo / "environments/empty").mkdir()
    (repo / "taskdefs/link.json").symlink_to(repo / "taskdefs/missing.json")
    (repo / "environments/production/environment.json").unlink()
    report = validate_repo(repo)
    files = {f.file for f in report.errors}
    assert {"environments/staging/services/folder.json", "environments/empty/environment.json",
            "taskdefs/link.json", "environments/production/environment.json"} <= files
    assert "internal-error" not in {f.rule for f in report.findings}
    (tmp_path / "empty").mkdir()
    for bare in (tmp_path / "empty", tmp_path / "missing"):
        assert [f.rule for f in validate_repo(bare).errors] == ["repo-layout"]
    (tmp_path / "only-envs/environments").mkdir(parents=True)
    assert [f.rule for f in validate_repo(tmp_path / "only-envs").errors] == ["repo-layout"]


def test_typed_loaders_accept_minimal_schema_valid_documents(tmp_path: Path) -> None:
    env_doc = {"account": "123456789012", "region": "us-east-1", "cluster": "c",
               "ecr": {"repository": "app"}, "instances": {"type": "t2.medium", "count": 1},
               "loadBalancer": {"name": "elb", "listener": {
                   "protocol": "TCP", "loadBalancerPort": 1, "instanceProtocol": "TCP",
                   "instancePort": 1}, "healthCheck": {"target": "TCP:1", "interval": 5,
                                                       "unhealthyThreshold": 2,
                                                       "healthyThreshold": 2, "timeout": 2}}}
    svc_doc = {"taskDefinition": {"file": "taskdefs/t.json", "family": "t"},
               "service": {"serviceName": "s"}, "image": {"tag": "v1"},
               "release": {"smokeChecks": [{"path": "/"}]}}
    td_doc = {"family": "t", "containerDefinitions": [{"name": "a"}]}
    for kind, doc in (("environment", env_doc), ("service", svc_doc), ("taskdef", td_doc)):
        jsonschema.validate(doc, schema(kind))
    env = config.Environment.from_doc(Path("environments/x/environment.json"), env_doc)
    spec = config.ServiceSpec.from_doc("x", Path("environments/x/services/s.json"), svc_doc)
    rendered = render_taskdef(env, spec, config.TaskDefinition("taskdefs/t.json", td_doc))
    assert rendered["containerDefinitions"][0]["image"].endswith("/app:v1")
    assert spec.smoke_checks[0].method == "GET" and env.load_balancer.effective_draining == 0


def test_schema_field_names_are_the_ecs_api_names() -> None:
    from botocore.loaders import Loader
    from botocore.model import ServiceModel

    model = ServiceModel(Loader().load_service_model("ecs", "service-2"), "ecs")

    def members(shape_name: str) -> set[str]:
        return set(model.shape_for(shape_name).members)

    taskdef = schema("taskdef")
    assert set(taskdef["properties"]) - {"$schema"} <= members("RegisterTaskDefinitionRequest")
    defs = taskdef["$defs"]
    for local, api in (("containerDefinition", "ContainerDefinition"),
                       ("portMapping", "PortMapping"), ("healthCheck", "HealthCheck"),
                       ("logConfiguration", "LogConfiguration"), ("volume", "Volume"),
                       ("keyValue", "KeyValuePair"), ("secret", "Secret")):
        assert set(defs[local]["properties"]) <= members(api), local
    service = schema("service")["$defs"]["service"]["properties"]
    assert set(service) <= members("CreateServiceRequest")
    assert set(service["deploymentConfiguration"]["properties"]) <= members(
        "DeploymentConfiguration")


def test_a_repository_schema_that_differs_from_the_tool_s_is_a_warning(repo: Path) -> None:
    schema_file = repo / "schemas/service.schema.json"
    schema_file.write_text(schema_file.read_text().replace('"minimum": 0, "maximum": 100',
                                                           '"minimum": 0, "maximum": 99'))
    report = validate_repo(repo)
    assert [(f.rule, f.severity, f.file) for f in report.findings] == [
        ("schema-file", "warning", "schemas/service.schema.json")]


def test_broken_schemas_are_findings_not_crashes(repo: Path, monkeypatch) -> None:
    import release.core.schema_findings as schema_module

    monkeypatch.setattr(schema_module, "TOOL_SCHEMAS", repo / "no-tool-schemas")
    (repo / "schemas/taskdef.schema.json").write_text('{"type": 5}')
    (repo / "schemas/service.schema.json").write_text("[]")
    (repo / "schemas/environment.schema.json").unlink()
    report = validate_repo(repo)
    assert {(f.rule, f.file) for f in report.errors} == {
        ("schema-file", "schemas/taskdef.schema.json"),
        ("schema-file", "schemas/service.schema.json"),
        ("schema-file", "schemas/environment.schema.json"),
    }


def test_the_bench_repository_generator_makes_a_clean_repository(tmp_path: Path) -> None:
    import importlib.util

    spec = importlib.util.spec_from_file_location("bench_validate", PROJECT / "bench/validate.py")
    assert spec is not None and spec.loader is not None
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    bench.generate(tmp_path / "bench", 5)
    report = validate_repo(tmp_path / "bench", api_check=botocore_check)
    assert report.findings == [] and len(report.documents) == 11
