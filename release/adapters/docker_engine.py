"""The Docker engine's part of a build: connect, build with OCI labels, push to a registry.

The docker SDK does not raise when a push fails: failures arrive as `error`/`errorDetail`
items in the stream. Every one of them fails the push. ECR credentials arrive here in
memory (ecr_images.RegistryAuth) and are passed per request, never written to
~/.docker/config.json and never printed. adapters/image.py runs the whole build.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

from release.adapters.ecr_images import RegistryAuth
from release.core.errors import InvalidInput, Unreachable
from release.output.events import OutputFormat, Reporter

DEFAULT_DOCKER_SOCKET = "unix:///var/run/docker.sock"


def docker_host_description() -> str:
    """Where the SDK looks for the engine, said the way a person can check it."""
    host = os.environ.get("DOCKER_HOST")
    if host:
        return f"{host} (from $DOCKER_HOST)"
    return f"{DEFAULT_DOCKER_SOCKET} (the default socket; $DOCKER_HOST is not set)"


def docker_client(timeout: int = 120) -> Any:
    """A connected docker SDK client, or exit 5 saying where the engine was looked for."""
    import docker
    import docker.errors
    import requests

    try:
        client = docker.from_env(timeout=timeout)
        client.ping()
        return client
    except (docker.errors.DockerException, requests.exceptions.RequestException,
            OSError) as exc:
        raise Unreachable(
            f"no Docker engine answers at {docker_host_description()}: {short_error(exc)}",
            "start the engine (scripts/engine.sh start prints the DOCKER_HOST to export), "
            "or point DOCKER_HOST at a running one, e.g. unix:///path/to/docker.sock",
        ) from None


def engine_lost_errors() -> tuple[type[BaseException], ...]:
    """What the SDK raises when the engine goes away mid-stream (dockerd killed, socket closed):
    urllib3's ProtocolError from the chunked stream, requests' wrappers of it, a reset."""
    import http.client

    import docker.errors
    import requests
    import urllib3.exceptions

    return (urllib3.exceptions.HTTPError, requests.exceptions.RequestException,
            http.client.HTTPException, ConnectionError, docker.errors.DockerException)


def short_error(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text[:300]


STEP_RE = re.compile(r"^Step \d+/\d+ : .*")


def build_image(client: Any, context: Path, image: str, labels: dict[str, str],
                buildargs: dict[str, str], reporter: Reporter,
                dockerfile_name: str | None = None) -> str:
    """docker build, streaming every output line; a failing step ends with exit 1.

    `dockerfile_name` is the pin's build.dockerfile, relative to the context."""
    import tempfile

    import docker.errors

    dockerfile = context / (dockerfile_name or "Dockerfile")
    if not dockerfile.is_file():
        raise InvalidInput(f"the build context {context} has no {dockerfile_name or 'Dockerfile'}",
                           "add one, or point the service's build.context (and "
                           "build.dockerfile) at the right file")
    with tempfile.TemporaryDirectory(prefix="release-build-") as scratch:
        # The labels go in as one LABEL instruction appended to a copy of the Dockerfile
        # (the engine's `labels` parameter adds one build step per label, a second each).
        # A Dockerfile outside the context is sent along by the SDK, as `docker build -f`.
        labelled = Path(scratch) / "Dockerfile"
        labelled.write_text(with_labels(dockerfile.read_text(), labels))
        build = BuildStream(reporter)
        try:
            stream = client.api.build(path=str(context), dockerfile=str(labelled), tag=image,
                                      buildargs=buildargs, rm=True, forcerm=True, pull=False,
                                      decode=True)
            build.follow(stream)
        except docker.errors.APIError as exc:
            build.error = str(exc.explanation or exc)
        except docker.errors.DockerException as exc:
            raise Unreachable(f"the Docker engine failed during the build: {short_error(exc)}",
                              "check the engine at " + docker_host_description()) from None
    if build.error:
        raise _build_failure(context, build.step, build.error)
    return build.image_id or client.images.get(image).id


def with_labels(dockerfile_text: str, labels: dict[str, str]) -> str:
    """The Dockerfile with one LABEL instruction at the end (it applies to the final stage)."""
    pairs = " ".join(f"{key}={json.dumps(value)}" for key, value in sorted(labels.items()))
    return dockerfile_text.rstrip("\n") + f"\nLABEL {pairs}\n"


class BuildStream:
    """Follows the engine's build stream: output lines to the reporter, the current step,
    the image id, and the first error (the engine reports failures inside the stream)."""

    def __init__(self, reporter: Reporter) -> None:
        self.reporter = reporter
        self.step = ""
        self.image_id = ""
        self.error = ""

    def follow(self, stream: Any) -> None:
        for item in stream:
            for line in str(item.get("stream", "")).splitlines():
                if not line.strip():
                    continue
                if STEP_RE.match(line):
                    self.step = line
                self.reporter.emit("build.output", line, "dim")
            aux = item.get("aux")
            if isinstance(aux, dict) and aux.get("ID"):
                self.image_id = aux["ID"]
            if "error" in item or "errorDetail" in item:
                detail = item.get("errorDetail") or {}
                self.error = str(item.get("error") or detail.get("message")
                                 or "unknown error").strip()
                return


