"""The service lock and the release ledger, kept in one DynamoDB table.

Why DynamoDB: it is what AWS users already trust for this (Terraform's S3
backend locks its state with a DynamoDB item written under a condition), it is
in the account the releases run in, it answers every taker the same way
whatever machine it runs on, and its conditional writes make "take the lock
unless someone holds it" and "add a record, never replace one" single calls.

One table, one partition per service (`pk` = `<env>#<service>`):

    sk = "lock"                        the lease (release/core/lease.py), with the TTL attribute
    sk = "record#<ISO time ms>#<id>"   one ledger entry per release, restore, rollback

The lease is written with `attribute_not_exists(pk) OR expires_at < :now` (a free
or expired lease), renewed and released only under `owner = :me`. TTL deletes an
expired lease item eventually, but the condition, not TTL, decides: "DynamoDB
typically deletes expired items within two days of expiration ... Items that have
expired and not been deleted will still show up in reads" (UpdateTimeToLive).
Entries are created with `attribute_not_exists(sk)` and changed only while
`outcome = in-progress`: once closed, an entry is never rewritten.

`hold` is the context every change runs in: it takes the lease before anything
is read for the change, closes entries an earlier run left in progress, renews the
lease while the change waits (a heartbeat thread), and on every way out (a
result, an error, Ctrl-C/SIGTERM, a broken pipe) closes what it opened and
releases the lease.

A holder can lose its lease without knowing: stopped (SIGSTOP, a suspended VM)
past the expiry, it resumes after another run took the lock over. So a renewal
that is refused marks the hold lost, and the engine asks before each change
(`ensure_held`: one conditional write) and at each poll (`check_held`: what the
heartbeat found): a lost hold raises `lease.Superseded` (exit 130), and the run
changes nothing more.
"""

from __future__ import annotations

import contextlib
import functools
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import replace
from typing import Any, TypeVar

from release.core import lease as leases
from release.core import records
from release.core.clock import default_clock
from release.core.config import Environment
from release.core.errors import EXIT_INTERRUPTED, InvalidInput, ReleaseError, Signalled
from release.output.events import Reporter

DEFAULT_TABLE = "release-ledger"
LOCK_KEY = "lock"
RECORD_PREFIX = "record#"
TTL_ATTRIBUTE = "expires_at"
MAX_REASON = 1000
OPEN_SCAN = 10  # an entry left in progress is among a service's newest few
F = TypeVar("F", bound=Callable[..., Any])


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


_LEASE_FIELDS = {"owner": "S", "holder": "S", "host": "S", "pid": "N", "command": "S",
                 "build": "S", "since": "N", TTL_ATTRIBUTE: "N"}


def _encode(values: dict[str, Any], types: dict[str, str] | None = None) -> dict[str, Any]:
    """Attribute values; empty strings are left out (DynamoDB keys refuse them)."""
    item: dict[str, Any] = {}
    for name, value in values.items():
        kind = (types or {}).get(name, "S")
        if kind == "N":
            item[name] = {"N": repr(float(value)) if isinstance(value, float) else str(value)}
        elif value not in (None, ""):
            item[name] = {"S": str(value)}
    return item


def _decode(item: dict[str, Any]) -> dict[str, Any]:
    return {k: (float(v["N"]) if "N" in v else v.get("S", "")) for k, v in item.items()}


def _lease_item(pk: str, lease: leases.Lease) -> dict[str, Any]:
    return _encode({"pk": pk, "sk": LOCK_KEY, "owner": lease.owner, "holder": lease.holder,
                    "host": lease.host, "pid": lease.pid, "command": lease.command,
                    "build": lease.build, "since": lease.since, TTL_ATTRIBUTE: lease.expires},
                   _LEASE_FIELDS)


def _lease_of(item: dict[str, Any] | None) -> leases.Lease | None:
    if not item:
        return None
    v = _decode(item)
    return leases.Lease(owner=str(v.get("owner", "")), holder=str(v.get("holder", "?")),
                        host=str(v.get("host", "")), pid=int(v.get("pid", 0) or 0),
                        command=str(v.get("command", "")), build=str(v.get("build", "")),
                        since=float(v.get("since", 0) or 0),
                        expires=float(v.get(TTL_ATTRIBUTE, 0) or 0))


def _entry_item(pk: str, entry: records.Entry) -> dict[str, Any]:
    return _encode({"pk": pk, "sk": RECORD_PREFIX + entry.id, **entry.as_dict()})


