"""The sandbox's AWS: moto's server behind the fault layer, with the ECS emulator beside it.

`SandboxAws` is the in-process core shared by the tests (`release_sandbox.testing`)
and by the background process that `release sandbox up` starts
(`python -m release_sandbox.server --repo R`), which adds the registry and a
thread that ticks the emulator on the real clock.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
import time
from pathlib import Path
from typing import Any

from moto.server import ThreadedMotoServer

from release.core.clock import Clock, RealClock
from release_sandbox import moto_hooks
from release_sandbox.calllog import CallLog
from release_sandbox.emulator import EcsEmulator
from release_sandbox.faults import FaultMiddleware, Faults
from release_sandbox.network import seed_repo
from release_sandbox.scans import ScanFindings
from release_sandbox.throttling import EcsThrottle

DEFAULT_ACCOUNT = "123456789012"
DEFAULT_REGION = "us-east-1"
TICKS_PER_SECOND = 4
REGISTRY_BINARY_VARIABLE = "RELEASE_SANDBOX_REGISTRY_BINARY"  # where docker-registry is
REGISTRY_DIR_VARIABLE = "RELEASE_SANDBOX_REGISTRY_DIR"  # registry storage that outlives `down`
# moto knows AWS managed policies (AmazonEC2ContainerServiceforEC2Role, which bootstrap
# attaches) only when this is set before its IAM backend is created.
MOTO_SETTINGS = {"MOTO_IAM_LOAD_MANAGED_POLICIES": "true"}


def configure_moto() -> None:
    """moto settings the sandbox needs; a value the caller set already wins."""
    for name, value in MOTO_SETTINGS.items():
        os.environ.setdefault(name, value)


def registry_dir(state_dir: Path) -> Path:
    """Where the server's registry keeps its images: $RELEASE_SANDBOX_REGISTRY_DIR, else
    `registry/` in the sandbox state directory. `release sandbox down` deletes neither."""
    configured = os.environ.get(REGISTRY_DIR_VARIABLE)
    return Path(configured).expanduser().resolve() if configured else state_dir / "registry"


def reset_moto() -> None:
    """Forget every resource moto holds in this process (the end state of POST /moto-api/reset).

    moto's own reset re-creates every backend in use and then drops it; re-creating IAM
    loads about 1,500 AWS managed policies per account (some 0.3 s each time). Dropping
    the backends straight away is the same end state, and a backend is created again
    only when it is next used.
    """
    from moto.core.base_backend import BackendDict, backend_lock
    from moto.core.model_instances import reset_model_data

    with backend_lock:
        for backends in BackendDict._instances:
            backends.clear()
        BackendDict._instances.clear()
    reset_model_data()


class _QuietMotoServer(ThreadedMotoServer):
    """ThreadedMotoServer whose app sits behind the sandbox's middleware and logs nothing."""

    def __init__(self, ip_address: str, port: int, wrap: Any) -> None:
        super().__init__(ip_address=ip_address, port=port, verbose=False)
        self._wrap = wrap

    def _server_entry(self) -> None:
        from moto.moto_server.werkzeug_app import (
            DomainDispatcherApplication,
            MotoRequestHandler,
            create_backend_app,
        )
        from werkzeug.serving import make_server

        class Handler(MotoRequestHandler):
            def log_request(self, *args: Any, **kwargs: Any) -> None:
                return None

        app = self._wrap(DomainDispatcherApplication(create_backend_app))
        try:
            self._server = make_server(self._ip_address, self._port, app, True,
                                       request_handler=Handler)
        except OSError as exc:
            self.start_error = exc
            self._server_ready_event.set()
            return
        self._server_ready_event.set()
        self._server.serve_forever(poll_interval=0.1)


