"""Real task definitions from public sources validate without false errors.

tests/corpus/taskdefs/ holds task definitions as they were published (AWS developer
guide and CLI examples, FireLens and App Mesh samples, GitHub Actions and CodeDeploy
files of public repositories); sources.json says where each comes from, what it
exercises and which containers the team builds (what a service pins). Each one is
validated as a task definition of a temporary config repository, used by a minimal
service that pins exactly those containers, in a copy of the sandbox environment
(EC2) or the sandbox-alb one (Fargate).

The only errors allowed are the ones ECS itself gives (or the AWS CLI and SDKs,
before ECS sees the request), each named in the manifest (`ecsRefuses`) with the
documentation sentence that says so, and what our documented policy refuses: a
third-party sidecar on `latest` or without a tag (`taskdef-image`, found by the
test), and a credential in plain text (`policyRefuses` in the manifest). Each kind
is counted and listed separately so the figures stay visible.
"""

from __future__ import annotations

import copy
import json
import random
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from corpus_helpers import (
    DIGEST,
    Outcome,
    assert_figures,
    assert_no_false_error,
    assert_varied,
    check_declarations,
    one_service_repo,
    sort_findings,
)
from test_robustness import mutate
from validate_helpers import PROJECT

from release.core.findings import Finding
from release.core.schemacheck import compile_schema
from release.core.validate import validate_repo

CORPUS = PROJECT / "tests/corpus/taskdefs"
SOURCES: dict[str, dict[str, Any]] = json.loads((CORPUS / "sources.json").read_text())
LABELS = {"ecsRefuses": "ECS refuses", "sidecar": "sidecar on latest",
          "policyRefuses": "plain-text secret"}

# The figures of the last full run, kept here so a change to the rules or the corpus
# that moves them shows up in review (and in the failure message: the table below).
FIGURES = {"documents": 57, "clean": 42, "ecs_refusals": 12, "sidecar_image_refusals": 5,
           "plain_text_secret_refusals": 3, "false_errors": 0}


def fargate(doc: dict[str, Any]) -> bool:
    return "FARGATE" in doc.get("requiresCompatibilities", [])


def corpus_repo(root: Path, name: str, entry: dict[str, Any]) -> tuple[Path, str]:
    """A config repository with this document as its only task definition, used by one
    service that pins the containers the team builds; returns it and the taskdef's path."""
    doc = json.loads((CORPUS / name).read_text())
    service: dict[str, Any] = {"serviceName": Path(name).stem[:255], "desiredCount": 1}
    if fargate(doc):
        service["launchType"] = "FARGATE"
    elif doc.get("requiresCompatibilities") == ["EXTERNAL"]:
        service["launchType"] = "EXTERNAL"  # ECS Anywhere: on instances of its own
    if doc.get("networkMode") == "awsvpc":
        service["networkConfiguration"] = {"awsvpcConfiguration": {
            "subnets": ["subnet-a", "subnet-b"], "securityGroups": ["sg-a"]}}
    rel = f"taskdefs/{name}"
    spec = {"taskDefinition": {"file": rel, "family": doc["family"]}, "service": service,
            "images": {c: {"tag": "corpus", "digest": DIGEST} for c in entry["builds"]}}
    root = one_service_repo(root, "sandbox-alb" if fargate(doc) else "sandbox",
                            entry.get("environment", {}), (rel, (CORPUS / name).read_bytes()),
                            Path(name).stem, spec)
    return root, rel


def outcome(tmp_path: Path, name: str) -> Outcome:
    entry = SOURCES[name]
    root, rel = corpus_repo(tmp_path / Path(name).stem, name, entry)
    report = validate_repo(root)
    doc = json.loads((CORPUS / name).read_text())
    return sort_findings(name, report.errors, report.warnings, entry, {
        "sidecar": lambda found: sidecar_refusal(found, rel, doc, entry["builds"])})


def sidecar_refusal(found: Finding, rel: str, doc: dict[str, Any], builds: list[str]) -> bool:
    """A third-party sidecar on `latest` or without a tag: refused by our policy, not by ECS."""
    if found.rule != "taskdef-image" or found.file != rel:
        return False
    index = int(found.pointer.split("/")[2])
    return doc["containerDefinitions"][index]["name"] not in builds


# ----------------------------------------------------------------------------- the manifest


def test_the_corpus_has_forty_documents_each_described_in_the_manifest() -> None:
    files = {p.name for p in CORPUS.glob("*.json")} - {"sources.json"}
    assert files == set(SOURCES)
    assert len(files) >= 40
    for name, entry in SOURCES.items():
        doc = json.loads((CORPUS / name).read_text())
        names = [c["name"] for c in doc["containerDefinitions"]]
        assert entry["source"].startswith("https://"), name
        assert entry["path"] and entry["exercises"], name
        assert entry["builds"] and set(entry["builds"]) <= set(names), name
        check_declarations(name, entry)


def test_the_corpus_is_varied() -> None:
    """Each feature the brief names appears in at least one document."""
    assert_varied({name: (CORPUS / name).read_text() for name in SOURCES}, (
        "firelensConfiguration", "proxyConfiguration", "efsVolumeConfiguration",
        "WINDOWS_SERVER", '"GPU"', '"FARGATE"', '"bridge"', '"secrets"', '"healthCheck"',
        '"dependsOn"', '"ulimits"', '"linuxParameters"', "dockerVolumeConfiguration",
        "runtimePlatform", "ephemeralStorage", "datadog", "otel"))


# ----------------------------------------------------------------------------- validation


@pytest.mark.parametrize("name", sorted(SOURCES))
def test_a_real_document_gets_no_false_error(tmp_path: Path, name: str) -> None:
    result = outcome(tmp_path, name)
    assert_no_false_error(result, LABELS)


def test_the_corpus_figures(tmp_path: Path) -> None:
    results = [outcome(tmp_path, name) for name in sorted(SOURCES)]
    assert_figures(results, {"ecs_refusals": "ecsRefuses", "sidecar_image_refusals": "sidecar",
                             "plain_text_secret_refusals": "policyRefuses"}, LABELS, FIGURES)


def test_a_null_is_reported_with_the_fix_to_leave_the_key_out(tmp_path: Path) -> None:
    # taskdefs written by hand or by tools carry "proxyConfiguration": null; boto3 refuses it
    result = outcome(tmp_path, "gha-credit-cashflow-ephemeral-ulimits.json")
    ecs = result.of("ecsRefuses")
    assert [f.pointer for f in ecs] == ["/inferenceAccelerators", "/proxyConfiguration"]
    assert all(f.fix.startswith("leave the key out") for f in ecs)


# ----------------------------------------------------------------------------- the fast checker


def test_the_fast_schema_check_agrees_with_jsonschema_on_the_corpus() -> None:
    schema = json.loads((PROJECT / "schemas/taskdef.schema.json").read_text())
    fast, slow = compile_schema(schema), jsonschema.Draft202012Validator(schema)
    rng = random.Random("taskdef-corpus")
    for name in sorted(SOURCES):
        doc = json.loads((CORPUS / name).read_text())
        assert fast(doc) == slow.is_valid(doc), name
        for _ in range(30):
            changed = mutate(copy.deepcopy(doc), rng)
            assert fast(changed) == slow.is_valid(changed), (name, json.dumps(changed)[:300])
