"""A moto server on 127.0.0.1 in this process (reset before every test) and copies of the
project's documents."""

from __future__ import annotations

import logging
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from bootstrap_helpers import PROJECT, edit_environment, environment

from release_sandbox.network import seed_repo
from release_sandbox.testing import fresh_moto, sandbox_credentials

DOCUMENT_DIRS = ("environments", "taskdefs", "schemas")


@pytest.fixture(scope="session")
def moto_url() -> Iterator[str]:
    """One server for the whole area; each test starts from an empty account (see `aws_url`)."""
    from moto.server import ThreadedMotoServer

    # moto loads AWS managed policies (AmazonEC2ContainerServiceforEC2Role) only when asked.
    previous = os.environ.get("MOTO_IAM_LOAD_MANAGED_POLICIES")
    os.environ["MOTO_IAM_LOAD_MANAGED_POLICIES"] = "true"
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()
    if previous is None:
        os.environ.pop("MOTO_IAM_LOAD_MANAGED_POLICIES", None)
    else:
        os.environ["MOTO_IAM_LOAD_MANAGED_POLICIES"] = previous


@pytest.fixture
def aws_url(moto_url: str) -> Iterator[str]:
    """The server, reset; the tool signs with the sandbox's keys meanwhile (it has none).

    The server runs in this process, so it is reset here: moto's own reset (POST
    /moto-api/reset) re-creates the EC2 and IAM backends, some 3 s of CPU a test;
    fresh_moto gives the same empty account from copies made once."""
    fresh_moto()
    with sandbox_credentials():
        yield moto_url


@pytest.fixture
def repo(tmp_path: Path, aws_url: str) -> Path:
    """The project's documents, with the sandbox pointing at this test's moto server."""
    root = tmp_path / "config"
    root.mkdir()
    for name in DOCUMENT_DIRS:
        if (PROJECT / name).is_dir():
            shutil.copytree(PROJECT / name, root / name)
    edit_environment(root, "sandbox", lambda doc: doc["endpoints"].update(aws=aws_url))
    seed_repo(aws_url, root)  # the subnets and security groups the documents name, as a sandbox
    return root


@pytest.fixture
def sandbox_aws(repo: Path):
    """Aws clients for the sandbox environment of `repo` (the code under test uses the same)."""
    from release.adapters.aws import Aws

    return Aws(environment(repo))