class SandboxAws:
    """moto on 127.0.0.1 + fault middleware + the ECS emulator hooked into moto's API."""

    def __init__(self, clock: Clock, host: str = "127.0.0.1", port: int = 0,
                 account: str = DEFAULT_ACCOUNT, region: str = DEFAULT_REGION) -> None:
        configure_moto()  # before any moto backend of this process is created
        self.clock = clock
        self.account = account
        self.region = region
        self.faults = Faults()
        self.calls = CallLog()  # every AWS call that reaches this server
        self.throttle = EcsThrottle(clock)  # ECS's documented request buckets
        self.emulator = EcsEmulator(account, region, clock)
        self.scans = ScanFindings(clock)
        self._server = _QuietMotoServer(host, port, self._wrap)
        self.extra_health: dict[str, Any] = {}
        self._importer: Any = None

    def _wrap(self, app: Any) -> Any:
        return self.calls.wrap(self.throttle.wrap(FaultMiddleware(
            app, self.faults, lock=self.emulator.lock, control=self._control)))

    def _control(self, method: str, path: str, body: bytes) -> tuple[int, dict[str, Any]]:
        if path == "health":
            with self.emulator.lock:
                services = len(self.emulator.ecs.services)
            return 200, {"status": "ok", "time": self.clock.now(), "services": services,
                         "faults": self.faults.pending(), **self.extra_health}
        if path == "scan-findings" and method == "POST":  # sandbox/release_sandbox/scans.py
            try:
                return 200, self.scans.control(json.loads(body or b"{}"))
            except (ValueError, TypeError, KeyError, AttributeError) as exc:
                return 400, {"error": f"bad scan-findings request: {exc!r}"}
        if path == "alarms" and method == "POST":
            return self._alarm_call(body)
        if path == "calls":  # GET: the counts; POST {"label": L}: start counting afresh as L
            if method == "POST":
                self.calls.reset(str(json.loads(body or b"{}").get("label", "all")))
                self.throttle.reset_counts()
            return 200, {**self.calls.as_dict(), "throttled": dict(self.throttle.throttled),
                         "seconds_to_full_buckets": self.throttle.seconds_to_full()}
        return 404, {"error": f"unknown control path {path!r}"}

    def _alarm_call(self, body: bytes) -> tuple[int, dict[str, Any]]:
        """`POST /_sandbox/alarms {"name", "state", "reason"}`: SetAlarmState by hand."""
        try:
            request = json.loads(body or b"{}")
            name, state = str(request["name"]), str(request.get("state", "ALARM"))
            reason = str(request.get("reason") or f"set to {state} by the sandbox")
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            return 400, {"error": f"bad alarm request: {exc}"}
        if state not in ("OK", "ALARM", "INSUFFICIENT_DATA"):
            return 400, {"error": f"state must be OK, ALARM or INSUFFICIENT_DATA, not {state!r}"}
        with self.emulator.lock:
            if not self.emulator.alarms.set_state(name, state, reason, self.clock.now()):
                return 404, {"error": f"no alarm {name!r}"}
        return 200, {"name": name, "state": state, "reason": reason}

    def start(self) -> None:
        moto_hooks.register(self.account, self.region, self.emulator)
        moto_hooks.register_scanner(self.account, self.region, self.scans)
        self._server.start()
        error = getattr(self._server, "start_error", None)
        if error is not None:
            moto_hooks.unregister(self.account, self.region, self.emulator)
            moto_hooks.unregister_scanner(self.account, self.region, self.scans)
            raise error

    @property
    def endpoint(self) -> str:
        host, port = self._server.get_host_and_port()
        return f"http://{host}:{port}"

    def attach_registry(self, registry: Any) -> None:
        """Import the images `registry` holds into every ECR repository created from now on."""
        self._importer = registry.import_repository
        moto_hooks.register_importer(self.account, self.region, self._importer)
        self.emulator.registry_served(registry.address)

    def stop(self) -> None:
        moto_hooks.unregister(self.account, self.region, self.emulator)
        moto_hooks.unregister_scanner(self.account, self.region, self.scans)
        if self._importer is not None:
            moto_hooks.unregister_importer(self.account, self.region, self._importer)
            self._importer = None
        server = self._server._server
        if server is not None:
            server.shutdown()
            server.server_close()
        if self._server._thread is not None:
            self._server._thread.join(timeout=5)


class Ticker(threading.Thread):
    """Ticks the emulator on the real clock, TICKS_PER_SECOND times a second."""

    def __init__(self, emulator: EcsEmulator, clock: Clock) -> None:
        super().__init__(name="sandbox-ticker", daemon=True)
        self.emulator = emulator
        self.clock = clock
        self.stopped = threading.Event()

    def run(self) -> None:
        while not self.stopped.wait(1 / TICKS_PER_SECOND):
            try:
                self.emulator.tick(self.clock.now())
            except Exception as exc:  # keep serving; the log says what went wrong
                print(f"sandbox: emulator tick failed: {exc!r}", file=sys.stderr, flush=True)


