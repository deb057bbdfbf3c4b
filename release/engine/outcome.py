"""How a release or a rollback ended, and the tags that record it on the revision."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from release.core.deployments import short
from release.core.errors import EXIT_OK
from release.output.events import Reporter

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


def tag_record(aws: Any, reporter: Reporter, arn: str | None, tags: list[dict[str, str]]
               ) -> None:
    """Best effort: a record that cannot be updated must not turn a release into a failure."""
    if not arn:
        return
    try:
        aws.ecs.tag_resource(resourceArn=arn, tags=tags)
    except Exception as exc:  # the release itself already happened; say so and go on
        reporter.emit("record.warning", f"could not update the release record on {short(arn)}: "
                      f"{exc}", "warn", revision=arn)
