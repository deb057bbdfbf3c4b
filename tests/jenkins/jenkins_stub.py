"""Run the Jenkinsfile through real Groovy under the stub pipeline DSL; read the record."""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
from pathlib import Path
from typing import Any

PROJECT = Path(__file__).resolve().parents[2]
STUB = Path(__file__).with_name("pipeline_stub.groovy")
JENKINSFILE = PROJECT / "Jenkinsfile"

# What Jenkins sets for every build; left as `$NAME` so the values a test has only at run
# time (the workspace) are expanded then, by `jenkins_environment`.
JENKINS_ENV = {"WORKSPACE": "$WORKSPACE", "JOB_NAME": "$JOB_NAME", "BUILD_URL": "$BUILD_URL",
               "PATH": "$PATH"}
APPLICATION = "examples/akka-firehose/README.md"
PIN = "environments/staging/services/akka-firehose.json"
# The commit `release promote --commit` makes (its trailer marks it), and a person's.
PROMOTION = {"message": "promote akka-firehose-service to 0123456789ab@sha256:3be3d43b in "
                        "staging\n\nRelease-Promotion: staging\n", "files": [PIN]}
PERSON = {"message": "serve /api/user faster", "files": [APPLICATION]}

# Builds the tests look at: parameters, Jenkins' environment, files the commits touched.
SCENARIOS: dict[str, dict[str, Any]] = {
    "release_staging": {"params": {"ACTION": "release", "ENV": "staging"},
                        "changed": ["environments/staging/services/akka-firehose.json"]},
    "release_production": {"params": {"ACTION": "release", "ENV": "production"},
                           "env": JENKINS_ENV},
    "application_changed": {"params": {"ACTION": "release", "ENV": "staging"},
                            "changed": ["examples/akka-firehose/src/main.scala"]},
    "build_asked": {"params": {"ACTION": "release", "ENV": "staging", "BUILD_IMAGE": True}},
    "rollback": {"params": {"ACTION": "rollback", "ENV": "production", "TO_REVISION": "3"},
                 "env": JENKINS_ENV},
    "continue": {"params": {"ACTION": "continue", "ENV": "production",
                            "SERVICE": "akka-firehose"}, "env": JENKINS_ENV},
    # the end-to-end path: a code change goes to staging, then to production
    "code_to_production": {"params": {"ACTION": "release", "ENV": "production"},
                           "env": JENKINS_ENV, "commits": [PERSON]},
    "code_to_staging": {"params": {"ACTION": "release", "ENV": "staging"},
                        "env": JENKINS_ENV, "commits": [PERSON]},
    "nothing_changed": {"params": {"ACTION": "release", "ENV": "staging"}, "env": JENKINS_ENV},
    # the loop guard: the build started by the pipeline's own push builds nothing
    "promotion_pushed": {"params": {"ACTION": "release", "ENV": "staging"},
                         "env": JENKINS_ENV, "commits": [PROMOTION]},
    "promotion_listing_the_application": {
        "params": {"ACTION": "release", "ENV": "staging"},
        "commits": [{**PROMOTION, "files": [PIN, APPLICATION]}]},
    "promotion_and_a_code_change": {"params": {"ACTION": "release", "ENV": "staging"},
                                    "commits": [PROMOTION, PERSON]},
}


def java_home() -> str | None:
    """JAVA_HOME for Debian's groovy launcher when default-java is not installed."""
    given = os.environ.get("JAVA_HOME")
    if given and Path(given, "bin", "java").exists():
        return given
    if Path("/usr/lib/jvm/default-java/bin/java").exists():
        return "/usr/lib/jvm/default-java"
    java = shutil.which("java")
    return str(Path(java).resolve().parents[1]) if java else None


def run_stub(scenarios: dict[str, dict[str, Any]]) -> dict[str, Any]:
    groovy = shutil.which("groovy")
    assert groovy, "groovy is needed (Debian package `groovy`; scripts/engine.sh installs it)"
    env = dict(os.environ)
    home = java_home()
    if home:
        env["JAVA_HOME"] = home
    done = subprocess.run([groovy, str(STUB), str(JENKINSFILE), json.dumps(scenarios)],
                          capture_output=True, text=True, env=env, timeout=240)
    assert done.returncode == 0, f"groovy failed:\n{done.stderr[-3000:]}"
    return json.loads(done.stdout.strip().splitlines()[-1])


def shell_steps(steps: list[dict[str, Any]]) -> list[str]:
    """The `sh` scripts of a step list, including those nested in lock/timeout blocks."""
    found = []
    for step in steps:
        if step.get("step") == "sh":
            found.append(step["script"])
        found += shell_steps(step.get("body", []))
    return found


def step_names(steps: list[dict[str, Any]]) -> list[str]:
    names = []
    for step in steps:
        names.append(step.get("step"))
        names += step_names(step.get("body", []))
    return names


def commands_in_order(record: dict[str, Any]) -> list[tuple[str, str]]:
    """(stage, sh script) for the stages this build runs, in order."""
    return [(stage["name"], script) for stage in record["stages"] if stage["runs"]
            for script in shell_steps(stage["steps"])]


def expand(text: str, env: dict[str, str]) -> str:
    """$NAME and ${NAME} as the shell expands them inside double quotes."""
    return re.sub(r"\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?", lambda m: env.get(m.group(1), ""), text)


def jenkins_environment(record: dict[str, Any], build: dict[str, str]) -> dict[str, str]:
    """The variables `sh` steps see: Jenkins' own, the parameters, the environment block."""
    env = dict(build)
    for name, value in record["params"].items():
        env.setdefault(name, "" if value is None else str(value))
    for name, value in record["environment"].items():
        env[name] = expand(str(value), env)
    return env


def split_command(script: str, env: dict[str, str]) -> tuple[list[str], str | None]:
    """argv of a one-command `sh` script and the file its stdout is redirected to, if any."""
    words = [expand(w, env) for w in shlex.split(script)]
    target = None
    if ">" in words:
        at = words.index(">")
        words, target = words[:at], words[at + 1]
    return words, target
