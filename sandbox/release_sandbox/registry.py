"""A real Docker registry on 127.0.0.1 that behaves like ECR's registry side for the sandbox.

ECR is two things: an API (moto answers that) and a registry that holds the
image bytes behind basic auth whose password is the decoded authorization
token. This module runs Debian's `docker-registry` (distribution 2.8) with an
htpasswd file for user `AWS` and that password, so `docker push` with the ECR
login flow is exercised for real. The registry's notification webhook tells
us about every pushed manifest; we copy it into moto's ECR with `put_image`
(passing the registry's own digest) so `describe_images` and `batch_get_image`
answer as ECR would after a push. The storage can outlive the sandbox; when
ECR's repository is created again, `import_repository` copies the tags the
registry still holds into it, the same way.

A test double and demo engine only, never a production path.
"""

from __future__ import annotations

import base64
import contextlib
import json
import logging
import os
import shutil
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from release.core.errors import Unreachable

log = logging.getLogger(__name__)

DEFAULT_BINARY = "docker-registry"  # Debian installs it as /usr/bin/docker-registry
EVENTS_PATH = "/events"

# What a registry may store under a tag; the Accept header asks for them as pushed.
MANIFEST_MEDIA_TYPES = (
    "application/vnd.docker.distribution.manifest.v2+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.oci.image.index.v1+json",
)


def free_port() -> int:
    """A port nobody listens on right now (the registry binds it a moment later)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def port_is_free(port: int) -> bool:
    """Nothing listens on the port. Connections of a registry that just stopped may linger
    in TIME_WAIT there; the registry binds with SO_REUSEADDR, so they do not count."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def htpasswd_line(user: str, password: str) -> str:
    """One htpasswd entry; the registry accepts only bcrypt hashes."""
    import bcrypt

    hashed = bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds=10)).decode()
    return f"{user}:{hashed}\n"


def registry_config(port: int, storage: Path, htpasswd: Path, events_url: str) -> str:
    """The registry's YAML config (JSON is valid YAML, and needs no yaml package)."""
    doc = {
        "version": 0.1,
        "log": {"level": "warn", "accesslog": {"disabled": True}},
        "storage": {"filesystem": {"rootdirectory": str(storage)},
                    "delete": {"enabled": True}},
        "http": {"addr": f"127.0.0.1:{port}", "secret": "sandbox-only"},
        "auth": {"htpasswd": {"realm": "sandbox-ecr", "path": str(htpasswd)}},
        "notifications": {"endpoints": [{
            "name": "ecr-mirror",
            "url": events_url,
            "timeout": "2s",
            "threshold": 3,
            "backoff": "1s",
        }]},
    }
    return json.dumps(doc, indent=2) + "\n"