def _entry_of(item: dict[str, Any]) -> records.Entry:
    values = _decode(item)
    known = records.Entry.__dataclass_fields__
    return records.Entry(**{k: str(v) for k, v in values.items() if k in known})


# --------------------------------------------------------------------------- the table


class LeaseConflict(Exception):
    """The conditional write found someone else's lease (None: it vanished meanwhile)."""

    def __init__(self, current: leases.Lease | None) -> None:
        super().__init__("lease held")
        self.current = current


def _code(exc: BaseException) -> str:
    response = getattr(exc, "response", None) or {}
    return str(response.get("Error", {}).get("Code", ""))


class Ledger:
    """DynamoDB calls for one environment's table; no decisions (see release/core/lease.py)."""

    def __init__(self, env: Environment, client: Any) -> None:
        self.env = env
        self.client = client
        self.table = table_name(env)

    def _pk(self, service: str) -> str:
        return partition(self.env.name, service)

    def read_lease(self, service: str) -> leases.Lease | None:
        response = self.client.get_item(TableName=self.table, ConsistentRead=True,
                                        Key=_encode({"pk": self._pk(service), "sk": LOCK_KEY}))
        return _lease_of(response.get("Item"))

    def put_lease(self, service: str, mine: leases.Lease, replacing: leases.Lease | None,
                  now: float) -> leases.Lease | None:
        """Write `mine` if the lease is free or expired (or still `replacing`'s); the lease it
        replaced, if any. Raises LeaseConflict with the holder otherwise."""
        if replacing is None:
            condition = "attribute_not_exists(pk) OR #expires < :now"
            values = {":now": {"N": repr(float(now))}}
        else:
            condition = "#owner = :old"
            values = {":old": {"S": replacing.owner}}
        names = {"#expires": TTL_ATTRIBUTE} if replacing is None else {"#owner": "owner"}
        try:
            response = self.client.put_item(
                TableName=self.table, Item=_lease_item(self._pk(service), mine),
                ConditionExpression=condition, ExpressionAttributeNames=names,
                ExpressionAttributeValues=values, ReturnValues="ALL_OLD",
                ReturnValuesOnConditionCheckFailure="ALL_OLD")
        except Exception as exc:
            if _code(exc) != "ConditionalCheckFailedException":
                raise
            current = _lease_of(getattr(exc, "response", {}).get("Item"))
            raise LeaseConflict(current or self.read_lease(service)) from None
        return _lease_of(response.get("Attributes"))

    def renew(self, service: str, mine: leases.Lease, expires: float) -> bool:
        """Move the expiry on; False when the lease is no longer ours."""
        return self._if_owner(self.client.update_item, service, mine.owner,
                              UpdateExpression="SET #expires = :expires",
                              extra_names={"#expires": TTL_ATTRIBUTE},
                              extra_values={":expires": {"N": repr(float(expires))}})

    def drop_lease(self, service: str, owner: str) -> bool:
        return self._if_owner(self.client.delete_item, service, owner)

    def _if_owner(self, call: Callable[..., Any], service: str, owner: str,
                  extra_names: dict[str, str] | None = None,
                  extra_values: dict[str, Any] | None = None, **params: Any) -> bool:
        try:
            call(TableName=self.table, Key=_encode({"pk": self._pk(service), "sk": LOCK_KEY}),
                 ConditionExpression="#owner = :me",
                 ExpressionAttributeNames={"#owner": "owner", **(extra_names or {})},
                 ExpressionAttributeValues={":me": {"S": owner}, **(extra_values or {})},
                 **params)
        except Exception as exc:
            if _code(exc) == "ConditionalCheckFailedException":
                return False
            raise
        return True

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
                Key=_encode({"pk": self._pk(entry.service), "sk": RECORD_PREFIX + entry.id}),
                UpdateExpression=expression.strip(), ConditionExpression="#outcome = :open",
                ExpressionAttributeNames={**names, "#outcome": "outcome"},
                ExpressionAttributeValues={**values, ":open": {"S": records.IN_PROGRESS}})
        except Exception as exc:
            if _code(exc) == "ConditionalCheckFailedException":
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
            if _code(exc) != "ResourceNotFoundException":
                raise
            raise InvalidInput(
                f"the release ledger table {table_name(env)!r} does not exist in "
                f"{env.region} (or is not ACTIVE yet)",
                f"create it with `release bootstrap --env {env.name}` (or set "
                f"releaseLedger.table in {env.path}); nothing was changed") from None


