"""`release validate`: schemas, then cross-document rules; exit 1 when anything is wrong.

Imports only typer at load time: the validation machinery (and never boto3 or
docker) is loaded when the command runs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

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
    """Validate the documents against the schemas and cross-document rules."""
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
