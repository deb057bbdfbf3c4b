"""Where a container's output is in CloudWatch Logs (release/core/awslogs.py)."""

from __future__ import annotations

import pytest

from release.core import awslogs

ARN = "arn:aws:ecs:us-east-1:123456789012:task/AkkaCluster/0f3c0d3e9a0b4c5d8e7f6a5b4c3d2e1f"


def _container(driver: str | None = "awslogs", **options: str) -> dict:
    definition: dict = {"name": "akka-firehose"}
    if driver:
        definition["logConfiguration"] = {"logDriver": driver, "options": options}
    return definition


def test_stream_is_prefix_container_task_id() -> None:
    found = awslogs.locate(_container(**{"awslogs-group": "/ecs/akka-firehose",
                                         "awslogs-region": "eu-west-1",
                                         "awslogs-stream-prefix": "ecs"}), ARN)
    assert found.stream == awslogs.Stream("/ecs/akka-firehose",
                                          "ecs/akka-firehose/0f3c0d3e9a0b4c5d8e7f6a5b4c3d2e1f",
                                          "eu-west-1", "akka-firehose",
                                          "0f3c0d3e9a0b4c5d8e7f6a5b4c3d2e1f")
    # the older ARN format has no cluster in it
    old = awslogs.locate(_container(**{"awslogs-group": "g", "awslogs-stream-prefix": "p"}),
                         "arn:aws:ecs:us-east-1:123456789012:task/abc")
    assert old.stream is not None and old.stream.stream == "p/akka-firehose/abc"
    assert old.stream.region is None


@pytest.mark.parametrize(("definition", "says"), [
    (_container(None), "no logConfiguration"),
    (_container("splunk", **{"splunk-url": "x"}), "the splunk log driver"),
    (_container(**{"awslogs-stream-prefix": "ecs"}), "without awslogs-group"),
    (_container(**{"awslogs-group": "/ecs/a"}), "named by Docker container ID"),
])
def test_cannot_tell_says_why(definition: dict, says: str) -> None:
    found = awslogs.locate(definition, ARN)
    assert found.stream is None and says in found.why


def test_container_is_the_named_one_else_the_first_essential() -> None:
    taskdef = {"containerDefinitions": [{"name": "sidecar", "essential": False},
                                        {"name": "app"}]}
    assert awslogs.container_definition(taskdef, None)["name"] == "app"
    assert awslogs.container_definition(taskdef, "sidecar")["name"] == "sidecar"
    assert awslogs.container_definition(taskdef, "nope") is None


def test_log_groups_once_each_in_order() -> None:
    bodies = [{"containerDefinitions": [
        _container(**{"awslogs-group": "/b", "awslogs-region": "us-east-1"}),
        _container(**{"awslogs-group": "/a"}), _container("splunk"), _container(None)]},
        {"containerDefinitions": [_container(**{"awslogs-group": "/b",
                                                "awslogs-region": "us-east-1"})]}]
    assert awslogs.log_groups(bodies) == [("/b", "us-east-1"), ("/a", None)]


@pytest.mark.parametrize(("text", "seconds"), [("90", 90), ("90s", 90), ("10m", 600),
                                               ("2h", 7200), (" 1d ", 86400)])
def test_since(text: str, seconds: int) -> None:
    assert awslogs.parse_since(text) == seconds


@pytest.mark.parametrize("text", ["", "0m", "-5m", "10 minutes", "1.5h", "m"])
def test_since_refuses_what_is_not_a_duration(text: str) -> None:
    with pytest.raises(ValueError, match="e.g. 10m"):
        awslogs.parse_since(text)


def test_since_refuses_what_reaches_back_before_1970() -> None:
    now = 1_764_580_000.0  # December 2025: 20,423 days after the epoch
    assert awslogs.parse_since("20423d", now) == 20423 * 86400
    with pytest.raises(ValueError, match="before 1970.*at most 20423d"):
        awslogs.parse_since("99999d", now)


def test_failure_lines_default_setting_and_none() -> None:
    assert awslogs.failure_lines({}) == 20
    assert awslogs.failure_lines({"release": {"logs": {"lines": 50}}}) == 50
    assert awslogs.failure_lines({"release": {"logs": {"lines": 0}}}) == 0
