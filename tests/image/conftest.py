"""A local ECR for the image tests: moto's server for the API, a real registry for the bytes.

The registry's htpasswd holds user AWS with the password that moto's ECR token
decodes to, exactly as the sandbox runs it, so the login flow is real. Each
test gets its own copy of the config repository (a fresh git repo) so tests do
not see each other's commits or dirty files.
"""

from __future__ import annotations

import base64
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import git
import pytest
from image_support import commit_all, point_sandbox_at
from moto.server import ThreadedMotoServer

from release_sandbox.registry import Registry
from release_sandbox.testing import sandbox_credentials

PROJECT = Path(__file__).resolve().parents[2]
CONTEXT = "examples/akka-firehose"
REPOSITORY = "akka-firehose"
REGION = "us-east-1"


@dataclass
class LocalEcr:
    endpoint: str
    ecr: Any
    token: str  # the base64 token as ECR returns it
    password: str  # what the token decodes to after "AWS:"
    registry: Registry


@pytest.fixture(scope="session")
def local_ecr(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalEcr]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    ecr = boto3.client("ecr", region_name=REGION, endpoint_url=endpoint,
                       aws_access_key_id="sandbox", aws_secret_access_key="sandbox")
    ecr.create_repository(repositoryName=REPOSITORY, imageTagMutability="IMMUTABLE")
    token = ecr.get_authorization_token()["authorizationData"][0]["authorizationToken"]
    user, password = base64.b64decode(token).decode().split(":", 1)
    assert user == "AWS"
    registry = Registry(tmp_path_factory.mktemp("registry"), password, endpoint)
    registry.start()
    try:
        with sandbox_credentials():  # the keys `release build --push` signs with
            yield LocalEcr(endpoint, ecr, token, password, registry)
    finally:
        registry.stop()
        server.stop()


@pytest.fixture(scope="session")
def template_repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The project's documents and example context, with the stand-in binary compiled."""
    root = tmp_path_factory.mktemp("template")
    for folder in ("taskdefs", "environments", "schemas", "examples"):
        shutil.copytree(PROJECT / folder, root / folder,
                        ignore=shutil.ignore_patterns("bin", "__pycache__"))
    subprocess.run(["make", "-s", "-C", str(root / CONTEXT)], check=True)
    return root


def make_config_repo(root: Path, template: Path, local_ecr: LocalEcr) -> git.Repo:
    """A fresh git repository with the documents, pointed at the local ECR and registry."""
    shutil.copytree(template, root)
    point_sandbox_at(root, local_ecr.endpoint, local_ecr.registry.address)
    repo = git.Repo.init(root)
    with repo.config_writer() as cfg:
        cfg.set_value("user", "name", "Test")
        cfg.set_value("user", "email", "test@example.com")
    commit_all(repo, "documents")
    return repo


@pytest.fixture
def config_repo(tmp_path: Path, template_repo: Path, local_ecr: LocalEcr) -> git.Repo:
    return make_config_repo(tmp_path / "config", template_repo, local_ecr)


@pytest.fixture(scope="module")
def module_config_repo(tmp_path_factory: pytest.TempPathFactory, template_repo: Path,
                       local_ecr: LocalEcr) -> git.Repo:
    return make_config_repo(tmp_path_factory.mktemp("module") / "config", template_repo,
                            local_ecr)


@pytest.fixture(scope="session")
def docker_client() -> Iterator[Any]:
    import docker

    client = docker.from_env()
    yield client
    client.close()
