"""Build a service image with the docker SDK, push it to ECR, and know its digest.

Used by `release build`, the demo and the Jenkins pipeline. Rules it keeps:

- The tag is the git commit that last changed the build context (12 hex), so
  a commit that only bumps a pin under environments/ does not make a new
  image. A dirty context is refused unless allowed; then the tag says so:
  `<12hex>-dirty-<hash of the changes>`.
- Build once: ECR repositories are immutable, so when the tag is already in
  ECR nothing is built or pushed and the existing digest is returned. Each
  pinned container's image lives in its own repository (the pin's, else the
  environment's `ecr.repository`), so the check is per image, per repository.
- ECR credentials come from `get_authorization_token`, are decoded in memory
  and passed to the engine per request (`auth_config`); they are never written
  to ~/.docker/config.json and never printed.
- The docker SDK does not raise when a push fails: failures arrive as
  `error`/`errorDetail` items in the stream. Every one of them fails the push.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import os
import re
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse, urlunparse

from release.core.clock import Clock, default_clock
from release.core.config import Environment
from release.core.errors import InvalidInput, Unreachable
from release.output.events import OutputFormat, Reporter

DEFAULT_DOCKER_SOCKET = "unix:///var/run/docker.sock"
CONFIRM_TIMEOUT_S = 10.0  # how long ECR may take to list a pushed image (the sandbox mirrors)
CONFIRM_INTERVAL_S = 0.2
ECR_MAX_ATTEMPTS = 5
OCI = "org.opencontainers.image"


@dataclass(frozen=True)
class Revision:
    """Which source an image is built from, and the tag that names it."""

    commit: str  # full sha of the last commit that changed the context
    tag: str  # 12 hex, or `<12hex>-dirty-<hash>`
    dirty: bool
    source: str  # where the source lives (remote URL, else the context path in its repo)
    context: Path


@dataclass(frozen=True)
class RegistryAuth:
    """Decoded ECR login; repr hides the password so it cannot leak into logs."""

    registry: str
    username: str
    password: str

    def __repr__(self) -> str:
        return f"RegistryAuth(registry={self.registry!r}, username={self.username!r})"

    def auth_config(self) -> dict[str, str]:
        return {"username": self.username, "password": self.password,
                "serveraddress": self.registry}


@dataclass
class BuildResult:
    """What later stages pin: the reference `<registry>/<repo>@sha256:…`."""

    repository: str
    registry: str
    tag: str
    revision: str
    dirty: bool
    container: str | None = None  # the container this image is pinned for
    digest: str | None = None
    reference: str | None = None
    image_id: str | None = None
    built: bool = False
    pushed: bool = False
    existing: bool = False  # the tag was already in ECR: nothing built or pushed
    seconds: float = 0.0

    @property
    def image(self) -> str:
        """The local name the image is tagged with."""
        return f"{self.registry}/{self.repository}:{self.tag}"

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "image": self.image}


# -- git: the revision and tag of a build context ------------------------------------------


def context_revision(context: Path, allow_dirty: bool = False) -> Revision:
    """The commit that last changed `context`, and the tag to build it under."""
    import git

    context = Path(context).resolve()
    if not context.is_dir():
        raise InvalidInput(f"build context {context} is not a directory",
                           "check the service's build.context or --context")
    try:
        repo = git.Repo(context, search_parent_directories=True)
    except (git.InvalidGitRepositoryError, git.NoSuchPathError):
        raise InvalidInput(f"build context {context} is not inside a git repository",
                           "images are tagged with the commit they are built from: "
                           "commit the context to git first") from None
    root = Path(repo.working_tree_dir or context).resolve()
    rel = context.relative_to(root).as_posix()
    pathspec = [] if rel in ("", ".") else [rel]
    try:
        head = repo.head.commit
    except ValueError:
        raise InvalidInput(f"the git repository of {context} has no commit yet",
                           "commit the build context, then build") from None
    last = next(iter(repo.iter_commits(head, paths=pathspec, max_count=1)), None) \
        if pathspec else head
    dirty = repo.is_dirty(index=True, working_tree=True, untracked_files=True,
                          path=rel if pathspec else None)
    if last is None and not dirty:
        raise InvalidInput(f"no commit has touched the build context {rel!r}",
                           "commit the build context, then build")
    if dirty and not allow_dirty:
        changed = _changed_files(repo, pathspec)
        shown = ", ".join(changed[:5]) + (f" and {len(changed) - 5} more" if len(changed) > 5
                                          else "")
        raise InvalidInput(
            f"the build context {rel or '.'} has uncommitted changes ({shown})",
            "commit them so the image tag names the source it was built from, "
            "or pass --allow-dirty for a throw-away image tagged '<commit>-dirty-<hash>'",
        )
    commit = (last or head).hexsha
    tag = commit[:12]
    if dirty:
        tag = f"{tag}-dirty-{_changes_hash(repo, pathspec)}"
    return Revision(commit=commit, tag=tag, dirty=dirty, source=_source_of(repo, rel),
                    context=context)


def _changed_files(repo: Any, pathspec: list[str]) -> list[str]:
    names = repo.git.diff("HEAD", "--name-only", "--", *pathspec).splitlines()
    others = repo.git.ls_files("--others", "--exclude-standard", "--", *pathspec).splitlines()
    return sorted({*names, *others})


def _changes_hash(repo: Any, pathspec: list[str]) -> str:
    """A short hash of the uncommitted changes, so two different dirty builds differ."""
    digest = hashlib.sha256(repo.git.diff("HEAD", "--binary", "--", *pathspec).encode())
    root = Path(repo.working_tree_dir)
    others = repo.git.ls_files("--others", "--exclude-standard", "--", *pathspec)
    for name in sorted(others.splitlines()):
        digest.update(name.encode() + b"\0")
        with contextlib.suppress(OSError):
            digest.update((root / name).read_bytes())
    return digest.hexdigest()[:8]


def _source_of(repo: Any, rel: str) -> str:
    """The origin URL without credentials; without a remote, the context path in its repo."""
    try:
        url = repo.remotes.origin.url
    except (AttributeError, IndexError):
        return rel or "."
    parsed = urlparse(url)
    if parsed.scheme and "@" in parsed.netloc:
        parsed = parsed._replace(netloc=parsed.netloc.rsplit("@", 1)[1])
        url = urlunparse(parsed)
    return url


def oci_labels(revision: Revision, created: float) -> dict[str, str]:
    return {
        f"{OCI}.revision": revision.commit,
        f"{OCI}.source": revision.source,
        f"{OCI}.created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(created)),
        f"{OCI}.version": revision.tag,
    }


# -- the Docker engine ---------------------------------------------------------------------


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
            f"no Docker engine answers at {docker_host_description()}: {_short(exc)}",
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


def _short(exc: BaseException) -> str:
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
            raise Unreachable(f"the Docker engine failed during the build: {_short(exc)}",
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


# -- ECR -----------------------------------------------------------------------------------


def ecr_clients(env: Environment) -> Any:
    """Clients for the build's few ECR calls: fewer retries than deploys use, so an
    unreachable ECR fails a pipeline stage in seconds instead of half a minute."""
    import botocore.config

    from release.adapters.aws import RETRY_CONFIG, connect

    retries = botocore.config.Config(retries={"mode": "adaptive",
                                              "max_attempts": ECR_MAX_ATTEMPTS})
    return connect(env, config=RETRY_CONFIG.merge(retries))


def ecr_login(aws: Any, env: Environment) -> RegistryAuth:
    """Decode the ECR token in memory; the host comes from proxyEndpoint unless overridden."""
    from release.adapters.aws import aws_errors

    # No registryIds: the ECR model deprecates it ("specifying a registry ID doesn't change
    # the permissions scope of the authorization token"); connect() has made sure the
    # caller's default registry is the environment's account.
    with aws_errors(env, "getting an ECR authorization token"):
        data = aws.ecr.get_authorization_token()["authorizationData"][0]
    try:
        username, password = base64.b64decode(data["authorizationToken"]).decode().split(":", 1)
    except (ValueError, UnicodeDecodeError):
        raise Unreachable("ECR returned an authorization token that does not decode to "
                          "user:password", "retry; if it persists, check the ECR endpoint") \
            from None
    endpoint = data.get("proxyEndpoint", "")
    host = env.registry_override or urlparse(endpoint).netloc or endpoint or env.registry
    return RegistryAuth(registry=host, username=username, password=password)


def existing_digest(aws: Any, env: Environment, tag: str, repository: str | None = None
                    ) -> str | None:
    """The digest ECR holds under `tag` in `repository` (default: the environment's), None
    when absent; a missing repository is exit 5."""
    import botocore.exceptions

    from release.adapters.aws import aws_errors, error_code

    repository = repository or env.ecr_repository
    with aws_errors(env, f"looking up {repository}:{tag} in ECR"):
        try:
            found = aws.ecr.describe_images(registryId=env.account,
                                            repositoryName=repository,
                                            imageIds=[{"imageTag": tag}])["imageDetails"]
        except botocore.exceptions.ClientError as exc:
            code = error_code(exc)
            if code == "ImageNotFoundException":
                return None
            if code == "RepositoryNotFoundException":
                raise Unreachable(
                    f"the ECR repository {repository!r} does not exist "
                    f"(account {env.account}, {env.region})",
                    f"create it with `release bootstrap --env {env.name}`",
                ) from None
            raise
    return found[0]["imageDigest"] if found else None


def confirm_digest(aws: Any, env: Environment, tag: str, digest: str,
                   clock: Clock | None = None, timeout: float = CONFIRM_TIMEOUT_S,
                   repository: str | None = None) -> None:
    """ECR must list the pushed tag with the digest the push reported (polls on the clock)."""
    clock = clock or default_clock()
    repository = repository or env.ecr_repository
    deadline = clock.now() + timeout
    while True:
        listed = existing_digest(aws, env, tag, repository)
        if listed is not None:
            if listed != digest:
                raise Unreachable(
                    f"ECR lists {repository}:{tag} with digest {listed}, "
                    f"but the push reported {digest}",
                    "the tag was pushed concurrently by someone else; "
                    "check `aws ecr describe-images` and build again",
                )
            return
        if clock.now() >= deadline:
            raise Unreachable(
                f"ECR does not list {repository}:{tag} {timeout:.0f} s after the push",
                "check the registry and ECR; the push itself reported " + digest,
            )
        clock.sleep(CONFIRM_INTERVAL_S)


# -- push ----------------------------------------------------------------------------------

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
        errors.append(_short(exc))
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


# -- the whole flow ------------------------------------------------------------------------


@dataclass(frozen=True)
class BuildRequest:
    """One image to build: where from (the pin's build), into which repository, for whom."""

    context: Path
    repository: str | None = None  # default: the environment's ecr.repository
    dockerfile: str | None = None  # relative to the context; default Dockerfile
    args: tuple[tuple[str, str], ...] = ()  # build args besides REVISION
    container: str | None = None


def build_and_push(env: Environment, context: Path | BuildRequest, reporter: Reporter, *,
                   push: bool = False, allow_dirty: bool = False, clock: Clock | None = None,
                   aws: Any = None) -> BuildResult:
    """Tag from git, skip when ECR has the tag, else build (and push, and confirm the digest)."""
    request = context if isinstance(context, BuildRequest) else BuildRequest(Path(context))
    repository = request.repository or env.ecr_repository
    clock = clock or default_clock()
    started = time.monotonic()
    revision = context_revision(request.context, allow_dirty)
    if revision.dirty:
        reporter.emit("build.dirty", f"building uncommitted changes as {revision.tag}", "warn",
                      tag=revision.tag)
    result = BuildResult(repository=repository, registry=env.registry,
                         tag=revision.tag, revision=revision.commit, dirty=revision.dirty,
                         container=request.container)
    auth: RegistryAuth | None = None
    if push:
        if aws is None:
            aws = ecr_clients(env)
        digest = existing_digest(aws, env, revision.tag, repository)
        if digest:
            result.digest, result.existing = digest, True
            result.reference = f"{env.registry}/{repository}@{digest}"
            result.seconds = time.monotonic() - started
            reporter.emit("build.exists", f"{repository}:{revision.tag} is already in "
                          f"ECR ({digest}); nothing to build or push", "success",
                          container=request.container)
            return result
        auth = ecr_login(aws, env)
        result.registry = auth.registry
    client = docker_client()
    try:
        reporter.emit("build.start", f"building {result.image} from {revision.context.name} "
                      f"(commit {revision.commit[:12]})", image=result.image,
                      revision=revision.commit, container=request.container)
        labels = oci_labels(revision, clock.now())
        result.image_id = build_image(client, revision.context, result.image, labels,
                                      {**dict(request.args), "REVISION": revision.tag},
                                      reporter, request.dockerfile)
        result.built = True
        reporter.emit("build.built", f"built {result.image} ({result.image_id[:19]})", "success",
                      image_id=result.image_id)
        if push and auth is not None:
            repository_uri = f"{auth.registry}/{repository}"
            digest = push_image(client, repository_uri, revision.tag, auth, reporter)
            confirm_digest(aws, env, revision.tag, digest, clock, repository=repository)
            result.digest, result.pushed = digest, True
            result.reference = f"{repository_uri}@{digest}"
            reporter.emit("build.pushed", f"pushed {repository_uri}:{revision.tag} ({digest})",
                          "success", digest=digest)
    except engine_lost_errors() as exc:
        raise Unreachable(
            f"lost the Docker engine at {docker_host_description()} while building or pushing "
            f"{result.image}: {type(exc).__name__}: {_short(exc)}",
            "check that dockerd still runs (`docker info`; it may have been restarted or run "
            "out of memory or disk), then run the same build again: nothing was pushed "
            "unless `pushed` was printed") from None
    finally:
        client.close()
    result.seconds = time.monotonic() - started
    return result
