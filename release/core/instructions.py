"""A release as data: every step it takes, in the order it takes them.

The planner (core/plan.py) emits one list for a release — register, beforeDeploy, the
canary's start, create/update, the wait (naming its strategy), the bake, the release
record, the canary's removal — and one for a rollback (update, wait, the records). The
one `Executor` (engine/executor.py) runs such a list, one `_do_<kind>` per kind; the
`DisplayOnlyExecutor` shows it, one line per instruction: `release plan`, `--dry-run`
and the release itself go through the same list, so the plan shown is the plan run.

A plain AWS call is an `ApiCall` (core/calls.py, kind `call`); the others here are
the steps that are not one call. Pure: nothing here reads AWS or the clock.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from release.core.calls import ApiCall, Ref
from release.core.deployments import short

ROLLING = "rolling"  # ECS's rolling update, counted task by task (engine/wait.py)
RELEASE, ROLLBACK = "release", "rollback"  # what a wait or a record is for


def _rev(value: Any) -> str:
    """A revision in a step's words: the one registered earlier in the list, or its ARN short."""
    return "the new revision" if isinstance(value, Ref) else short(value)


def _calls(calls: Sequence[ApiCall]) -> list[dict[str, Any]]:
    return [c.as_dict() for c in calls]


@dataclass(frozen=True)
class RunBeforeDeploy:
    """`release.beforeDeploy`: a one-off task of the new revision that must exit 0 before
    the service is updated (engine/run.py)."""

    kind: ClassVar[str] = "run_before_deploy"
    revision: Any  # a Ref to the registered revision
    command: tuple[str, ...] = ()

    def describe(self) -> str:
        return f"run beforeDeploy on {_rev(self.revision)}: {' '.join(self.command)}"

    def as_dict(self) -> dict[str, Any]:
        return {"command": list(self.command)}


@dataclass(frozen=True)
class CanaryStart:
    """`release.canary`: start N tasks of the new revision as a second service, wait until
    they serve and bake them (engine/canary.py); a canary that fails is removed and the
    release stops there, the main service not updated."""

    kind: ClassVar[str] = "canary_start"
    name: str
    count: int
    bake_minutes: float
    calls: tuple[ApiCall, ...] = ()

    def describe(self) -> str:
        return (f"start the canary {self.name}: {self.count} task(s), wait until they serve, "
                f"bake {self.bake_minutes:g} min")

    def as_dict(self) -> dict[str, Any]:
        return {"canary": self.name, "count": self.count, "bake_minutes": self.bake_minutes,
                "calls": _calls(self.calls)}


@dataclass(frozen=True)
class Wait:
    """Wait until the service is stable (connection-draining-safe) or failed, within the
    budget. `strategy`: `rolling` (tasks counted, engine/wait.py) or the ECS-native strategy
    it follows (BLUE_GREEN, LINEAR, CANARY: engine/native_wait.py)."""

    kind: ClassVar[str] = "wait"
    service: str
    strategy: str
    seconds: int
    purpose: str = RELEASE
    resumed: bool = False  # waiting for a deployment already in progress
    health: str | None = None  # rolling: who says a task is healthy ("the classic ELB", …)

    def describe(self) -> str:
        how = ((f"rolling update, health from {self.health}" if self.health
                else "rolling update") if self.strategy == ROLLING
               else f"ECS {self.strategy} deployment")
        why = "" if self.purpose == RELEASE else f", {self.purpose}"
        return f"wait for {self.service} ({how}{why}): stable within {self.seconds} s"

    def as_dict(self) -> dict[str, Any]:
        return {"service": self.service, "strategy": self.strategy, "seconds": self.seconds,
                "purpose": self.purpose, "resumed": self.resumed, "health": self.health}


@dataclass(frozen=True)
class Bake:
    """`release.bake` (and ECS deployment alarms): watch alarms after stable; one in ALARM
    fails the release (engine/bake.py)."""

    kind: ClassVar[str] = "bake"
    minutes: float
    alarms: tuple[str, ...] = ()

    def describe(self) -> str:
        names = ", ".join(self.alarms) or "none"
        if self.minutes <= 0:
            return f"read the alarms once: {names}"
        return f"bake {self.minutes:g} min watching alarms: {names}"

    def as_dict(self) -> dict[str, Any]:
        return {"minutes": self.minutes, "alarms": list(self.alarms)}


@dataclass(frozen=True)
class TagRecord:
    """Write the outcome on a revision's release record (its tags, best effort:
    engine/outcome.tag_record, the one place they are written). `restored_from`: the
    record of a revision a rollback restored, and from what (its `tags` decided when the
    rollback was planned)."""

    kind: ClassVar[str] = "tag_record"
    revision: Any
    outcome: str = ""
    reason: str = ""
    restored_from: str | None = None
    tags: tuple[dict[str, str], ...] = ()  # written as they are; else the outcome's, then

    @property
    def restores(self) -> bool:
        return self.restored_from is not None

    def describe(self) -> str:
        if self.restores:
            return f"record on {_rev(self.revision)} that it was restored"
        return f"record {self.outcome} on {_rev(self.revision)}"

    def as_dict(self) -> dict[str, Any]:
        revision = self.revision.describe() if isinstance(self.revision, Ref) else self.revision
        return {"revision": revision, "outcome": self.outcome, "reason": self.reason,
                "restored_from": self.restored_from, "tags": list(self.tags)}


@dataclass(frozen=True)
class CanaryRemoval:
    """Scale the canary to 0, wait until its instances drained, delete it (engine/canary.py):
    at the end of a release whatever its outcome, and after a rollback."""

    kind: ClassVar[str] = "canary_removal"
    name: str
    calls: tuple[ApiCall, ...] = ()

    def describe(self) -> str:
        return f"remove the canary {self.name}: scale to 0, drain, delete"

    def as_dict(self) -> dict[str, Any]:
        return {"canary": self.name, "calls": _calls(self.calls)}


Instruction = (ApiCall | RunBeforeDeploy | CanaryStart | Wait | Bake | TagRecord
               | CanaryRemoval)


def kind_of(instruction: Instruction) -> str:
    """`call` for an ApiCall, else the instruction's kind: what `_do_<kind>` runs it."""
    return "call" if isinstance(instruction, ApiCall) else instruction.kind


def fields_of(instruction: Instruction) -> dict[str, Any]:
    """The JSON fields of an instruction's event, the same whether it is shown or run."""
    return {"instruction": kind_of(instruction), **instruction.as_dict()}


def calls_in(instructions: Sequence[Instruction]) -> list[ApiCall]:
    """Every AWS call of a list, those inside a canary step included, in order."""
    found: list[ApiCall] = []
    for item in instructions:
        if isinstance(item, ApiCall):
            found.append(item)
        elif isinstance(item, CanaryStart | CanaryRemoval):
            found.extend(item.calls)
    return found
