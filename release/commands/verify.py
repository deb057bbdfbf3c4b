"""`release verify`: run the service spec's smoke checks against the environment's ELB.

Exit codes: 0 every check passed; 1 a check got an answer but not the expected
one (the release is live and wrong: roll back or fix forward); 5 no answer at
all from the endpoint (DNS, refused, timeout: check the ELB, security groups,
or --base-url).
"""

from __future__ import annotations

import json
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
    load_valid_repo,
)
from release.core.errors import EXIT_INVALID, ReleaseError, Unreachable
from release.output.events import OutputFormat, Reporter


class SmokeChecksFailed(ReleaseError):
    """The service answered, but not as its smoke checks expect."""

    exit_code = EXIT_INVALID


def elb_base_url(env) -> str:
    """http(s)://<the classic ELB's DNS name>[:port] from describe_load_balancers."""
    from release.adapters.aws import aws_errors, connect

    lb = env.load_balancer
    with aws_errors(env, f"looking up load balancer {lb.name}"):
        found = connect(env).elb.describe_load_balancers(LoadBalancerNames=[lb.name])
    descriptions = found.get("LoadBalancerDescriptions", [])
    if not descriptions or not descriptions[0].get("DNSName"):
        raise Unreachable(f"load balancer {lb.name} has no DNS name",
                          "check that it exists (`release bootstrap --env ...`) or pass --base-url")
    scheme = "https" if str(lb.listener.get("protocol", "HTTP")).upper() == "HTTPS" else "http"
    port = int(lb.listener.get("loadBalancerPort", 443 if scheme == "https" else 80))
    default = 443 if scheme == "https" else 80
    suffix = "" if port == default else f":{port}"
    return f"{scheme}://{descriptions[0]['DNSName']}{suffix}"


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
    """Run the smoke checks of an environment's services (GET /api/healthcheck, ...)."""
    from release.adapters.smoke import FAILED, UNREACHABLE, run_checks

    reporter = Reporter(format)
    config_repo = load_valid_repo(find_repo(repo), [env], reporter)
    environment = config_repo.environment(env)
    specs = config_repo.services_of(env, service)
    target = base_url or elb_base_url(environment)
    rows, results = [], []
    for spec in specs:
        if not spec.smoke_checks:
            reporter.emit("verify.none", f"{spec.service_name}: no smoke checks in {spec.path}",
                          "warn", env=env, service=spec.service_name)
            continue
        reporter.emit("verify.start", f"{spec.service_name}: {len(spec.smoke_checks)} smoke "
                      f"check(s) against {target}", env=env, service=spec.service_name,
                      base_url=target)
        for result in run_checks(target, spec.smoke_checks, retries, interval, timeout):
            results.append(result)
            reporter.emit("verify.check", f"{result.outcome}: {result.check.name} "
                          f"{result.check.method} {result.url}"
                          + (f" ({result.detail})" if result.detail else ""),
                          "success" if result.ok else "error", env=env,
                          service=spec.service_name, **result.as_dict())
            rows.append([spec.service_name, result.check.name,
                         f"{result.check.method} {result.check.path}",
                         result.check.expect_status, result.status or "-", result.outcome,
                         result.attempts])
    reporter.table(f"smoke checks: {env}", ["service", "check", "request", "expect", "got",
                                            "outcome", "tries"], rows, kind="verify.report",
                   env=env, base_url=target)
    if summary is not None:
        summary.parent.mkdir(parents=True, exist_ok=True)
        summary.write_text(json.dumps({"env": env, "base_url": target,
                                       "checks": [r.as_dict() for r in results]}, indent=2)
                           + "\n", encoding="utf-8")
    failed = [r for r in results if r.outcome == FAILED]
    unreachable = [r for r in results if r.outcome == UNREACHABLE]
    if failed:
        names = ", ".join(r.check.name for r in failed)
        raise SmokeChecksFailed(
            f"{len(failed)} smoke check(s) failed in {env}: {names}",
            f"the service answers but not as expected: look at its logs, then `release rollback "
            f"--env {env}` or fix forward",
        )
    if unreachable:
        raise Unreachable(
            f"no answer from {target} for {len(unreachable)} smoke check(s) "
            f"({unreachable[0].detail})",
            "check the load balancer's listeners and security groups, or pass --base-url",
        )
    reporter.emit("verify.done", f"all {len(results)} smoke check(s) passed in {env}", "success",
                  env=env, passed=len(results))
