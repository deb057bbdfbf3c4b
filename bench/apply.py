"""Bench: `release apply` of 200 changed services in one environment vs one changed service.

Both on the same sandbox (moto + the ECS emulator on the real clock, in a
process of its own), side by side in one run: first a commit that re-pins one
service, then a commit that re-pins all of them. Each service is a small task
with no host port and no load balancer, so they all fit on the sandbox's
instances at once; each release still goes register → update → wait for a
stable rollout. The sandbox throttles ECS with the token buckets the ECS API
reference documents, and each measured apply starts with them full (as after a
quiet minute). Besides wall time it reports, for the all-services apply: every
AWS call counted on the sandbox's server and the calls it throttled, the least
time those ECS calls take on AWS whatever the client (core/ecs_throttling.py:
200 registrations are 180 s past RegisterTaskDefinition's burst of 20 at its
refill of 1 a second), the environment poller's rounds (services served,
DescribeServices per round) and the throttled answers the client saw.

Targets: at most 1.2x the one-service wall time (where the AWS floor allows it:
the bench also prints the ratio to floor + one service); at most 1
DescribeServices per 10 services a round; never above the request budget: no
ECS call throttled by the documented buckets, DynamoDB at most 1,000 calls/s (a
partition's documented write units), at most RELEASE_API_BUDGET calls/s (default
20) to each other AWS service.

    .venv/bin/python bench/apply.py [--services 200] [--max-parallel 200]
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

TARGET_RATIO = 1.2


class Rounds:
    """Records every poller round and every request budget of this process."""

    def __init__(self) -> None:
        from release.adapters import budget, poller

        self.rounds: list[tuple[int, dict[str, int]]] = []
        self.budgets: list[Any] = []
        original_round, original_init = poller.EnvPoller.round, budget.RequestBudget.__init__
        rounds = self

        def round(self: Any, due: list[Any], now: float) -> None:
            original_round(self, due, now)
            rounds.rounds.append((len(due), dict(self.rounds[-1])))

        def init(self: Any, *args: Any, **kwargs: Any) -> None:
            original_init(self, *args, **kwargs)
            rounds.budgets.append(self)

        poller.EnvPoller.round = round  # type: ignore[method-assign]
        budget.RequestBudget.__init__ = init  # type: ignore[method-assign]

    def reset(self) -> None:
        self.rounds.clear()
        self.budgets.clear()


def server_calls(endpoint: str, label: str | None = None) -> dict[str, Any]:
    """The sandbox server's call counts (POST with a label: start counting afresh)."""
    import urllib.request

    data = json.dumps({"label": label}).encode() if label else None
    request = urllib.request.Request(f"{endpoint}/_sandbox/calls", data=data,
                                     method="POST" if data else "GET")
    with urllib.request.urlopen(request, timeout=30) as answer:
        return json.loads(answer.read())


def wait_for_full_buckets(endpoint: str) -> None:
    """Let the sandbox's ECS buckets refill, so a measured apply starts as after a quiet minute."""
    while (seconds := server_calls(endpoint)["seconds_to_full_buckets"]) > 0:
        time.sleep(seconds + 0.1)


def write_services(repo: Path, count: int) -> None:
    """`count` services in the sandbox environment, each with its own task definition."""
    env_dir = repo / "environments" / "sandbox"
    base = json.loads((env_dir / "services" / "akka-firehose.json").read_text())
    for spec in (env_dir / "services").glob("*.json"):
        spec.unlink()
    taskdef = json.loads((repo / "taskdefs" / "akka-firehose.json").read_text())
    for i in range(count):
        name = f"bench-{i:03d}"
        td = json.loads(json.dumps(taskdef))
        td["family"] = name
        container = td["containerDefinitions"][0]
        container.update(cpu=32, memory=64, portMappings=[{"containerPort": 8080,
                                                           "protocol": "tcp"}])
        (repo / "taskdefs" / f"{name}.json").write_text(json.dumps(td, indent=2) + "\n")
        spec = json.loads(json.dumps(base))
        spec["taskDefinition"] = {"file": f"taskdefs/{name}.json", "family": name}
        spec["service"] = {"serviceName": name, "desiredCount": 1,
                           "deploymentConfiguration": {"minimumHealthyPercent": 0,
                                                       "maximumPercent": 100}}
        spec["release"]["smokeChecks"] = []
        (env_dir / "services" / f"{name}.json").write_text(json.dumps(spec, indent=2) + "\n")