class Registry:
    """Run docker-registry with ECR-style auth and mirror pushed manifests into moto's ECR.

    Usable as a context manager or with start()/stop(). `address` is what image
    references use ("127.0.0.1:PORT"); `pid` is the registry process.
    """

    def __init__(self, state_dir: Path | str, password: str, ecr_endpoint: str | None = None,
                 *, port: int | None = None, user: str = "AWS", region: str = "us-east-1",
                 binary: str = DEFAULT_BINARY, start_timeout: float = 15.0) -> None:
        self.state_dir = Path(state_dir)
        self.password = password
        self.user = user
        self.ecr_endpoint = ecr_endpoint
        self.region = region
        self.binary = binary
        self.start_timeout = start_timeout
        self.port = port or 0
        self.process: subprocess.Popen[bytes] | None = None
        self.mirrored: list[dict[str, Any]] = []  # one entry per manifest copied into ECR
        self.mirror_errors: list[str] = []
        self._listener: ThreadingHTTPServer | None = None
        self._listener_thread: threading.Thread | None = None
        self._ecr: Any = None
        self._lock = threading.Lock()

    # -- lifecycle -------------------------------------------------------------------------

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        return f"http://{self.address}"

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process else None

    def __enter__(self) -> Registry:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> Registry:
        if self.process and self.process.poll() is None:
            return self
        binary = shutil.which(self.binary) or (self.binary if os.access(self.binary, os.X_OK)
                                               else None)
        if not binary:
            raise Unreachable(
                f"the registry binary {self.binary} is not installed",
                "install it: apt-get install docker-registry (Debian package, registry 2.8)",
            )
        self.state_dir.mkdir(parents=True, exist_ok=True)
        storage = self.state_dir / "storage"
        storage.mkdir(exist_ok=True)
        htpasswd = self.state_dir / "htpasswd"
        htpasswd.write_text(htpasswd_line(self.user, self.password))
        htpasswd.chmod(0o600)
        self._start_listener()
        assert self._listener is not None
        events_url = f"http://127.0.0.1:{self._listener.server_address[1]}{EVENTS_PATH}"
        if not self.port:
            self.port = free_port()
        elif not port_is_free(self.port):
            self.stop()
            raise Unreachable(f"port {self.port} on 127.0.0.1 is already in use; the registry "
                              "cannot listen there",
                              "stop what listens there, or choose another registry port")
        config = self.state_dir / "config.yml"
        config.write_text(registry_config(self.port, storage, htpasswd, events_url))
        log_file = (self.state_dir / "registry.log").open("ab")
        self.process = subprocess.Popen([binary, "serve", str(config)], stdout=log_file,
                                        stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        log_file.close()
        try:
            self._wait_until_answering()
        except Unreachable:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        if self.process is not None:
            if self.process.poll() is None:
                self.process.terminate()
                try:
                    self.process.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    self.process.kill()
                    self.process.wait(timeout=5)
            self.process = None
        if self._listener is not None:
            self._listener.shutdown()
            self._listener.server_close()
            self._listener = None
            self._listener_thread = None

    def _wait_until_answering(self) -> None:
        """The registry is up when /v2/ answers (401 without credentials is an answer)."""
        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                tail = self._log_tail()
                raise Unreachable(f"docker-registry exited at start (code "
                                  f"{self.process.returncode}): {tail}",
                                  f"see {self.state_dir / 'registry.log'}; is port "
                                  f"{self.port} free?")
            try:
                urllib.request.urlopen(f"{self.url}/v2/", timeout=1).close()
                return
            except urllib.error.HTTPError:
                return
            except OSError:
                time.sleep(0.05)
        raise Unreachable(f"docker-registry did not answer on {self.address} within "
                          f"{self.start_timeout:.0f} s",
                          f"see {self.state_dir / 'registry.log'}")

    def _log_tail(self) -> str:
        try:
            lines = (self.state_dir / "registry.log").read_text(errors="replace").splitlines()
        except OSError:
            return ""
        return " | ".join(lines[-3:])

    # -- registry access -------------------------------------------------------------------

    def _auth_header(self) -> str:
        return "Basic " + base64.b64encode(f"{self.user}:{self.password}".encode()).decode()

    def fetch_manifest(self, repository: str, reference: str) -> tuple[bytes, str, str]:
        """The manifest as stored: (body, media type, Docker-Content-Digest)."""
        request = urllib.request.Request(
            f"{self.url}/v2/{repository}/manifests/{reference}",
            headers={"Accept": ", ".join(MANIFEST_MEDIA_TYPES),
                     "Authorization": self._auth_header()},
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            body = response.read()
            return (body, response.headers.get("Content-Type", ""),
                    response.headers.get("Docker-Content-Digest", ""))

    # -- the notification listener and the mirror -------------------------------------------

    def _start_listener(self) -> None:
        registry = self

        class EventsHandler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                self.send_response(200)
                self.end_headers()
                try:
                    envelope = json.loads(body or b"{}")
                except ValueError:
                    return
                registry.handle_events(envelope.get("events", []))

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                log.debug("registry events: " + format, *args)

        self._listener = ThreadingHTTPServer(("127.0.0.1", 0), EventsHandler)
        self._listener.daemon_threads = True
        self._listener_thread = threading.Thread(target=self._listener.serve_forever,
                                                 name="registry-events", daemon=True)
        self._listener_thread.start()

    def handle_events(self, events: list[dict[str, Any]]) -> None:
        """Mirror every manifest push that carries a tag (blob pushes are ignored)."""
        for event in events:
            target = event.get("target", {})
            if event.get("action") != "push" or target.get("mediaType") not in \
                    MANIFEST_MEDIA_TYPES:
                continue
            try:
                self.mirror(target["repository"], target.get("tag"), target.get("digest"))
            except Exception as exc:  # keep serving; the failure is recorded for status
                message = f"mirror of {target.get('repository')}:{target.get('tag')}: {exc}"
                log.warning(message)
                with self._lock:
                    self.mirror_errors.append(message)

    def _ecr_client(self) -> Any:
        if self._ecr is None:
            import boto3

            self._ecr = boto3.client("ecr", region_name=self.region,
                                     endpoint_url=self.ecr_endpoint,
                                     aws_access_key_id="sandbox",
                                     aws_secret_access_key="sandbox")
        return self._ecr

    def ecr_image(self, repository: str, reference: str, tag: str | None) -> dict[str, Any]:
        """put_image's parameters for one stored manifest, under the registry's own digest."""
        body, media_type, content_digest = self.fetch_manifest(repository, reference)
        digest = content_digest or (reference if reference.startswith("sha256:") else "")
        params: dict[str, Any] = {"repositoryName": repository,
                                  "imageManifest": body.decode(),
                                  "imageManifestMediaType": media_type}
        if digest:
            params["imageDigest"] = digest
        if tag:
            params["imageTag"] = tag
        return params

    def _mirrored(self, params: dict[str, Any]) -> None:
        with self._lock:
            self.mirrored.append({"repository": params["repositoryName"],
                                  "tag": params.get("imageTag"),
                                  "digest": params.get("imageDigest")})

    def mirror(self, repository: str, tag: str | None, digest: str | None) -> None:
        """Copy one pushed manifest into moto's ECR under the registry's digest."""
        if not self.ecr_endpoint:
            return
        ecr = self._ecr_client()
        try:
            ecr.describe_repositories(repositoryNames=[repository])
        except ecr.exceptions.RepositoryNotFoundException:
            # moto answers put_image into a missing repository with an internal error.
            self._import_failed(f"mirror of {repository}:{tag}: ECR has no repository "
                                f"{repository} yet; its tags are imported when it is created")
            return
        params = self.ecr_image(repository, digest or tag or "", tag)
        # The same manifest pushed again: ECR is already up to date.
        with contextlib.suppress(ecr.exceptions.ImageAlreadyExistsException):
            ecr.put_image(**params)
        self._mirrored(params)

    def tags(self, repository: str) -> list[str]:
        """Every tag the registry holds for `repository` ([] when it holds none)."""
        found: list[str] = []
        path: str | None = f"/v2/{repository}/tags/list?n=1000"
        while path:
            request = urllib.request.Request(f"{self.url}{path}",
                                             headers={"Authorization": self._auth_header()})
            try:
                with urllib.request.urlopen(request, timeout=10) as response:
                    answer = json.loads(response.read() or b"{}")
                    link = response.headers.get("Link", "")
            except urllib.error.HTTPError as exc:
                if exc.code == 404:  # NAME_UNKNOWN: nothing was ever pushed there
                    return found
                raise
            found.extend(answer.get("tags") or [])
            # Pagination: Link: </v2/NAME/tags/list?last=X&n=1000>; rel="next"
            path = link.split(">", 1)[0].lstrip("<") if 'rel="next"' in link else None
        return found

    def import_repository(self, repository: str,
                          put_image: Callable[[dict[str, Any]], None]) -> None:
        """Copy every tag stored for `repository` into a just-created ECR repository.

        The registry's storage outlives a sandbox restart, moto's ECR does not: without
        this, ECR would not know images the registry still serves, and a build of an
        unchanged commit would not be skipped. Failures are recorded, never raised: the
        repository exists either way.
        """
        try:
            tags = self.tags(repository)
        except Exception as exc:
            self._import_failed(f"listing the tags of {repository}: {exc}")
            return
        for tag in sorted(tags):
            try:
                params = self.ecr_image(repository, tag, tag)
                put_image(params)
            except Exception as exc:
                self._import_failed(f"import of {repository}:{tag}: {exc}")
                continue
            self._mirrored(params)

    def _import_failed(self, message: str) -> None:
        log.warning(message)
        with self._lock:
            self.mirror_errors.append(message)
