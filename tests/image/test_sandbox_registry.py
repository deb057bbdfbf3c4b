"""The sandbox registry: ECR-style basic auth, lifecycle, and a clear error when missing."""

from __future__ import annotations

import base64
import os
import urllib.error
import urllib.request

import pytest

from release.core.errors import Unreachable
from release_sandbox.registry import Registry


def status_of(url: str, user: str | None = None, password: str | None = None) -> int:
    headers = {}
    if user is not None:
        headers["Authorization"] = "Basic " + base64.b64encode(
            f"{user}:{password}".encode()).decode()
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers),
                                    timeout=5) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


def test_registry_accepts_only_user_aws_with_the_ecr_password(local_ecr):
    url = f"{local_ecr.registry.url}/v2/"

    assert status_of(url) == 401
    assert status_of(url, "AWS", "wrong") == 401
    assert status_of(url, "someone", local_ecr.password) == 401
    assert status_of(url, "AWS", local_ecr.password) == 200


def test_stop_ends_the_registry_process(tmp_path):
    registry = Registry(tmp_path, "secret").start()
    pid = registry.pid
    assert pid and registry.address.startswith("127.0.0.1:")

    registry.stop()

    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
    assert registry.pid is None


def test_missing_registry_binary_says_how_to_install_it(tmp_path):
    registry = Registry(tmp_path, "secret", binary=str(tmp_path / "no-such-registry"))

    with pytest.raises(Unreachable) as raised:
        registry.start()

    assert "apt-get install docker-registry" in raised.value.hint


def test_busy_port_is_reported_not_hung(tmp_path, local_ecr):
    taken = int(local_ecr.registry.address.rsplit(":", 1)[1])

    with pytest.raises(Unreachable) as raised:
        Registry(tmp_path, "secret", port=taken, start_timeout=5).start()

    assert "already in use" in raised.value.message
