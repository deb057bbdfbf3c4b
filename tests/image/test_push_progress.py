"""Push progress from the engine's stream, and where the engine is looked for."""

from __future__ import annotations

import io

from release.adapters.docker_engine import PushProgress, docker_host_description
from release.output.events import Reporter

# Items as the engine streams them for a one-layer push (recorded from dockerd 20.10).
PUSH_STREAM = [
    {"status": "The push refers to repository [127.0.0.1:5000/akka-firehose]"},
    {"status": "Preparing", "progressDetail": {}, "id": "58fd73e70001"},
    {"status": "Pushing", "progressDetail": {"current": 512, "total": 813800},
     "id": "58fd73e70001"},
    {"status": "Pushing", "progressDetail": {"current": 813800, "total": 813800},
     "id": "58fd73e70001"},
    {"status": "Pushed", "progressDetail": {}, "id": "58fd73e70001"},
    {"status": "abc: digest: sha256:1234 size: 527"},
]


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_plain_progress_prints_one_line_per_layer_status_change():
    out = io.StringIO()
    progress = PushProgress(Reporter("text", stream=out))

    with progress:
        for item in PUSH_STREAM:
            progress.update(item)

    lines = out.getvalue().splitlines()
    assert lines == ["The push refers to repository [127.0.0.1:5000/akka-firehose]",
                     "58fd73e70001: Preparing", "58fd73e70001: Pushing",
                     "58fd73e70001: Pushed", "abc: digest: sha256:1234 size: 527"]


def test_terminal_progress_draws_a_bar_per_layer(monkeypatch):
    monkeypatch.delenv("NO_COLOR", raising=False)
    out = Terminal()
    progress = PushProgress(Reporter("text", stream=out))

    with progress:
        for item in PUSH_STREAM:
            progress.update(item)

    assert progress.live
    assert "58fd73e70001 Pushed" in out.getvalue()
    task = progress._progress.tasks[0]
    assert task.completed == task.total


def test_json_progress_never_draws_bars():
    out = io.StringIO()
    progress = PushProgress(Reporter("json", stream=out))

    with progress:
        for item in PUSH_STREAM:
            progress.update(item)

    assert not progress.live
    assert all(line.startswith("{") for line in out.getvalue().splitlines())


def test_engine_location_names_the_default_socket_when_docker_host_is_unset(monkeypatch):
    monkeypatch.delenv("DOCKER_HOST", raising=False)

    assert "unix:///var/run/docker.sock" in docker_host_description()
    assert "$DOCKER_HOST is not set" in docker_host_description()


def test_engine_location_names_docker_host_when_set(monkeypatch):
    monkeypatch.setenv("DOCKER_HOST", "tcp://10.0.0.5:2375")

    assert docker_host_description() == "tcp://10.0.0.5:2375 (from $DOCKER_HOST)"
