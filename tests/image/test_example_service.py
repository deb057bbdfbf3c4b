"""The stand-in akka-firehose image runs under this engine and answers like the service."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request

import pytest
from image_support import build_args, run_release

from release_sandbox.registry import free_port


def call(url: str, body: bytes | None = None) -> tuple[int, dict]:
    request = urllib.request.Request(url, data=body,
                                     headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


@pytest.fixture(scope="module")
def built_image(module_config_repo):
    """The image `release build` made from the example context."""
    run = run_release(*build_args(module_config_repo, "--format", "json"))
    assert run.exit_code == 0, run.output
    return run.event("build.result")


def start(docker_client, image: str):
    """Run with host networking (the engine has no bridge) and wait until it answers."""
    port = free_port()
    container = docker_client.containers.run(image, detach=True, network_mode="host",
                                             environment={"HTTP_PORT": str(port)})
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 10
    while True:
        try:
            urllib.request.urlopen(f"{base}/api/healthcheck", timeout=1).close()
            return base, container
        except OSError:
            if time.monotonic() > deadline:
                logs = container.logs().decode()
                container.remove(force=True)
                raise AssertionError(f"the service did not answer: {logs}") from None
            time.sleep(0.05)


@pytest.fixture(scope="module")
def running_service(built_image, docker_client):
    base, container = start(docker_client, built_image["image"])
    yield base, built_image, container
    container.remove(force=True)


def test_healthcheck_answers_200_with_the_built_revision(running_service):
    base, result, _ = running_service

    status, body = call(f"{base}/api/healthcheck")

    assert status == 200
    assert body == {"status": "ok", "revision": result["tag"]}


def test_post_user_accepts_the_seed_example(running_service):
    base, _, _ = running_service

    status, body = call(f"{base}/api/user",
                        json.dumps({"userId": 100, "userName": "This is user data"}).encode())

    assert status == 200
    assert body == {"accepted": True, "userId": 100}


@pytest.mark.parametrize("bad_body", [
    b"not json",
    b'{"userId": "100", "userName": "x"}',
    b'{"userName": "x"}',
    b'{"userId": 1.5, "userName": "x"}',
    b'{"userId": 1, "userName": "x"',
    b'[{"userId": 1, "userName": "x"}]',
])
def test_post_user_rejects_a_bad_body_with_400(running_service, bad_body):
    base, _, _ = running_service

    status, body = call(f"{base}/api/user", bad_body)

    assert status == 400
    assert "userId" in body["error"]


def test_unknown_path_is_404_and_logged(running_service):
    base, _, container = running_service

    status, _ = call(f"{base}/nothing-here")

    assert status == 404
    # The engine collects container output asynchronously: give it a moment to arrive.
    deadline = time.monotonic() + 10
    while "GET /nothing-here 404" not in container.logs().decode():
        assert time.monotonic() < deadline, container.logs().decode()
        time.sleep(0.05)


def test_image_defaults_to_port_8080(built_image, docker_client):
    config = docker_client.images.get(built_image["image"]).attrs["Config"]

    assert "HTTP_PORT=8080" in config["Env"]
    assert "8080/tcp" in config["ExposedPorts"]


def test_service_stops_on_sigterm_and_exits_143_as_the_jvm_does(built_image, docker_client):
    _, container = start(docker_client, built_image["image"])
    try:
        container.stop(timeout=5)
        container.reload()
        assert container.attrs["State"]["ExitCode"] == 143
        assert "stopping" in container.logs().decode()
    finally:
        container.remove(force=True)
