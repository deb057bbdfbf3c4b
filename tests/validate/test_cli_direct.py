"""`release validate` read without typer (release.cli.main's direct way) answers as typer does.

main() reads plain options itself and calls the same `validate`; every other word goes to
typer. Each case runs both ways on the same repository: same exit code, same stdout and
stderr (JSON lines compared without their clock field), same report file.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
import typer.main
from validate_helpers import PROJECT, STAGING_SERVICE, TASKDEF, edit

from release import cli as release_cli
from release.commands import validate as command


def break_two_documents(repo: Path) -> None:
    edit(repo, TASKDEF, lambda d: d["containerDefinitions"].append(
        {"name": "proxy", "image": "nginx", "memory": 64, "essential": False}))
    edit(repo, STAGING_SERVICE, lambda d: d["service"].update(role="otherRole"))


def without_clock(text: str) -> str:
    """JSON lines carry the time they were written; everything else must match as it is."""
    lines = []
    for line in text.splitlines():
        try:
            event = json.loads(line)
        except ValueError:
            lines.append(line)
            continue
        if isinstance(event, dict):
            event.pop("time", None)
        lines.append(json.dumps(event, sort_keys=True))
    return "\n".join(lines)


def direct(monkeypatch, capsys, words: list[str]) -> tuple[int, str, str]:
    """release.cli.main as the console script runs it."""
    monkeypatch.setattr(sys, "argv", ["release", *words])
    capsys.readouterr()
    code = 0
    with pytest.raises(SystemExit) as done:
        release_cli.main()
        raise SystemExit(0)
    code = done.value.code or 0
    out = capsys.readouterr()
    return code, out.out, out.err


def through_typer(cli, words: list[str]) -> tuple[int, str, str]:
    result = cli(*words)
    return result.exit_code, result.stdout, result.stderr


def test_the_direct_reader_knows_exactly_the_options_typer_declares() -> None:
    verb = typer.main.get_command(release_cli.build_app()).commands["validate"]
    declared = {word: param.name for param in verb.params
                for word in (*param.opts, *param.secondary_opts)}
    assert declared == command.DIRECT_OPTIONS
    assert all(not param.envvar for param in verb.params)  # none read the environment


@pytest.mark.parametrize("words", [
    ["--repo", "{repo}"],
    ["--repo", "{repo}", "--format", "json"],
    ["--repo={repo}", "--format=junit", "--strict"],
    ["--format", "junit", "--repo", "{repo}", "--format", "text"],  # the last one counts
    ["--repo", "{repo}", "-e", "staging", "--env", "production", "--format", "json"],
    ["--repo", "{repo}", "--env", "prod"],  # unknown environment: exit 1 on stderr
    ["--repo", "{repo}", "--env=staging", "--env", "prod", "--format", "json"],
    ["--repo", "{repo}/missing"],
    ["--repo", "{repo}", "--output", "{out}", "--format", "json"],
    ["--repo", "{repo}", "-o", "{out}", "--strict", "--strict"],
    ["--repo", "{repo}", "--output", "{repo}/environments/staging/environment.json/x"],  # exit 2
])
def test_direct_and_typer_give_the_same_answer(words, repo, tmp_path, cli, monkeypatch,
                                               capsys) -> None:
    break_two_documents(repo)
    answers, reports = [], []
    for way in ("direct", "typer"):
        out = tmp_path / f"{way}-report.txt"
        filled = [w.format(repo=repo, out=out) for w in words]
        if way == "direct":
            assert command.direct_arguments(filled) is not None, filled
            code, stdout, stderr = direct(monkeypatch, capsys, ["validate", *filled])
        else:
            code, stdout, stderr = through_typer(cli, ["validate", *filled])
        answers.append((code, without_clock(stdout), without_clock(stderr)))
        reports.append(without_clock(out.read_text()) if out.exists() else None)
    assert answers[0] == answers[1]
    assert reports[0] == reports[1]
    assert answers[0][0] in (0, 1, 2)


def test_without_repo_option_both_look_upwards_from_the_working_folder(
        repo, cli, monkeypatch, capsys) -> None:
    break_two_documents(repo)
    monkeypatch.chdir(repo / "environments")
    monkeypatch.delenv("RELEASE_REPO", raising=False)
    assert direct(monkeypatch, capsys, ["validate"]) == through_typer(cli, ["validate"])
    assert direct(monkeypatch, capsys, ["validate"])[0] == 1


@pytest.mark.parametrize("words", [
    ["--bogus"], ["--format", "xml"], ["--format", "JSON"], ["--repo"], ["-e"],
    ["--repo", "--strict"], ["--repo="], ["extra"], ["--strict=true"], ["--", "x"],
    ["-estaging"], ["--no-strict"], ["-o"], ["--help"],
])
def test_anything_else_is_left_to_typer(words, cli, monkeypatch, capsys) -> None:
    assert command.direct_arguments(words) is None
    monkeypatch.chdir(PROJECT)
    code, stdout, stderr = direct(monkeypatch, capsys, ["validate", *words])
    # click names the program after the running interpreter's __main__ (pytest here)
    named = [re.sub(r"(Usage: |Try ')[^\n']*? validate", r"\1release validate", text)
             for text in (stdout, stderr)]
    expected = through_typer(cli, ["validate", *words])
    if words == ["--help"]:  # wrapped to the terminal's width, which CliRunner sets apart
        assert code == expected[0] == 0
        assert named[0].split()[:4] == expected[1].split()[:4] == [
            "Usage:", "release", "validate", "[OPTIONS]"]
    else:
        assert (code, *named) == expected


def test_the_direct_way_imports_neither_typers_parsing_nor_pydantic() -> None:
    code = ("import sys\nfrom release.cli import main\n"
            f"sys.argv = ['release', 'validate', '--repo', {str(PROJECT)!r}]\n"
            "try:\n    main()\nexcept SystemExit as done:\n    assert done.code == 0, done.code\n"
            "sys.stderr.write('MODULES ' + ' '.join(sorted(sys.modules)))\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=PROJECT, timeout=60, check=True)
    modules = {m.split(".")[0] for m in done.stderr.rsplit("MODULES ", 1)[1].split()}
    assert {"pydantic", "pydantic_core", "boto3", "botocore", "jsonschema"} & modules == set()
    assert "typer._adapters" not in done.stderr
