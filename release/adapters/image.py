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

This module is the flow and git's side (the tag); the engine's side is
adapters/docker_engine.py, ECR's adapters/ecr_images.py.
"""

from __future__ import annotations

import contextlib
import hashlib
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse, urlunparse

from release.adapters.docker_engine import (
    build_image,
    docker_client,
    docker_host_description,
    engine_lost_errors,
    push_image,
    short_error,
)
from release.adapters.ecr_images import (
    RegistryAuth,
    confirm_digest,
    ecr_clients,
    ecr_login,
    existing_digest,
)
from release.core.clock import Clock, default_clock
from release.core.config import Environment
from release.core.errors import InvalidInput, Unreachable
from release.output.events import Reporter

OCI = "org.opencontainers.image"


@dataclass(frozen=True)
class Revision:
    """Which source an image is built from, and the tag that names it."""

    commit: str  # full sha of the last commit that changed the context
    tag: str  # 12 hex, or `<12hex>-dirty-<hash>`
    dirty: bool
    source: str  # where the source lives (remote URL, else the context path in its repo)
    context: Path


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
            f"{result.image}: {type(exc).__name__}: {short_error(exc)}",
            "check that dockerd still runs (`docker info`; it may have been restarted or run "
            "out of memory or disk), then run the same build again: nothing was pushed "
            "unless `pushed` was printed") from None
    finally:
        client.close()
    result.seconds = time.monotonic() - started
    return result
