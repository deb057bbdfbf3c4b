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
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from test_robustness import mutate
from validate_helpers import PROJECT

from release.core.findings import Finding
from release.core.schemacheck import compile_schema
from release.core.validate import validate_repo

CORPUS = PROJECT / "tests/corpus/taskdefs"
SOURCES: dict[str, dict[str, Any]] = json.loads((CORPUS / "sources.json").read_text())
DIGEST = "sha256:" + "0" * 63 + "1"

# The figures of the last full run, kept here so a change to the rules or the corpus
# that moves them shows up in review (and in the failure message: the table below).
FIGURES = {"documents": 57, "clean": 42, "ecs_refusals": 12, "sidecar_image_refusals": 5,
           "plain_text_secret_refusals": 3, "false_errors": 0}


@dataclass
class Outcome:
    """One document's findings, sorted into what ECS refuses, what our policy refuses, the rest."""

    name: str
    ecs: list[Finding] = field(default_factory=list)  # refused by ECS (or the AWS CLI/SDKs)
    sidecar: list[Finding] = field(default_factory=list)  # a third-party image on latest/no tag
    policy: list[Finding] = field(default_factory=list)  # other policy: secrets in plain text
    false: list[Finding] = field(default_factory=list)
    warnings: list[Finding] = field(default_factory=list)
    missing: list[dict[str, str]] = field(default_factory=list)  # declared, not reported


def fargate(doc: dict[str, Any]) -> bool:
    return "FARGATE" in doc.get("requiresCompatibilities", [])


def corpus_repo(root: Path, name: str, entry: dict[str, Any]) -> tuple[Path, str]:
    """A config repository with this document as its only task definition, used by one
    service that pins the containers the team builds; returns it and the taskdef's path."""
    doc = json.loads((CORPUS / name).read_text())
    env_name = "sandbox-alb" if fargate(doc) else "sandbox"
    shutil.copytree(PROJECT / "schemas", root / "schemas")
    env_doc = json.loads((PROJECT / f"environments/{env_name}/environment.json").read_text())
    for key, value in entry.get("environment", {}).items():
        env_doc[key] = {**env_doc.get(key, {}), **value}
    (root / f"environments/{env_name}/services").mkdir(parents=True)
    (root / f"environments/{env_name}/environment.json").write_text(json.dumps(env_doc))
    (root / "taskdefs").mkdir()
    rel = f"taskdefs/{name}"
    shutil.copyfile(CORPUS / name, root / rel)
    service: dict[str, Any] = {"serviceName": Path(name).stem[:255], "desiredCount": 1}
    if fargate(doc):
        service["launchType"] = "FARGATE"
    elif doc.get("requiresCompatibilities") == ["EXTERNAL"]:
        service["launchType"] = "EXTERNAL"  # ECS Anywhere: on instances of its own
    if doc.get("networkMode") == "awsvpc":
        service["networkConfiguration"] = {"awsvpcConfiguration": {
            "subnets": ["subnet-a", "subnet-b"], "securityGroups": ["sg-a"]}}
    spec = {"taskDefinition": {"file": rel, "family": doc["family"]}, "service": service,
            "images": {c: {"tag": "corpus", "digest": DIGEST} for c in entry["builds"]}}
    (root / f"environments/{env_name}/services/{Path(name).stem}.json").write_text(
        json.dumps(spec))
    return root, rel


def outcome(tmp_path: Path, name: str) -> Outcome:
    entry = SOURCES[name]
    root, rel = corpus_repo(tmp_path / Path(name).stem, name, entry)
    report = validate_repo(root)
    result = Outcome(name, warnings=report.warnings)
    declared = {"ecs": list(entry.get("ecsRefuses", [])),
                "policy": list(entry.get("policyRefuses", []))}
    doc = json.loads((CORPUS / name).read_text())
    for found in report.errors:
        kind = next((k for k, items in declared.items() for e in items
                     if (e["rule"], e["pointer"]) == (found.rule, found.pointer)), None)
        if kind is not None:
            getattr(result, kind).append(found)
            declared[kind] = [e for e in declared[kind]
                              if (e["rule"], e["pointer"]) != (found.rule, found.pointer)]
        elif sidecar_refusal(found, rel, doc, entry["builds"]):
            result.sidecar.append(found)
        else:
            result.false.append(found)
    result.missing = declared["ecs"] + declared["policy"]
    return result


