"""`release verify`: run the service spec's smoke checks against the environment's ELB.

Exit codes: 0 every check passed; 1 a check got an answer but not the expected
one (the release is live and wrong: roll back or fix forward); 5 no answer at
all from the endpoint (DNS, refused, timeout: check the ELB, security groups,
or --base-url).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from release.commands.common import (
    EnvOption,
    FormatOption,
    RepoOption,
    ServiceOption,
    find_repo,
    finite,
    handles_errors,
)
from release.output.events import OutputFormat, Reporter


@handles_errors
def verify(
    env: EnvOption,
    service: ServiceOption = None,
    base_url: Annotated[str | None, typer.Option(
        "--base-url", envvar="RELEASE_VERIFY_URL", show_envvar=True,
        help="Send the checks here instead of the ELB's DNS name (e.g. http://127.0.0.1:8080); "
        "for agents that reach the service through a proxy, and for the sandbox, whose ELB "
        "has no real address.")] = None,
    retries: Annotated[int, typer.Option(
        "--retries", min=0, max=100, help="Retries per check after the first try.")] = 3,
    interval: Annotated[float, typer.Option(
        "--interval", min=0, max=600, callback=finite,
        help="Seconds between tries of one check.")] = 5.0,
    timeout: Annotated[float, typer.Option(
        "--timeout", min=0.1, max=600, callback=finite,
        help="Seconds one request may take.")] = 10.0,
    summary: Annotated[Path | None, typer.Option(
        "--summary", help="Also write the report (JSON) here, e.g. for archiveArtifacts.")
    ] = None,
    format: FormatOption = OutputFormat.text,
    repo: RepoOption = None,
) -> None:
    from release.engine.validate import load_valid
    from release.engine.verify import CheckSettings, raise_for_outcome, run

    reporter = Reporter(format)
    config_repo = load_valid(find_repo(repo), [env])
    report = run(config_repo, env, service, base_url,
                 CheckSettings(retries, interval, timeout), reporter)
    reporter.table(f"smoke checks: {env}", ["service", "check", "request", "expect", "got",
                                            "outcome", "tries"], report.rows,
                   kind="verify.report", env=env, base_url=report.base_url)
    if summary is not None:
        report.write(summary)
    raise_for_outcome(report)
    reporter.emit("verify.done", f"all {len(report.results)} smoke check(s) passed in {env}",
                  "success", env=env, passed=len(report.results))
