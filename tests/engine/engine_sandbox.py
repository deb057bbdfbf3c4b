"""Scenario helpers: a sandbox (moto + ECS emulator on a virtual clock) and the CLI in-process.

`stage` gives a test a copy of the config repository (a git repository, so
release records carry a commit) wired to a fresh sandbox, plus helpers to pin
images, inject task faults and run `release` verbs. While a verb runs, every
`wait.stable` event is checked against the emulator's own state at that very
moment: no task of another revision may still be running, draining or
stopping, and no ELB instance may be draining. The check runs for every
scenario and fails the test that declared stability too early.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import git
from typer.testing import CliRunner

from release.cli import app
from release_sandbox.testing import SandboxHandle

PROJECT = Path(__file__).resolve().parents[2]
SPEC = "environments/sandbox/services/akka-firehose.json"
ENV_DOC = "environments/sandbox/environment.json"
CONTAINER = "akka-firehose"
SERVICE = "akka-firehose-service"
CLUSTER = "AkkaCluster"


@dataclass
class Run:
    exit_code: int
    output: str
    events: list[dict[str, Any]]

    def kinds(self) -> list[str]:
        return [e["event"] for e in self.events]

    def first(self, kind: str) -> dict[str, Any]:
        return next(e for e in self.events if e["event"] == kind)

    def has(self, kind: str) -> bool:
        return any(e["event"] == kind for e in self.events)

    @property
    def summary(self) -> dict[str, Any]:
        return self.events[-1]


@dataclass
class Stage:
    sandbox: SandboxHandle
    repo: Path
    git: git.Repo
    early_stable: list[str] = field(default_factory=list)
    stable_checks: int = 0

    # -- documents ----------------------------------------------------------------------

    def edit(self, rel: str, change: Callable[[dict[str, Any]], None]) -> None:
        path = self.repo / rel
        doc = json.loads(path.read_text())
        change(doc)
        path.write_text(json.dumps(doc, indent=2) + "\n")

    def commit(self, message: str) -> str:
        self.git.git.add("-A")
        self.git.git.commit("-q", "--allow-empty", "-m", message)
        return self.git.head.commit.hexsha

    def pin(self, tag: str, fault: str | None = None, commit: bool = True) -> str:
        """Push an image under `tag`, pin it (with an optional sandbox task fault), commit."""
        digest = self.sandbox.put_image(tag)

        def change(doc: dict[str, Any]) -> None:
            doc["image"].update(tag=tag, digest=digest)
            env = doc["overrides"]["containers"][CONTAINER]["environment"]
            env.pop("RELEASE_SANDBOX_FAULT", None)
            if fault:
                env["RELEASE_SANDBOX_FAULT"] = fault

        self.edit(SPEC, change)
        if commit:
            self.commit(f"pin {tag}")
        return digest

    # -- the CLI ------------------------------------------------------------------------

    def cli(self, *args: str) -> Run:
        argv = [*args, "--repo", str(self.repo), "--format", "json"]
        if "--env" not in args and args[0] not in ("sandbox",):
            argv += ["--env", "sandbox"]
        result = CliRunner().invoke(app, argv, catch_exceptions=False)
        events = []
        for line in result.stdout.splitlines():
            if line.startswith("{"):
                events.append(json.loads(line))
        return Run(result.exit_code, result.output, events)

    # -- the live state -----------------------------------------------------------------

    def ecs(self) -> Any:
        return self.sandbox.client("ecs")

    def service(self) -> dict[str, Any]:
        return self.ecs().describe_services(cluster=CLUSTER, services=[SERVICE])["services"][0]

    def live_revision(self) -> str:
        return self.service()["taskDefinition"].rsplit("/", 1)[-1]

    def revisions(self) -> list[str]:
        arns = self.ecs().list_task_definitions(familyPrefix="akka-demo")["taskDefinitionArns"]
        return [a.rsplit("/", 1)[-1] for a in arns]

    def tags(self, revision: str) -> dict[str, str]:
        arn = self.ecs().describe_task_definition(taskDefinition=revision)["taskDefinition"][
            "taskDefinitionArn"]
        tags = self.ecs().list_tags_for_resource(resourceArn=arn)["tags"]
        return {t["key"]: t["value"] for t in tags}

    def check_stable_claim(self, revision: str, service_name: str | None = None) -> None:
        """Called at the moment `release` says stable of a service (the spec's, or its
        canary): is it true in the emulator's world?"""
        from moto.backends import get_backend

        self.stable_checks += 1
        name = service_name or SERVICE
        backend = get_backend("ecs")[self.sandbox.account][self.sandbox.region]
        for t in backend.tasks.get(CLUSTER, {}).values():
            if t.group != f"service:{name}":
                continue
            if t.task_definition_arn != revision and t.last_status != "STOPPED":
                self.early_stable.append(f"old task {t.id} is {t.last_status}")
            if t.task_definition_arn == revision and t.last_status != "RUNNING" and \
                    t.desired_status == "RUNNING":
                self.early_stable.append(f"new task {t.id} is {t.last_status}")
        # Named: unfiltered, DescribeInstanceHealth leaves out deregistered (draining) ones.
        hosts = [ci.ec2_instance_id
                 for ci in backend.container_instances.get(CLUSTER, {}).values()]
        for health in self.sandbox.emulator.instance_health("akkaElb", hosts):
            if "deregistration" in health["Description"]:
                self.early_stable.append(f"{health['InstanceId']} is draining")
            elif health["State"] != "InService" and "not currently registered" not in \
                    health["Description"]:
                self.early_stable.append(f"{health['InstanceId']} is {health['State']}")
        service = backend.services[f"{CLUSTER}:{name}"]
        if len(service.deployments) != 1:
            self.early_stable.append(f"{len(service.deployments)} deployments")
