"""Release records as tags, rollback targets, and deployments in progress (the wait's
polling rhythm is tests/core/test_poll.py's)."""

from __future__ import annotations

import pytest

from release.core import records
from release.core.deployments import in_progress

ARN = "arn:aws:ecs:us-east-1:123456789012:task-definition/akka-demo:{}"


def record(n: int, previous: int | None, outcome: str, at: str,
           restored_at: str = "") -> records.Record:
    return records.Record(revision=ARN.format(n), previous=ARN.format(previous) if previous
                          else "", outcome=outcome, at=at, restored_at=restored_at)


def test_record_round_trips_through_tags_and_values_are_what_ecs_accepts() -> None:
    rec = records.Record(revision=ARN.format(3), env="prod", service="svc", commit="abc",
                         by="dom\\user#1", reason="x" * 400, outcome="failed")
    tags = rec.tags()
    assert all(t["key"].startswith("release:") for t in tags)
    values = {t["key"]: t["value"] for t in tags}
    assert values["release:by"] == "dom_user_1"
    assert len(values["release:reason"]) == 256
    back = records.Record.from_tags(ARN.format(3), tags)
    assert back is not None and back.env == "prod" and back.outcome == "failed"


def test_revision_without_release_tags_has_no_record() -> None:
    assert records.Record.from_tags(ARN.format(1), [{"key": "team", "value": "a"}]) is None


def from_tags(history: list[records.Record]) -> list[records.Entry]:
    return records.entries_from_tags(history, [])


def test_rollback_target_from_tags_is_the_recorded_previous_not_n_minus_1() -> None:
    history = [record(5, 2, "completed", "2026-01-05T00:00:00Z"),
               record(4, 2, "rolled-back", "2026-01-04T00:00:00Z"),
               record(3, 2, "failed", "2026-01-03T00:00:00Z"),
               record(2, 1, "completed", "2026-01-02T00:00:00Z")]
    assert records.rollback_target_of(ARN.format(5), from_tags(history)) == ARN.format(2)


def test_rollback_target_without_a_record_is_the_last_good_release() -> None:
    history = [record(4, 3, "failed", "2026-01-04T00:00:00Z"),
               record(3, 2, "completed", "2026-01-03T00:00:00Z"),
               record(2, 1, "completed", "2026-01-02T00:00:00Z")]
    assert records.rollback_target_of(ARN.format(9), from_tags(history)) == ARN.format(3)
    assert records.rollback_target_of(ARN.format(9), []) is None


def test_history_from_tags_lists_releases_and_restores_newest_first() -> None:
    history = [record(3, 2, "rolled-back", "2026-01-03T00:00:00Z"),
               record(2, 1, "completed", "2026-01-02T00:00:00Z",
                      restored_at="2026-01-03T00:05:00Z")]
    entries = records.newest_first(from_tags(history))
    assert [(e.kind, e.revision[-1], e.source) for e in entries] == [
        ("restore", "2", "tags"), ("release", "3", "tags"), ("release", "2", "tags")]


@pytest.mark.parametrize(("deployment", "busy"), [
    ({"status": "PRIMARY", "desiredCount": 2, "runningCount": 2, "pendingCount": 0}, False),
    ({"status": "PRIMARY", "desiredCount": 2, "runningCount": 1, "pendingCount": 1}, True),
    ({"status": "PRIMARY", "desiredCount": 2, "runningCount": 0, "pendingCount": 0}, True),
    ({"status": "PRIMARY", "desiredCount": 2, "runningCount": 0, "pendingCount": 0,
      "failedTasks": 3}, False),
    ({"status": "PRIMARY", "desiredCount": 2, "runningCount": 1, "pendingCount": 0,
      "rolloutState": "COMPLETED"}, False),
    ({"status": "PRIMARY", "desiredCount": 2, "runningCount": 2, "pendingCount": 0,
      "rolloutState": "IN_PROGRESS"}, True),
])
def test_a_lone_deployment_without_rollout_state_is_in_progress_until_its_tasks_run(
        deployment: dict, busy: bool) -> None:
    # Behind a classic ELB DescribeServices carries no rolloutState (ECS API reference).
    service = {"serviceName": "s", "deployments": [dict(deployment, id="ecs-svc/1")]}
    assert (in_progress(service) is not None) is busy
