"""A CI build URL with a password or a token in it reaches no record, event or log.

Jenkins' BUILD_URL is whatever the job's configuration makes it; `https://user:pass@ci/…
?token=…` happens. Every place the tool writes it down (the revision's `release:build-url`
tag, the ledger's entries and the lease, the JSON events, `history`, the output) keeps the
URL without its user-info and query (core/records.ci_values).
"""

from __future__ import annotations

import json

import pytest
from engine_sandbox import SPEC, Stage

from release.adapters import ledger

PASSWORD, TOKEN = "pa55-Word-9x", "t0ken-Value-7z"
BUILD_URL = f"https://jenkins:{PASSWORD}@ci.example/job/akka/1/?token={TOKEN}"
SHOWN = "https://ci.example/job/akka/1/"


def dump_ledger(stage: Stage) -> str:
    env = stage.sandbox.environment()
    items = stage.sandbox.client("dynamodb").scan(TableName=ledger.table_name(env))["Items"]
    assert items
    return json.dumps(items)


def test_a_build_url_s_password_and_token_are_written_nowhere(
        released: Stage, monkeypatch: pytest.MonkeyPatch) -> None:
    stage = released
    monkeypatch.setenv("BUILD_URL", BUILD_URL)
    monkeypatch.setenv("BUILD_TAG", "jenkins-akka-1")
    monkeypatch.setenv("JOB_NAME", "akka")
    stage.edit(SPEC, lambda d: d["service"]["deploymentConfiguration"].update(
        deploymentCircuitBreaker={"enable": False, "rollback": False}))
    stage.pin("v2", fault="crash:exit=3")  # a release, its failure and the restore
    run = stage.cli("deploy")
    assert run.exit_code == 3, run.output
    history = stage.cli("history")
    assert history.exit_code == 0, history.output

    tags = stage.tags("akka-demo:2")
    assert tags["release:build-url"] == SHOWN
    said = {"tags": json.dumps([stage.tags("akka-demo:1"), tags]), "ledger": dump_ledger(stage),
            "deploy output": run.output, "history output": history.output}
    for where, text in said.items():
        assert PASSWORD not in text and TOKEN not in text, where
    entries = [r for e in history.events if e["event"] == "history" for r in e["entries"]]
    assert [(e["kind"], e["build_url"]) for e in entries[:2]] == [("restore", SHOWN),
                                                                  ("release", SHOWN)], entries
