"""Run a recorded build's `sh` steps in order, in process, as Jenkins would run them.

In process, because the sandbox's virtual clock lives in the test's process. The Setup
stage's script (the workspace venv) is not run here: the tool under test is this
checkout's, already installed; tests/jenkins/test_agent_venv.py runs that script itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from jenkins_stub import commands_in_order, jenkins_environment, split_command
from typer.testing import CliRunner

from release.cli import app

SETUP_SCRIPT = 'scripts/agent-venv.sh "$RELEASE_VENV"'


@dataclass
class Step:
    stage: str
    verb: str
    exit_code: int
    output: str


def run_build(record, build_env: dict[str, str], *, stop_on_failure: bool = True
              ) -> list[Step]:
    """Each stage's command in order; a failing command fails its stage and ends the build
    (as `sh` does in Jenkins), so later stages never run."""
    env = jenkins_environment(record, build_env)
    ran: list[Step] = []
    for stage, script in commands_in_order(record):
        if script == SETUP_SCRIPT:
            continue
        argv, stdout_file = split_command(script, env)
        assert argv[0] == "release", script
        result = CliRunner().invoke(app, argv[1:], env=env, catch_exceptions=False)
        if stdout_file:
            Path(stdout_file).parent.mkdir(parents=True, exist_ok=True)
            Path(stdout_file).write_text(result.stdout)
        ran.append(Step(stage, argv[1], result.exit_code, result.output))
        if result.exit_code != 0:
            assert not stop_on_failure, f"{stage}: {script}\n{result.output[-4000:]}"
            break
    return ran