# ---------------------------------------------------------------------------- the hold


def process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True
    return True


def _owner_alive(lease: leases.Lease, env_name: str, service: str) -> bool:
    """Whether the holder on this host still runs. A lease of this very process that no hold
    of it owns was left by an earlier command in the same process: its owner is gone."""
    if lease.pid == os.getpid():
        held = active(env_name, service)
        return held is not None and held.lease is not None and held.lease.owner == lease.owner
    return process_alive(lease.pid)


def holder_alive(lease: leases.Lease, env_name: str, service: str) -> bool | None:
    """Whether the holder's process still runs, when it is on this host (None: another
    host's pid means nothing here)."""
    if lease.host != socket.gethostname():
        return None
    return _owner_alive(lease, env_name, service)


def outcome_of(exc: BaseException) -> tuple[str, str]:
    """How an entry ends when the command leaves it by an exception."""
    if isinstance(exc, Signalled):
        return records.INTERRUPTED, f"interrupted ({exc.name})"
    if isinstance(exc, KeyboardInterrupt):
        return records.INTERRUPTED, "interrupted (Ctrl-C)"
    if isinstance(exc, BrokenPipeError):
        return records.INTERRUPTED, "the output was closed (broken pipe)"
    if isinstance(exc, SystemExit | GeneratorExit):
        return records.INTERRUPTED, "the command exited"
    if isinstance(exc, ReleaseError) and exc.exit_code == EXIT_INTERRUPTED:
        return records.INTERRUPTED, exc.message  # lock taken over; a one-off task left running
    if isinstance(exc, ReleaseError):
        return records.UNKNOWN, exc.message
    return records.UNKNOWN, f"{type(exc).__name__}: {exc}"


