"""Start, find and stop the one background sandbox process of a config repository.

State lives in `<repo>/.state/sandbox/`: `sandbox.pid` (the process `up` started),
`sandbox.log` (its output) and `up.lock` (so two `up` at once start one server).
`down` stops only the process named in the pid file, and only if its command line
is still the sandbox's (a recycled pid is left alone).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from release.errors import InvalidInput, Unreachable

SERVER_MODULE = "release.sandbox.server"
START_TIMEOUT = 30.0
STOP_TIMEOUT = 10.0


@dataclass(frozen=True)
class SandboxPaths:
    repo: Path

    @property
    def state(self) -> Path:
        return self.repo / ".state" / "sandbox"

    @property
    def pid_file(self) -> Path:
        return self.state / "sandbox.pid"

    @property
    def log_file(self) -> Path:
        return self.state / "sandbox.log"

    @property
    def lock_file(self) -> Path:
        return self.state / "up.lock"


@dataclass(frozen=True)
class Endpoints:
    aws: str
    registry: str | None

    @property
    def aws_port(self) -> int:
        return int(self.aws.rstrip("/").rsplit(":", 1)[1].split("/", 1)[0])

    @property
    def aws_host(self) -> str:
        return self.aws.split("://", 1)[-1].rsplit(":", 1)[0]


def sandbox_endpoints(repo: Path) -> Endpoints:
    """The endpoints environments/sandbox/environment.json names (where `up` listens)."""
    path = repo / "environments" / "sandbox" / "environment.json"
    try:
        doc = json.loads(path.read_text())
    except FileNotFoundError:
        raise InvalidInput(f"no sandbox environment in {repo}",
                           "run in the config repository (or pass --repo); it needs "
                           "environments/sandbox/environment.json") from None
    except ValueError as exc:
        raise InvalidInput(f"{path} is not valid JSON: {exc}",
                           "fix the document (`release validate` shows where)") from None
    endpoints = doc.get("endpoints") or {}
    aws = endpoints.get("aws")
    if not aws or not any(h in aws for h in ("127.0.0.1", "localhost")):
        raise InvalidInput(f"{path}: endpoints.aws must be a local URL such as "
                           "http://127.0.0.1:4566", "set endpoints.aws in the sandbox "
                           "environment")
    return Endpoints(aws=aws.rstrip("/"), registry=endpoints.get("registry"))


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    with contextlib.suppress(OSError):  # a zombie child of ours counts as gone
        if Path(f"/proc/{pid}/stat").read_text().split(") ", 1)[1].startswith("Z"):
            return False
    return True


def _is_sandbox_process(pid: int) -> bool:
    """The pid still runs our server (pids get recycled; never signal a stranger)."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return _alive(pid)  # no /proc: trust the pid file
    return any(part.decode(errors="replace") == SERVER_MODULE for part in cmdline)


def recorded_pid(paths: SandboxPaths) -> int | None:
    try:
        pid = int(paths.pid_file.read_text().strip())
    except (OSError, ValueError):
        return None
    return pid if _alive(pid) and _is_sandbox_process(pid) else None


def health(endpoints: Endpoints, timeout: float = 1.0) -> dict[str, Any] | None:
    """The server's own health answer, or None when nothing (or not the sandbox) answers."""
    try:
        with urllib.request.urlopen(f"{endpoints.aws}/_sandbox/health", timeout=timeout) as r:
            answer = json.loads(r.read() or b"{}")
    except (urllib.error.URLError, OSError, ValueError):
        return None
    return answer if isinstance(answer, dict) and answer.get("status") == "ok" else None


