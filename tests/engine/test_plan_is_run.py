"""The plan printed is the list of instructions executed, field for field.

`release plan` (and `release rollback` before it asks) shows a release's instructions
(core/instructions.py), one `plan.call`/`plan.step` event each; the executor emits one
`release.call`/`release.step` (`rollback.…`) event for each instruction it runs. For a
classic rolling release, a canary release, a native blue/green release and a rollback,
on the sandbox through the CLI, the two lists are the same: same kinds, same calls with
the same parameters, same waits with the same strategy, in the same order.
"""

from __future__ import annotations

from typing import Any

import pytest
from engine_sandbox import ENV_DOC, SPEC, Stage
from native_stage import go_native

# what differs between showing and running an instruction: the line's words and time
NOT_THE_INSTRUCTION = {"event", "message", "level", "time"}


def instructions(run: Any, kind: str) -> list[dict[str, Any]]:
    return [{k: v for k, v in e.items() if k not in NOT_THE_INSTRUCTION} for e in run.events
            if e["event"] in (f"{kind}.call", f"{kind}.step")]


def shape(listed: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    return [(i["instruction"], i.get("operation") or i.get("strategy") or i.get("outcome"))
            for i in listed]


def test_a_classic_release_runs_the_instructions_its_plan_printed(released: Stage) -> None:
    stage = released
    stage.edit(SPEC, lambda d: d["release"].update(bake={"minutes": 1}))
    stage.pin("v2")
    printed = instructions(stage.cli("plan"), "plan")
    run = stage.cli("deploy")
    assert run.exit_code == 0, run.output
    assert instructions(run, "release") == printed
    assert shape(printed) == [("call", "register_task_definition"), ("call", "update_service"),
                              ("wait", "rolling"), ("bake", None), ("tag_record", "completed")]


@pytest.mark.instances(3)
def test_a_canary_release_runs_the_instructions_its_plan_printed(stage: Stage) -> None:
    stage.edit(ENV_DOC, lambda d: d["instances"].update(count=3))
    stage.edit(SPEC, lambda d: d["release"].update(canary={"count": 1, "bakeMinutes": 1}))
    stage.pin("v1")
    assert stage.cli("deploy").exit_code == 0
    stage.pin("v2")
    printed = instructions(stage.cli("plan"), "plan")
    run = stage.cli("deploy")
    assert run.exit_code == 0, run.output
    assert instructions(run, "release") == printed
    assert shape(printed) == [("call", "register_task_definition"), ("canary_start", None),
                              ("call", "update_service"), ("wait", "rolling"),
                              ("tag_record", "completed"), ("canary_removal", None)]
    # the canary's own calls are the ones its steps listed
    listed = [(c["operation"], c["target"]) for i in printed for c in i.get("calls", [])]
    ran = [(e["operation"], e["target"]) for e in run.events if e["event"] == "canary.call"]
    assert ran == listed


@pytest.mark.instances(4)
def test_a_native_blue_green_release_runs_the_instructions_its_plan_printed(stage: Stage
                                                                            ) -> None:
    go_native(stage, {"strategy": "BLUE_GREEN", "bakeTimeInMinutes": 0})
    stage.pin("v1")
    assert stage.cli("deploy").exit_code == 0
    stage.pin("v2")
    printed = instructions(stage.cli("plan"), "plan")
    run = stage.cli("deploy")
    assert run.exit_code == 0, run.output
    assert instructions(run, "release") == printed
    assert shape(printed) == [("call", "register_task_definition"), ("call", "update_service"),
                              ("wait", "BLUE_GREEN"), ("tag_record", "completed")]


def test_a_rollback_runs_the_instructions_it_printed(released: Stage) -> None:
    stage = released
    stage.pin("v2")
    assert stage.cli("deploy").exit_code == 0
    run = stage.cli("rollback", "--yes")
    assert run.exit_code == 0, run.output
    printed = instructions(run, "plan")
    assert instructions(run, "rollback") == printed
    assert shape(printed) == [("call", "update_service"), ("wait", "rolling"),
                              ("tag_record", "")]
    assert printed[-1]["restored_from"].endswith("akka-demo:2")
