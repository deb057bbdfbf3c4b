"""The ledger and the lease read DynamoDB's answers in the shapes real AWS returns
(botocore's Stubber validates every stubbed response and the requests against the
DynamoDB model)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import ANY, Stubber

from release.adapters import lease as leasing
from release.adapters import ledger
from release.core import lease as leases
from release.core import records
from release.core.config import Environment
from release.core.documents import read_json

PROJECT = Path(__file__).resolve().parents[2]
PK = "sandbox#akka-firehose-service"


@pytest.fixture
def stubbed() -> Any:
    client = boto3.client("dynamodb", region_name="us-east-1", aws_access_key_id="x",
                          aws_secret_access_key="x")
    path = PROJECT / "environments" / "sandbox" / "environment.json"
    env = Environment.from_doc(path, read_json(path), "sandbox")
    with Stubber(client) as stub:
        yield ledger.Ledger(env, client), stub
        stub.assert_no_pending_responses()


def locks(stubbed: Any) -> leasing.LeaseTable:
    """The lease calls on the same stubbed table (release/adapters/lease.py)."""
    table, _ = stubbed
    return leasing.LeaseTable(table.env, table.client)


def lease_item(owner: str = "abc", expires: str = "1700000300.5") -> dict[str, Any]:
    return {"pk": {"S": PK}, "sk": {"S": "lock"}, "owner": {"S": owner},
            "holder": {"S": "jenkins@ci-7"}, "host": {"S": "ci-7"}, "pid": {"N": "4711"},
            "command": {"S": "release deploy"}, "build": {"S": "jenkins-akka-42"},
            "since": {"N": "1700000000"}, "expires_at": {"N": expires}}


def test_a_lease_is_read_from_get_item(stubbed) -> None:
    table, stub = locks(stubbed), stubbed[1]
    stub.add_response("get_item", {"Item": lease_item()},
                      {"TableName": "release-ledger", "ConsistentRead": True,
                       "Key": {"pk": {"S": PK}, "sk": {"S": "lock"}}})
    lease = table.read_lease("akka-firehose-service")
    assert (lease.holder, lease.pid, lease.build, lease.expires) == (
        "jenkins@ci-7", 4711, "jenkins-akka-42", 1700000300.5)
    stub.add_response("get_item", {}, {"TableName": "release-ledger", "ConsistentRead": True,
                                       "Key": ANY})
    assert table.read_lease("akka-firehose-service") is None


def test_a_refused_conditional_write_names_the_holder_from_the_error(stubbed) -> None:
    table, stub = locks(stubbed), stubbed[1]
    stub.add_client_error("put_item", "ConditionalCheckFailedException",
                          "The conditional request failed",
                          modeled_fields={"message": "The conditional request failed",
                                          "Item": lease_item(owner="theirs")})
    mine = leases.Lease("mine", "me@here", "here", 1, "release deploy", "", 0, 300)
    with pytest.raises(leasing.LeaseConflict) as conflict:
        table.put_lease("akka-firehose-service", mine, None, 10.0)
    assert conflict.value.current.owner == "theirs"


def test_taking_over_returns_the_lease_it_replaced(stubbed) -> None:
    table, stub = locks(stubbed), stubbed[1]
    stub.add_response("put_item", {"Attributes": lease_item(expires="5")})
    mine = leases.Lease("mine", "me@here", "here", 1, "release deploy", "", 0, 300)
    assert table.put_lease("akka-firehose-service", mine, None, 10.0).expires == 5.0


def test_entries_are_read_newest_first_across_pages(stubbed) -> None:
    table, stub = stubbed

    def item(at: str, outcome: str) -> dict[str, Any]:
        return {"pk": {"S": PK}, "sk": {"S": f"record#{at}#1"}, "id": {"S": f"{at}#1"},
                "kind": {"S": "release"}, "env": {"S": "sandbox"},
                "service": {"S": "akka-firehose-service"}, "outcome": {"S": outcome},
                "at": {"S": at[:19] + "Z"}}

    stub.add_response("query", {"Items": [item("2026-01-02T00:00:00.000Z", "failed")],
                                "Count": 1, "ScannedCount": 1,
                                "LastEvaluatedKey": {"pk": {"S": PK},
                                                     "sk": {"S": "record#x"}}})
    stub.add_response("query", {"Items": [item("2026-01-01T00:00:00.000Z", "completed")],
                                "Count": 1, "ScannedCount": 1})
    found = table.entries("akka-firehose-service")
    assert [(e.at, e.outcome) for e in found] == [
        ("2026-01-02T00:00:00Z", records.FAILED), ("2026-01-01T00:00:00Z", records.COMPLETED)]


def test_a_closed_entry_is_never_updated(stubbed) -> None:
    table, stub = stubbed
    stub.add_client_error("update_item", "ConditionalCheckFailedException", "failed")
    entry = records.Entry(id="2026-01-01T00:00:00.000Z#1", kind="release", env="sandbox",
                          service="akka-firehose-service")
    assert table.update(entry, outcome="unknown", reason="x") is False
