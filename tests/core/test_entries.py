"""How a ledger entry closes (core/entries.py) and what a poller round needs (core/poll_rounds.py):
the pure decisions behind the lease, the ledger and the poller, without DynamoDB or ECS."""

from __future__ import annotations

import pytest

from release.core import entries, poll_rounds, records
from release.core import lease as leases
from release.core.errors import InvalidInput, Signalled

ARN = "arn:aws:ecs:us-east-1:123456789012:task-definition/akka-demo:{}"


def release(failure: str = "") -> records.Entry:
    return records.Entry(id="01", kind=records.RELEASE, env="e", service="s",
                         revision=ARN.format(7), failure=failure)


def restore(outcome: str) -> records.Entry:
    return records.Entry(id="02", kind=records.RESTORE, env="e", service="s",
                         revision=ARN.format(6), outcome=outcome)


@pytest.mark.parametrize(("exc", "outcome", "reason"), [
    (Signalled("SIGTERM"), records.INTERRUPTED, "interrupted (SIGTERM)"),
    (KeyboardInterrupt(), records.INTERRUPTED, "interrupted (Ctrl-C)"),
    (BrokenPipeError(32, "Broken pipe"), records.INTERRUPTED,
     "the output was closed (broken pipe)"),
    (SystemExit(1), records.INTERRUPTED, "the command exited"),
    (leases.Superseded("taken over", "see status"), records.INTERRUPTED, "taken over"),
    (InvalidInput("bad", "fix it"), records.UNKNOWN, "bad"),
    (ValueError("boom"), records.UNKNOWN, "ValueError: boom"),
])
def test_the_way_a_command_left_is_the_outcome_of_what_it_left_open(
        exc: BaseException, outcome: str, reason: str) -> None:
    assert entries.outcome_of(exc) == (outcome, reason)


def test_an_entry_without_a_noted_failure_closes_as_the_command_left() -> None:
    assert entries.closing(release(), records.INTERRUPTED, "interrupted (Ctrl-C)", None) == (
        records.INTERRUPTED, "interrupted (Ctrl-C)")


def test_a_failed_release_keeps_its_cause_and_says_what_became_of_its_rollback() -> None:
    failed = release("alarm: went into ALARM")
    assert entries.closing(failed, records.INTERRUPTED, "Ctrl-C", None) == (
        records.FAILED, "alarm: went into ALARM; not rolled back: Ctrl-C")
    assert entries.closing(failed, records.UNKNOWN, "then", restore(records.COMPLETED)) == (
        records.ROLLED_BACK, "alarm: went into ALARM; rolled back to akka-demo:6, then then")
    assert entries.closing(failed, records.INTERRUPTED, "Ctrl-C",
                           restore(records.INTERRUPTED)) == (
        records.FAILED, "alarm: went into ALARM; the rollback to akka-demo:6 did not finish: "
        "Ctrl-C")


def test_what_an_earlier_run_left_open_closes_by_why_its_lease_was_taken_over() -> None:
    theirs = leases.Lease("o", "jenkins@ci-7", "ci-7", 4711, "release deploy", "", 0.0, 1.0)
    gone = entries.left_open(release(), leases.OWNER_GONE, theirs, "me@here")
    assert gone[0] == records.INTERRUPTED
    assert gone[1].startswith("left in progress by jenkins@ci-7 (pid 4711, release deploy)")
    assert gone[1].endswith("; closed by me@here")
    assert entries.left_open(release(), leases.EXPIRED, None, "me@here") == (
        records.UNKNOWN, "left in progress by an earlier run; closed by me@here")
    failed = entries.left_open(release("crash"), leases.EXPIRED, None, "me@here")
    assert failed == (records.FAILED, "crash; rolling back when left in progress by an "
                                      "earlier run; closed by me@here")


def test_only_a_release_left_without_an_outcome_is_unfinished() -> None:
    live = ARN.format(7)
    cut = records.Entry(id="1", kind=records.RELEASE, env="e", service="s", revision=live,
                        outcome=records.INTERRUPTED)
    done = records.Entry(id="2", kind=records.RELEASE, env="e", service="s", revision=live,
                         outcome=records.COMPLETED)
    back = records.Entry(id="3", kind=records.RESTORE, env="e", service="s", revision=live,
                         outcome=records.UNKNOWN)
    assert entries.made_live_unfinished([cut, done], live) is cut
    assert entries.made_live_unfinished([done, cut], live) is None  # the newest decides
    assert entries.made_live_unfinished([back], live) is None
    assert entries.made_live_unfinished([cut], None) is None


# ------------------------------------------------------------------------ poller rounds


def service(events: list[str], running: int = 2) -> dict:
    return {"desiredCount": 2, "runningCount": running, "pendingCount": 0,
            "deployments": [{"id": "d1", "desiredCount": 2, "runningCount": running}],
            "events": [{"id": f"e{i}", "message": m} for i, m in enumerate(events)]}


def test_a_service_moved_when_its_counts_moved_or_a_new_event_speaks_of_tasks() -> None:
    before = service(["(service s) has reached a steady state."])
    seen = poll_rounds.task_signature(before)[:-1]
    assert poll_rounds.tasks_moved(None, None, before)  # first sight
    assert not poll_rounds.tasks_moved(seen, "e0", before)
    assert poll_rounds.tasks_moved(seen, "e0", service([], running=1))
    news = service(["(service s) has started 1 tasks: (task abc).", "steady"])
    assert poll_rounds.tasks_moved(seen, "e1", news)


def test_an_event_naming_a_task_the_list_lacks_asks_for_the_list_again() -> None:
    started = {"message": "(service s) has started 1 tasks: (task abc)."}
    assert not poll_rounds.names_unknown(started, "started", ["arn:aws:ecs:task/c/abc"])
    assert poll_rounds.names_unknown(started, "started", ["arn:aws:ecs:task/c/xyz"])
    assert not poll_rounds.names_unknown(started, "stopped", [])


def test_tasks_on_their_way_are_read_again_and_settled_ones_are_not() -> None:
    assert poll_rounds.on_its_way({"lastStatus": "PENDING"})
    assert poll_rounds.on_its_way({"lastStatus": "RUNNING", "desiredStatus": "STOPPED"})
    assert not poll_rounds.on_its_way({"lastStatus": "RUNNING", "desiredStatus": "RUNNING"})
    assert not poll_rounds.on_its_way({"lastStatus": "DEACTIVATING"})


def test_a_missing_cluster_names_the_bootstrap_of_its_environment() -> None:
    said = poll_rounds.no_cluster("apps", "staging")
    assert "cluster 'apps' does not exist" in said.message
    assert "release bootstrap --env staging" in said.hint
    assert "--cluster" in poll_rounds.no_cluster("apps", None).hint
