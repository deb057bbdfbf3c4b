"""Every verb over every broken document (and seeded random mutations): no traceback, ever.

The verbs are read from the typer app, so a new verb fails this test until it is
given arguments here. AWS is the in-process sandbox (moto's server, real HTTP) with
the staging infrastructure seeded, Docker an engine socket that does not exist, git
a real repository whose last commit brought the broken document.
"""

from __future__ import annotations

import json
import random
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import git
import pytest
import typer.main
from typer.testing import CliRunner

from release.cli import app
from release_sandbox.testing import running_sandbox

ROOT = Path(__file__).resolve().parents[2]
CORPUS = ROOT / "tests" / "validate" / "corpus"
sys.path.insert(0, str(ROOT / "tests" / "validate"))
from test_robustness import mutate  # noqa: E402  (the validator's own mutation operator)

DOCUMENTED_EXIT_CODES = {0, 1, 2, 3, 4, 5, 6, 130}
SERVICE = "environments/staging/services/akka-firehose.json"
MUTATED = ("taskdefs/akka-firehose.json", "environments/staging/environment.json", SERVICE)

# How each verb is run against staging; every leaf command of the app must be listed.
VERB_ARGS: dict[str, list[str]] = {
    "validate": [],
    "build": ["--env", "staging"],
    "plan": ["--env", "staging"],
    "preflight": ["--env", "staging"],
    "deploy": ["--env", "staging", "--timeout", "5"],
    "rollback": ["--env", "staging", "--yes", "--timeout", "5"],
    "status": ["--env", "staging"],
    "history": ["--env", "staging"],
    "changed": ["--since", "HEAD~1"],
    "apply": ["--since", "HEAD~1", "--dry-run"],
    "promote": ["--env", "staging", "--service", "akka-firehose", "--image",
                "sha256:" + "1" * 64],
    "verify": ["--env", "staging", "--base-url", "http://127.0.0.1:9", "--retries", "0",
               "--timeout", "0.5"],
    "bootstrap": ["--env", "staging", "--dry-run"],
    "unlock": ["--env", "staging", "--service", "akka-firehose", "--yes"],
    "init": ["--env", "staging", "--cluster", "AkkaCluster-staging", "--service",
             "akka-firehose-service"],
    "run": ["--env", "staging", "--service", "akka-firehose", "--", "true"],
    "logs": ["--env", "staging", "--service", "akka-firehose"],
    "continue": ["--env", "staging", "--service", "akka-firehose"],
}
# Verbs that do not read the config documents: run once, not per document.
ONCE: dict[str, list[str]] = {
    "sandbox up": ["--help"],  # starting servers is tests/sandbox's business
    "sandbox down": [],
    "sandbox status": [],
    "sandbox fault": ["clear"],
}


def leaf_commands(command: Any, prefix: tuple[str, ...] = ()) -> list[str]:
    if hasattr(command, "commands"):  # a group (typer's own click)
        return [name for sub_name, sub in command.commands.items()
                for name in leaf_commands(sub, (*prefix, sub_name))]
    return [" ".join(prefix)]


def test_every_verb_of_the_app_is_exercised() -> None:
    verbs = set(leaf_commands(typer.main.get_command(app)))
    assert verbs == set(VERB_ARGS) | set(ONCE), "give the new verb its arguments here"


def documents() -> list[tuple[str, str, bytes]]:
    """(name, file it replaces, content): the corpus, then seeded mutations of clean files."""
    cases = json.loads((CORPUS / "cases.json").read_text())
    found = [(name, case["replaces"], (CORPUS / f"{name}.json").read_bytes())
             for name, case in sorted(cases.items())]
    rng = random.Random("every-verb")
    for number in range(6):
        rel = MUTATED[number % len(MUTATED)]
        doc = mutate(json.loads((ROOT / rel).read_text()), rng)
        found.append((f"mutation-{number}", rel, json.dumps(doc).encode()))
    found.append(("bom", SERVICE, b"\xef\xbb\xbf" + (ROOT / SERVICE).read_bytes()))
    found.append(("deep", "taskdefs/unrelated.json", b"[" * 100_000 + b"]" * 100_000))
    found.append(("not-utf8", SERVICE, b'{"service": "\xff\xfe"}'))
    return found


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, dict[str, str]]]:
    workdir = tmp_path_factory.mktemp("every-verb")
    with running_sandbox(ROOT, workdir) as sandbox:
        sandbox.seed_infrastructure("staging")
        repo = git.Repo.init(sandbox.repo)
        repo.git.add(A=True)
        repo.index.commit("clean documents")
        env = {"RELEASE_AWS_ENDPOINT": sandbox.endpoint, "NO_COLOR": "1",
               "DOCKER_HOST": f"unix://{workdir}/no-engine.sock",
               "XDG_STATE_HOME": str(workdir / "state"), "RELEASE_REPO": str(sandbox.repo)}
        yield sandbox.repo, env


def run(env: dict[str, str], verb: str, args: list[str]) -> tuple[int, str]:
    result = CliRunner().invoke(app, [*verb.split(), *args], env=env, catch_exceptions=True)
    output = result.stdout + result.stderr
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        output += f"\nTraceback: {type(result.exception).__name__}: {result.exception}"
    return result.exit_code, output


@pytest.mark.parametrize(("name", "rel", "content"), documents(), ids=lambda v: str(v)[:40])
def test_every_verb_survives_the_document(world, name: str, rel: str, content: bytes) -> None:
    clean, env = world
    repo_dir = clean.parent / f"case-{name}"
    shutil.copytree(clean, repo_dir)
    try:
        (repo_dir / rel).write_bytes(content)
        repo = git.Repo(repo_dir)
        repo.git.add(A=True)
        repo.index.commit(f"break {rel}")
        case_env = {**env, "RELEASE_REPO": str(repo_dir)}
        for verb, args in VERB_ARGS.items():
            code, output = run(case_env, verb, args)
            assert "Traceback" not in output, (verb, output[-2000:])
            assert "internal error" not in output, (verb, output[-2000:])
            assert code in DOCUMENTED_EXIT_CODES, (verb, code, output[-2000:])
    finally:
        shutil.rmtree(repo_dir, ignore_errors=True)


@pytest.mark.parametrize("verb", sorted(ONCE))
def test_verbs_without_documents_end_with_a_documented_code(world, verb: str) -> None:
    _, env = world
    code, output = run(env, verb, ONCE[verb])
    assert "Traceback" not in output, output
    assert code in DOCUMENTED_EXIT_CODES, (code, output)
