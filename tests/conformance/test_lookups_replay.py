"""Values from outside git read from answers in the shapes AWS returns (botocore Stubber).

SSM GetParameters (with InvalidParameters, up to 10 names a call), CloudFormation
DescribeStacks (Outputs; a missing stack's ValidationError) and ListExports (pages), S3
GetObject (a Terraform state; NoSuchKey). Each answer is validated against the service
model, and a test that leaves one unread fails. Every source is read once per run.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.response import StreamingBody
from botocore.stub import Stubber
from stub_clients import stubbed_client

from release.adapters.lookups import Lookups
from release.core.missing import Missing
from release.core.templates import Reference, value_of

ARN = "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/app/73e2d6bc24d8a067"
STACK_ID = "arn:aws:cloudformation:us-east-1:123456789012:stack/app-stack/1e2d3c4b"
CREATED = "2024-05-01T10:00:00Z"


@pytest.fixture
def ssm() -> Iterator[tuple[Any, Stubber]]:
    yield from stubbed_client("ssm")


@pytest.fixture
def cloudformation() -> Iterator[tuple[Any, Stubber]]:
    yield from stubbed_client("cloudformation")


@pytest.fixture
def s3() -> Iterator[tuple[Any, Stubber]]:
    yield from stubbed_client("s3")


def lookups(tmp_path: Path, **clients: Any) -> Lookups:
    return Lookups(lambda name: clients[name], tmp_path)


def parameter(name: str, value: str, kind: str = "String") -> dict[str, Any]:
    return {"Name": name, "Type": kind, "Value": value, "Version": 3,
            "LastModifiedDate": CREATED, "DataType": "text",
            "ARN": f"arn:aws:ssm:us-east-1:123456789012:parameter{name}"}


def ssm_ref(name: str, *index: int) -> Reference:
    return Reference("ssm", (name, *index))


def test_get_parameters_with_invalid_parameters_and_types(ssm, tmp_path: Path) -> None:
    client, stub = ssm
    names = ["/akka/list", "/akka/missing", "/akka/secret", "/akka/stream"]
    stub.add_response("get_parameters", {
        "Parameters": [parameter("/akka/list", "a,b,c", "StringList"),
                       parameter("/akka/secret", "AQICAHh...ciphertext", "SecureString"),
                       parameter("/akka/stream", "akka-stream")],
        "InvalidParameters": ["/akka/missing"]}, {"Names": names})
    refs = [ssm_ref("/akka/stream"), ssm_ref("/akka/list", 2), ssm_ref("/akka/missing"),
            ssm_ref("/akka/secret"), ssm_ref("/akka/list")]
    sources = lookups(tmp_path, ssm=client).fetch(refs)
    values = [value_of(r, sources, {}) for r in refs]
    assert values[0] == "akka-stream"
    assert values[1] == "c"
    assert isinstance(values[2], Missing) and "no SSM parameter /akka/missing" in values[2].why
    assert "put-parameter" in values[2].fix
    assert isinstance(values[3], Missing) and "SecureString" in values[3].why
    assert "secrets[].valueFrom" in values[3].fix and "ciphertext" not in values[3].why
    assert isinstance(values[4], Missing) and "StringList of 3" in values[4].why


def test_more_than_ten_names_are_asked_ten_at_a_time_and_once_per_run(ssm, tmp_path) -> None:
    client, stub = ssm
    names = sorted(f"/p/{i:02}" for i in range(12))
    stub.add_response("get_parameters", {"Parameters": [parameter(n, n) for n in names[:10]]},
                      {"Names": names[:10]})
    stub.add_response("get_parameters", {"Parameters": [parameter(n, n) for n in names[10:]]},
                      {"Names": names[10:]})  # no InvalidParameters: the model wants 1 or more
    reads = lookups(tmp_path, ssm=client)
    sources = reads.fetch([ssm_ref(n) for n in names])
    assert all(value_of(ssm_ref(n), sources, {}) == n for n in names)
    again = reads.fetch([ssm_ref(n) for n in reversed(names)])  # no call is queued for this
    assert value_of(ssm_ref(names[-1]), again, {}) == names[-1]


def test_a_version_selector_is_matched_to_its_answer(ssm, tmp_path: Path) -> None:
    client, stub = ssm
    answer = {**parameter("/akka/stream", "old-stream"), "Selector": ":3"}
    stub.add_response("get_parameters", {"Parameters": [answer]},
                      {"Names": ["/akka/stream:3"]})
    sources = lookups(tmp_path, ssm=client).fetch([ssm_ref("/akka/stream:3")])
    assert value_of(ssm_ref("/akka/stream:3"), sources, {}) == "old-stream"


def test_describe_stacks_outputs_once_per_stack_and_a_missing_stack(cloudformation,
                                                                    tmp_path) -> None:
    client, stub = cloudformation
    stub.add_response("describe_stacks", {"Stacks": [{
        "StackId": STACK_ID, "StackName": "app-stack", "CreationTime": CREATED,
        "StackStatus": "UPDATE_COMPLETE",
        "Outputs": [{"OutputKey": "TargetGroupArn", "OutputValue": ARN,
                     "Description": "the app's target group"},
                    {"OutputKey": "SubnetA", "OutputValue": "subnet-0a1b2c3d",
                     "ExportName": "app-stack-SubnetA"}]}]}, {"StackName": "app-stack"})
    stub.add_client_error("describe_stacks", "ValidationError",
                          "Stack with id gone-stack does not exist", 400,
                          expected_params={"StackName": "gone-stack"})
    refs = [Reference("cfn_output", ("app-stack", "TargetGroupArn")),
            Reference("cfn_output", ("app-stack", "SubnetA")),
            Reference("cfn_output", ("app-stack", "Nope")),
            Reference("cfn_output", ("gone-stack", "X"))]
    sources = lookups(tmp_path, cloudformation=client).fetch(refs)
    values = [value_of(r, sources, {}) for r in refs]
    assert values[:2] == [ARN, "subnet-0a1b2c3d"]
    assert isinstance(values[2], Missing)
    assert "no output Nope (its outputs: SubnetA, TargetGroupArn)" in values[2].why
    assert isinstance(values[3], Missing) and "gone-stack does not exist" in values[3].why


def test_list_exports_every_page_once(cloudformation, tmp_path: Path) -> None:
    client, stub = cloudformation
    stub.add_response("list_exports", {"Exports": [
        {"ExportingStackId": STACK_ID, "Name": "app-stack-SubnetA", "Value": "subnet-0a1b2c3d"}],
        "NextToken": "page-2"}, {})
    stub.add_response("list_exports", {"Exports": [
        {"ExportingStackId": STACK_ID, "Name": "ecs-service-role", "Value": "ecsServiceRole"}]},
        {"NextToken": "page-2"})
    reads = lookups(tmp_path, cloudformation=client)
    wanted = Reference("cfn_export", ("ecs-service-role",))
    assert value_of(wanted, reads.fetch([wanted]), {}) == "ecsServiceRole"
    other = Reference("cfn_export", ("app-stack-SubnetA",))
    missing = Reference("cfn_export", ("nobody",))
    sources = reads.fetch([other, missing])  # read already: no call
    assert value_of(other, sources, {}) == "subnet-0a1b2c3d"
    assert isinstance(value_of(missing, sources, {}), Missing)


STATE = {"version": 4, "terraform_version": "1.8.5", "serial": 12, "lineage": "5c1d",
         "outputs": {"vpc_id": {"value": "vpc-0abc", "type": "string"}},
         "resources": [
             {"mode": "managed", "type": "aws_lb_target_group", "name": "app",
              "provider": "provider[\"registry.terraform.io/hashicorp/aws\"]",
              "instances": [{"schema_version": 0, "attributes": {"arn": ARN, "port": 8080}}]},
             {"module": "module.net", "mode": "data", "type": "aws_subnet", "name": "a",
              "provider": "provider[\"registry.terraform.io/hashicorp/aws\"]",
              "instances": [{"index_key": 0, "schema_version": 0,
                             "attributes": {"id": "subnet-0a"}},
                            {"index_key": 1, "schema_version": 0,
                             "attributes": {"id": "subnet-0b"}}]}]}


def streaming(data: bytes) -> StreamingBody:
    return StreamingBody(io.BytesIO(data), len(data))


def test_a_terraform_state_in_s3_is_read_once(s3, tmp_path: Path) -> None:
    client, stub = s3
    body = json.dumps(STATE).encode()
    stub.add_response("get_object", {"Body": streaming(body), "ContentLength": len(body),
                                     "ETag": '"9b2cf535f27731c974343645a3985328"',
                                     "ContentType": "application/json"},
                      {"Bucket": "tf-state", "Key": "app/terraform.tfstate"})
    reads = lookups(tmp_path, s3=client)
    where = "s3://tf-state/app/terraform.tfstate"
    refs = [Reference("tfstate", ("aws_lb_target_group.app.arn",)),
            Reference("tfstate", ("module.net.data.aws_subnet.a[1].id",)),
            Reference("tfstate", ("output.vpc_id",)),
            Reference("tfstate", ("aws_lb_target_group.app.port",))]
    sources = reads.fetch(refs, where)
    assert [value_of(r, sources, {}) for r in refs] == [ARN, "subnet-0b", "vpc-0abc", "8080"]
    again = reads.fetch([Reference("tfstate", ("aws_lb_target_group.gone.arn",))], where)
    found = value_of(Reference("tfstate", ("aws_lb_target_group.gone.arn",)), again, {})
    assert isinstance(found, Missing) and where in found.why


def test_a_missing_state_object_is_a_missing_value_with_the_fix(s3, tmp_path: Path) -> None:
    client, stub = s3
    stub.add_client_error("get_object", "NoSuchKey", "The specified key does not exist.", 404,
                          expected_params={"Bucket": "tf-state", "Key": "nope.tfstate"})
    ref = Reference("tfstate", ("output.vpc_id",))
    sources = lookups(tmp_path, s3=client).fetch([ref], "s3://tf-state/nope.tfstate")
    found = value_of(ref, sources, {})
    assert isinstance(found, Missing) and "does not exist (NoSuchKey)" in found.why
    assert "/values/tfstate" in found.fix


def test_a_refused_read_is_left_to_the_aws_error_mapping(ssm, tmp_path: Path) -> None:
    import botocore.exceptions

    client, stub = ssm
    stub.add_client_error("get_parameters", "AccessDeniedException",
                          "User is not authorized to perform: ssm:GetParameters", 400,
                          expected_params={"Names": ["/akka/stream"]})
    with pytest.raises(botocore.exceptions.ClientError):
        lookups(tmp_path, ssm=client).fetch([ssm_ref("/akka/stream")])


def test_a_local_state_file_relative_to_the_repository(tmp_path: Path) -> None:
    (tmp_path / "infra").mkdir()
    (tmp_path / "infra/terraform.tfstate").write_text(json.dumps(STATE))
    reads = lookups(tmp_path)  # no client may be made
    ref = Reference("tfstate", ("output.vpc_id",))
    assert value_of(ref, reads.fetch([ref], "infra/terraform.tfstate"), {}) == "vpc-0abc"
    missing = value_of(ref, reads.fetch([ref], "infra/other.tfstate"), {})
    assert isinstance(missing, Missing) and "not a file" in missing.why
