"""The release ledger: append-only entries in one DynamoDB table (the lease shares it).

Why DynamoDB: it is what AWS users already trust for this (Terraform's S3
backend locks its state with a DynamoDB item written under a condition), it is
in the account the releases run in, it answers every taker the same way
whatever machine it runs on, and its conditional writes make "take the lock
unless someone holds it" and "add a record, never replace one" single calls.

One table, one partition per service (`pk` = `<env>#<service>`):

    sk = "lock"                        the lease (release/adapters/lease.py), with the TTL attribute
    sk = "record#<ISO time ms>#<id>"   one ledger entry per release, restore, rollback

Entries are created with `attribute_not_exists(sk)` and changed only while
`outcome = in-progress`: once closed, an entry is never rewritten. This module
is the table's calls only; which entries a run opens and how they close is the
run's (release/engine/hold.py, with the pure decisions in release/core/entries.py).
"""

from __future__ import annotations

import contextlib
import time
import uuid
from collections.abc import Iterator
from typing import Any

from release.core import records
from release.core.config import Environment
from release.core.errors import InvalidInput

DEFAULT_TABLE = "release-ledger"
RECORD_PREFIX = "record#"
TTL_ATTRIBUTE = "expires_at"  # the lease's expiry; DynamoDB's TTL deletes an expired lease


def table_name(env: Environment) -> str:
    """environment.json's `releaseLedger.table`, else `release-ledger` (one per account)."""
    return str((env.doc.get("releaseLedger") or {}).get("table") or DEFAULT_TABLE)


def table_definition(name: str) -> dict[str, Any]:
    """CreateTable's input: string keys pk/sk, on-demand capacity (a few writes per release)."""
    return {"TableName": name,
            "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"},
                          {"AttributeName": "sk", "KeyType": "RANGE"}],
            "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"},
                                     {"AttributeName": "sk", "AttributeType": "S"}],
            "BillingMode": "PAY_PER_REQUEST"}


def ttl_specification(name: str) -> dict[str, Any]:
    """UpdateTimeToLive's input: expired leases are deleted by DynamoDB in time."""
    return {"TableName": name,
            "TimeToLiveSpecification": {"Enabled": True, "AttributeName": TTL_ATTRIBUTE}}


def partition(env_name: str, service: str) -> str:
    return f"{env_name}#{service}"


# ------------------------------------------------------------------------ item encoding


def encode(values: dict[str, Any], types: dict[str, str] | None = None) -> dict[str, Any]:
    """Attribute values; empty strings are left out (DynamoDB keys refuse them)."""
    item: dict[str, Any] = {}
    for name, value in values.items():
        kind = (types or {}).get(name, "S")
        if kind == "N":
            item[name] = {"N": repr(float(value)) if isinstance(value, float) else str(value)}
        elif value not in (None, ""):
            item[name] = {"S": str(value)}
    return item


def decode(item: dict[str, Any]) -> dict[str, Any]:
    return {k: (float(v["N"]) if "N" in v else v.get("S", "")) for k, v in item.items()}


def _entry_item(pk: str, entry: records.Entry) -> dict[str, Any]:
    return encode({"pk": pk, "sk": RECORD_PREFIX + entry.id, **entry.as_dict()})


def _entry_of(item: dict[str, Any]) -> records.Entry:
    values = decode(item)
    known = records.Entry.__dataclass_fields__
    return records.Entry(**{k: str(v) for k, v in values.items() if k in known})


# --------------------------------------------------------------------------- the table


def error_code(exc: BaseException) -> str:
    response = getattr(exc, "response", None) or {}
    return str(response.get("Error", {}).get("Code", ""))


