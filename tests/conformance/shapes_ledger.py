"""A release ledger that is empty and grants every lock, for the replay tests.

The replay tests are about what ECS, ELB and ECR answer; the lock and the ledger
(release/adapters/ledger.py) are tested against DynamoDB on the sandbox and in their own
shape tests. Here every DynamoDB call the tool makes is answered, through botocore's
Stubber (so each request is still checked against the DynamoDB model), with the
smallest answer real DynamoDB gives: no item, an accepted write, an empty query.
"""

from __future__ import annotations

from typing import Any

from botocore import xform_name
from botocore.stub import Stubber

EMPTY_ANSWERS: dict[str, dict[str, Any]] = {
    "GetItem": {},
    "PutItem": {},
    "UpdateItem": {},
    "DeleteItem": {},
    "Query": {"Items": [], "Count": 0, "ScannedCount": 0},
}


def quiet_ledger(aws: Any) -> Stubber:
    """Answer `aws.dynamodb` as an empty ledger table would; returns the active Stubber."""
    client = aws.dynamodb
    stubber = Stubber(client)
    calls: list[str] = []

    def answer(model: Any, **_: Any) -> None:
        calls.append(model.name)
        stubber.add_response(xform_name(model.name), EMPTY_ANSWERS[model.name])

    client.meta.events.register("provide-client-params.dynamodb", answer)
    stubber.activate()
    stubber.calls = calls  # type: ignore[attr-defined]
    return stubber
