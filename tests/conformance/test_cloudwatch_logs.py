"""CloudWatch Logs answers in the shapes AWS returns them (adapters/cloudwatch_logs.py, and
the wait's failing-task lines in engine/task_logs.py).

A real boto3 client answered by botocore's Stubber, which validates parameters and
responses against the CloudWatch Logs model: GetLogEvents (events with timestamp,
message, ingestionTime; nextForwardToken, nextBackwardToken — and an empty page, which
still carries both tokens), FilterLogEvents (pages joined by nextToken; AWS may leave
out eventId), and the errors that must become one line, never an exception.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from botocore.stub import Stubber
from stub_clients import stubbed_client

from release.adapters import cloudwatch_logs as cwl
from release.core.awslogs import Stream
from release.engine.task_logs import emit_tail
from release.output.events import Reporter

STREAM = Stream("/ecs/akka-firehose", "ecs/akka-firehose/0f3c0d3e9a0b4c5d8e7f6a5b4c3d2e1f",
                "us-east-1", "akka-firehose", "0f3c0d3e9a0b4c5d8e7f6a5b4c3d2e1f")
T = 1_764_633_600_000  # ms
FORWARD = "f/38000000000000000000000000000000000000000000000000000002"
BACKWARD = "b/38000000000000000000000000000000000000000000000000000000"


@pytest.fixture
def logs() -> Iterator[tuple[Any, Stubber]]:
    yield from stubbed_client("logs")


def _event(i: int, message: str) -> dict[str, Any]:
    return {"timestamp": T + i, "message": message, "ingestionTime": T + i + 40}


def test_tail_asks_for_the_end_of_the_stream_and_keeps_the_order(logs) -> None:
    client, stub = logs
    stub.add_response("get_log_events", {
        "events": [_event(0, "akka-firehose stand-in listening on port 8080\n"),
                   _event(1, "Exception in thread \"main\" java.lang.IllegalStateException")],
        "nextForwardToken": FORWARD, "nextBackwardToken": BACKWARD},
        {"logGroupName": STREAM.group, "logStreamName": STREAM.stream,
         "startFromHead": False, "limit": 20})
    read = cwl.tail(client, STREAM, 20)
    assert read.problem == ""
    assert [line.message for line in read.lines] == [
        "akka-firehose stand-in listening on port 8080",  # the trailing newline is not kept
        "Exception in thread \"main\" java.lang.IllegalStateException"]
    assert read.lines[1].timestamp == T + 1 and read.lines[1].stream == STREAM.stream


@pytest.mark.parametrize(("code", "kind", "says"), [
    ("ResourceNotFoundException", cwl.MISSING, "does not exist"),
    ("AccessDeniedException", cwl.DENIED, "needs logs:GetLogEvents"),
    ("ThrottlingException", cwl.FAILED, "ThrottlingException"),
])
def test_tail_errors_are_one_line(logs, code: str, kind: str, says: str) -> None:
    client, stub = logs
    stub.add_client_error("get_log_events", code, "The specified log stream does not exist."
                          if kind == cwl.MISSING else "not this time", 400)
    read = cwl.tail(client, STREAM, 5)
    assert (read.lines, read.kind) == ([], kind) and says in read.problem


def test_since_reads_every_page_and_copes_without_event_ids(logs) -> None:
    client, stub = logs
    other = "ecs/akka-firehose/aaaa"
    stub.add_response("filter_log_events", {
        "events": [{"logStreamName": other, "timestamp": T + 5, "message": "b",
                    "ingestionTime": T + 6, "eventId": "2"}],
        "nextToken": "page-2"},
        {"logGroupName": STREAM.group, "logStreamNames": [STREAM.stream, other],
         "startTime": T})
    stub.add_response("filter_log_events", {
        "events": [{"logStreamName": STREAM.stream, "timestamp": T + 1, "message": "a",
                    "ingestionTime": T + 2}]},
        {"logGroupName": STREAM.group, "logStreamNames": [STREAM.stream, other],
         "startTime": T, "nextToken": "page-2"})
    read = cwl.since(client, STREAM.group, [STREAM.stream, other], T)
    assert [(line.stream, line.message, line.event_id) for line in read.lines] == [
        (STREAM.stream, "a", ""), (other, "b", "2")]  # oldest first across pages


def test_since_denied_is_one_line(logs) -> None:
    client, stub = logs
    stub.add_client_error("filter_log_events", "AccessDeniedException", "User: arn:aws:sts::"
                          "123456789012:assumed-role/jenkins/x is not authorized", 400)
    read = cwl.since(client, STREAM.group, [STREAM.stream], T)
    assert read.kind == cwl.DENIED and "logs:FilterLogEvents" in read.problem


class _Logs:
    """What engine/task_logs.emit_tail needs: the task definition and the client."""

    def __init__(self, client: Any, taskdef: dict[str, Any]) -> None:
        self.client_, self.taskdef = client, taskdef

    def locate(self, task: Any, container: Any = None) -> Any:
        from release.core.awslogs import container_definition, locate

        return locate(container_definition(self.taskdef, container), task["taskArn"])

    def tail(self, stream: Stream, limit: int) -> Any:
        return cwl.tail(self.client_, stream, limit)


TASKDEF = {"containerDefinitions": [{"name": "akka-firehose", "logConfiguration": {
    "logDriver": "awslogs", "options": {"awslogs-group": STREAM.group,
                                        "awslogs-region": "us-east-1",
                                        "awslogs-stream-prefix": "ecs"}}}]}
TASK = {"taskArn": f"arn:aws:ecs:us-east-1:123456789012:task/AkkaCluster/{STREAM.task_id}"}


def test_the_waits_event_carries_group_stream_and_lines(logs) -> None:
    client, stub = logs
    stub.add_response("get_log_events", {"events": [_event(0, "fatal: boom")],
                                         "nextForwardToken": FORWARD,
                                         "nextBackwardToken": BACKWARD})
    reporter = Reporter("json")
    emit_tail(reporter, _Logs(client, TASKDEF), TASK, 20)  # type: ignore[arg-type]
    event = reporter.events[-1]
    assert (event.kind, event.data["group"], event.data["stream"], event.data["lines"]) == (
        "task.logs", STREAM.group, STREAM.stream, ["fatal: boom"])


def test_an_empty_stream_is_said_in_one_line(logs) -> None:
    client, stub = logs
    # an empty page still carries both tokens
    stub.add_response("get_log_events", {"events": [], "nextForwardToken": FORWARD,
                                         "nextBackwardToken": BACKWARD})
    reporter = Reporter("json")
    emit_tail(reporter, _Logs(client, TASKDEF), TASK, 20)  # type: ignore[arg-type]
    event = reporter.events[-1]
    assert event.level == "warn" and "is empty" in event.message and event.data["lines"] == []


def test_whatever_goes_wrong_reading_the_release_goes_on() -> None:
    from pathlib import Path

    from release.core import stability
    from release.core.config import load_repo
    from release.engine.task_logs import FailingTaskLogs

    repo = load_repo(Path(__file__).resolve().parents[2], ["staging"])
    spec = repo.services_of("staging")[0]
    reporter = Reporter("json")
    shower = FailingTaskLogs(None, repo.environment("staging"), spec, reporter)

    class Broken:
        def locate(self, task: Any, container: Any = None) -> Any:
            raise RuntimeError("the connection pool is closed")

    shower.logs = Broken()  # type: ignore[assignment]
    revision = "arn:aws:ecs:us-east-1:123456789012:task-definition/akka-demo:2"
    crashed = {**TASK, "taskDefinitionArn": revision, "lastStatus": "STOPPED",
               "stoppedReason": "Essential container in task exited",
               "containers": [{"name": "akka-firehose", "exitCode": 1}]}
    target = stability.Target(revision, started_at=0, deadline=10**10, desired_count=2)
    snap = stability.Snapshot(1.0, {"serviceName": "s"}, [crashed])
    verdict = stability.Verdict(stability.PROGRESSING, "")
    shower.observe(snap, target, verdict)
    shower.observe(snap, target, verdict)  # once per task
    assert [(e.kind, e.level) for e in reporter.events] == [("task.logs", "warn")]
    assert "connection pool is closed" in reporter.events[0].message