@contextmanager
def sandbox_process(workdir: Path) -> Iterator[Any]:
    """The sandbox in its own process, as `release sandbox up` runs it: AWS is never inside
    the client's process, and here it gets a core of its own."""
    from release.core.clock import RealClock
    from release_sandbox.registry import free_port
    from release_sandbox.testing import SandboxHandle, copy_config_repo, sandbox_credentials

    endpoint = f"http://127.0.0.1:{free_port()}"
    repo = copy_config_repo(ROOT, workdir / "repo", endpoint, None)
    log = (workdir / "sandbox.log").open("w")
    process = subprocess.Popen([sys.executable, "-m", "release_sandbox.server", "--repo",
                                str(repo), "--state-dir", str(workdir / "state")],
                               stdout=log, stderr=subprocess.STDOUT, cwd=ROOT)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with socket.create_connection(("127.0.0.1", int(endpoint.rsplit(":", 1)[1])),
                                              timeout=1):
                    break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    sys.exit(f"the sandbox did not start: {(workdir / 'sandbox.log').read_text()}")
                time.sleep(0.1)
        with sandbox_credentials():
            yield SandboxHandle(repo=repo, endpoint=endpoint, clock=RealClock(), emulator=None,
                                faults=None)
    finally:
        ticks = os.sysconf("SC_CLK_TCK")
        fields = Path(f"/proc/{process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        print(f"sandbox process CPU: {(int(fields[11]) + int(fields[12])) / ticks:.1f} s; "
              f"bench process CPU: {sum(os.times()[:2]):.1f} s", file=sys.stderr)
        process.terminate()
        process.wait(timeout=30)
        log.close()


