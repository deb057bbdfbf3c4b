"""What every change of a service runs under: its lease and the ledger entries it opens.

`hold` is the context deploy, apply, `continue` and rollback change a service in:
it takes the lease (release/adapters/lease.py) before anything is read for the
change, closes the entries an earlier run left in progress, and on every way out
(a result, an error, Ctrl-C/SIGTERM, a broken pipe) closes what this run opened
and gives the lease back. It yields a `Hold`: the `lease` (ensure before a change,
check at each poll) and the run's `ledger` (the entries it opens), two objects the
engine passes to whoever needs them. Outside a hold there is neither: nothing
records or checks anything by itself.

How an entry closes is decided in release/core/entries.py (pure); the entries are
stored by release/adapters/ledger.py. The record tags of a release this run
registered follow its entry when it is closed on the way out, written by the one
record-tag writer (adapters/record_tags.py `tag_record`).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from release.adapters import lease as leasing
from release.adapters import ledger as ledgers
from release.core import entries as closing
from release.core import records
from release.core.clock import default_clock
from release.core.config import Environment
from release.core.deployments import short
from release.output.events import Reporter

MAX_REASON = closing.MAX_REASON
Tagger = Callable[[str, list[dict[str, str]]], None]


class RunLedger:
    """The ledger entries one run opens for one service, and how it closes them."""

    def __init__(self, ledger: ledgers.Ledger, service: str, reporter: Reporter,
                 command: str, tag: Tagger) -> None:
        self.ledger = ledger
        self.service = service
        self.reporter = reporter
        self.command = command
        self.where = f"{ledger.env.name}/{service}"
        self.open: list[records.Entry] = []
        self.registered_revisions: set[str] = set()  # tagged when their entry closes
        self.release_entry: records.Entry | None = None
        self.restore_entry: records.Entry | None = None  # the newest restore/rollback opened
        self._tag = tag

    # -- what the release engine calls

    def begin_release(self, record: records.Record, revision: str | None = None
                      ) -> records.Entry:
        """Open the entry of a release about to change the service."""
        entry = records.release_entry(ledgers.new_id(default_clock().now()), record,
                                      self.command)
        entry.revision = revision or ""
        self.release_entry = self.begin(entry)
        return entry

    def registered(self, revision: str) -> None:
        """The release registered `revision`: its entry names it from now on."""
        if self.release_entry is not None:
            self.registered_revisions.add(revision)
            self.note(self.release_entry, revision=revision)

    def note_release(self, **changes: str) -> None:
        """Fields of the open release entry (e.g. `autoscaling`), written at once."""
        if self.release_entry is not None:
            self.note(self.release_entry, **changes)

    def failing(self, failure: str) -> None:
        """The release failed (`failure`: its cause and why) and is about to be rolled back:
        noted on its open entry, so that an interrupted rollback still closes it failed with
        its cause (`close_open`; a later run's takeover, `close_left_open`)."""
        self.note_release(failure=failure[:MAX_REASON])

    def finish_release(self, outcome: str, reason: str) -> None:
        self.finish(self.release_entry, outcome, reason)

    def begin_restore(self, to_revision: str, current: str | None, why: str
                      ) -> records.Entry:
        """Open the entry of a rollback (operator) or restore (after a failed release)."""
        now = default_clock().now()
        kind = records.ROLLBACK if self.command == "rollback" else records.RESTORE
        ci = records.ci_values()
        self.restore_entry = self.begin(records.Entry(
            id=ledgers.new_id(now), kind=kind, env=self.ledger.env.name, service=self.service,
            revision=to_revision, previous=current or "", at=records.iso(now), by=records.who(),
            command=self.command, reason=why[:MAX_REASON], build_url=ci["BUILD_URL"],
            build_tag=ci["BUILD_TAG"], job_name=ci["JOB_NAME"]))
        return self.restore_entry

    def unfinished_release(self, revision: str | None) -> records.Entry | None:
        """The release that made `revision` live, when it ended without an outcome:
        interrupted or unknown (engine/unfinished.py finishes it)."""
        if not revision:
            return None
        env = self.ledger.env
        with ledgers.table_errors(env, f"reading the release ledger of {self.service}"):
            recent = self.ledger.entries(self.service, closing.OPEN_SCAN * 2)
        return closing.made_live_unfinished(recent, revision)

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
            closed, why = closing.closing(entry, outcome, reason, self.restore_entry)
            self.note_closed(entry, closed, why)
            if entry.kind == records.RELEASE and entry.revision in self.registered_revisions:
                with contextlib.suppress(Exception):  # on the way out: never in the way
                    self._tag(entry.revision,
                              records.outcome_tags(closed, why, default_clock().now()))

    def close_left_open(self, lease: leasing.ServiceLease) -> None:
        """Entries an earlier run left in progress, when `lease` took its lease over: no one
        else can be writing them now."""
        closer = lease.mine.holder if lease.mine else "?"
        for entry in self.ledger.entries(self.service, closing.OPEN_SCAN):
            if entry.outcome != records.IN_PROGRESS:
                continue
            closed, reason = closing.left_open(entry, lease.why, lease.replaced, closer)
            if self.ledger.update(entry, outcome=closed, reason=reason[:MAX_REASON],
                                  finished_at=records.iso(default_clock().now())):
                self._say("ledger.closed", f"{self.where}: the {entry.kind} of "
                          f"{short(entry.revision)} started {entry.at} was left in "
                          f"progress; recorded as {closed}", "warn", entry=entry.id,
                          outcome=closed)

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


@dataclass
class Hold:
    """A change's lease and its ledger entries, passed to whoever changes the service."""

    lease: leasing.ServiceLease
    ledger: RunLedger


@contextlib.contextmanager
def hold(env: Environment, service: str, reporter: Reporter, command: str,
         aws: Any = None) -> Iterator[Hold]:
    """Hold `service`'s lock for the block; exit 1 naming the holder if someone else has it."""
    from release.engine.outcome import tag_record

    if aws is None:
        from release.adapters.aws import Aws

        aws = Aws(env)
    lease = leasing.ServiceLease(leasing.connect(env, aws), service, reporter, command)
    run = RunLedger(ledgers.connect(env, aws), service, reporter, command,
                    lambda arn, tags: tag_record(aws, reporter, arn, tags))
    lease.take()
    try:
        with ledgers.table_errors(env, f"taking the lock of {lease.where}"):
            run.close_left_open(lease)
        yield Hold(lease, run)
    except BaseException as exc:
        run.close_open(*closing.outcome_of(exc))
        raise
    finally:
        run.close_open(records.UNKNOWN, "the command ended without recording an outcome")
        lease.give_back()
