"""Bench: what preflight costs a release of the seed's service, in time and AWS calls.

One sandbox (moto + the ECS emulator, virtual clock: nothing here waits), the seed's
service released once on v1 (`release deploy`, in-process), then:

* a no-change `release deploy`, N times: wall time each and the AWS calls it makes
  (counted on the sandbox's server, sandbox/release_sandbox/calllog.py);
* `release plan` and `release preflight` with v2 pinned (a release that changes
  something: every check runs).

Run it against this tree, and against another one to compare (`--tree`: the code and
documents of that checkout, e.g. one without preflight):

    .venv/bin/python bench/preflight.py [--runs 10] [--tree PATH]

Target: preflight adds at most 1 s to a no-change `deploy` of the seed's service.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any


def _load(tree: Path) -> None:
    sys.path.insert(0, str(tree))


def _cli(app: Any, repo: Path, *args: str) -> tuple[int, list[dict[str, Any]]]:
    from typer.testing import CliRunner

    result = CliRunner().invoke(app, [*args, "--env", "sandbox", "--repo", str(repo),
                                      "--format", "json"], catch_exceptions=False)
    return result.exit_code, [json.loads(line) for line in result.stdout.splitlines()
                              if line.startswith("{")]


def _pin(repo: Path, git_repo: Any, tag: str, digest: str) -> None:
    spec = repo / "environments/sandbox/services/akka-firehose.json"
    doc = json.loads(spec.read_text())
    doc["image"].update(tag=tag, digest=digest)
    spec.write_text(json.dumps(doc, indent=2) + "\n")
    git_repo.git.add("-A")
    git_repo.git.commit("-q", "-m", f"pin {tag}")


def measure(tree: Path, runs: int) -> dict[str, Any]:
    _load(tree)
    import git

    from release.cli import app
    from release_sandbox.testing import running_sandbox

    figures: dict[str, Any] = {"tree": str(tree)}
    with tempfile.TemporaryDirectory() as work, running_sandbox(tree, Path(work)) as sandbox:
        sandbox.only_services("akka-firehose")  # the seed's service, alone
        sandbox.seed_infrastructure()
        repo = sandbox.repo
        git_repo = git.Repo.init(repo, initial_branch="main")
        with git_repo.config_writer() as config:
            config.set_value("user", "name", "bench")
            config.set_value("user", "email", "bench@example.invalid")
            config.set_value("commit", "gpgsign", "false")
        _pin(repo, git_repo, "v1", sandbox.put_image("v1"))
        code, _ = _cli(app, repo, "deploy")
        assert code == 0, "the first release did not complete"
        seconds, calls = [], Counter()
        for n in range(runs + 1):  # the first run warms imports and caches: not counted
            sandbox.calls.reset(f"unchanged-{n}")
            started = time.perf_counter()
            code, events = _cli(app, repo, "deploy")
            elapsed = time.perf_counter() - started
            assert code == 0 and any(e["event"] == "release.unchanged" for e in events)
            if n:
                seconds.append(elapsed)
                calls = sandbox.calls.of(f"unchanged-{n}")
        figures["unchanged_deploy"] = {
            "runs": runs, "median_s": round(statistics.median(seconds), 3),
            "max_s": round(max(seconds), 3), "calls": sum(calls.values()),
            "by_operation": dict(sorted(calls.items()))}
        _pin(repo, git_repo, "v2", sandbox.put_image("v2"))
        for verb in ("plan", "preflight"):
            sandbox.calls.reset(verb)
            started = time.perf_counter()
            code, events = _cli(app, repo, verb)
            elapsed = time.perf_counter() - started
            if code == 2:  # a tree without the verb
                continue
            report = next((e for e in events if e["event"] in ("preflight", "plan.preflight")),
                          None)
            figures[verb] = {"exit": code, "seconds": round(elapsed, 3),
                             "calls": sum(sandbox.calls.of(verb).values()),
                             "preflight_calls": (report or {}).get("calls")}
    return figures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--tree", type=Path, default=Path(__file__).resolve().parent.parent)
    args = parser.parse_args()
    print(json.dumps(measure(args.tree.resolve(), args.runs), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
