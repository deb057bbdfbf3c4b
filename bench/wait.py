"""Bench: how fast, how cheaply and how truthfully each tool notices a rollout is done.

One sandbox (moto + the ECS emulator on the real clock, short ELB timings), the
same kind of rolling update (2 tasks, one at a time, classic ELB health checks
and connection draining) observed in turn by:

* `release deploy` (out of process, like Jenkins runs it);
* boto3's `services_stable` waiter, as configured by botocore (every 15 s), and
  with a 1 s delay (as responsive as the others);
* fabfuel's `ecs deploy` (out of process; it polls every second).

A monitor thread reads the emulator's own state 20 times a second and records
the moment the rollout is *truly* stable: one deployment, every task on the new
revision RUNNING and InService on the ELB, no old task left, nothing draining.
For each tool the table shows the lag between that moment and the tool's
"done" (negative = it said done before it was true: premature), and every AWS
call it made (all APIs, setup included), counted on the sandbox's server
(sandbox/release_sandbox/calllog.py), with its DescribeServices among them.

The same rollout at the seed's timings, on the virtual clock, is bench/seed_timings.py.

Targets for `release deploy`: lag <= 2 s, zero premature "done", at most 1/3 of
the DescribeServices of the observers polling every second (all calls are shown
beside them).

    .venv/bin/python bench/wait.py [--interval 5] [--draining 5]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from _rollout import CLUSTER, SERVICE, pin, prepare_repo, primary_id, truly_stable  # noqa: E402

CONTAINER = "akka-firehose"
TARGET_LAG, TARGET_CALL_RATIO = 2.0, 1 / 3


class Truth(threading.Thread):
    """Watches the emulator (in-process, no API calls) for the first truly stable moment."""

    def __init__(self, sandbox: Any, before_deployment: str) -> None:
        super().__init__(daemon=True)
        self.sandbox = sandbox
        self.before = before_deployment
        self.stable_at: float | None = None
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.wait(0.05):
            if self.stable_at is None and truly_stable(self.sandbox, self.before):
                self.stable_at = time.time()


def new_revision(sandbox: Any, tag: str) -> str:
    """Register a copy of the live revision running `tag` (what a deploy tool would do)."""
    ecs = sandbox.client("ecs")
    live = ecs.describe_services(cluster=CLUSTER, services=[SERVICE])["services"][0]
    taskdef = ecs.describe_task_definition(taskDefinition=live["taskDefinition"])["taskDefinition"]
    body = {k: taskdef[k] for k in ("family", "containerDefinitions", "networkMode",
                                    "requiresCompatibilities") if k in taskdef}
    digest = sandbox.put_image(tag)
    image = body["containerDefinitions"][0]["image"].split("@")[0]
    body["containerDefinitions"][0]["image"] = f"{image}@{digest}"
    return ecs.register_task_definition(**body)["taskDefinition"]["taskDefinitionArn"]


def observe(name: str, sandbox: Any, run: Any) -> dict[str, Any]:
    """Start the truth monitor, let the tool trigger and watch one rollout, compare."""
    truth = Truth(sandbox, primary_id(sandbox))
    truth.start()
    sandbox.calls.label = name
    started = time.time()
    ok = run()
    done_at = time.time()
    sandbox.calls.label = "between"
    deadline = time.time() + 120
    while truth.stable_at is None and time.time() < deadline:
        time.sleep(0.1)
    truth.stop.set()
    lag = None if truth.stable_at is None else done_at - truth.stable_at
    calls = sandbox.calls.of(name)
    return {"observer": name, "ok": ok, "lag": lag, "calls": sum(calls.values()),
            "describe": calls["DescribeServices"],
            "premature": int(lag is not None and lag < 0), "seconds": done_at - started}


def tool_env(sandbox: Any) -> dict[str, str]:
    env = dict(os.environ)
    env.update(AWS_ENDPOINT_URL=sandbox.endpoint, AWS_ACCESS_KEY_ID="sandbox",
               AWS_SECRET_ACCESS_KEY="sandbox", AWS_DEFAULT_REGION=sandbox.region,
               NO_COLOR="1")
    env.pop("AWS_PROFILE", None)
    return env


def run_release(sandbox: Any, tag: str) -> bool:
    pin(sandbox, tag)
    result = subprocess.run(
        [sys.executable, "-m", "release.cli", "deploy", "--env", "sandbox", "--repo",
         str(sandbox.repo)], env=tool_env(sandbox), capture_output=True, text=True, cwd=ROOT)
    if result.returncode != 0:
        print(result.stdout[-2000:], result.stderr[-2000:], file=sys.stderr)
    return result.returncode == 0


def run_waiter(sandbox: Any, delay: int | None) -> Any:
    def run() -> bool:
        import boto3

        ecs = boto3.client("ecs", endpoint_url=sandbox.endpoint, region_name=sandbox.region,
                           aws_access_key_id="sandbox", aws_secret_access_key="sandbox")
        arn = new_revision(sandbox, f"v-waiter-{delay or 'default'}")
        ecs.update_service(cluster=CLUSTER, service=SERVICE, taskDefinition=arn)
        config = {"Delay": delay, "MaxAttempts": 600} if delay else {}
        ecs.get_waiter("services_stable").wait(cluster=CLUSTER, services=[SERVICE],
                                               WaiterConfig=config)
        return True

    return run


def run_fabfuel(sandbox: Any) -> bool:
    env = sandbox.environment()
    sandbox.put_image("v-fabfuel")
    ecs_cli = Path(sys.executable).with_name("ecs")
    result = subprocess.run(
        [str(ecs_cli), "deploy", CLUSTER, SERVICE, "--region", sandbox.region,
         "-i", CONTAINER, f"{env.repository_uri}:v-fabfuel", "--no-deregister",
         "--timeout", "300"], env=tool_env(sandbox), capture_output=True, text=True)
    if result.returncode != 0:
        print(result.stdout[-2000:], result.stderr[-2000:], file=sys.stderr)
    return result.returncode == 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--interval", type=int, default=5,
                        help="ELB health check interval (s; the ELB minimum is 5)")
    parser.add_argument("--draining", type=int, default=5, help="connection draining (s)")
    args = parser.parse_args(argv)

    from release.core.clock import RealClock
    from release_sandbox.testing import copy_config_repo, running_sandbox

    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-wait-") as tmp:
        staged = Path(tmp) / "documents"
        copy_config_repo(ROOT, staged, "http://127.0.0.1:1", None)
        prepare_repo(staged, args.interval, args.draining)
        with running_sandbox(staged, Path(tmp) / "sandbox", clock=RealClock()) as sandbox:
            sandbox.seed_infrastructure()
            if not run_release(sandbox, "v0"):  # creates the service on its first revision
                print("setup failed: the first release did not complete", file=sys.stderr)
                return 1
            rows.append(observe("release deploy", sandbox,
                                lambda: run_release(sandbox, "v-release")))
            rows.append(observe("boto3 services_stable (15 s)", sandbox,
                                run_waiter(sandbox, None)))
            rows.append(observe("boto3 services_stable (1 s)", sandbox, run_waiter(sandbox, 1)))
            rows.append(observe("fabfuel ecs deploy", sandbox, lambda: run_fabfuel(sandbox)))
    return report(rows, args)


def report(rows: list[dict[str, Any]], args: argparse.Namespace) -> int:
    ours = rows[0]
    print(f"\nOne rolling update (2 tasks, one at a time; ELB health check every "
          f"{args.interval} s x 2, draining {args.draining} s) per observer, same sandbox:\n")
    header = (f"{'observer':<30} {'done':>5} {'lag vs truth':>13} {'premature':>10} "
              f"{'AWS calls':>10} {'DescribeServices':>17} {'DS ratio (ours/theirs)':>23}")
    print(header)
    print("-" * len(header))
    for row in rows:
        lag = "never" if row["lag"] is None else f"{row['lag']:+.1f} s"
        ratio = ("" if row is ours or not row["describe"]
                 else f"{ours['describe'] / row['describe']:.2f}")
        print(f"{row['observer']:<30} {'yes' if row['ok'] else 'NO':>5} {lag:>13} "
              f"{row['premature']:>10} {row['calls']:>10} {row['describe']:>17} {ratio:>23}")
    # The 15 s waiter makes few calls because it looks rarely (its lag shows the price);
    # the call target is against the observers that poll every second.
    responsive = [r for r in rows[1:] if "(15 s)" not in r["observer"]]
    lag_ok = ours["ok"] and ours["lag"] is not None and 0 <= ours["lag"] <= TARGET_LAG
    calls_ok = all(ours["describe"] <= TARGET_CALL_RATIO * r["describe"] for r in responsive)
    print(f"\ntargets for release deploy: lag 0..{TARGET_LAG:.0f} s: "
          f"{'met' if lag_ok else 'MISSED'}; premature 0: "
          f"{'met' if ours['premature'] == 0 else 'MISSED'}; DescribeServices <= 1/3 of the "
          f"observers polling every second: {'met' if calls_ok else 'MISSED'}")
    return 0 if lag_ok and ours["premature"] == 0 and calls_ok else 1


if __name__ == "__main__":
    sys.exit(main())
