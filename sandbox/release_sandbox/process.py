"""Start, find and stop the one background sandbox process of a config repository.

State lives in `<repo>/.state/sandbox/`: `sandbox.pid` (the process `up` started),
`sandbox.log` (its output) and `up.lock` (so two `up` at once start one server).
`down` stops only the process named in the pid file, and only if that process proves
it is this repository's sandbox: its command line names this state directory
(`--state-dir <repo>/.state/sandbox`), so neither a recycled pid nor the sandbox of a
copy of the repository (`cp -a` copies the pid file too) is ever signalled.

Every process `up` starts, and every process those start (the docker-registry),
carries RELEASE_SANDBOX_STATE=<state dir> in its environment. When the server dies
without stopping its registry, the orphan keeps the registry's port; `down` and `up`
find it by that token in /proc/<pid>/environ and stop it, and only it.
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

from release.core.errors import InvalidInput, Unreachable

SERVER_MODULE = "release_sandbox.server"
OWNER_VARIABLE = "RELEASE_SANDBOX_STATE"  # inherited by the server and the registry it runs
START_TIMEOUT = 30.0
# The keys a client of the sandbox signs with: moto accepts any, so these are
# placeholders, never real ones. The tool supplies none of its own: `up` prints
# these as exports, and the test harness sets them while a sandbox runs. Values no
# output contains: the tool masks the values of AWS_*KEY* variables where it scrubs
# text (error reports, notifications), and a word like "sandbox" would vanish with them.
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "release-sandbox-key",
               "AWS_SECRET_ACCESS_KEY": "release-sandbox-secret"}
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
    def registry_port(self) -> int | None:
        """The registry's port ("127.0.0.1:5000" → 5000), None when no registry is set."""
        tail = (self.registry or "").rsplit(":", 1)[-1].split("/", 1)[0]
        return int(tail) if self.registry and tail.isdigit() else None

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


def _cmdline(pid: int) -> list[str] | None:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return None
    return [part.decode(errors="replace") for part in raw.split(b"\0")]


def _is_sandbox_process(pid: int, paths: SandboxPaths) -> bool:
    """The pid runs THIS repository's server (pids get recycled, repositories get copied)."""
    cmdline = _cmdline(pid)
    if cmdline is None:
        return False  # no /proc to prove it: never signal on a pid file's word alone
    state = str(paths.state)
    return SERVER_MODULE in cmdline and any(
        a == "--state-dir" and b == state for a, b in zip(cmdline, cmdline[1:], strict=False))


def _carries_token(pid: int, token: bytes) -> bool:
    try:
        return token in Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    except OSError:  # gone, or another user's process: not ours either way
        return False


def owned_processes(paths: SandboxPaths) -> list[int]:
    """Live processes started for this state directory (server, registry), by their token."""
    token = f"{OWNER_VARIABLE}={paths.state}".encode()
    try:
        pids = [int(entry.name) for entry in Path("/proc").iterdir() if entry.name.isdigit()]
    except OSError:
        return []
    return sorted(pid for pid in pids
                  if pid != os.getpid() and _carries_token(pid, token) and _alive(pid))


def recorded_pid(paths: SandboxPaths) -> int | None:
    try:
        pid = int(paths.pid_file.read_text().strip())
    except (OSError, ValueError):
        return None
    return pid if _alive(pid) and _is_sandbox_process(pid, paths) else None


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
    replaced: tuple[int, ...] = ()  # orphans of an earlier server that were stopped first


def up(repo: Path, timeout: float = START_TIMEOUT) -> UpResult:
    """Start the sandbox unless it runs already; return once its endpoint answers."""
    paths = SandboxPaths(repo)
    endpoints = sandbox_endpoints(repo)
    with _locked(paths):
        pid = recorded_pid(paths)
        if pid is not None:
            answer = _wait_for_health(endpoints, pid, paths, timeout)
            return UpResult(pid, False, answer, endpoints)
        orphans = owned_processes(paths)  # left by a server that died (its registry, say)
        for orphan in orphans:
            _terminate(orphan)
        for name, host, port in (("AWS", endpoints.aws_host, endpoints.aws_port),
                                 ("registry", "127.0.0.1", endpoints.registry_port)):
            if port is not None and port_in_use(host, port):
                raise Unreachable(
                    f"port {port} is already in use by a process that is not this "
                    f"repository's sandbox, so the sandbox's {name} endpoint cannot listen "
                    "there",
                    f"stop that process (`ss -ltnp 'sport = :{port}'` names it), or change "
                    "endpoints in environments/sandbox/environment.json")
        with paths.log_file.open("ab") as log:
            process = subprocess.Popen(
                [sys.executable, "-m", SERVER_MODULE, "--repo", str(repo),
                 "--state-dir", str(paths.state)],
                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True, cwd=str(repo),
                env={**os.environ, OWNER_VARIABLE: str(paths.state)})
        paths.pid_file.write_text(f"{process.pid}\n")
        try:
            answer = _wait_for_health(endpoints, process.pid, paths, timeout, process)
        except Unreachable:
            _terminate(process.pid)
            paths.pid_file.unlink(missing_ok=True)
            raise
        return UpResult(process.pid, True, answer, endpoints, tuple(orphans))


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
    orphans: tuple[int, ...] = ()  # left by a server that died (its registry), now stopped


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
        orphans = owned_processes(paths)
        for orphan in orphans:
            _terminate(orphan)
        return DownResult(pid, tuple(orphans))


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
