"""The main job end to end on the local sandbox: `make demo`.

Runs the tool's own commands, as Jenkins and an operator would, on a scratch
copy of this config repository (so the demo's commits never touch your checkout):

    sandbox up → the example service gains a sidecar (a commit) → bootstrap (an
    ECR repository per image) → validate → build & push (the service's two
    images; the second application's) → promote → apply (both applications at
    once) → verify → second release → broken release (rolled back by itself, exit 3) →
    operator rollback → history → the same image on Fargate behind an ALB
    (sandbox-alb: bootstrap → promote → deploy → second release, stable once the
    old targets drained → status) → sandbox down

and ends with a summary table and what runs where (each service's containers and
the repository each image comes from). Each step's expected exit code is part of
the demo: the broken release *must* end with 3.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
COPY = ("taskdefs", "environments", "schemas", "examples")
ENV = "sandbox"
ALB_ENV = "sandbox-alb"  # the second example environment: an ALB in front of Fargate tasks
SERVICE = "akka-firehose"
WORKER = "audit-worker"  # the sandbox's second application, in a repository of its own
EXAMPLES = ("akka-firehose", "heartbeat", "audit-worker")  # static binaries for FROM scratch
TASKDEF = "taskdefs/akka-firehose.json"
SIDECAR = "heartbeat"  # the example service's sidecar, built into a repository of its own
# No CPU units reserved (it shares the instance's): the application's 1024 fill half a
# t2.medium, so two of its tasks still fit on one instance while the old one drains.
SIDECAR_CONTAINER = {
    "name": SIDECAR, "memory": 32, "essential": False, "stopTimeout": 5,
    "dockerLabels": {"release.sandbox.stop-exit-code": "0"},
    "environment": [{"name": "HEARTBEAT_SECONDS", "value": "10"}],
    "logConfiguration": {"logDriver": "awslogs", "options": {
        "awslogs-group": "/ecs/akka-firehose", "awslogs-region": "us-east-1",
        "awslogs-stream-prefix": "ecs"}},
}


@dataclass
class Step:
    name: str
    expected: int
    code: int | None = None
    seconds: float = 0.0
    note: str = ""

    @property
    def ok(self) -> bool:
        return self.code == self.expected


def banner(text: str) -> None:
    print(f"\n=== {text} ===", flush=True)


class Demo:
    def __init__(self, workdir: Path) -> None:
        self.repo = workdir / "config"
        self.steps: list[Step] = []
        self.released: list[tuple[str, str, str, str]] = []  # what runs, read before `down`
        self.smoke_port = free_port()
        self.release = [str(Path(sys.executable).with_name("release"))]
        from release_sandbox.process import CREDENTIALS

        self.env = {
            **os.environ,
            **CREDENTIALS,  # as `release sandbox up` says: the tool brings no keys of its own
            "RELEASE_REPO": str(self.repo),
            "USER": os.environ.get("USER", "demo"),
            # The registry's images outlive the sandbox, so a second demo skips the build.
            "RELEASE_SANDBOX_REGISTRY_DIR": os.environ.get(
                "RELEASE_SANDBOX_REGISTRY_DIR", str(ROOT / ".state" / "demo-registry")),
        }

    def run(self, name: str, args: list[str], expected: int = 0, capture: bool = False,
            note: str = "") -> subprocess.CompletedProcess[str]:
        banner(f"{name}: release {' '.join(args)}" + (f"  (expect exit {expected})"
                                                       if expected else ""))
        start = time.monotonic()
        proc = subprocess.run([*self.release, *args], cwd=self.repo, env=self.env, text=True,
                              stdout=subprocess.PIPE if capture else None)
        step = Step(name, expected, proc.returncode, time.monotonic() - start, note)
        self.steps.append(step)
        if capture and proc.stdout:
            sys.stdout.write(proc.stdout)
        if not step.ok:
            raise SystemExit(f"demo step {name!r} ended with exit {proc.returncode}, "
                             f"expected {expected}")
        return proc

    def git(self, *args: str, env: dict[str, str] | None = None) -> str:
        return subprocess.run(["git", *args], cwd=self.repo, check=True, text=True,
                              capture_output=True, env=env).stdout.strip()

    def prepare(self) -> None:
        """A scratch git repository holding this project's documents and example.

        Its first commit is reproducible (fixed author and date), so the image tag
        (the commit of the build context) is the same on every run.
        """
        for example in EXAMPLES:
            subprocess.run(["make", "-s", "-C", str(ROOT / "examples" / example)], check=True)
        self.repo.mkdir(parents=True)
        for name in COPY:
            shutil.copytree(ROOT / name, self.repo / name,
                            ignore=shutil.ignore_patterns("*.o", "build"))
        self.git("init", "-q", "-b", "main")
        self.git("config", "user.email", "demo@example.invalid")
        self.git("config", "user.name", "release demo")
        self.git("add", "-A")
        fixed = "2026-01-01T00:00:00+00:00"
        self.git("commit", "-q", "-m", "config repository for the demo",
                 env={**os.environ, "GIT_AUTHOR_DATE": fixed, "GIT_COMMITTER_DATE": fixed})
        # A commit of its own, so the build context's commit (the image tag) stays the same.
        self.use_free_ports()
        self.git("commit", "-q", "-am", "sandbox: free local ports for this demo")

    def use_free_ports(self) -> None:
        """Point the sandbox at free local ports, so a busy 4566 or 5050 cannot stop the demo."""
        endpoints = {"aws": f"http://127.0.0.1:{free_port()}",
                     "registry": f"127.0.0.1:{free_port()}"}
        for name in (ENV, ALB_ENV):  # one sandbox serves both example environments
            path = self.repo / "environments" / name / "environment.json"
            doc = json.loads(path.read_text())
            doc["endpoints"] = endpoints
            path.write_text(json.dumps(doc, indent=2) + "\n")

    def edit_spec(self, change, env: str = ENV, service: str = SERVICE) -> None:
        self.edit(f"environments/{env}/services/{service}.json", change)

    def edit(self, rel: str, change) -> None:
        path = self.repo / rel
        doc = json.loads(path.read_text())
        change(doc)
        path.write_text(json.dumps(doc, indent=2) + "\n")

    def add_sidecar(self) -> None:
        """The example service gains a sidecar the team builds: a second container in its task
        definition, and in every environment that runs it a second pin under /images, in a
        repository of its own (`heartbeat`). One commit, as a team would make it."""
        banner("the example service gains a sidecar: container heartbeat in "
               f"{TASKDEF}, pinned under /images/heartbeat (repository heartbeat)")
        start = time.monotonic()
        self.edit(TASKDEF, lambda d: d["containerDefinitions"].append(SIDECAR_CONTAINER))
        edited = []
        for spec in sorted((self.repo / "environments").glob(f"*/services/{SERVICE}.json")):
            doc = json.loads(spec.read_text())
            if doc["taskDefinition"].get("file") != TASKDEF or "image" not in doc:
                continue
            pin = doc.pop("image")
            container = pin.pop("container", SERVICE)
            doc["images"] = {
                container: {**pin, "build": doc.pop("build")},
                # pinned when built and promoted; until then the placeholder of its siblings
                SIDECAR: {"repository": SIDECAR, "tag": pin.get("tag", "0123456789ab"),
                          "digest": "sha256:" + "0" * 63 + "2",
                          "build": {"context": f"examples/{SIDECAR}"}},
            }
            spec.write_text(json.dumps(doc, indent=2) + "\n")
            edited.append(spec.relative_to(self.repo).as_posix())
        print(f"  + {TASKDEF}: containerDefinitions[heartbeat] (32 MiB, no CPU units of its "
              "own, not essential)", flush=True)
        for rel in edited:
            print(f"  ~ {rel}: /image → /images/akka-firehose, + /images/heartbeat", flush=True)
        self.git("commit", "-q", "-am", "akka-firehose: a heartbeat sidecar, built into a "
                 "repository of its own")
        self.steps.append(Step("add sidecar", 0, 0, time.monotonic() - start,
                               "a commit: taskdef + /images/heartbeat"))

    def built_image(self, proc: subprocess.CompletedProcess[str]) -> dict[str, str]:
        """The build's JSON result: tag, digest and the `<registry>/<repo>@sha256:…` reference
        of the primary image (`images` lists every image the build made or found)."""
        for line in reversed(proc.stdout.splitlines()):
            try:
                event = json.loads(line)
            except json.JSONDecodeError:
                continue
            if event.get("event") == "build.result" and event.get("digest"):
                return event
        raise SystemExit("the build printed no image digest")

    def build(self, name: str, service: str, note: str) -> dict[str, str]:
        """`release build --push` of one service (every image it builds); the report kept
        next to the config repository for `release promote --image @FILE`."""
        proc = self.run(name, ["build", "--env", ENV, "--service", service, "--push",
                               "--format", "json"], capture=True, note=note)
        (self.repo.parent / f"build-{service}.json").write_text(proc.stdout)
        return self.built_image(proc)

    def live_images(self) -> list[tuple[str, str, str, str]]:
        """(service, revision, container, image) of what each sandbox service runs now."""
        import boto3

        from release.core import config
        from release_sandbox.process import CREDENTIALS

        loaded = config.load_repo(self.repo, [ENV])
        env = loaded.environment(ENV)
        ecs = boto3.client("ecs", endpoint_url=env.aws_endpoint, region_name=env.region,
                           aws_access_key_id=CREDENTIALS["AWS_ACCESS_KEY_ID"],
                           aws_secret_access_key=CREDENTIALS["AWS_SECRET_ACCESS_KEY"])
        rows = []
        for spec in loaded.services_of(ENV):
            found = ecs.describe_services(cluster=env.cluster, services=[spec.service_name])
            arn = found["services"][0]["taskDefinition"]
            taskdef = ecs.describe_task_definition(taskDefinition=arn)["taskDefinition"]
            for container in taskdef["containerDefinitions"]:
                image = container["image"].removeprefix(f"{env.registry}/")
                rows.append((spec.service_name, arn.rsplit("/", 1)[-1], container["name"],
                             image))
        return rows

    @contextlib.contextmanager
    def serving(self, ref: str) -> Iterator[None]:
        """Run the released image locally: the sandbox's ELB has no address to call.

        Like an ECS instance, it pulls the image by digest from ECR with the ECR token.
        """
        import docker

        from release.adapters import ecr_images
        from release.core import config
        from release_sandbox.testing import sandbox_credentials

        env = config.load_repo(self.repo, [ENV]).environment(ENV)
        with sandbox_credentials():  # the sandbox's keys, as the verbs above are given them
            auth = ecr_images.ecr_login(ecr_images.ecr_clients(env), env)
        client = docker.from_env()
        repository, digest = ref.split("@", 1)
        client.images.pull(repository, tag=digest, auth_config=auth.auth_config())
        container = client.containers.run(ref, detach=True, network_mode="host",
                                          environment={"HTTP_PORT": str(self.smoke_port)})
        try:
            yield
        finally:
            container.remove(force=True)
            client.close()

    def main(self) -> None:
        self.prepare()
        self.run("sandbox up", ["sandbox", "up"])
        try:
            self.scenario()
        finally:
            self.run("sandbox down", ["sandbox", "down"])
        self.summary()

    def scenario(self) -> None:
        self.add_sidecar()
        self.run("bootstrap", ["bootstrap", "--env", ENV, "--yes", "--instances", "2"],
                 note="an ECR repository per image")
        self.run("validate", ["validate"])
        image = self.build("build & push", SERVICE, "akka-firehose + its heartbeat sidecar")
        self.build("build worker", WORKER, "audit-worker, into its own repository")
        # Each pin keeps both the tag (for people) and the digest (what ECS runs).
        before = self.git("rev-parse", "HEAD")
        for name, service in (("promote", SERVICE), ("promote worker", WORKER)):
            self.run(name, ["promote", "--env", ENV, "--service", service, "--image",
                            f"@{self.repo.parent / f'build-{service}.json'}", "--commit"],
                     note="every image of the build report")
        self.run("plan", ["plan", "--env", ENV])
        self.run("apply v1", ["apply", "--since", before, "--env", ENV],
                 note="what the promotions changed: both applications at once")
        with self.serving(image["reference"]):
            self.run("verify", ["verify", "--env", ENV, "--service", SERVICE, "--base-url",
                                f"http://127.0.0.1:{self.smoke_port}"],
                     note="smoke checks against the released image")

        def second(doc):
            doc["overrides"]["containers"]["akka-firehose"]["environment"]["LOG_LEVEL"] = "debug"
        self.edit_spec(second)
        self.git("commit", "-q", "-am", "sandbox: debug logging")
        self.run("deploy v2", ["deploy", "--env", ENV])
        again = self.run("deploy again", ["deploy", "--env", ENV], capture=True,
                         note="nothing to change: nothing registered")
        if again.stdout.count("nothing to change") < 2:
            raise SystemExit("a second deploy of the same commit planned a change")

        def broken(doc):
            doc["overrides"]["containers"]["akka-firehose"]["environment"][
                "RELEASE_SANDBOX_FAULT"] = "crash:exit=137"
        self.edit_spec(broken)
        self.git("commit", "-q", "-am", "sandbox: a release whose tasks crash on start")
        self.run("deploy broken", ["deploy", "--env", ENV], expected=3,
                 note="rolled back automatically")
        self.git("revert", "--no-edit", "HEAD")
        self.run("rollback", ["rollback", "--env", ENV, "--service", SERVICE, "--yes"],
                 note="operator: back to v1 (both images checked)")
        self.run("status", ["status", "--env", ENV])
        self.run("history", ["history", "--env", ENV, "--service", SERVICE])
        self.released = self.live_images()
        self.alb_scenario(f"{image['tag']}@{image['digest']}")

    def alb_scenario(self, pin: str) -> None:
        """The second example environment: the same image on Fargate behind an ALB."""
        self.run("alb bootstrap", ["bootstrap", "--env", ALB_ENV, "--yes"],
                 note="ALB, target group, listener")
        self.run("alb promote", ["promote", "--env", ALB_ENV, "--service", SERVICE, "--image",
                                 pin, "--commit"])
        self.run("alb deploy v1", ["deploy", "--env", ALB_ENV], note="Fargate, awsvpc")

        def second(doc):
            doc["overrides"]["containers"]["akka-firehose"]["environment"]["LOG_LEVEL"] = "debug"
        self.edit_spec(second, ALB_ENV)
        self.git("commit", "-q", "-am", "sandbox-alb: debug logging")
        self.run("alb deploy v2", ["deploy", "--env", ALB_ENV],
                 note="stable once the old targets drained")
        self.run("alb status", ["status", "--env", ALB_ENV])

    def summary(self) -> None:
        from rich.console import Console
        from rich.table import Table

        console = Console(width=120)
        table = Table(title="release demo summary", title_justify="left")
        for col in ("step", "exit", "expected", "seconds", "result", "note"):
            table.add_column(col)
        for s in self.steps:
            table.add_row(s.name, str(s.code), str(s.expected), f"{s.seconds:.1f}",
                          "ok" if s.ok else "FAILED", s.note)
        console.print(table)
        if self.released:
            live = Table(title=f"what runs in {ENV}: each image from its own repository",
                         title_justify="left")
            for col in ("service", "revision", "container", "image (repository@digest)"):
                live.add_column(col)
            for service, revision, container, image in self.released:
                repository, _, digest = image.partition("@")
                live.add_row(service, revision, container, f"{repository}@{digest[:19]}…")
            console.print(live)
            repositories = sorted({i.partition("@")[0] for *_, i in self.released})
            services = sorted({s for s, *_ in self.released})
            print(f"{len(services)} services, {len(repositories)} ECR repositories: "
                  f"{', '.join(repositories)}")
        total = sum(s.seconds for s in self.steps)
        ok = all(s.ok for s in self.steps)
        print(f"DEMO {'PASSED' if ok else 'FAILED'}: {len(self.steps)} steps in {total:.0f} s")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def main() -> None:
    keep = os.environ.get("RELEASE_DEMO_DIR")
    workdir = Path(keep) if keep else Path(tempfile.mkdtemp(prefix="release-demo-"))
    try:
        Demo(workdir).main()
    finally:
        if not keep:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
