"""`make demo`'s script, run as a newcomer would, on the embedded sandbox."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

EXPECTED_STEPS = [
    ("sandbox up", 0), ("add sidecar", 0), ("bootstrap", 0), ("validate", 0),
    ("build & push", 0), ("build worker", 0), ("promote", 0), ("promote worker", 0),
    ("plan", 0), ("apply v1", 0), ("verify", 0), ("deploy v2", 0), ("deploy again", 0),
    ("deploy broken", 3),
    ("rollback", 0), ("status", 0), ("history", 0), ("alb bootstrap", 0), ("alb promote", 0),
    ("alb deploy v1", 0), ("alb deploy v2", 0), ("alb status", 0), ("sandbox down", 0),
]


def test_the_demo_runs_the_whole_release_and_its_summary_says_so(tmp_path: Path):
    env = {**os.environ, "RELEASE_SANDBOX_REGISTRY_DIR": str(tmp_path / "registry"),
           "NO_COLOR": "1"}
    env.pop("RELEASE_DEMO_DIR", None)
    proc = subprocess.run([sys.executable, str(ROOT / "scripts" / "demo.py")], env=env,
                          text=True, capture_output=True, timeout=600, cwd=tmp_path)
    out = proc.stdout
    assert proc.returncode == 0, out[-4000:] + proc.stderr[-2000:]
    assert re.search(rf"DEMO PASSED: {len(EXPECTED_STEPS)} steps in \d+ s", out)
    summary = out[out.index("release demo summary"):]
    rows = {}
    for line in summary.splitlines():
        cells = [c.strip() for c in re.split(r"[│┃|]", line)][1:-1]
        if len(cells) == 6:
            rows[cells[0]] = cells
    for name, code in EXPECTED_STEPS:
        step, exit_code, expected, _seconds, result, _note = rows[name]
        assert (exit_code, expected, result) == (str(code), str(code), "ok"), rows[name]
    # The broken release was rolled back by the tool itself and said so (behind the classic
    # ELB ECS has no circuit breaker to do it), and the operator's rollback left the first
    # release serving.
    assert re.search(r"rolled back (by release )?to akka-demo:\d+, which is serving", out), \
        out[-4000:]
    assert "rolled back by ECS" not in out
    # ... and showed why: the crashed container's last log lines, from CloudWatch Logs
    assert re.search(r"last 2 log lines of akka-firehose in task [\w-]+ \(/ecs/akka-firehose "
                     r"ecs/akka-firehose/[\w-]+\):", out), out[-4000:]
    assert "    | exiting with code 137" in out
    # The same commit deployed twice registers nothing the second time.
    assert "nothing to change (live revision akka-demo:2 matches git)" in out
    assert "roll back from akka-demo:2 to akka-demo:1" in out
    # Both applications of the sandbox run, each image from its own ECR repository: the
    # example service's two containers (its sidecar built into `heartbeat`) and the worker.
    live = summary[summary.index("what runs in sandbox"):]
    for service, container, repository in (
            ("akka-firehose-service", "akka-firehose", "akka-firehose"),
            ("akka-firehose-service", "heartbeat", "heartbeat"),
            ("audit-worker-service", "audit-worker", "audit-worker")):
        assert re.search(rf"{container}\s*[│|]\s*{repository}@sha256:", live), live
        assert service in live
    assert "2 services, 3 ECR repositories: akka-firehose, audit-worker, heartbeat" in out
    # The second example environment: Fargate tasks behind an ALB, released after the
    # classic one, its second release stable only once the old targets drained.
    assert "akka-demo-fargate:2" in out
    total = int(re.search(r"DEMO PASSED: \d+ steps in (\d+) s", out).group(1))
    assert total < 300, f"the demo took {total} s; `make demo` must stay under 5 minutes\n" + \
        summary
    # No process or port was left behind by the demo's sandbox.
    assert "sandbox stopped" in out
