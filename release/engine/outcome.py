"""How a release or a rollback ended; the tags that record it on the revision are written by
adapters/record_tags.tag_record (re-exported here for the engine)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from release.adapters.record_tags import tag_record
from release.core.errors import EXIT_OK

__all__ = ["FAILED", "NOT_RESTORED", "RELEASED", "ROLLED_BACK", "UNCHANGED", "ReleaseOutcome",
           "first_failure", "tag_record"]

UNCHANGED, RELEASED, ROLLED_BACK, NOT_RESTORED, FAILED = (
    "unchanged", "released", "rolled_back", "not_restored", "failed")


@dataclass
class ReleaseOutcome:
    """How one service's release ended; `exit_code` follows the tool's exit codes."""

    env: str
    service: str
    status: str  # unchanged | released | rolled_back | not_restored | failed
    revision_arn: str | None
    previous_arn: str | None
    message: str
    exit_code: int
    cause: str | None = None
    hint: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {"env": self.env, "service": self.service, "status": self.status,
                "revision": self.revision_arn, "previous": self.previous_arn,
                "message": self.message, "exit_code": self.exit_code, "cause": self.cause,
                "hint": self.hint}


def first_failure(outcomes: list[ReleaseOutcome]) -> ReleaseOutcome | None:
    return next((o for o in outcomes if o.exit_code != EXIT_OK), None)
