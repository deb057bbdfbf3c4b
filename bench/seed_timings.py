"""Bench: one rollout at the seed's timings, on the virtual clock (bench/wait.py: real clock).

HealthyThreshold 2 x Interval 30 s, connection draining 300 s, 2 tasks: a rollout
of about ten minutes that the real clock could not afford. `release deploy` runs
in-process on the sandbox's virtual clock; every AWS call it makes is counted on
the sandbox's server. A clock listener reads the emulator after every tick and
records the moments each tool's "done" depends on:

* truth: one deployment, every task on the new revision RUNNING and InService,
  nothing draining (bench/_rollout.truly_stable);
* botocore's services_stable acceptor: one deployment and runningCount ==
  desiredCount (botocore's ecs waiters-2.json); it polls every 15 s (Delay 15),
  one DescribeServices a poll, the first at once;
* fabfuel's `ecs deploy` (ecs_deploy/cli.py wait_for_finish, ecs.py is_deployed):
  every `--sleep-time` (1 s) a DescribeServices, and once one deployment is left a
  ListTasks and a DescribeTasks; done when the new revision's RUNNING tasks ==
  desiredCount.

The peers' figures are computed from those moments and their poll intervals, as
if each had called UpdateService when release did.
"""

from __future__ import annotations

import json
import math
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from _rollout import CLUSTER, SERVICE, pin, prepare_repo, primary_id, truly_stable  # noqa: E402

SEED = {"interval": 30, "draining": 300}
WAITER_DELAY, FABFUEL_SLEEP = 15.0, 1.0
TARGET_LAG = 2.0


class Moments:
    """The first virtual moment each condition held, read from the emulator every tick."""

    def __init__(self, sandbox: Any, before: str) -> None:
        self.sandbox, self.before = sandbox, before
        self.at: dict[str, float] = {}

    def __call__(self, now: float) -> None:
        from moto.backends import get_backend

        if "truth" in self.at:
            return
        emulator = self.sandbox.emulator
        with emulator.lock:
            backend = get_backend("ecs")[self.sandbox.account][self.sandbox.region]
            service = backend.services.get(f"{CLUSTER}:{SERVICE}")
            if service is None or not service.deployments:
                return
            primary = service.deployments[0]
            if primary["id"] == self.before:
                return
            self.at.setdefault("update", now)
            one = len(service.deployments) == 1
            new_running = sum(1 for t in backend.tasks.get(CLUSTER, {}).values()
                              if t.group == f"service:{SERVICE}" and t.last_status == "RUNNING"
                              and t.task_definition_arn == primary["taskDefinition"])
            if one:
                self.at.setdefault("one_deployment", now)
            if one and service.running_count == service.desired_count:
                self.at.setdefault("waiter", now)
            if one and new_running == service.desired_count:
                self.at.setdefault("fabfuel", now)
        if truly_stable(self.sandbox, self.before):
            self.at["truth"] = now


def waiter_figures(m: dict[str, float]) -> dict[str, Any]:
    polls = math.ceil((m["waiter"] - m["update"]) / WAITER_DELAY - 1e-9) + 1
    done = m["update"] + (polls - 1) * WAITER_DELAY
    return {"observer": "boto3 services_stable (15 s)", "calls": polls, "describe": polls,
            "lag": done - m["truth"], "computed": True}


def fabfuel_figures(m: dict[str, float]) -> dict[str, Any]:
    polls = math.ceil((m["fabfuel"] - m["update"]) / FABFUEL_SLEEP - 1e-9) + 1
    with_tasks = sum(1 for k in range(polls)
                     if m["update"] + k * FABFUEL_SLEEP >= m["one_deployment"])
    done = m["update"] + (polls - 1) * FABFUEL_SLEEP
    return {"observer": "fabfuel ecs deploy (1 s)", "calls": polls + 2 * with_tasks,
            "describe": polls, "lag": done - m["truth"], "computed": True}


