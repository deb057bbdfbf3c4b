"""Real service definitions from public sources validate without false errors.

tests/corpus/services/ holds service definitions as they were published: ecspresso's
ecs-service-def.json files (DescribeServices-shaped), the AWS CLI's create-service
examples, the ECS developer guide's tutorials (Service Connect, Cloud Map, CodeDeploy
blue/green, VPC Lattice, canary) and CreateService JSON files of public repositories.
sources.json says where each comes from, what it exercises, the conversion the test
applies (tests/validate/service_corpus.py: ecspresso's own reading of its files, and
leaving out the revision the release supplies) and the containers, ports, port names and
volumes the service names, from which the test writes the task definition it runs.

The only errors allowed are the ones ECS itself gives (or the SDKs, before ECS sees the
request), each named in the manifest (`ecsRefuses`) with the documentation sentence that
says so, and our documented policy refusals (`policyRefuses`: a CODE_DEPLOY or EXTERNAL
deployment controller, docs/user-guide.md "Every CreateService member"; ecspresso's
`tfstatef`, which "Values from outside git" says is not supported). ecspresso documents
read values from outside git (`{{ ssm ... }}`, `{{ tfstate ... }}`, `{{ must_env ... }}`,
`{{ cfn_output ... }}`): validation takes each as an opaque string of the right type, with
the environment naming the Terraform state the document's ecspresso config reads. Each
kind is counted and listed separately.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from corpus_helpers import (
    Outcome,
    assert_figures,
    assert_no_false_error,
    assert_varied,
    check_declarations,
    sort_findings,
)
from service_corpus import (
    CORPUS,
    CREATE_SERVICE,
    ECSPRESSO,
    SOURCES,
    convert,
    corpus_repo,
    references,
)

from release.adapters.apicheck import api_problems
from release.core.validate import validate_repo

LABELS = {"ecsRefuses": "ECS refuses", "policyRefuses": "policy refuses"}

# The figures of the last full run, kept here so a change to the rules or the corpus
# that moves them shows up in review (and in the failure message: the table below).
FIGURES = {"documents": 39, "clean": 29, "ecs_refusals": 4, "policy_refusals": 6,
           "false_errors": 0}


def outcome(tmp_path: Path, name: str) -> Outcome:
    root, _, _ = corpus_repo(tmp_path / Path(name).stem, name)
    report = validate_repo(root)
    return sort_findings(name, report.errors, report.warnings, SOURCES[name])


# ----------------------------------------------------------------------------- the manifest


def test_the_corpus_has_twenty_five_documents_each_described_in_the_manifest() -> None:
    files = {p.name for p in CORPUS.glob("*.json")} - {"sources.json"}
    assert files == set(SOURCES)
    assert len(files) >= 25
    for name, entry in SOURCES.items():
        assert entry["source"].startswith("https://"), name
        assert entry["path"] and entry["exercises"], name
        assert entry["shape"] in (ECSPRESSO, CREATE_SERVICE), name
        assert "commit" in entry, name  # null for a documentation page
        check_declarations(name, entry)


def test_the_manifest_lists_the_conversions_the_test_applies() -> None:
    """What the test changes in a document, it says, document by document."""
    for name, entry in SOURCES.items():
        _, applied = convert(name)
        assert applied == entry["conversion"], (name, applied)


def test_the_manifest_names_the_containers_ports_and_volumes_the_service_refers_to() -> None:
    for name, entry in SOURCES.items():
        service, _ = convert(name)
        assert references(service) == {key: entry[key] for key in
                                       ("containers", "portNames", "volumes")}, name


def test_the_corpus_is_varied() -> None:
    """Each feature the corpus is meant to cover appears in at least one document."""
    assert_varied({name: (CORPUS / name).read_text() for name in SOURCES}, (
        '"FARGATE_SPOT"', '"capacityProviderStrategy"', "serviceConnectConfiguration",
        '"serviceRegistries": [\n', "volumeConfigurations", "availabilityZoneRebalancing",
        "vpcLatticeConfigurations", "advancedConfiguration", '"BLUE_GREEN"', '"CANARY"',
        "deploymentCircuitBreaker", '"alarmNames"', '"placementStrategy": [\n', '"DAEMON"',
        "loadBalancerName", '"EC2"', '"CODE_DEPLOY"', '"EXTERNAL"', "lifecycleHooks",
        "{{ ssm", "{{ tfstate", "{{ must_env", "{{ cfn_output"))


# ----------------------------------------------------------------------------- validation


@pytest.mark.parametrize("name", sorted(SOURCES))
def test_a_real_service_definition_gets_no_false_error(tmp_path: Path, name: str) -> None:
    result = outcome(tmp_path, name)
    assert_no_false_error(result, LABELS)


def test_the_corpus_figures(tmp_path: Path) -> None:
    results = [outcome(tmp_path, name) for name in sorted(SOURCES)]
    assert_figures(results, {"ecs_refusals": "ecsRefuses", "policy_refusals": "policyRefuses"},
                   LABELS, FIGURES)


def test_botocore_refuses_exactly_the_documents_our_schema_refuses() -> None:
    """The SDK's own parameter validation (what boto3 refuses before sending) as a second
    opinion: a converted document it refuses is one the manifest says the SDK refuses
    (a schema-* finding), and every other one passes it."""
    for name, entry in SOURCES.items():
        service, _ = convert(name)
        problems = api_problems("CreateService", {**service, "taskDefinition": "corpus:1"})
        declared = [e for e in entry.get("ecsRefuses", []) if e["rule"].startswith("schema-")]
        assert bool(problems) == bool(declared), (name, problems)


def test_the_policy_refusals_are_the_controllers_and_tfstatef() -> None:
    for name, entry in SOURCES.items():
        service, _ = convert(name)
        controller = (service.get("deploymentController") or {}).get("type", "ECS")
        refused = [(e["rule"], e["pointer"]) for e in entry.get("policyRefuses", [])]
        wanted = [] if controller == "ECS" else [
            ("service-controller", "/service/deploymentController/type")]
        wanted += [("template-syntax", f"/service{pointer}") for pointer, value in _strings(service)
                   if "{{ tfstatef" in value]
        assert refused == wanted, name


def _strings(doc: Any, where: str = "") -> list[tuple[str, str]]:
    """(pointer, value) of every string in a document."""
    if isinstance(doc, dict):
        return [s for key, value in doc.items() for s in _strings(value, f"{where}/{key}")]
    if isinstance(doc, list):
        return [s for i, value in enumerate(doc) for s in _strings(value, f"{where}/{i}")]
    return [(where, doc)] if isinstance(doc, str) else []


def test_template_values_are_opaque_strings_and_tfstate_reads_the_configs_state() -> None:
    """Every ecspresso document that holds a template validates with it; those that read
    Terraform state name it as their ecspresso config does."""
    templated = [n for n in SOURCES if "{{" in (CORPUS / n).read_text()]
    assert len(templated) >= 8
    for name in templated:
        assert SOURCES[name].get("tfstate") or "{{ tfstate" not in (CORPUS / name).read_text()


def test_ecspresso_reads_member_names_as_go_does(tmp_path: Path) -> None:
    # "alarmnames" is alarmNames to Go's encoding/json, so ecspresso sends it; the same
    # document as the AWS CLI reads it would be refused (an unknown member)
    service, applied = convert("ecspresso-ijin-parallel-alarmnames.json")
    assert service["deploymentConfiguration"]["alarms"]["alarmNames"] == []
    assert applied[0].startswith("member name matched case-insensitively")
    assert outcome(tmp_path, "ecspresso-ijin-parallel-alarmnames.json").clean


def test_an_ecspresso_null_and_empty_launch_type_are_left_out() -> None:
    service, _ = convert("ecspresso-mtkn1-cloud-bot.json")
    assert "securityGroups" not in service["networkConfiguration"]["awsvpcConfiguration"]
    service, _ = convert("ecspresso-sumiyae-learning.json")
    assert "launchType" not in service and service["capacityProviderStrategy"]


@pytest.mark.parametrize("name", sorted(n for n, e in SOURCES.items() if e["shape"] == ECSPRESSO
                                         and e["conversion"][:-1]))
def test_an_ecspresso_document_as_found_is_told_what_to_leave_out(tmp_path: Path,
                                                                  name: str) -> None:
    """Pasted as found, each member the conversion changes is an error whose fix says what
    to do: leave out what DescribeServices reports, a null, an empty enum; rename a member
    written in another case."""
    root, rel, _ = corpus_repo(tmp_path / "as-found", name, as_found=True)
    converted = {(f.rule, f.pointer) for f in outcome(tmp_path, name).kinds["ecsRefuses"]}
    errors = [f for f in validate_repo(root).errors if (f.rule, f.pointer) not in converted]
    changed = {re.sub(r".*: (/\S+)( → .*)?$", r"\1", line) for line in SOURCES[name]["conversion"]
               if ": /" in line}
    changed |= {f"/{key.strip()}" for line in SOURCES[name]["conversion"]
                if line.startswith("DescribeServices-only") for key in
                line.split(": ", 1)[1].split(",")}
    assert changed <= {f.pointer.removeprefix("/service") for f in errors}, errors
    for found in errors:
        where = found.pointer.removeprefix("/service")
        if found.rule == "schema-required":  # the member a renamed one stands for
            assert any(c.startswith(f"{where}/") for c in changed), found
        else:
            assert where in changed and found.fix.startswith(("leave", "rename it to")), found


def _doc(name: str) -> dict[str, Any]:
    return json.loads((CORPUS / name).read_text())


def test_documents_are_kept_as_found() -> None:
    """The corpus files are the published documents (the conversions are the test's): an
    ecspresso document still carries its DescribeServices-only members."""
    assert "pendingCount" in _doc("ecspresso-hyt-sasaki-alb.json")
    assert _doc("ecspresso-sumiyae-learning.json")["launchType"] == ""
    assert "taskDefinition" in _doc("awscli-create-service-elb.json")
