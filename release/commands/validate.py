"""`release validate`: schemas, then cross-document rules; exit 1 when anything is wrong.

Imports only typer at load time: the validation machinery (and never boto3 or
docker) is loaded when the command runs.

`release validate` runs on every commit, so `release.cli.main` calls `validate` directly
when its words are plain options (`direct_arguments`): typer's parsing would cost more
than a tenth of a second, most of it importing pydantic for typer's value coercion. Help,
mistakes and shell completion still go to typer, and tests/validate/test_cli_direct.py
holds both ways to the same output and exit code.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from release.commands.common import (
    FormatOption,
    RepoOption,
    environment_names,
    find_repo,
    handles_errors_with_junit,
)
from release.output.events import OutputFormat

EnvsOption = Annotated[
    list[str] | None,
    typer.Option("--env", "-e", help="Only this environment (repeatable); default: all.",
                 show_default=False, metavar="ENV", callback=environment_names),
]
OutputOption = Annotated[
    Path | None,
    typer.Option("--output", "-o", help="Write the report (in --format) to this file; "
                 "a one-line summary still goes to the console.", show_default=False,
                 metavar="FILE"),
]
StrictOption = Annotated[
    bool, typer.Option("--strict", help="Warnings fail too (exit 1), and the rendered task "
                       "definitions also go through botocore's ECS parameter validation.")]


@handles_errors_with_junit
def validate(
    repo: RepoOption = None,
    envs: EnvsOption = None,
    format: FormatOption = OutputFormat.text,
    output: OutputOption = None,
    strict: StrictOption = False,
) -> None:
    from release.core.errors import UsageError
    from release.engine.validate import validate as validate_documents
    from release.output.events import Reporter

    report = validate_documents(find_repo(repo), envs, strict)
    failed = report.failed(strict)

    if output is not None:
        try:
            output.parent.mkdir(parents=True, exist_ok=True)
            with output.open("w", encoding="utf-8") as stream:
                _render(report, format, strict, stream)
        except OSError as exc:
            raise UsageError(f"cannot write the report to {output}: {exc.strerror or exc}",
                             "pass a writable --output path") from None
        Reporter(OutputFormat.text).console.print(  # stdout even when failed: it is the result
            _summary(report, strict), style="bold red" if failed else "green", markup=False,
            highlight=False, soft_wrap=True)
    else:
        import sys

        _render(report, format, strict, sys.stdout)
    if failed:
        raise typer.Exit(1)


def _summary(report, strict: bool) -> str:
    errors, warnings = len(report.errors), len(report.warnings)
    docs = len(report.documents)
    verdict = "FAILED" if report.failed(strict) else "ok"
    return (f"{verdict}: {docs} document(s) checked, {errors} error(s), {warnings} warning(s)"
            + (" (--strict: warnings fail)" if strict and warnings else ""))


def _render(report, fmt: OutputFormat, strict: bool, stream) -> None:
    from release.output.events import Reporter

    if fmt is OutputFormat.junit:
        from release.output.junit import to_junit

        stream.write(to_junit(report, strict))
        return
    reporter = Reporter(fmt, stream=stream)
    if fmt is OutputFormat.json:
        for finding in report.findings:
            reporter.emit("validate.finding", finding.message,
                          "error" if finding.severity == "error" else "warn",
                          **{k: v for k, v in finding.as_dict().items() if k != "message"})
        reporter.emit("validate.summary", _summary(report, strict),
                      "error" if report.failed(strict) else "success",
                      documents=len(report.documents), errors=len(report.errors),
                      warnings=len(report.warnings), strict=strict)
        return
    console = reporter.console
    for file, findings in report.by_file().items():
        console.print(file, style="bold", markup=False, highlight=False, soft_wrap=True)
        for finding in findings:
            style = "red" if finding.severity == "error" else "yellow"
            where = finding.pointer or "(whole document)"
            if finding.line is not None:
                where += f" (line {finding.line}, column {finding.column})"
            console.print(f"  {finding.severity:<7} {where}: {finding.message} [{finding.rule}]",
                          style=style, markup=False, highlight=False, soft_wrap=True)
            if finding.fix:
                console.print(f"          fix: {finding.fix}", style="dim", markup=False,
                              highlight=False, soft_wrap=True)
    console.print(_summary(report, strict),
                  style="bold red" if report.failed(strict) else "green",
                  markup=False, highlight=False, soft_wrap=True)


# The options `release.cli.main` reads itself: each option's words and the parameter it
# fills (a test compares this with the declarations above, so an option added there and
# not here fails it).
DIRECT_OPTIONS: dict[str, str] = {
    "--repo": "repo", "--env": "envs", "-e": "envs", "--format": "format",
    "--output": "output", "-o": "output", "--strict": "strict",
}


def direct_arguments(words: list[str]) -> dict[str, Any] | None:
    """What typer would pass `validate` for the words after `validate`, or None when typer
    should read them (help, an unknown or malformed option, a value that looks like an
    option, a form such as `-eENV`): then typer answers exactly as before."""
    given: dict[str, Any] = {"repo": None, "envs": None, "format": OutputFormat.text,
                             "output": None, "strict": False}
    rest = iter(words)
    for word in rest:
        name, equals, value = word.partition("=") if word.startswith("--") else (word, "", "")
        target = DIRECT_OPTIONS.get(name)
        if target is None:
            return None
        if target == "strict":
            if equals:
                return None
            given["strict"] = True
            continue
        if not equals:
            value = next(rest, "")
        if not value or value.startswith("-"):
            return None
        if target == "envs":
            given["envs"] = [*(given["envs"] or []), value]
        elif target == "format":
            if value not in OutputFormat._value2member_map_:
                return None
            given["format"] = OutputFormat(value)
        else:  # the last one counts, as with typer
            given[target] = Path(value)
    return given


def run_direct(arguments: dict[str, Any]) -> int:
    """Run `validate` as typer would once it has read the options; the exit code."""
    try:
        validate(**arguments)
    except typer.Exit as done:
        return done.exit_code
    return 0