def sidecar_refusal(found: Finding, rel: str, doc: dict[str, Any], builds: list[str]) -> bool:
    """A third-party sidecar on `latest` or without a tag: refused by our policy, not by ECS."""
    if found.rule != "taskdef-image" or found.file != rel:
        return False
    index = int(found.pointer.split("/")[2])
    return doc["containerDefinitions"][index]["name"] not in builds


def describe(result: Outcome) -> str:
    lines = [f"{result.name}:"]
    for label, items in (("ECS refuses", result.ecs), ("sidecar on latest", result.sidecar),
                         ("plain-text secret", result.policy), ("FALSE ERROR", result.false)):
        lines += [f"  {label}: {f.file}{f.pointer} [{f.rule}] {f.message}" for f in items]
    lines += [f"  NOT REPORTED (the manifest says it is refused): {m}" for m in result.missing]
    return "\n".join(lines)


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
        for refusal in entry.get("ecsRefuses", []) + entry.get("policyRefuses", []):
            assert refusal["rule"] and refusal["pointer"] and refusal["because"], name


def test_the_corpus_is_varied() -> None:
    """Each feature the brief names appears in at least one document."""
    text = {name: (CORPUS / name).read_text() for name in SOURCES}
    for feature in ("firelensConfiguration", "proxyConfiguration", "efsVolumeConfiguration",
                    "WINDOWS_SERVER", '"GPU"', '"FARGATE"', '"bridge"', '"secrets"',
                    '"healthCheck"', '"dependsOn"', '"ulimits"', '"linuxParameters"',
                    "dockerVolumeConfiguration", "runtimePlatform", "ephemeralStorage",
                    "datadog", "otel"):
        assert any(feature in t for t in text.values()), feature


# ----------------------------------------------------------------------------- validation


@pytest.mark.parametrize("name", sorted(SOURCES))
def test_a_real_document_gets_no_false_error(tmp_path: Path, name: str) -> None:
    result = outcome(tmp_path, name)
    assert not result.false and not result.missing, describe(result)
    assert "internal-error" not in {f.rule for f in result.warnings}


def test_the_corpus_figures(tmp_path: Path) -> None:
    results = [outcome(tmp_path, name) for name in sorted(SOURCES)]
    figures = {"documents": len(results),
               "clean": sum(1 for r in results if not (r.ecs or r.sidecar or r.policy or r.false)),
               "ecs_refusals": sum(len(r.ecs) for r in results),
               "sidecar_image_refusals": sum(len(r.sidecar) for r in results),
               "plain_text_secret_refusals": sum(len(r.policy) for r in results),
               "false_errors": sum(len(r.false) for r in results)}
    table = "\n".join(describe(r) for r in results if r.ecs or r.sidecar or r.policy or r.false)
    print(f"\n{figures}\n{table}")
    assert figures == FIGURES, f"{figures}\n{table}"


def test_a_null_is_reported_with_the_fix_to_leave_the_key_out(tmp_path: Path) -> None:
    # taskdefs written by hand or by tools carry "proxyConfiguration": null; boto3 refuses it
    result = outcome(tmp_path, "gha-credit-cashflow-ephemeral-ulimits.json")
    assert [f.pointer for f in result.ecs] == ["/inferenceAccelerators", "/proxyConfiguration"]
    assert all(f.fix.startswith("leave the key out") for f in result.ecs)


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
