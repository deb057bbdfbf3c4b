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
    # the overview is made from release/commands/verbs.py; typer builds its own from the same
    assert run(FAST_HELP).stdout == run(TYPER_HELP).stdout


def test_the_fast_help_imports_neither_typer_nor_the_verbs() -> None:
    assert run(FAST_HELP).stderr.strip() == "[]"


def test_the_app_is_the_table_of_verbs_in_its_order_with_its_help() -> None:
    import typer.main

    from release.cli import build_app
    from release.commands.verbs import VERBS

    group = typer.main.get_group(build_app())
    assert list(group.commands) == [verb.name for verb in VERBS]
    assert [group.commands[verb.name].help for verb in VERBS] == [verb.help for verb in VERBS]


def test_a_verb_s_help_is_written_once_in_the_table_not_again_on_its_function() -> None:
    import importlib

    from release.commands.verbs import VERBS

    functions = [getattr(importlib.import_module(f"release.commands.{verb.module}"),
                         verb.attribute) for verb in VERBS if not verb.group]
    assert [f.__name__ for f in functions if f.__doc__] == []


def test_a_long_help_is_shortened_at_a_word_as_click_does() -> None:
    from release.commands.verbs import short_help

    assert short_help("Do this. Then that.", 40) == "Do this."
    assert short_help("Use e.g. lower case after a period", 60) == \
        "Use e.g. lower case after a period"
    assert short_help("one two three four", 12) == "one two..."
    assert short_help("First paragraph\n\nsecond one", 40) == "First paragraph"
