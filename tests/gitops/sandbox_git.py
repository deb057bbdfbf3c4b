"""A sandbox whose config repository is a git repository, for apply and the pipeline tests."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import git

from release_sandbox.testing import SandboxHandle

SERVICE = "akka-firehose-service"


def init_git(repo_root: Path) -> git.Repo:
    repo = git.Repo.init(repo_root, initial_branch="main")
    with repo.config_writer() as cfg:
        cfg.set_value("user", "name", "Release Tests")
        cfg.set_value("user", "email", "tests@example.invalid")
        cfg.set_value("commit", "gpgsign", "false")
    (repo_root / ".gitignore").write_text("reports/\n", encoding="utf-8")
    commit_all(repo, "documents")
    return repo


def commit_all(repo: git.Repo, message: str) -> str:
    repo.git.add("-A")
    repo.git.commit("-q", "--allow-empty", "-m", message)
    return repo.head.commit.hexsha


def edit_json(path: Path, change) -> None:
    doc = json.loads(path.read_text(encoding="utf-8"))
    change(doc)
    path.write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")


def move_into_sandbox(sandbox: SandboxHandle, env: str) -> None:
    """Point `env` (staging, production) at the sandbox with its own cluster, ELB and ECR
    repository, the way separate AWS accounts keep them apart, then create them."""
    root = sandbox.repo / "environments" / env

    def environment(doc: dict[str, Any]) -> None:
        doc["endpoints"] = {"aws": sandbox.endpoint}
        # no name may contain another: moto's ListTasks matches clusters by substring
        doc["cluster"] = f"{env.capitalize()}Cluster"
        doc["loadBalancer"]["name"] = f"{env}Elb"
        doc["ecr"]["repository"] = f"akka-firehose-{env}"
        doc["loadBalancer"]["healthCheck"]["interval"] = 5
        doc["loadBalancer"]["connectionDraining"]["timeout"] = 10

    def spec(doc: dict[str, Any]) -> None:
        for lb in doc["service"]["loadBalancers"]:
            lb["loadBalancerName"] = f"{env}Elb"

    edit_json(root / "environment.json", environment)
    for path in (root / "services").glob("*.json"):
        edit_json(path, spec)
    sandbox.seed_infrastructure(env)


def live_service(sandbox: SandboxHandle, env: str, service: str = SERVICE) -> dict[str, Any]:
    cluster = sandbox.environment(env).cluster
    return sandbox.client("ecs").describe_services(cluster=cluster,
                                                   services=[service])["services"][0]


def live_image(sandbox: SandboxHandle, env: str, service: str = SERVICE) -> str:
    """The image of the live revision's first container."""
    revision = live_service(sandbox, env, service)["taskDefinition"]
    taskdef = sandbox.client("ecs").describe_task_definition(taskDefinition=revision)
    return taskdef["taskDefinition"]["containerDefinitions"][0]["image"]


def live_revision(sandbox: SandboxHandle, env: str, service: str = SERVICE) -> str:
    """`family:N` of what the service runs."""
    return live_service(sandbox, env, service)["taskDefinition"].rsplit("/", 1)[-1]


class _Application(BaseHTTPRequestHandler):
    """What answers behind the ELB in a demo: the seed's two endpoints."""

    def log_message(self, *args: Any) -> None:
        pass

    def _answer(self, status: int) -> None:
        self.send_response(status)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"{}")

    def do_GET(self) -> None:
        self._answer(200 if self.path == "/api/healthcheck" else 404)

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        ok = self.path == "/api/user" and "userId" in json.loads(body or b"{}")
        self._answer(200 if ok else 400)


def serve(handler: type[BaseHTTPRequestHandler]) -> Iterator[str]:
    """A real HTTP server on a free local port, answering with `handler`; yields its URL."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@contextmanager
def application() -> Iterator[str]:
    """A local HTTP server standing in for the service behind the sandbox's ELB."""
    yield from serve(_Application)
