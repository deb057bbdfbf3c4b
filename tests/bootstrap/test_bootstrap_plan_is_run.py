"""`release bootstrap`: the plan it prints is the list of calls it then runs, field for field."""

from __future__ import annotations

import json

from bootstrap_helpers import run_bootstrap

# what differs between showing and running a call: the line's words and time
NOT_THE_CALL = {"event", "message", "level", "time"}


def test_bootstrap_runs_the_calls_its_plan_printed(repo, sandbox_aws) -> None:
    result = run_bootstrap(repo, "--env", "sandbox", "--yes", "--format", "json")
    assert result.exit_code == 0, result.output
    events = [json.loads(line) for line in result.stdout.splitlines() if line.strip()]

    def listed(kind: str) -> list[dict[str, object]]:
        return [{k: v for k, v in e.items() if k not in NOT_THE_CALL} for e in events
                if e["event"] == kind]

    printed, ran = listed("bootstrap.plan.call"), listed("bootstrap.call")
    assert printed and ran == printed
    assert {e["instruction"] for e in ran} == {"call"}