class Hold:
    """This run's lease on one service and the ledger entries it opened under it."""

    def __init__(self, ledger: Ledger, aws: Any, service: str, reporter: Reporter,
                 command: str, heartbeat_seconds: float = leases.HEARTBEAT_SECONDS) -> None:
        self.ledger = ledger
        self.aws = aws
        self.service = service
        self.reporter = reporter
        self.command = command
        self.where = f"{ledger.env.name}/{service}"
        self.lease: leases.Lease | None = None
        self.open: list[records.Entry] = []
        self.registered: set[str] = set()  # revisions this run registered (tagged on close)
        self.release_entry: records.Entry | None = None
        self.restore_entry: records.Entry | None = None  # the newest restore/rollback opened
        self.renewals = 0
        self.lost = False  # a renewal was refused: the lease is someone else's, or gone
        self.taken_by: leases.Lease | None = None  # who holds it then, as read
        self._heartbeat_seconds = heartbeat_seconds
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # -- taking and giving back

    def take(self) -> None:
        clock = default_clock()
        now = clock.now()
        host = socket.gethostname()
        ci = records.ci_values()
        mine = leases.Lease(owner=uuid.uuid4().hex, holder=f"{records.who()}@{host}",
                            host=host, pid=os.getpid(), command=f"release {self.command}",
                            build=ci["BUILD_TAG"] or ci["BUILD_URL"],
                            since=now, expires=now + leases.LEASE_SECONDS)
        env = self.ledger.env
        with table_errors(env, f"taking the lock of {self.where}"):
            try:
                replaced = self.ledger.put_lease(self.service, mine, None, now)
                why = leases.EXPIRED if replaced else ""
            except LeaseConflict as conflict:
                replaced = conflict.current
                alive = (_owner_alive(replaced, env.name, self.service)
                         if replaced and replaced.host == host else None)
                verdict = leases.judge(replaced, now, host, alive)
                if replaced is not None and verdict.state == leases.HELD:
                    raise InvalidInput(*leases.held_message(
                        self.where, replaced, f"release unlock --env {env.name} "
                        f"--service {self.service}")) from None
                try:
                    self.ledger.put_lease(self.service, mine, replaced, now)
                except LeaseConflict as lost:  # another taker was faster
                    if lost.current is None:
                        raise
                    raise InvalidInput(*leases.held_message(
                        self.where, lost.current, f"release unlock --env {env.name} "
                        f"--service {self.service}")) from None
                why = verdict.why
            self.lease = mine
            if replaced is not None and why:
                self._say("lock.takeover", leases.takeover_warning(self.where, replaced, why),
                          "warn", previous=replaced.describe(), why=why)
            self._close_left_open(replaced, why)
        self._start_heartbeat()

    def _close_left_open(self, previous: leases.Lease | None, why: str) -> None:
        """Entries an earlier run left in progress: no one else can be writing them now."""
        outcome = records.INTERRUPTED if why == leases.OWNER_GONE else records.UNKNOWN
        by = previous.describe() if previous is not None else "an earlier run"
        closer = self.lease.holder if self.lease else "?"
        for entry in self.ledger.entries(self.service, OPEN_SCAN):
            if entry.outcome != records.IN_PROGRESS:
                continue
            closed, reason = outcome, f"left in progress by {by}; closed by {closer}"
            if entry.kind == records.RELEASE and entry.failure:  # it failed, then was left
                closed, reason = records.FAILED, f"{entry.failure}; rolling back when {reason}"
            if self.ledger.update(entry, outcome=closed, reason=reason[:MAX_REASON],
                                  finished_at=records.iso(default_clock().now())):
                self._say("ledger.closed", f"{self.where}: the {entry.kind} of "
                          f"{_short(entry.revision)} started {entry.at} was left in progress; "
                          f"recorded as {closed}", "warn", entry=entry.id, outcome=closed)

    def give_back(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        if self.lease is None or self.lost:  # a lost lease is not ours to release
            self.lease = None
            return
        try:
            if not self.ledger.drop_lease(self.service, self.lease.owner):
                self._say("lock.warning", f"{self.where}: the lock was no longer ours when "
                          "this run ended (taken over or removed by `release unlock`)", "warn")
        except Exception as exc:  # the lease expires on its own; say so and go on
            self._say("lock.warning", f"{self.where}: could not release the lock ({exc}); it "
                      f"frees itself at {records.iso(self.lease.expires)}", "warn")
        self.lease = None

    # -- heartbeat

    def _start_heartbeat(self) -> None:
        self._thread = threading.Thread(target=self._beat, daemon=True,
                                        name=f"lease-{self.where}")
        self._thread.start()

    def _beat(self) -> None:
        while not self._stop.wait(self._heartbeat_seconds):
            self.renew()

    def renew(self) -> bool:
        """Push the expiry LEASE_SECONDS past now; mark the hold lost (and say so once) when
        the lease is no longer ours. The renewal is conditional on our owner id, so an
        expired lease nobody took is simply renewed."""
        if self.lease is None or self.lost:
            return False
        expires = default_clock().now() + leases.LEASE_SECONDS
        try:
            kept = self.ledger.renew(self.service, self.lease, expires)
        except Exception:  # a missed beat is retried at the next one; the lease lasts longer
            return False
        if kept:
            self.lease = replace(self.lease, expires=expires)
            self.renewals += 1
        else:
            self._lose()
        return kept

    def _lose(self) -> None:
        with contextlib.suppress(Exception):
            self.taken_by = self.ledger.read_lease(self.service)
        self.lost = True
        self._stop.set()
        by = (f"taken over by {self.taken_by.describe()}" if self.taken_by is not None
              else "removed")
        self._say("lock.warning", f"{self.where}: this run's lock was {by}; this run stops "
                  "before its next change", "warn")

    def ensure(self) -> None:
        """Right before a change: renew now, and raise `Superseded` if the lease is lost. An
        error of the call itself is not a loss: the lease then lasts until its expiry."""
        if self.lease is None:
            return
        if not self.lost:
            self.renew()
        self.check()

    def check(self) -> None:
        """Raise `Superseded` when a renewal (the heartbeat's, or `ensure`'s) was refused."""
        if self.lost:
            raise leases.superseded(self.where, self.taken_by,
                                    f"release status --env {self.ledger.env.name} "
                                    f"--service {self.service}")

    # -- entries

    def begin(self, entry: records.Entry) -> records.Entry:
        try:
            self.ledger.add(entry)
        except Exception as exc:  # the change itself must not fail on its record
            self._say("ledger.warning", f"{self.where}: could not add the ledger entry of this "
                      f"{entry.kind} ({exc})", "warn")
            return entry
        self.open.append(entry)
        return entry

    def note(self, entry: records.Entry, **changes: str) -> None:
        for name, value in changes.items():
            setattr(entry, name, value)
        if entry in self.open:
            self._write(entry, **changes)

    def finish(self, entry: records.Entry | None, outcome: str, reason: str) -> None:
        if entry is None or entry not in self.open:
            return
        self.open.remove(entry)
        self.note_closed(entry, outcome, reason)

    def note_closed(self, entry: records.Entry, outcome: str, reason: str) -> None:
        entry.outcome, entry.reason = outcome, reason[:MAX_REASON]
        entry.finished_at = records.iso(default_clock().now())
        self._write(entry, outcome=outcome, reason=entry.reason, finished_at=entry.finished_at)

    def close_open(self, outcome: str, reason: str) -> None:
        """Close what is still open (newest first) and point the revision's tags at it."""
        while self.open:
            entry = self.open.pop()
            closed, why = self._closing(entry, outcome, reason)
            self.note_closed(entry, closed, why)
            if entry.kind == records.RELEASE and entry.revision in self.registered:
                from release.adapters.record_tags import tag_record  # the one writer

                tag_record(self.aws, None, entry.revision,
                           records.outcome_tags(closed, why, default_clock().now()))

    def _closing(self, entry: records.Entry, outcome: str, reason: str) -> tuple[str, str]:
        """How an entry this run leaves open ends. A release whose failure was noted
        (`failing`) keeps it: failed with its cause and what became of its rollback (the
        rollback's own entry, closed first, says how that ended)."""
        if entry.kind != records.RELEASE or not entry.failure:
            return outcome, reason
        restore = self.restore_entry
        if restore is None:
            return records.FAILED, f"{entry.failure}; not rolled back: {reason}"
        to = _short(restore.revision)
        if restore.outcome == records.COMPLETED:
            return records.ROLLED_BACK, f"{entry.failure}; rolled back to {to}, then {reason}"
        return records.FAILED, f"{entry.failure}; the rollback to {to} did not finish: {reason}"

    def _write(self, entry: records.Entry, **changes: str) -> None:
        try:
            self.ledger.update(entry, **changes)
        except Exception as exc:
            self._say("ledger.warning", f"{self.where}: could not update the ledger entry "
                      f"{entry.id} ({exc})", "warn")

    def _say(self, kind: str, message: str, level: str = "info", **data: Any) -> None:
        """Report, but never let a closed output stop the lock from being released."""
        with contextlib.suppress(OSError, ValueError):
            self.reporter.emit(kind, message, level, env=self.ledger.env.name,
                               service=self.service, **data)


def _short(arn: str | None) -> str:
    return str(arn or "none").rsplit("/", 1)[-1]


def new_id(now: float) -> str:
    """Sortable and unique: `2026-12-01T19:30:26.123Z#3f2a9c1d`."""
    millis = int(round((now - int(now)) * 1000)) % 1000
    return f"{time.strftime('%Y-%m-%dT%H:%M:%S', time.gmtime(now))}.{millis:03d}Z#" \
           f"{uuid.uuid4().hex[:8]}"


# ------------------------------------------------------------- the holds of this process

_holds: dict[tuple[str, str], Hold] = {}
_holds_lock = threading.Lock()
_taken = threading.local()


def active(env_name: str, service: str) -> Hold | None:
    with _holds_lock:
        return _holds.get((env_name, service))


def ensure_held(env_name: str, service: str) -> None:
    """Before a change: is this run's lease still its own? (One conditional write; no-op
    outside a hold.) Raises `lease.Superseded` when another run took it or it was removed."""
    held = active(env_name, service)
    if held is not None:
        held.ensure()


def check_held(env_name: str, service: str) -> None:
    """At each poll: raise `lease.Superseded` if a renewal found the lease lost (no call)."""
    held = active(env_name, service)
    if held is not None:
        held.check()


@contextlib.contextmanager
def hold(env: Environment, service: str, reporter: Reporter, command: str,
         aws: Any = None) -> Iterator[Hold]:
    """Hold `service`'s lock for the block; exit 1 naming the holder if someone else has it."""
    if aws is None:
        from release.adapters.aws import Aws

        aws = Aws(env)
    held = Hold(connect(env, aws), aws, service, reporter, command)
    held.take()
    key = (env.name, service)
    with _holds_lock:
        _holds[key] = held
    try:
        yield held
    except BaseException as exc:
        held.close_open(*outcome_of(exc))
        raise
    finally:
        held.close_open(records.UNKNOWN, "the command ended without recording an outcome")
        with _holds_lock:
            _holds.pop(key, None)
        held.give_back()


def take(env: Environment, service: str, reporter: Reporter, command: str,
         aws: Any = None) -> Hold:
    """Hold the lock until the verb decorated with `releases_locks` ends (for verbs that
    loop over services and cannot wrap each in a `with`)."""
    stack: contextlib.ExitStack | None = getattr(_taken, "stack", None)
    if stack is None:
        raise RuntimeError("ledger.take outside a verb decorated with releases_locks")
    return stack.enter_context(hold(env, service, reporter, command, aws))


def releases_locks(fn: F) -> F:
    """Give back every lock `take` took during the verb, on every way out of it."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with contextlib.ExitStack() as stack:
            previous, _taken.stack = getattr(_taken, "stack", None), stack
            try:
                return fn(*args, **kwargs)
            finally:
                _taken.stack = previous

    return wrapper  # type: ignore[return-value]


# ------------------------------------------------- what the release engine calls


def begin_release(env: Environment, service: str, record: records.Record,
                  revision: str | None = None) -> records.Entry | None:
    """Open the entry of a release about to change `service` (no-op outside a hold)."""
    held = active(env.name, service)
    if held is None:
        return None
    entry = records.release_entry(new_id(default_clock().now()), record, held.command)
    entry.revision = revision or ""
    held.release_entry = held.begin(entry)
    return entry


def registered(env: Environment, service: str, revision: str) -> None:
    """The release registered `revision`: its entry names it from now on."""
    held = active(env.name, service)
    if held is not None and held.release_entry is not None:
        held.registered.add(revision)
        held.note(held.release_entry, revision=revision)


def note_release(env: Environment, service: str, **changes: str) -> None:
    """Fields of the open release entry (e.g. `autoscaling`), written at once."""
    held = active(env.name, service)
    if held is not None and held.release_entry is not None:
        held.note(held.release_entry, **changes)


def failing(env: Environment, service: str, failure: str) -> None:
    """The release failed (`failure`: its cause and why) and is about to be rolled back:
    noted on its open entry, so that an interrupted rollback still closes it failed with
    its cause (Hold.close_open; a later run's takeover, `_close_left_open`)."""
    note_release(env, service, failure=failure[:MAX_REASON])


def unfinished_release(env: Environment, service: str, revision: str | None
                       ) -> records.Entry | None:
    """The release that made `revision` live (the newest of the service's recent entries
    for it), when it ended without an outcome: interrupted or unknown. None when it ended
    otherwise, or outside a hold (engine/unfinished.py finishes it)."""
    held = active(env.name, service)
    if held is None or not revision:
        return None
    with table_errors(env, f"reading the release ledger of {service}"):
        recent = held.ledger.entries(service, OPEN_SCAN * 2)
    made_live = next((e for e in recent if e.revision == revision), None)
    if made_live is None or made_live.kind != records.RELEASE:
        return None
    return made_live if made_live.outcome in (records.INTERRUPTED, records.UNKNOWN) else None


def finish_release(env: Environment, service: str, outcome: str, reason: str) -> None:
    held = active(env.name, service)
    if held is not None:
        held.finish(held.release_entry, outcome, reason)


def begin_restore(env: Environment, service: str, to_revision: str, current: str | None,
                  why: str) -> records.Entry | None:
    """Open the entry of a rollback (operator) or restore (after a failed release)."""
    held = active(env.name, service)
    if held is None:
        return None
    now = default_clock().now()
    kind = records.ROLLBACK if held.command == "rollback" else records.RESTORE
    ci = records.ci_values()
    held.restore_entry = held.begin(records.Entry(
        id=new_id(now), kind=kind, env=env.name, service=service, revision=to_revision,
        previous=current or "", at=records.iso(now), by=records.who(), command=held.command,
        reason=why[:MAX_REASON], build_url=ci["BUILD_URL"],
        build_tag=ci["BUILD_TAG"], job_name=ci["JOB_NAME"]))
    return held.restore_entry


def finish(env: Environment, service: str, entry: records.Entry | None, outcome: str,
           reason: str) -> None:
    held = active(env.name, service)
    if held is not None:
        held.finish(entry, outcome, reason)


# ------------------------------------------------------------------------ reading history


def history(env: Environment, service: str, tag_records: list[records.Record], aws: Any = None,
            limit: int | None = None) -> list[records.Entry]:
    """The service's ledger entries, and the tag records of releases from before the ledger,
    newest first."""
    with table_errors(env, f"reading the release ledger of {service}"):
        entries = connect(env, aws).entries(service, limit)
    older = records.entries_from_tags(tag_records, entries)
    return records.newest_first(entries + older)[:limit]
