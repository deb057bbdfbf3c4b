"""Bench: `release validate` vs `check-jsonschema` on 1,000 services + 1,000 task definitions.

Both run as whole processes on the same files with the same schemas, side by
side in one run. check-jsonschema needs one invocation per schema (taskdefs,
services, environments); `release validate` runs once and also applies the
cross-document rules. Prints a small table and the ratio (target: ≥ 3x).
Both run from compiled bytecode, as installed packages do (pip compiled
check-jsonschema when it installed it): the release package is compiled first, so
a checkout run under PYTHONDONTWRITEBYTECODE does not pay Python's compiler every run.

    .venv/bin/python bench/validate.py [--services 1000] [--runs 1]
"""

from __future__ import annotations

import argparse
import compileall
import importlib.util
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def generate(repo: Path, count: int) -> None:
    """A config repo with one environment, `count` services and `count` task definitions."""
    shutil.copytree(ROOT / "schemas", repo / "schemas")
    env_doc = json.loads((ROOT / "environments/staging/environment.json").read_text())
    env_doc["name"] = "bench"
    env_doc["instances"]["count"] = 4
    (repo / "environments/bench/services").mkdir(parents=True)
    (repo / "environments/bench/environment.json").write_text(json.dumps(env_doc, indent=2))
    (repo / "taskdefs").mkdir()
    taskdef = json.loads((ROOT / "taskdefs/akka-firehose.json").read_text())
    service = json.loads((ROOT / "environments/staging/services/akka-firehose.json").read_text())
    for i in range(count):
        td = json.loads(json.dumps(taskdef))
        td["family"] = f"bench-{i}"
        td["containerDefinitions"][0]["environment"].append({"name": "INDEX", "value": str(i)})
        (repo / f"taskdefs/bench-{i}.json").write_text(json.dumps(td, indent=2))
        svc = json.loads(json.dumps(service))
        svc["taskDefinition"] = {"file": f"taskdefs/bench-{i}.json", "family": f"bench-{i}"}
        svc["service"]["serviceName"] = f"bench-{i}"
        svc["overrides"]["containers"]["akka-firehose"]["environment"]["DEPLOY_ENV"] = "bench"
        (repo / f"environments/bench/services/bench-{i}.json").write_text(
            json.dumps(svc, indent=2))


def timed(commands: list[list[str]]) -> float:
    start = time.perf_counter()
    for command in commands:
        done = subprocess.run(command, capture_output=True, text=True)
        if done.returncode != 0:
            sys.exit(f"{command[0]} failed ({done.returncode}):\n{done.stdout[-2000:]}"
                     f"{done.stderr[-2000:]}")
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--services", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=3, help="alternating runs; median reported")
    args = parser.parse_args()
    package = importlib.util.find_spec("release")  # what the `release` script will import
    if package and package.submodule_search_locations:
        compileall.compile_dir(package.submodule_search_locations[0], quiet=1)
    with tempfile.TemporaryDirectory(prefix="bench-validate-") as tmp:
        repo = Path(tmp)
        generate(repo, args.services)
        taskdefs = sorted(str(p) for p in (repo / "taskdefs").glob("*.json"))
        services = sorted(str(p) for p in (repo / "environments/bench/services").glob("*.json"))
        envs = [str(repo / "environments/bench/environment.json")]
        ours = [[str(BIN / "release"), "validate", "--repo", str(repo)]]
        strict = [[*ours[0], "--strict"]]  # + botocore's parameter validation of 1,000 renders
        peer = [
            [str(BIN / "check-jsonschema"), "--schemafile", str(repo / "schemas" / schema), *files]
            for schema, files in (("taskdef.schema.json", taskdefs),
                                  ("service.schema.json", services),
                                  ("environment.schema.json", envs))
        ]
        mine, mine_strict, theirs = [], [], []
        for _ in range(args.runs):
            mine.append(timed(ours))
            mine_strict.append(timed(strict))
            theirs.append(timed(peer))
        ours_s, peer_s = statistics.median(mine), statistics.median(theirs)
        strict_s = statistics.median(mine_strict)
        documents = len(taskdefs) + len(services) + len(envs)
        print(f"{'tool':<46} {'documents':>9} {'seconds':>8}")
        print(f"{'release validate (schemas + cross-doc rules)':<46} {documents:>9} {ours_s:>8.2f}")
        print(f"{'release validate --strict (+ botocore check)':<46} {documents:>9} "
              f"{strict_s:>8.2f}")
        print(f"{'check-jsonschema (schemas only, 3 runs)':<46} {documents:>9} {peer_s:>8.2f}")
        print(f"ratio: release validate is {peer_s / ours_s:.1f}x faster "
              f"(--strict: {peer_s / strict_s:.1f}x; target >= 3x; median of {args.runs} "
              "alternating run(s))")


if __name__ == "__main__":
    main()
