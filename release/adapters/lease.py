"""The per-service lease: taken, renewed by a heartbeat, given back, taken over when stale.

The lease is one item of the ledger's DynamoDB table (release/adapters/ledger.py:
`sk = "lock"` beside the service's entries). It is written with
`attribute_not_exists(pk) OR expires_at < :now` (a free or expired lease), renewed
and released only under `owner = :me`. TTL deletes an expired lease item
eventually, but the condition, not TTL, decides: "DynamoDB typically deletes
expired items within two days of expiration ... Items that have expired and not
been deleted will still show up in reads" (UpdateTimeToLive). Who may take a
lease over, and how that is said, is pure (release/core/lease.py).

A holder can lose its lease without knowing: stopped (SIGSTOP, a suspended VM)
past the expiry, it resumes after another run took the lock over. So a renewal
that is refused marks the lease lost, and the engine asks before each change
(`ServiceLease.ensure`: one conditional write) and at each poll
(`ServiceLease.check`: what the heartbeat found): a lost lease raises
`lease.Superseded` (exit 130), and the run changes nothing more.

A `ServiceLease` is an object its taker passes to whoever changes the service
(release/engine/hold.py); nothing here is global. Whether a lease of this very
process is still held is asked of the process itself, as a pid is asked of the
host: its holder's heartbeat thread runs exactly while the lease is held.
"""

from __future__ import annotations

import contextlib
import os
import socket
import threading
import uuid
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from release.adapters.ledger import (
    TTL_ATTRIBUTE,
    decode,
    encode,
    error_code,
    partition,
    table_errors,
    table_name,
)
from release.core import lease as leases
from release.core import records
from release.core.clock import default_clock
from release.core.config import Environment
from release.core.errors import InvalidInput
from release.output.events import Reporter

LOCK_KEY = "lock"
_LEASE_FIELDS = {"owner": "S", "holder": "S", "host": "S", "pid": "N", "command": "S",
                 "build": "S", "since": "N", TTL_ATTRIBUTE: "N"}


def _lease_item(pk: str, lease: leases.Lease) -> dict[str, Any]:
    return encode({"pk": pk, "sk": LOCK_KEY, "owner": lease.owner, "holder": lease.holder,
                   "host": lease.host, "pid": lease.pid, "command": lease.command,
                   "build": lease.build, "since": lease.since, TTL_ATTRIBUTE: lease.expires},
                  _LEASE_FIELDS)


def _lease_of(item: dict[str, Any] | None) -> leases.Lease | None:
    if not item:
        return None
    v = decode(item)
    return leases.Lease(owner=str(v.get("owner", "")), holder=str(v.get("holder", "?")),
                        host=str(v.get("host", "")), pid=int(v.get("pid", 0) or 0),
                        command=str(v.get("command", "")), build=str(v.get("build", "")),
                        since=float(v.get("since", 0) or 0),
                        expires=float(v.get(TTL_ATTRIBUTE, 0) or 0))


class LeaseConflict(Exception):
    """The conditional write found someone else's lease (None: it vanished meanwhile)."""

    def __init__(self, current: leases.Lease | None) -> None:
        super().__init__("lease held")
        self.current = current


class LeaseTable:
    """The lease items of one environment's table; no decisions (see release/core/lease.py)."""

    def __init__(self, env: Environment, client: Any) -> None:
        self.env = env
        self.client = client
        self.table = table_name(env)

    def _pk(self, service: str) -> str:
        return partition(self.env.name, service)

    def read_lease(self, service: str) -> leases.Lease | None:
        response = self.client.get_item(TableName=self.table, ConsistentRead=True,
                                        Key=encode({"pk": self._pk(service), "sk": LOCK_KEY}))
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
            if error_code(exc) != "ConditionalCheckFailedException":
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
            call(TableName=self.table, Key=encode({"pk": self._pk(service), "sk": LOCK_KEY}),
                 ConditionExpression="#owner = :me",
                 ExpressionAttributeNames={"#owner": "owner", **(extra_names or {})},
                 ExpressionAttributeValues={":me": {"S": owner}, **(extra_values or {})},
                 **params)
        except Exception as exc:
            if error_code(exc) == "ConditionalCheckFailedException":
                return False
            raise
        return True


def connect(env: Environment, aws: Any = None) -> LeaseTable:
    if aws is None:
        from release.adapters.aws import Aws

        aws = Aws(env)
    return LeaseTable(env, aws.dynamodb)


# ------------------------------------------------------------------- whether a holder runs


def process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True
    return True


class _Heartbeat(threading.Thread):
    """The thread that renews one lease; it runs exactly while its taker holds the lease."""

    def __init__(self, lease: ServiceLease, owner: str) -> None:
        super().__init__(daemon=True, name=f"lease-{lease.where}")
        self.lease = lease
        self.owner = owner

    def run(self) -> None:
        self.lease.beat()

    def holds(self, owner: str) -> bool:
        """Whether this heartbeat keeps `owner`'s lease: once given back or lost it is
        stopping, and the lease it kept is nobody's."""
        return self.owner == owner and not self.lease.stopped()


def _owner_alive(lease: leases.Lease) -> bool:
    """Whether the holder on this host still runs. A lease of this very process is alive
    while a heartbeat of it runs: one no taker holds any more was left by an earlier
    command in the same process, and its owner is gone."""
    if lease.pid == os.getpid():
        return any(isinstance(t, _Heartbeat) and t.holds(lease.owner)
                   for t in threading.enumerate())
    return process_alive(lease.pid)


def holder_alive(lease: leases.Lease) -> bool | None:
    """Whether the holder's process still runs, when it is on this host (None: another
    host's pid means nothing here)."""
    if lease.host != socket.gethostname():
        return None
    return _owner_alive(lease)


