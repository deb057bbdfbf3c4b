"""The one writer of release records on revisions (their `release:` tags).

A release, its automatic rollback, `release rollback`, and a lock closing what a run
left open all write the record through `tag_record`: best effort, because a record
that cannot be updated must not turn a release that happened into a failure.
"""

from __future__ import annotations

from typing import Any

from release.core.deployments import short
from release.output.events import Reporter


def tag_record(aws: Any, reporter: Reporter | None, arn: str | None,
               tags: list[dict[str, str]]) -> None:
    """TagResource on `arn` (nothing without one); a failure is a `record.warning` (said
    nowhere without a `reporter`: the lock closing what a run left open), never an error."""
    if not arn:
        return
    try:
        aws.ecs.tag_resource(resourceArn=arn, tags=tags)
    except Exception as exc:  # the release itself already happened; say so and go on
        if reporter is not None:
            reporter.emit("record.warning", f"could not update the release record on "
                          f"{short(arn)}: {exc}", "warn", revision=arn)
