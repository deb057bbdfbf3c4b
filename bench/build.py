"""Build once: `release build --push` of an unchanged commit against the first build.

Runs the real CLI (a subprocess, start-up included) against the real Docker
engine ($DOCKER_HOST), a real registry and moto's ECR, on a throw-away copy of
the config repository. Each round makes a fresh commit of the example context:

  first build     build + push + digest confirmation (a tag ECR has never seen)
  rebuild         same commit again: the tag is in ECR, nothing is built or pushed
  local rebuild   same commit without --push: docker's layer cache only, no ECR check

    python bench/build.py [--rounds N]
"""

from __future__ import annotations

import argparse
import base64
import json
import logging
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import boto3
import git
from moto.server import ThreadedMotoServer

from release_sandbox.process import CREDENTIALS
from release_sandbox.registry import Registry

PROJECT = Path(__file__).resolve().parents[1]
CONTEXT = "examples/akka-firehose"


def prepare_repo(root: Path, aws_endpoint: str, registry: str) -> git.Repo:
    for folder in ("taskdefs", "environments", "schemas", "examples"):
        shutil.copytree(PROJECT / folder, root / folder, ignore=shutil.ignore_patterns("bin"))
    subprocess.run(["make", "-s", "-C", str(root / CONTEXT)], check=True)
    env_file = root / "environments/sandbox/environment.json"
    doc = json.loads(env_file.read_text())
    doc["endpoints"] = {"aws": aws_endpoint, "registry": registry}
    env_file.write_text(json.dumps(doc, indent=2) + "\n")
    repo = git.Repo.init(root)
    with repo.config_writer() as cfg:
        cfg.set_value("user", "name", "bench")
        cfg.set_value("user", "email", "bench@example.com")
    repo.git.add(A=True)
    repo.index.commit("documents")
    return repo


def new_context_commit(repo: git.Repo) -> None:
    """A change inside the build context, so the next build has a tag ECR has not seen."""
    marker = Path(repo.working_tree_dir) / CONTEXT / "BENCH_ROUND"
    marker.write_text(uuid.uuid4().hex + "\n")
    repo.git.add(A=True)
    repo.index.commit("bench round")


def timed_build(repo: git.Repo, *extra: str) -> tuple[float, dict]:
    command = [sys.executable, "-m", "release.cli", "build", "--env", "sandbox",
               "--service", "akka-firehose", "--repo", str(repo.working_tree_dir),
               "--format", "json", *extra]
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True,
                          env={**os.environ, **CREDENTIALS})
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed ({done.returncode}):\n{done.stdout}"
                         f"{done.stderr}")
    result = next(json.loads(line) for line in reversed(done.stdout.splitlines())
                  if '"build.result"' in line)
    return elapsed, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    logging.getLogger("werkzeug").disabled = True  # moto's request log
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    ecr = boto3.client("ecr", region_name="us-east-1", endpoint_url=endpoint,
                       aws_access_key_id="bench", aws_secret_access_key="bench")
    ecr.create_repository(repositoryName="akka-firehose", imageTagMutability="IMMUTABLE")
    token = ecr.get_authorization_token()["authorizationData"][0]["authorizationToken"]
    password = base64.b64decode(token).decode().split(":", 1)[1]

    first, again, local = [], [], []
    with tempfile.TemporaryDirectory(prefix="bench-build-") as scratch, \
            Registry(Path(scratch) / "registry", password, endpoint) as registry:
        repo = prepare_repo(Path(scratch) / "config", endpoint, registry.address)
        for _ in range(args.rounds):
            new_context_commit(repo)
            seconds, result = timed_build(repo, "--push")
            assert result["pushed"] and result["digest"], result
            first.append(seconds)
            seconds, repeat = timed_build(repo, "--push")
            assert repeat["existing"] and repeat["digest"] == result["digest"], repeat
            again.append(seconds)
            seconds, _ = timed_build(repo)
            local.append(seconds)
    server.stop()

    base = statistics.median(first)
    rows = [("first build (build + push + confirm)", base),
            ("rebuild, same commit (tag in ECR: skipped)", statistics.median(again)),
            ("local rebuild, same commit (docker cache)", statistics.median(local))]
    print(f"release build, median of {args.rounds} rounds (CLI start-up included)")
    print(f"{'scenario':<46} {'seconds':>8} {'vs first':>9}")
    for name, seconds in rows:
        print(f"{name:<46} {seconds:>8.2f} {seconds / base:>8.2f}x")
    print(f"rebuild of an unchanged commit is {base / statistics.median(again):.1f}x faster "
          "than the first build")


if __name__ == "__main__":
    main()