def _port_of(url: str) -> int:
    return int(url.rstrip("/").rsplit(":", 1)[1].split("/", 1)[0])


def serve(repo: Path, state_dir: Path) -> int:
    """Run the sandbox in this process until SIGTERM/SIGINT (what `release sandbox up` starts)."""
    env_doc = json.loads((repo / "environments" / "sandbox" / "environment.json").read_text())
    endpoints = env_doc.get("endpoints", {})
    aws_url = endpoints.get("aws", "http://127.0.0.1:4566")
    clock = RealClock()
    aws = SandboxAws(clock, port=_port_of(aws_url), account=str(env_doc.get("account",
                     DEFAULT_ACCOUNT)), region=env_doc.get("region", DEFAULT_REGION))
    aws.start()
    seeded = seed_repo(aws.endpoint, repo)  # the network the documents name (moto has none)
    ticker = Ticker(aws.emulator, clock)
    ticker.start()
    registry = None
    registry_note = ""
    registry_address = endpoints.get("registry")
    if registry_address:
        aws.emulator.registry_served(registry_address)  # images pinned to it live in ECR
        registry, registry_note = _start_registry(aws, registry_address, state_dir)
    aws.extra_health["registry"] = {"address": registry_address,
                                    "running": registry is not None, "note": registry_note}
    print(f"sandbox: made the documents' subnets {seeded['subnets']} and security groups "
          f"{seeded['security_groups']}", flush=True)
    print(f"sandbox: AWS at {aws.endpoint}; registry: "
          f"{registry_address if registry is not None else registry_note}", flush=True)

    stop = threading.Event()

    def _stop(signum: int, frame: Any) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    while not stop.wait(0.5):
        pass
    ticker.stopped.set()
    if registry is not None:
        try:
            registry.stop()
        except Exception as exc:
            print(f"sandbox: stopping the registry failed: {exc!r}", file=sys.stderr)
    aws.stop()
    print("sandbox: stopped", flush=True)
    return 0


def _start_registry(aws: SandboxAws, address: str, state_dir: Path) -> tuple[Any, str]:
    """Start the image registry at `address`; when it cannot start, say why (and run on)."""
    from release.core.errors import ReleaseError
    from release_sandbox.registry import DEFAULT_BINARY, Registry

    binary = os.environ.get(REGISTRY_BINARY_VARIABLE) or DEFAULT_BINARY
    registry = Registry(registry_dir(state_dir), password=ecr_password(aws),
                        ecr_endpoint=aws.endpoint, port=_port_of(address), region=aws.region,
                        binary=binary)
    try:
        registry.start()
    except ReleaseError as exc:
        hint = (" Everything else runs; then `release sandbox down` and `up` again."
                if "not installed" in exc.message else "")
        return None, f"registry not started: {exc.message}; {exc.hint}.{hint}"
    except OSError as exc:
        return None, f"registry not started: {exc}"
    aws.attach_registry(registry)
    return registry, ""


def ecr_password(aws: SandboxAws) -> str:
    """The password the sandbox's ECR authorization token decodes to (user AWS), asked
    through the API so the registry accepts exactly what `docker login` will send."""
    import base64

    import boto3

    ecr = boto3.client("ecr", endpoint_url=aws.endpoint, region_name=aws.region,
                       aws_access_key_id="sandbox", aws_secret_access_key="sandbox")
    token = ecr.get_authorization_token()["authorizationData"][0]["authorizationToken"]
    return base64.b64decode(token).decode().split(":", 1)[1]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Run the release sandbox (local AWS).")
    parser.add_argument("--repo", type=Path, required=True)
    parser.add_argument("--state-dir", type=Path, required=True)
    args = parser.parse_args(argv)
    started = time.monotonic()
    try:
        return serve(args.repo.resolve(), args.state_dir.resolve())
    except OSError as exc:
        print(f"sandbox: cannot start: {exc} (after {time.monotonic() - started:.1f}s)",
              file=sys.stderr, flush=True)
        return 5


if __name__ == "__main__":
    sys.exit(main())