class Ledger:
    """The entries of one environment's table: added, changed while in progress, read; no
    decisions (release/core/entries.py decides how an entry ends)."""

    def __init__(self, env: Environment, client: Any) -> None:
        self.env = env
        self.client = client
        self.table = table_name(env)

    def _pk(self, service: str) -> str:
        return partition(self.env.name, service)

    def add(self, entry: records.Entry) -> None:
        """A new entry; never replaces one (the id is unique, and the condition says so)."""
        self.client.put_item(TableName=self.table, Item=_entry_item(self._pk(entry.service),
                                                                    entry),
                             ConditionExpression="attribute_not_exists(sk)")

    def update(self, entry: records.Entry, **changes: str) -> bool:
        """Change an entry that is still in progress; False if it was closed meanwhile."""
        names = {f"#{k}": k for k in changes}
        values = {f":{k}": {"S": v} for k, v in changes.items() if v}
        sets = [f"#{k} = :{k}" for k, v in changes.items() if v]
        removes = [f"#{k}" for k, v in changes.items() if not v]
        expression = (("SET " + ", ".join(sets)) if sets else "") + (
            (" REMOVE " + ", ".join(removes)) if removes else "")
        try:
            self.client.update_item(
                TableName=self.table,
                Key=encode({"pk": self._pk(entry.service), "sk": RECORD_PREFIX + entry.id}),
                UpdateExpression=expression.strip(), ConditionExpression="#outcome = :open",
                ExpressionAttributeNames={**names, "#outcome": "outcome"},
                ExpressionAttributeValues={**values, ":open": {"S": records.IN_PROGRESS}})
        except Exception as exc:
            if error_code(exc) == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def entries(self, service: str, limit: int | None = None) -> list[records.Entry]:
        """The service's entries, newest first."""
        found: list[records.Entry] = []
        params: dict[str, Any] = {
            "TableName": self.table, "ScanIndexForward": False,
            "KeyConditionExpression": "pk = :pk AND begins_with(sk, :records)",
            "ExpressionAttributeValues": {":pk": {"S": self._pk(service)},
                                          ":records": {"S": RECORD_PREFIX}}}
        while True:
            if limit is not None:
                params["Limit"] = limit - len(found)
            response = self.client.query(**params)
            found += [_entry_of(item) for item in response.get("Items", [])]
            params["ExclusiveStartKey"] = response.get("LastEvaluatedKey")
            if not params["ExclusiveStartKey"] or (limit is not None and len(found) >= limit):
                return found


def connect(env: Environment, aws: Any = None) -> Ledger:
    if aws is None:
        from release.adapters.aws import Aws

        aws = Aws(env)
    return Ledger(env, aws.dynamodb)


@contextlib.contextmanager
def table_errors(env: Environment, doing: str) -> Iterator[None]:
    """A missing table is an input error that names the fix; the rest as every AWS call."""
    from release.adapters.aws import aws_errors

    with aws_errors(env, doing):
        try:
            yield
        except Exception as exc:
            if error_code(exc) != "ResourceNotFoundException":
                raise
            raise InvalidInput(
                f"the release ledger table {table_name(env)!r} does not exist in "
                f"{env.region} (or is not ACTIVE yet)",
                f"create it with `release bootstrap --env {env.name}` (or set "
                f"releaseLedger.table in {env.path}); nothing was changed") from None


def new_id(now: float) -> str:
    """Sortable and unique: `2026-12-01T19:30:26.123Z#3f2a9c1d`."""
    millis = int(round((now - int(now)) * 1000)) % 1000
    return f"{time.strftime('%Y-%m-%dT%H:%M:%S', time.gmtime(now))}.{millis:03d}Z#" \
           f"{uuid.uuid4().hex[:8]}"


# ------------------------------------------------------------------------ reading history


def history(env: Environment, service: str, tag_records: list[records.Record], aws: Any = None,
            limit: int | None = None) -> list[records.Entry]:
    """The service's ledger entries, and the tag records of releases from before the ledger,
    newest first."""
    with table_errors(env, f"reading the release ledger of {service}"):
        entries = connect(env, aws).entries(service, limit)
    older = records.entries_from_tags(tag_records, entries)
    return records.newest_first(entries + older)[:limit]