def release_in_process(sandbox: Any, pin: Any, tag: str) -> tuple[bool, float]:
    from typer.testing import CliRunner

    from release.cli import app

    if pin is not None:
        pin(sandbox, tag)
    result = CliRunner().invoke(app, ["deploy", "--env", "sandbox", "--repo", str(sandbox.repo),
                                      "--format", "json"])
    if result.exit_code != 0:
        print(result.output[-3000:], file=sys.stderr)
    return result.exit_code == 0, sandbox.clock.now()


def run_at_seed_timings() -> int:
    """The seed-timings run; prints its table; 0 when release meets its targets."""
    from release.core.clock import VirtualClock
    from release_sandbox.testing import copy_config_repo, running_sandbox

    with tempfile.TemporaryDirectory(prefix="bench-wait-seed-") as tmp:
        staged = Path(tmp) / "documents"
        copy_config_repo(ROOT, staged, "http://127.0.0.1:1", None)
        prepare_repo(staged, SEED["interval"], SEED["draining"])
        spec_path = staged / "environments" / "sandbox" / "services" / "akka-firehose.json"
        spec = json.loads(spec_path.read_text())
        spec["service"]["healthCheckGracePeriodSeconds"] = 2 * SEED["interval"]  # the rule's
        spec_path.write_text(json.dumps(spec, indent=2) + "\n")
        clock = VirtualClock(step=0.25)
        with running_sandbox(staged, Path(tmp) / "sandbox", clock=clock) as sandbox:
            sandbox.seed_infrastructure()
            ok, _ = release_in_process(sandbox, pin, "v0")
            if not ok:
                print("seed run: the first release did not complete", file=sys.stderr)
                return 1
            moments = Moments(sandbox, primary_id(sandbox))
            clock.on_tick(moments)
            pin(sandbox, "v-release")  # the image push is not the tool's call
            sandbox.calls.label = "release deploy (seed)"
            started = clock.now()
            ok, done = release_in_process(sandbox, None, "v-release")
            calls = sandbox.calls.of("release deploy (seed)")
    m = moments.at
    if not ok or "truth" not in m:
        print(f"seed run: release failed or the rollout never settled ({m})", file=sys.stderr)
        return 1
    ours = {"observer": "release deploy", "calls": sum(calls.values()),
            "describe": calls["DescribeServices"], "lag": done - m["truth"], "computed": False}
    rows = [ours, waiter_figures(m), fabfuel_figures(m)]
    return seed_report(rows, m, started, dict(calls))


def seed_report(rows: list[dict[str, Any]], m: dict[str, float], started: float,
                calls: dict[str, int]) -> int:
    ours, waiter, fabfuel = rows
    print(f"\nAt the seed's timings (health check {SEED['interval']} s x 2, draining "
          f"{SEED['draining']} s, 2 tasks; virtual clock): rollout truly stable "
          f"{m['truth'] - m['update']:.0f} s after the update\n")
    header = (f"{'observer':<30} {'how':>9} {'lag vs truth':>13} {'premature':>10} "
              f"{'AWS calls':>10} {'DescribeServices':>17}")
    print(header)
    print("-" * len(header))
    for row in rows:
        how = "computed" if row["computed"] else "measured"
        print(f"{row['observer']:<30} {how:>9} {row['lag']:>+11.1f} s "
              f"{int(row['lag'] < 0):>10} {row['calls']:>10} {row['describe']:>17}")
    print(f"release's calls by API: {json.dumps(calls, sort_keys=True)}")
    lag_ok = 0 <= ours["lag"] <= TARGET_LAG
    waiter_ok = ours["calls"] <= waiter["describe"]
    fab_ok = ours["calls"] <= fabfuel["calls"] / 3
    print(f"\ntargets at the seed's timings: lag 0..{TARGET_LAG:.0f} s: "
          f"{'met' if lag_ok else 'MISSED'}; premature 0: {'met' if ours['lag'] >= 0 else 'MISSED'}"
          f"; total calls <= the 15 s waiter's DescribeServices ({waiter['describe']}): "
          f"{'met' if waiter_ok else 'MISSED'}; <= 1/3 of fabfuel's ({fabfuel['calls']}): "
          f"{'met' if fab_ok else 'MISSED'}")
    return 0 if lag_ok and waiter_ok and fab_ok else 1


if __name__ == "__main__":
    sys.exit(run_at_seed_timings())