def _build_failure(context: Path, step: str, message: str) -> InvalidInput:
    where = f"at {step}" if step else "before the first step"
    hint = "fix that step of the Dockerfile (or the files it uses) and build again"
    missing = re.search(r"stat ([^:]+): file does not exist", message)
    makefile = context / "Makefile"
    if missing and makefile.is_file() and missing.group(1) in makefile.read_text():
        folder = os.path.relpath(context)
        folder = str(context) if folder.startswith("..") else folder
        hint = (f"{missing.group(1)} is made by the context's Makefile: run `make -C {folder}`, "
                "then build again")
    return InvalidInput(f"docker build failed {where}: {message}", hint)


AUTH_WORDS = ("unauthorized", "authentication required", "denied", "no basic auth",
              "forbidden", "authorization")


def push_image(client: Any, repository_uri: str, tag: str, auth: RegistryAuth,
               reporter: Reporter) -> str:
    """Push with per-request credentials; return the digest from the stream's aux."""
    import docker.errors

    digest = ""
    errors: list[str] = []
    progress = PushProgress(reporter)
    try:
        with progress:
            stream = client.api.push(repository_uri, tag=tag, stream=True, decode=True,
                                     auth_config=auth.auth_config())
            for item in stream:
                if "error" in item or "errorDetail" in item:
                    detail = item.get("errorDetail") or {}
                    errors.append(str(item.get("error") or detail.get("message")
                                      or "unknown error").strip())
                    continue
                aux = item.get("aux")
                if isinstance(aux, dict) and aux.get("Digest"):
                    digest = aux["Digest"]
                progress.update(item)
    except docker.errors.APIError as exc:
        errors.append(str(exc.explanation or exc))
    except docker.errors.DockerException as exc:
        errors.append(short_error(exc))
    if errors:
        message = "; ".join(dict.fromkeys(errors))
        message = message.replace(auth.password, "***")
        if any(word in message.lower() for word in AUTH_WORDS):
            raise Unreachable(
                f"the registry {auth.registry} refused the ECR credentials: {message}",
                "check that the ECR token is for this account/region and that your "
                "credentials may push (ecr:InitiateLayerUpload, ecr:PutImage)",
            )
        raise Unreachable(f"pushing {repository_uri}:{tag} failed: {message}",
                          f"check that the registry {auth.registry} is reachable and retry")
    if not digest:
        raise Unreachable(f"the push of {repository_uri}:{tag} reported no digest",
                          "retry the build; check the engine's log if it persists")
    return digest


class PushProgress:
    """Push progress: a rich bar per layer on a terminal, one line per layer change otherwise."""

    def __init__(self, reporter: Reporter) -> None:
        self.reporter = reporter
        self.live = reporter.format is OutputFormat.text and reporter.is_tty
        self._progress: Any = None
        self._tasks: dict[str, Any] = {}
        self._last_status: dict[str, str] = {}

    def __enter__(self) -> PushProgress:
        if self.live:
            from rich.progress import (
                BarColumn,
                DownloadColumn,
                Progress,
                TextColumn,
                TimeRemainingColumn,
            )

            self._progress = Progress(TextColumn("{task.description}"), BarColumn(),
                                      DownloadColumn(), TimeRemainingColumn(),
                                      console=self.reporter.console, transient=False)
            self._progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._progress is not None:
            self._progress.stop()

    def update(self, item: dict[str, Any]) -> None:
        status = str(item.get("status", "")).strip()
        layer = item.get("id")
        if not status:
            return
        if not layer:  # repository-level lines: "The push refers to ...", "<tag>: digest: ..."
            self.reporter.emit("push.status", status)
            return
        if self._progress is not None:
            detail = item.get("progressDetail") or {}
            if layer not in self._tasks:
                self._tasks[layer] = self._progress.add_task(f"{layer} {status}", total=None)
            task = self._tasks[layer]
            fields: dict[str, Any] = {"description": f"{layer} {status}"}
            if detail.get("total"):
                fields.update(total=max(detail["total"], detail.get("current", 0)),
                              completed=detail.get("current", 0))
            if status in ("Pushed", "Layer already exists"):
                fields["completed"] = self._progress.tasks[task].total or 1
                fields["total"] = fields["completed"]
            self._progress.update(task, **fields)
            return
        if self._last_status.get(layer) != status:  # plain: only status changes, not bytes
            self._last_status[layer] = status
            self.reporter.emit("push.layer", f"{layer}: {status}", layer=layer, status=status)