# ------------------------------------------------------------------------- the lease held


class ServiceLease:
    """This run's lease on one service: take, heartbeat, ensure/check, give back."""

    def __init__(self, table: LeaseTable, service: str, reporter: Reporter, command: str,
                 heartbeat_seconds: float = leases.HEARTBEAT_SECONDS) -> None:
        self.table = table
        self.service = service
        self.reporter = reporter
        self.command = command
        self.where = f"{table.env.name}/{service}"
        self.mine: leases.Lease | None = None  # the lease item this run wrote, while held
        self.replaced: leases.Lease | None = None  # the stale lease this one took over
        self.why = ""  # why it was stale: expired | owner-gone ("" when the lease was free)
        self.renewals = 0
        self.lost = False  # a renewal was refused: the lease is someone else's, or gone
        self.taken_by: leases.Lease | None = None  # who holds it then, as read
        self._heartbeat_seconds = heartbeat_seconds
        self._stop = threading.Event()
        self._thread: _Heartbeat | None = None

    # -- taking and giving back

    def take(self) -> None:
        """Take the lease, or refuse (exit 1) naming its holder; a stale one is taken over
        with a warning (`replaced`, `why` say whose and why). Then the heartbeat starts."""
        now = default_clock().now()
        host = socket.gethostname()
        ci = records.ci_values()
        mine = leases.Lease(owner=uuid.uuid4().hex, holder=f"{records.who()}@{host}",
                            host=host, pid=os.getpid(), command=f"release {self.command}",
                            build=ci["BUILD_TAG"] or ci["BUILD_URL"],
                            since=now, expires=now + leases.LEASE_SECONDS)
        env = self.table.env
        unlock = f"release unlock --env {env.name} --service {self.service}"
        with table_errors(env, f"taking the lock of {self.where}"):
            try:
                replaced = self.table.put_lease(self.service, mine, None, now)
                why = leases.EXPIRED if replaced else ""
            except LeaseConflict as conflict:
                replaced = conflict.current
                alive = (_owner_alive(replaced) if replaced and replaced.host == host
                         else None)
                verdict = leases.judge(replaced, now, host, alive)
                if replaced is not None and verdict.state == leases.HELD:
                    raise InvalidInput(*leases.held_message(self.where, replaced,
                                                            unlock)) from None
                try:
                    self.table.put_lease(self.service, mine, replaced, now)
                except LeaseConflict as lost:  # another taker was faster
                    if lost.current is None:
                        raise
                    raise InvalidInput(*leases.held_message(self.where, lost.current,
                                                            unlock)) from None
                why = verdict.why
            self.mine, self.replaced, self.why = mine, replaced, why
            if replaced is not None and why:
                self._say("lock.takeover", leases.takeover_warning(self.where, replaced, why),
                          "warn", previous=replaced.describe(), why=why)
        self._thread = _Heartbeat(self, mine.owner)
        self._thread.start()

    def give_back(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        if self.mine is None or self.lost:  # a lost lease is not ours to release
            self.mine = None
            return
        try:
            if not self.table.drop_lease(self.service, self.mine.owner):
                self._say("lock.warning", f"{self.where}: the lock was no longer ours when "
                          "this run ended (taken over or removed by `release unlock`)", "warn")
        except Exception as exc:  # the lease expires on its own; say so and go on
            self._say("lock.warning", f"{self.where}: could not release the lock ({exc}); it "
                      f"frees itself at {records.iso(self.mine.expires)}", "warn")
        self.mine = None

    # -- heartbeat

    def stopped(self) -> bool:
        return self._stop.is_set()

    def beat(self) -> None:
        """The heartbeat thread's loop: renew every heartbeat until given back or lost."""
        while not self._stop.wait(self._heartbeat_seconds):
            self.renew()

    def renew(self) -> bool:
        """Push the expiry LEASE_SECONDS past now; mark the lease lost (and say so once) when
        it is no longer ours. The renewal is conditional on our owner id, so an expired
        lease nobody took is simply renewed."""
        if self.mine is None or self.lost:
            return False
        expires = default_clock().now() + leases.LEASE_SECONDS
        try:
            kept = self.table.renew(self.service, self.mine, expires)
        except Exception:  # a missed beat is retried at the next one; the lease lasts longer
            return False
        if kept:
            self.mine = replace(self.mine, expires=expires)
            self.renewals += 1
        else:
            self._lose()
        return kept

    def _lose(self) -> None:
        with contextlib.suppress(Exception):
            self.taken_by = self.table.read_lease(self.service)
        self.lost = True
        self._stop.set()
        by = (f"taken over by {self.taken_by.describe()}" if self.taken_by is not None
              else "removed")
        self._say("lock.warning", f"{self.where}: this run's lock was {by}; this run stops "
                  "before its next change", "warn")

    def ensure(self) -> None:
        """Right before a change: renew now, and raise `Superseded` if the lease is lost. An
        error of the call itself is not a loss: the lease then lasts until its expiry."""
        if self.mine is None:
            return
        if not self.lost:
            self.renew()
        self.check()

    def check(self) -> None:
        """At each poll: raise `Superseded` when a renewal (the heartbeat's, or `ensure`'s)
        was refused (no call)."""
        if self.lost:
            raise leases.superseded(self.where, self.taken_by,
                                    f"release status --env {self.table.env.name} "
                                    f"--service {self.service}")

    def _say(self, kind: str, message: str, level: str = "info", **data: Any) -> None:
        """Report, but never let a closed output stop the lock from being released."""
        with contextlib.suppress(OSError, ValueError):
            self.reporter.emit(kind, message, level, env=self.table.env.name,
                               service=self.service, **data)