def port_in_use(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0


@contextlib.contextmanager
def _locked(paths: SandboxPaths) -> Iterator[None]:
    paths.state.mkdir(parents=True, exist_ok=True)
    with paths.lock_file.open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _log_tail(paths: SandboxPaths, lines: int = 5) -> str:
    try:
        return " | ".join(paths.log_file.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


@dataclass(frozen=True)
class UpResult:
    pid: int
    started: bool  # False: it was already running
    health: dict[str, Any]
    endpoints: Endpoints


def up(repo: Path, timeout: float = START_TIMEOUT) -> UpResult:
    """Start the sandbox unless it runs already; return once its endpoint answers."""
    paths = SandboxPaths(repo)
    endpoints = sandbox_endpoints(repo)
    with _locked(paths):
        pid = recorded_pid(paths)
        if pid is not None:
            answer = _wait_for_health(endpoints, pid, paths, timeout)
            return UpResult(pid, False, answer, endpoints)
        if port_in_use(endpoints.aws_host, endpoints.aws_port):
            raise Unreachable(
                f"port {endpoints.aws_port} is already in use by another process, so the "
                "sandbox cannot listen there",
                "stop that process, or change endpoints.aws in "
                "environments/sandbox/environment.json")
        with paths.log_file.open("ab") as log:
            process = subprocess.Popen(
                [sys.executable, "-m", SERVER_MODULE, "--repo", str(repo),
                 "--state-dir", str(paths.state)],
                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True, cwd=str(repo))
        paths.pid_file.write_text(f"{process.pid}\n")
        try:
            answer = _wait_for_health(endpoints, process.pid, paths, timeout, process)
        except Unreachable:
            _terminate(process.pid)
            paths.pid_file.unlink(missing_ok=True)
            raise
        return UpResult(process.pid, True, answer, endpoints)


def _wait_for_health(endpoints: Endpoints, pid: int, paths: SandboxPaths, timeout: float,
                     process: subprocess.Popen[bytes] | None = None) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        answer = health(endpoints)
        if answer is not None and "registry" in answer:
            return answer
        exited = process.poll() is not None if process is not None else not _alive(pid)
        if exited:
            raise Unreachable(f"the sandbox process exited at start: {_log_tail(paths)}",
                              f"see {paths.log_file}")
        time.sleep(0.1)
    raise Unreachable(f"the sandbox did not answer on {endpoints.aws} within {timeout:.0f} s",
                      f"see {paths.log_file}")


def _terminate(pid: int, timeout: float = STOP_TIMEOUT) -> None:
    """SIGTERM, wait, SIGKILL if it will not go; reap it if it is our child."""
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(ChildProcessError, OSError):
            os.waitpid(pid, os.WNOHANG)
        if not _alive(pid):
            return
        time.sleep(0.05)
    # It would not stop: kill its whole process group (`up` made it a session leader, so
    # the group is the server and the registry it started, nothing else).
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)
    with contextlib.suppress(ChildProcessError, OSError):
        os.waitpid(pid, 0)


@dataclass(frozen=True)
class DownResult:
    pid: int | None  # None: nothing was running


def down(repo: Path) -> DownResult:
    """Stop the process `up` started (and the registry it runs); leave nothing listening."""
    paths = SandboxPaths(repo)
    endpoints = sandbox_endpoints(repo)
    with _locked(paths):
        pid = recorded_pid(paths)
        paths_pid = pid
        if pid is not None:
            _terminate(pid)
        paths.pid_file.unlink(missing_ok=True)
        deadline = time.monotonic() + STOP_TIMEOUT
        while (paths_pid is not None and time.monotonic() < deadline
               and port_in_use(endpoints.aws_host, endpoints.aws_port)):
            time.sleep(0.05)
        return DownResult(pid)


@dataclass(frozen=True)
class Status:
    pid: int | None
    endpoints: Endpoints
    health: dict[str, Any] | None
    log_file: Path


def status(repo: Path) -> Status:
    paths = SandboxPaths(repo)
    endpoints = sandbox_endpoints(repo)
    pid = recorded_pid(paths)
    return Status(pid, endpoints, health(endpoints) if pid is not None else None, paths.log_file)


def control(endpoints: Endpoints, path: str, body: dict[str, Any]) -> dict[str, Any]:
    """POST a control call (e.g. faults) to the running sandbox."""
    request = urllib.request.Request(f"{endpoints.aws}/_sandbox/{path}", method="POST",
                                     data=json.dumps(body).encode(),
                                     headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=5) as answer:
            return json.loads(answer.read() or b"{}")
    except (urllib.error.URLError, OSError, ValueError) as exc:
        raise Unreachable(f"the sandbox at {endpoints.aws} did not take the call: {exc}",
                          "start it with `release sandbox up`") from None