def apply(repo: Path, since: str, max_parallel: int) -> tuple[float, list[float]]:
    from typer.testing import CliRunner

    from release.cli import app

    start = time.perf_counter()
    result = CliRunner().invoke(app, ["apply", "--since", since, "--env", "sandbox",
                                      "--max-parallel", str(max_parallel), "--format", "json",
                                      "--repo", str(repo)])
    elapsed = time.perf_counter() - start
    if result.exit_code != 0:
        sys.exit(f"apply failed ({result.exit_code}):\n{result.output[-3000:]}")
    summary = next(json.loads(line) for line in result.stdout.splitlines()
                   if '"apply.summary"' in line)
    statuses = {row["status"] for row in summary["rows"]}
    if statuses != {"released"}:
        sys.exit(f"expected every service released, got {statuses}")
    stable = sorted(json.loads(line)["seconds"] for line in result.stdout.splitlines()
                    if '"wait.stable"' in line)
    return elapsed, stable


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--services", type=int, default=200)
    parser.add_argument("--max-parallel", type=int, default=200)
    args = parser.parse_args()
    rounds = Rounds()

    import git

    from release.engine.promote import promote_pin

    names = [f"bench-{i:03d}" for i in range(args.services)]
    with tempfile.TemporaryDirectory(prefix="bench-apply-") as tmp, \
            sandbox_process(Path(tmp)) as sandbox:
        sandbox.seed_infrastructure(instances=max(2, -(-args.services // 40)))  # room for all
        repo = sandbox.repo
        write_services(repo, args.services)
        git_repo = git.Repo.init(repo, initial_branch="main")
        with git_repo.config_writer() as cfg:
            cfg.set_value("user", "name", "bench")
            cfg.set_value("user", "email", "bench@example.invalid")

        def pin_all(tag: str, only: list[str]) -> str:
            digest = sandbox.put_image(tag)
            for name in only:
                promote_pin(repo, "sandbox", name, f"{tag}@{digest}")
            git_repo.git.add("-A")
            git_repo.git.commit("-q", "-m", f"pin {len(only)} service(s) to {tag}")
            return git_repo.head.commit.hexsha

        first = pin_all("000000000001", names)
        print(f"first release of {args.services} services (setup) ...", flush=True)
        setup, _ = apply(repo, "", args.max_parallel)
        one_commit = pin_all("000000000002", names[:1])
        wait_for_full_buckets(sandbox.endpoint)
        one, one_stable = apply(repo, first, args.max_parallel)
        pin_all("000000000003", names)
        wait_for_full_buckets(sandbox.endpoint)
        rounds.reset()
        server_calls(sandbox.endpoint, "all changed")
        many, many_stable = apply(repo, one_commit, args.max_parallel)
        counted = server_calls(sandbox.endpoint)

    from release.core.ecs_throttling import seconds_at_least

    ratio = many / one
    by_api = api_counts(counted)
    floor = seconds_at_least(by_api)
    print()
    print(f"{'apply':<26}{'services':>9}{'wall s':>9}{'stable after s (median/max)':>30}")
    print(f"{'first release (setup)':<26}{args.services:>9}{setup:>9.1f}")
    print(f"{'one changed service':<26}{1:>9}{one:>9.1f}"
          f"{statistics.median(one_stable):>22.1f} / {max(one_stable):.1f}")
    print(f"{'all changed':<26}{args.services:>9}{many:>9.1f}"
          f"{statistics.median(many_stable):>22.1f} / {max(many_stable):.1f}")
    print(f"ratio {args.services} vs 1: {ratio:.2f}x (target <= {TARGET_RATIO}x; "
          f"--max-parallel {args.max_parallel})")
    print(f"AWS floor for these ECS calls (documented buckets, any client): {floor:.1f} s "
          f"= {floor / one:.2f}x one service before any rollout; all changed vs "
          f"floor + one service: {many / (floor + one):.2f}x")
    ratio_ok = ratio <= TARGET_RATIO or many <= TARGET_RATIO * (floor + one)
    sys.exit(0 if report_calls(rounds, counted, by_api, many) and ratio_ok else 1)


def api_counts(counted: dict[str, Any]) -> dict[str, int]:
    """The server's counts of the measured apply, per API."""
    by_api: dict[str, int] = {}
    for _label, operation, n in counted["calls"]:
        by_api[operation] = by_api.get(operation, 0) + n
    return by_api


def report_calls(rounds: Rounds, counted: dict[str, Any], by_api: dict[str, int],
                 wall: float) -> bool:
    """The API side of the all-services apply; True when its targets are met."""
    total = sum(by_api.values())
    budget = rounds.budgets[0].per_second if rounds.budgets else 0
    throttled = sum(b.throttled for b in rounds.budgets)
    server_throttled = counted.get("throttled", {})
    peaks: dict[str, int] = {}
    for b in rounds.budgets:
        for (service, _), n in b.per_second_seen.items():
            peaks[service] = max(peaks.get(service, 0), n)
    ecs_peak = peaks.pop("ecs", 0)
    over = {s: n for s, n in peaks.items() if rounds.budgets and n > rounds.budgets[0].limit_of(s)}
    sizes = [n for n, _ in rounds.rounds]
    per_round = [sum(c.values()) for _, c in rounds.rounds]
    ds_ok = all(c.get("DescribeServices", 0) <= -(-n // 10) for n, c in rounds.rounds)
    big = [(n, c) for n, c in rounds.rounds if n >= 10]
    ordered = dict(sorted(by_api.items(), key=lambda item: -item[1]))
    print(f"\nAWS calls of the all-changed apply (server-counted): {total} in {wall:.1f} s; "
          f"peak sent to ECS {ecs_peak}/s (its documented buckets), to the others "
          f"{json.dumps(peaks)} a second (DynamoDB 1,000/s, the rest {budget or 'no'} budget "
          f"each; {len(rounds.budgets)} budget(s) in the process); peak arrived at the "
          f"server {counted['peak_by_service']}; "
          f"throttled by the sandbox's ECS buckets: {sum(server_throttled.values())} "
          f"{json.dumps(server_throttled)}; throttled answers the client saw: {throttled}; "
          f"by API: {json.dumps(ordered)}")
    if sizes:
        print(f"poller rounds: {len(sizes)}, services per round median "
              f"{statistics.median(sizes):.0f} / max {max(sizes)}; calls per round median "
              f"{statistics.median(per_round):.0f} / max {max(per_round)}")
    if big:
        n, c = max(big, key=lambda r: r[0])
        print(f"largest round: {n} services, {sum(c.values())} calls {json.dumps(c)}")
    budget_ok = not server_throttled and (not budget or not over)
    print(f"targets: <= 1 DescribeServices per 10 services a round: "
          f"{'met' if ds_ok else 'MISSED'}; never above the budget: "
          f"{'met' if budget_ok else 'MISSED'}")
    return ds_ok and budget_ok


if __name__ == "__main__":
    main()
