"""`release sandbox up|down|status|fault`: the local AWS for demos and tests.

`up` starts one background process (moto's server, the ECS emulator on the real
clock, and the image registry) at the endpoints environments/sandbox names;
`down` stops exactly that process; `status` says what runs and whether it answers.
The sandbox is its own package (`release-sandbox`, beside the tool in its
repository), installed for tests and demos; without it the verbs say how to install it.
"""

from __future__ import annotations

from enum import StrEnum
from types import ModuleType
from typing import Annotated

import typer

from release.commands.common import FormatOption, RepoOption, find_repo, handles_errors
from release.core.errors import Unreachable, UsageError
from release.output.events import OutputFormat, Reporter

INSTALL_COMMAND = "pip install -e ./sandbox"  # from a checkout of the tool's repository

app = typer.Typer(no_args_is_help=True)  # its help: commands/verbs.py


def _process() -> ModuleType:
    """The sandbox package's process control, or a usage error (exit 2) saying how to install it.

    The tool's wheel carries no emulator: moto, the ECS emulator and the registry are
    the separate distribution `release-sandbox`.
    """
    try:
        from release_sandbox import process
    except ModuleNotFoundError as exc:
        if exc.name not in ("release_sandbox", "release_sandbox.process"):
            raise
        raise UsageError("the sandbox is not installed: it is the package release-sandbox, "
                         "beside the tool in its repository, not part of the tool",
                         f"from a checkout of the tool, run `{INSTALL_COMMAND}` "
                         "(it brings moto; `make install` does it)") from None
    return process


def _registry_line(health: dict | None) -> tuple[str, str]:
    """(text, level) about the registry, from the server's health answer."""
    registry = (health or {}).get("registry") or {}
    if registry.get("running"):
        return f"registry: {registry.get('address')} (user AWS, ECR token password)", "info"
    if not registry.get("address"):
        return "registry: none configured (endpoints.registry is not set)", "warn"
    return f"registry: {registry.get('note') or 'not running'}", "warn"


@app.command("up")
@handles_errors
def up(repo: RepoOption = None, format: FormatOption = OutputFormat.text) -> None:  # noqa: A002
    """Start the sandbox in the background (idempotent) and wait until it answers."""
    process = _process()

    reporter = Reporter(format)
    root = find_repo(repo)
    result = process.up(root)
    verb = "started" if result.started else "already running"
    if result.replaced:
        reporter.emit("sandbox.orphans", "stopped what an earlier sandbox of this repository "
                      f"left running (pid {', '.join(map(str, result.replaced))})", "warn",
                      pids=list(result.replaced))
    reporter.emit("sandbox.up", f"sandbox {verb}: AWS at {result.endpoints.aws} (pid "
                  f"{result.pid})", "success", pid=result.pid, started=result.started,
                  aws=result.endpoints.aws, registry=result.health.get("registry"))
    text, level = _registry_line(result.health)
    reporter.emit("sandbox.registry", text, level)
    # The tool supplies no keys of its own, also not for a local endpoint: say which to use.
    exports = " ".join(f"{name}={value}" for name, value in process.CREDENTIALS.items())
    reporter.emit("sandbox.credentials", f"credentials: the sandbox takes any keys; in the "
                  f"shell that runs release: export {exports}", "info",
                  environment=dict(process.CREDENTIALS))


@app.command("down")
@handles_errors
def down(repo: RepoOption = None, format: FormatOption = OutputFormat.text) -> None:  # noqa: A002
    """Stop the sandbox that `up` started (by its pid); nothing else is touched."""
    process = _process()

    reporter = Reporter(format)
    result = process.down(find_repo(repo))
    if result.orphans:
        reporter.emit("sandbox.orphans", "stopped what an earlier sandbox of this repository "
                      f"left running (pid {', '.join(map(str, result.orphans))})", "warn",
                      pids=list(result.orphans))
    if result.pid is None:
        reporter.emit("sandbox.down", "sandbox was not running", "info", pid=None)
    else:
        reporter.emit("sandbox.down", f"sandbox stopped (pid {result.pid})", "success",
                      pid=result.pid)


@app.command("status")
@handles_errors
def status(repo: RepoOption = None, format: FormatOption = OutputFormat.text) -> None:  # noqa: A002
    """Show whether the sandbox runs, its endpoints and whether they answer."""
    process = _process()

    reporter = Reporter(format)
    state = process.status(find_repo(repo))
    if state.pid is None:
        raise Unreachable(f"the sandbox is not running (it would answer on "
                          f"{state.endpoints.aws})", "start it with `release sandbox up`")
    health = state.health
    rows = [["aws", state.endpoints.aws, "answers" if health else "NOT ANSWERING"]]
    registry = (health or {}).get("registry") or {}
    rows.append(["registry", state.endpoints.registry or "-",
                 "answers" if registry.get("running") else (registry.get("note") or "-")])
    reporter.table(f"sandbox (pid {state.pid}, log {state.log_file})",
                   ["endpoint", "address", "health"], rows, kind="sandbox.status",
                   running=True, pid=state.pid, healthy=bool(health),
                   services=(health or {}).get("services"), faults=(health or {}).get("faults"))
    if health is None:
        raise Unreachable(f"the sandbox process {state.pid} runs but {state.endpoints.aws} "
                          "does not answer", f"see {state.log_file}; `release sandbox down` "
                          "then `up`")


class FaultKind(StrEnum):
    throttle = "throttle"
    drop = "drop"
    clear = "clear"


@app.command("fault")
@handles_errors
def fault(
    kind: Annotated[FaultKind, typer.Argument(help="throttle: answer ThrottlingException; "
                                              "drop: close the connection; clear: disarm.")],
    count: Annotated[int, typer.Argument(min=0, max=10_000,
                                           help="How many AWS API calls to affect.")] = 1,
    repo: RepoOption = None,
    format: FormatOption = OutputFormat.text,  # noqa: A002
) -> None:
    """Make the next COUNT AWS API calls to the running sandbox fail (demos and tests)."""
    process = _process()

    reporter = Reporter(format)
    endpoints = process.sandbox_endpoints(find_repo(repo))
    body = {"clear": True} if kind is FaultKind.clear else {kind.value: count}
    pending = process.control(endpoints, "faults", body)
    reporter.emit("sandbox.fault", f"armed: throttle {pending.get('throttle', 0)}, drop "
                  f"{pending.get('drop', 0)}", "success", **pending)
