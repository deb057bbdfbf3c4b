"""Validation of documents that hold values from outside git (templates), offline.

A template is an opaque string: the schema's patterns and the cross-document rules that
compare names do not judge its text. What can never work is a finding with the pointer and
the fix: a malformed template, an unknown function, a template in a member that is read
before anything is resolved, a tfstate value without /values/tfstate, a template where the
schema wants a number, and our functions in a task definition (not filled in).
"""

from __future__ import annotations

from pathlib import Path

from validate_helpers import STAGING_ENV, STAGING_SERVICE, TASKDEF, edit

from release.core.validate import validate_repo


def findings(repo: Path) -> list[tuple[str, str, str, str]]:
    report = validate_repo(repo, ["staging"])
    return [(f.severity, f.rule, f.file, f.pointer) for f in report.findings]


def test_templates_stand_in_for_ids_arns_and_names_without_findings(repo: Path) -> None:
    def service(doc: dict) -> None:
        svc = doc["service"]
        svc["role"] = "{{ cfn_export `ecs-service-role` }}"
        svc["loadBalancers"][0]["loadBalancerName"] = "{{ cfn_output `net` `ElbName` }}"
        svc["cluster"] = "{{ must_env `CLUSTER` }}"
        env = doc["overrides"]["containers"]["akka-firehose"]["environment"]
        env["FIREHOSE_STREAM"] = "{{ ssm `/akka/stream` }}"
        env["VPC"] = "{{ tfstate `module.net.aws_vpc.main.id` }}"
        doc["overrides"]["containers"]["akka-firehose"]["secrets"] = {
            "DB_URL": "{{ ssm `/akka/db-secret-arn` }}"}

    def environment(doc: dict) -> None:
        doc["values"] = {"tfstate": "s3://akka-tfstate/staging/terraform.tfstate"}
        doc["loadBalancer"]["subnets"] = ["{{ tfstate `aws_subnet.public[0].id` }}",
                                          "{{ tfstate `aws_subnet.public[\"b\"].id` }}"]
        doc["loadBalancer"]["securityGroups"] = ["{{ cfn_output `net` `LbSecurityGroup` }}"]
        doc["iam"]["serviceRole"] = "{{ ssm `/iam/service-role` }}"

    edit(repo, STAGING_SERVICE, service)
    edit(repo, STAGING_ENV, environment)
    edit(repo, TASKDEF, lambda d: d.update(executionRoleArn="arn:aws:iam::123456789012:role/x"))
    assert [f for f in findings(repo) if f[0] == "error"] == []


def test_an_unknown_function_or_malformed_template_is_a_finding_with_the_fix(repo) -> None:
    edit(repo, STAGING_SERVICE, lambda d: d["service"].update(
        role="{{ ssm_secure `/x` }}", placementConstraints=[
            {"type": "memberOf", "expression": "attribute:x == {{ ssm `/a`"}]))
    report = validate_repo(repo, ["staging"])
    by_pointer = {f.pointer: f for f in report.errors}
    unknown = by_pointer["/service/role"]
    assert unknown.rule == "template-syntax" and "unknown function 'ssm_secure'" in unknown.message
    assert "ssm, cfn_output, cfn_export, tfstate, env, must_env" in unknown.fix
    assert by_pointer["/service/placementConstraints/0/expression"].rule == "template-syntax"
    assert unknown.line is not None  # located in the file


def test_members_read_before_resolution_take_no_template(repo: Path) -> None:
    edit(repo, STAGING_SERVICE, lambda d: d["service"].update(
        serviceName="{{ env `NAME` `akka` }}"))
    edit(repo, STAGING_ENV, lambda d: d.update(region="{{ ssm `/region` }}"))
    found = findings(repo)
    assert ("error", "template-place", STAGING_SERVICE, "/service/serviceName") in found
    assert ("error", "template-place", STAGING_ENV, "/region") in found


def test_a_literal_double_brace_is_allowed_anywhere(repo: Path) -> None:
    edit(repo, STAGING_SERVICE, lambda d: d["overrides"]["containers"]["akka-firehose"][
        "environment"].update(FORMAT='{{ "{{" }}.Name}}'))
    assert [f for f in findings(repo) if f[0] == "error"] == []


def test_tfstate_needs_the_environments_state(repo: Path) -> None:
    edit(repo, STAGING_SERVICE, lambda d: d["overrides"]["containers"]["akka-firehose"][
        "environment"].update(VPC="{{ tfstate `aws_vpc.main.id` }}"))
    found = validate_repo(repo, ["staging"]).errors
    assert [(f.rule, f.pointer) for f in found] == [
        ("template-source", "/overrides/containers/akka-firehose/environment/VPC")]
    assert '"values": {"tfstate"' in found[0].fix


def test_a_template_where_the_schema_wants_a_number_is_a_type_error(repo: Path) -> None:
    edit(repo, STAGING_SERVICE, lambda d: d["service"].update(
        desiredCount="{{ ssm `/akka/count` }}"))
    assert ("error", "schema-type", STAGING_SERVICE, "/service/desiredCount") in findings(repo)


def test_a_pattern_still_judges_literal_text_in_a_templated_document(repo: Path) -> None:
    def environment(doc: dict) -> None:
        doc["iam"]["serviceRole"] = "{{ ssm `/iam/service-role` }}"
        doc["values"] = {"tfstate": "s3://Bad Bucket/key"}

    edit(repo, STAGING_ENV, environment)
    assert ("error", "schema-pattern", STAGING_ENV, "/values/tfstate") in findings(repo)


def test_our_functions_in_a_task_definition_are_named_not_resolved(repo: Path) -> None:
    def taskdef(doc: dict) -> None:
        doc["executionRoleArn"] = "{{ tfstate `aws_iam_role.exec.arn` }}"
        doc["containerDefinitions"][0]["command"] = ["sh", "-c", 'echo {{ env "HOME" }}']

    edit(repo, TASKDEF, taskdef)
    found = findings(repo)
    assert ("error", "template-place", TASKDEF, "/executionRoleArn") in found
    assert ("warning", "template-place", TASKDEF, "/containerDefinitions/0/command/2") in found
