"""The sandbox's keys come from the sandbox package, never from the tool.

`release sandbox up` prints them (tests/sandbox/test_sandbox_cli.py); the harness
puts them in the environment while a sandbox runs, in place of whatever a
developer's shell holds, and gives that back afterwards.
"""

from __future__ import annotations

import os

import pytest

from release_sandbox.process import CREDENTIALS
from release_sandbox.testing import sandbox_credentials

DEVELOPER = {"AWS_ACCESS_KEY_ID": "AKIADEVELOPEREXAMPLE", "AWS_SECRET_ACCESS_KEY": "mine",
             "AWS_SESSION_TOKEN": "session", "AWS_PROFILE": "work"}


def test_the_harness_replaces_a_developers_credentials_and_gives_them_back(
        monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in DEVELOPER.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_DEFAULT_PROFILE", raising=False)
    with sandbox_credentials():
        assert {n: os.environ.get(n) for n in DEVELOPER} == {
            **CREDENTIALS, "AWS_SESSION_TOKEN": None, "AWS_PROFILE": None}
    assert {n: os.environ.get(n) for n in DEVELOPER} == DEVELOPER
    assert "AWS_DEFAULT_PROFILE" not in os.environ


def test_the_keys_are_words_no_output_holds() -> None:
    # The tool masks the values of AWS_*KEY* variables where it scrubs text (error reports,
    # notifications): a key that were an ordinary word would take that word with it.
    from release.core.redact import scrub, secret_values

    secrets = secret_values(CREDENTIALS)
    assert sorted(secrets) == sorted(CREDENTIALS.values())
    line = "release deploy --env sandbox: akka-firehose released in the sandbox"
    assert scrub(line, secrets) == line
