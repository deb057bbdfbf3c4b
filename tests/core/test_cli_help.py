"""`release --help` without typer: the text is typer's own, and nothing heavy is imported."""

from __future__ import annotations

import os
import subprocess
import sys

TYPER_HELP = ("import sys; sys.argv = ['release', '--help']; "
              "from release.cli import build_app; build_app()()")
FAST_HELP = ("import sys; sys.argv = ['release', '--help']; import release.cli as cli; "
             "cli.main(); print(sorted(m for m in ('typer', 'rich', 'boto3', 'pydantic') "
             "if m in sys.modules), file=sys.stderr)")


def run(code: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "80"}
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env=env, check=True)


def test_the_fast_help_is_what_typer_prints() -> None:
    # a new verb: add its line to cli.HELP as typer prints it (this diff shows the line)
    assert run(FAST_HELP).stdout == run(TYPER_HELP).stdout


def test_the_fast_help_imports_neither_typer_nor_the_verbs() -> None:
    assert run(FAST_HELP).stderr.strip() == "[]"
