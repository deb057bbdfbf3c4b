"""Two applications in one environment, each with its own ECR repository, end to end.

The sandbox environment holds the example service (akka-firehose, the environment's
repository) and the audit worker (its own repository, `audit-worker`). On an empty sandbox
account: `release bootstrap` creates both repositories; `release build` builds each
application's FROM-scratch image (a real Docker engine) and pushes it into its own
repository; `release promote` pins each from its build report; `release apply` releases
both; a second change of both is applied; `release rollback` restores each to its first
release, checking each image in its own repository.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import git
import pytest
from engine_sandbox import PROJECT
from typer.testing import CliRunner

from release.cli import app
from release_sandbox.testing import SandboxHandle, running_sandbox

ENV = "sandbox"
CLUSTER = "AkkaCluster"
APPS = {  # spec stem -> (serviceName, family, container, repository, example)
    "akka-firehose": ("akka-firehose-service", "akka-demo", "akka-firehose", "akka-firehose",
                      "examples/akka-firehose"),
    "audit-worker": ("audit-worker-service", "audit-worker", "audit-worker", "audit-worker",
                     "examples/audit-worker"),
}


def release(sandbox: SandboxHandle, *args: str) -> tuple[int, str, list[dict[str, Any]]]:
    argv = [*args, "--repo", str(sandbox.repo), "--format", "json"]
    result = CliRunner().invoke(app, argv, catch_exceptions=False)
    events = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    return result.exit_code, result.output, events


def commit(repo: git.Repo, message: str) -> str:
    repo.git.add("-A")
    repo.git.commit("-q", "--allow-empty", "-m", message)
    return repo.head.commit.hexsha


def edit(path: Path, change) -> None:
    doc = json.loads(path.read_text())
    change(doc)
    path.write_text(json.dumps(doc, indent=2) + "\n")


def live(sandbox: SandboxHandle, stem: str) -> tuple[str, str]:
    """(family:N, image of the application's container) of what the service runs."""
    service, _family, container, _repository, _example = APPS[stem]
    ecs = sandbox.client("ecs")
    arn = ecs.describe_services(cluster=CLUSTER, services=[service])["services"][0][
        "taskDefinition"]
    taskdef = ecs.describe_task_definition(taskDefinition=arn)["taskDefinition"]
    image = next(c["image"] for c in taskdef["containerDefinitions"] if c["name"] == container)
    return arn.rsplit("/", 1)[-1], image


@pytest.fixture
def two_apps(tmp_path: Path, monkeypatch: pytest.MonkeyPatch
             ) -> Iterator[tuple[SandboxHandle, git.Repo]]:
    monkeypatch.setenv("USER", "operator1")
    monkeypatch.setenv("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")
    for name in ("BUILD_URL", "BUILD_TAG", "JOB_NAME", "BUILD_USER_ID"):
        monkeypatch.delenv(name, raising=False)
    with running_sandbox(PROJECT, tmp_path / "sandbox", registry=True) as sandbox:
        for stem in APPS:  # the applications' sources, compiled (bin/ is git-ignored)
            example = APPS[stem][4]
            shutil.copytree(PROJECT / example, sandbox.repo / example,
                            ignore=shutil.ignore_patterns("bin"))
            subprocess.run(["make", "-s", "-C", str(sandbox.repo / example)], check=True)
        repo = git.Repo.init(sandbox.repo, initial_branch="main")
        with repo.config_writer() as cfg:
            cfg.set_value("user", "name", "Release Tests")
            cfg.set_value("user", "email", "tests@example.invalid")
            cfg.set_value("commit", "gpgsign", "false")
        (sandbox.repo / ".gitignore").write_text("reports/\n")
        commit(repo, "the sandbox's documents and applications")
        yield sandbox, repo


def test_two_applications_each_in_its_own_repository_are_bootstrapped_built_applied_and_rolled_back(
        two_apps) -> None:
    sandbox, repo = two_apps
    assert sorted(APPS) == sorted(p.stem for p in (sandbox.repo / "environments" / ENV /
                                                     "services").glob("*.json"))

    # bootstrap: both repositories, the environment's settings, the seed's policy in each
    code, output, events = release(sandbox, "bootstrap", "--env", ENV, "--yes",
                                   "--instances", "2")
    assert code == 0, output
    listed = next(e for e in events if e["event"] == "bootstrap.repositories")
    assert set(listed["repositories"]) == {"akka-firehose", "audit-worker"}
    ecr = sandbox.client("ecr")
    for repository in ("akka-firehose", "audit-worker"):
        described = ecr.describe_repositories(repositoryNames=[repository])["repositories"][0]
        assert described["imageTagMutability"] == "IMMUTABLE"
        statements = json.loads(ecr.get_repository_policy(repositoryName=repository)[
            "policyText"])["Statement"]
        assert {s["Sid"] for s in statements} == {"jenkins_push_pull", "ecs_instance_pull"}

    # build and promote each from its own build report
    before = repo.head.commit.hexsha
    digests = {}
    reports = sandbox.repo / "reports"
    reports.mkdir()
    for stem, (_service, _family, _container, repository, _example) in APPS.items():
        code, output, events = release(sandbox, "build", "--env", ENV, "--service", stem,
                                       "--push")
        assert code == 0, output
        result = next(e for e in events if e["event"] == "build.result")
        assert result["reference"].split("@")[0].endswith(f"/{repository}"), result
        digests[stem] = result["digest"]
        assert ecr.describe_images(repositoryName=repository, imageIds=[
            {"imageDigest": result["digest"]}])["imageDetails"]
        report = reports / f"{stem}.json"
        report.write_text(output)
        code, output, _ = release(sandbox, "promote", "--env", ENV, "--service", stem,
                                  "--image", f"@{report}", "--commit")
        assert code == 0, output
    assert digests["akka-firehose"] != digests["audit-worker"]

    # apply what the promotions changed: both applications, each from its own repository
    code, output, _ = release(sandbox, "apply", "--since", before, "--env", ENV)
    assert code == 0, output
    first = {stem: live(sandbox, stem) for stem in APPS}
    for stem, (_service, family, _container, repository, _example) in APPS.items():
        revision, image = first[stem]
        assert revision == f"{family}:1"
        assert image.endswith(f"/{repository}@{digests[stem]}"), image

    # a second change of both, applied
    before = repo.head.commit.hexsha
    for stem, (_service, _family, container, _repository, _example) in APPS.items():
        edit(sandbox.repo / "environments" / ENV / "services" / f"{stem}.json",
             lambda d, c=container: d["overrides"]["containers"][c]["environment"].update(
                 LOG_LEVEL="debug"))
    commit(repo, "both: debug logging")
    code, output, _ = release(sandbox, "apply", "--since", before, "--env", ENV)
    assert code == 0, output
    assert {stem: live(sandbox, stem)[0] for stem in APPS} == {
        "akka-firehose": "akka-demo:2", "audit-worker": "audit-worker:2"}

    # rollback restores each to its first release; each revision's image is looked up in
    # its own repository first (the worker's is not in the environment's repository, so a
    # look in the wrong one would refuse the rollback as a missing image)
    code, output, events = release(sandbox, "rollback", "--env", ENV, "--yes")
    assert code == 0, output
    assert {stem: live(sandbox, stem) for stem in APPS} == first
    assert len([e for e in events if e["event"] == "rollback.done"]) == 2
