"""A sandbox prepared by `release bootstrap` alone is one that `release deploy` can release
into: both of its applications, each from the repository bootstrap made for it."""

from __future__ import annotations

import json

import git
from bootstrap_helpers import PROJECT, run_bootstrap
from typer.testing import CliRunner

from release.cli import app
from release_sandbox.testing import running_sandbox

SPEC = "environments/sandbox/services/akka-firehose.json"
WORKER_SPEC = "environments/sandbox/services/audit-worker.json"  # its own repository


def _commit(repo: git.Repo, message: str) -> None:
    repo.git.add("-A")
    repo.git.commit("-q", "--allow-empty", "-m", message)


def test_bootstrap_with_two_instances_leaves_a_sandbox_that_deploy_can_release_into(
        tmp_path, monkeypatch):
    monkeypatch.setenv("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")
    monkeypatch.setenv("USER", "operator1")
    with running_sandbox(PROJECT, tmp_path / "sandbox") as sandbox:
        repo = git.Repo.init(sandbox.repo, initial_branch="main")
        with repo.config_writer() as cfg:
            cfg.set_value("user", "name", "Release Tests")
            cfg.set_value("user", "email", "tests@example.invalid")
            cfg.set_value("commit", "gpgsign", "false")
        _commit(repo, "the sandbox's documents")

        boot = run_bootstrap(sandbox.repo, "--env", "sandbox", "--yes", "--instances", "2")
        assert boot.exit_code == 0, boot.output
        ecs = sandbox.client("ecs")
        assert len(ecs.list_container_instances(cluster="AkkaCluster")[
            "containerInstanceArns"]) == 2

        # each application's image in the repository bootstrap made for it
        for spec_rel, repository in ((SPEC, None), (WORKER_SPEC, "audit-worker")):
            digest = sandbox.put_image("v1", repository=repository)
            spec_path = sandbox.repo / spec_rel
            spec = json.loads(spec_path.read_text())
            spec["image"].update(tag="v1", digest=digest)
            spec_path.write_text(json.dumps(spec, indent=2) + "\n")
        _commit(repo, "pin v1")

        result = CliRunner().invoke(app, ["deploy", "--env", "sandbox", "--repo",
                                          str(sandbox.repo), "--format", "json"])
        assert result.exit_code == 0, result.output
        service = ecs.describe_services(cluster="AkkaCluster",
                                        services=["akka-firehose-service"])["services"][0]
        assert service["taskDefinition"].endswith("akka-demo:1")
        assert service["runningCount"] == 2
        worker = ecs.describe_services(cluster="AkkaCluster",
                                       services=["audit-worker-service"])["services"][0]
        assert worker["taskDefinition"].endswith("audit-worker:1")
        assert worker["runningCount"] == 2
