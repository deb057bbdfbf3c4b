"""`promote`: pin a service's containers to images by editing only the pins' text, and commit.

A service pins one image (`/image`) or one per container it builds (`/images/<container>`);
a promotion sets one container (default: the primary, the load balancer's) or several at
once (a several-image build report, `promote --from`), in one commit.

The file's formatting and key order survive byte for byte (`release.core.pin`);
the repository as it would be after the edit is validated before anything is
written, and the commit (`release.adapters.git`) holds that one file.
"""

from __future__ import annotations

import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from release.adapters import git
from release.core import documents, names, pin
from release.core.changes import DOCUMENT_DIRS, service_name_of
from release.core.config import Environment
from release.core.errors import InvalidInput
from release.core.pin import ImagePin, ImageRef, parse_image_ref, rewrite_pin
from release.core.promotion import SourceRelease, trailers
from release.engine.validate import require_valid


@dataclass(frozen=True)
class PinChange:
    """One container's pin before and after a promotion."""

    container: str
    pointer: str  # /image or /images/<container>
    old_tag: str | None
    old_digest: str | None
    new_tag: str | None
    new_digest: str | None

    @property
    def changed(self) -> bool:
        return (self.old_tag, self.old_digest) != (self.new_tag, self.new_digest)

    def as_dict(self) -> dict[str, Any]:
        return {"container": self.container, "pointer": self.pointer,
                "old": {"tag": self.old_tag, "digest": self.old_digest},
                "new": {"tag": self.new_tag, "digest": self.new_digest},
                "changed": self.changed}


@dataclass
class PromoteResult:
    """What a promotion changed (or found already pinned), and its commit if one was made.

    old_*/new_* are the first promoted container's (the primary's when it is promoted);
    `pins` holds every container the promotion set.
    """

    env: str
    service: str  # serviceName
    path: Path  # the spec file
    old_tag: str | None
    old_digest: str | None
    new_tag: str | None
    new_digest: str | None
    changed: bool
    commit: str | None = None  # sha of the promotion commit
    message: str | None = None
    source: SourceRelease | None = None  # `promote --from`: the release copied
    pushed: str | None = None  # remote/branch the commit was pushed to
    pins: list[PinChange] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"env": self.env, "service": self.service, "file": str(self.path),
                "old": {"tag": self.old_tag, "digest": self.old_digest},
                "new": {"tag": self.new_tag, "digest": self.new_digest},
                "container": self.pins[0].container if self.pins else None,
                "pins": [pin.as_dict() for pin in self.pins],
                "changed": self.changed, "commit": self.commit, "commit_message": self.message,
                "source": self.source.as_dict() if self.source else None, "pushed": self.pushed}


def default_message(service: str, env: str, ref: ImageRef,
                    source: SourceRelease | None = None, changes: list[PinChange] | None = None
                    ) -> str:
    """The commit title; a service that pins several containers names the ones promoted."""
    if source is not None:
        return (f"promote {service} in {env} to {source.env}'s release "
                f"{source.short_revision} ({ref.short})")
    if changes and len(changes) > 1:
        return f"promote {service} in {env}: " + ", ".join(
            f"{c.container} to {_short(c)}" for c in changes)
    if changes and changes[0].pointer != "/image":
        return f"promote {service} {changes[0].container} to {ref.short} in {env}"
    return f"promote {service} to {ref.short} in {env}"


def pin_text(tag: str | None, digest: str | None) -> str:
    """`tag=T digest=D`, leaving out what the pin does not have (never "tag=None")."""
    parts = [f"tag={tag}" if tag else "", f"digest={digest}" if digest else ""]
    return " ".join(p for p in parts if p) or "nothing"


def _short(change: PinChange) -> str:
    return ImageRef(None, None, change.new_tag, change.new_digest).short


def commit_body(title: str, rel: str, changes: list[PinChange], env: str,
                source: SourceRelease | None) -> str:
    """Title, the source release (promote --from), each pin before and after, the trailers."""
    pins = [f"{rel}: image pin" + (f" {c.pointer}" if c.pointer != "/image" else "")
            + f"\n  was: {pin_text(c.old_tag, c.old_digest)}"
            f"\n  now: {pin_text(c.new_tag, c.new_digest)}" for c in changes]
    parts = [title, *(["\n".join(source.describe())] if source else []), *pins,
             "\n".join(trailers(env, source))]
    return "\n\n".join(parts) + "\n"


def _spec_path(repo_root: Path, env: str, service: str) -> Path:
    """The spec file of `service` (file stem or serviceName) in `env`: a file of the repository,
    never one a name or a symbolic link leads outside it to (it is written)."""
    names.check_environment(env)
    names.check_service(service)
    svc_dir = repo_root / documents.ENVIRONMENTS_DIR / env / "services"
    if not (repo_root / documents.ENVIRONMENTS_DIR / env).is_dir():
        known = sorted(p.name for p in (repo_root / documents.ENVIRONMENTS_DIR).glob("*")
                       if p.is_dir())
        raise InvalidInput(f"unknown environment {env!r}",
                           f"environments in this repository: {', '.join(known) or 'none'}")
    direct = svc_dir / f"{service}.json"
    if direct.is_file():
        return _within(repo_root, direct)
    for candidate in sorted(svc_dir.glob("*.json")):
        try:
            doc = documents.read_json(candidate, root=repo_root)
        except documents.DocumentError:
            continue
        if service_name_of(doc) == service:
            return candidate
    known = sorted(p.stem for p in svc_dir.glob("*.json"))
    raise InvalidInput(f"unknown service {service!r} in environment {env!r}",
                       f"services there: {', '.join(known) or 'none'}")



def _within(repo_root: Path, path: Path) -> Path:
    """`path` when it stays in the repository; a link out of it is refused (exit 1)."""
    if not documents.inside(repo_root, path):
        error = documents.outside_error(path.relative_to(repo_root))
        raise InvalidInput(f"{error.path}: {error.message}", error.fix)
    return path


def _validate_candidate(repo_root: Path, rel: str, new_text: str) -> None:
    """Validate the repository as it would be after the edit, before writing anything."""

    with tempfile.TemporaryDirectory(prefix="release-promote-") as tmp:
        root = Path(tmp)
        for top in DOCUMENT_DIRS:
            source = repo_root / top
            for path in source.rglob("*") if source.is_dir() else []:
                if path.is_file() and documents.inside(repo_root, path):  # links out: not copied
                    target = root / path.relative_to(repo_root)
                    target.parent.mkdir(parents=True, exist_ok=True)
                    target.write_bytes(path.read_bytes())
        (root / rel).write_text(new_text, encoding="utf-8")
        env = PurePosixPath(rel).parts[1]
        require_valid(root, [env], "the repository with the promoted pin",
                      "pin an immutable tag and/or the sha256 digest of an image in the "
                      "environment's repository")




def _read_spec(path: Path, rel: str) -> tuple[str, dict[str, Any]]:
    """The spec's text and its document; a spec that does not parse is fixed first."""
    try:
        text = documents.read_text(path)  # _spec_path found it within the repository
        doc = documents.parse_json(text, rel)
    except documents.DocumentError as exc:
        raise InvalidInput(f"{rel}: {exc.message}", "fix the file first (`release validate`)"
                           ) from None
    if not isinstance(doc, dict):
        raise InvalidInput(f"{rel}: a service spec is a JSON object, not {type(doc).__name__}",
                           "fix the file first (`release validate`)")
    return text, doc


def _targets(repo_root: Path, rel: str, doc: dict[str, Any]) -> tuple[dict[str, ImagePin], str]:
    """The spec's pins by the container each fills, and the primary container's name."""
    images, image = doc.get("images"), doc.get("image")
    if not isinstance(images, dict) and not isinstance(image, dict):
        raise InvalidInput(f"{rel}: the service spec has no \"image\" object to rewrite",
                           "add \"image\": {\"container\": ..., \"tag\": ..., \"digest\": "
                           "...} to the spec once by hand")
    service = doc.get("service") if isinstance(doc.get("service"), dict) else {}
    balanced = [str(lb.get("containerName")) for lb in service.get("loadBalancers") or []
                if isinstance(lb, dict) and lb.get("containerName")]
    pins = pin.pins_of(doc)
    default = balanced[0] if balanced else _first_container(repo_root, doc)
    named = {pin.container or default: pin for pin in pins}
    primary = next((name for name in balanced if name in named), next(iter(named)))
    return named, primary


def _first_container(repo_root: Path, doc: dict[str, Any]) -> str:
    """The task definition's first container: where a pin without a container goes."""
    try:
        taskdef = documents.read_json(repo_root / doc["taskDefinition"]["file"], root=repo_root)
        return str(taskdef["containerDefinitions"][0]["name"])
    except (documents.DocumentError, KeyError, IndexError, TypeError):
        return ""


def _require_repository(ref: ImageRef, image_ref: str, env_obj: Environment, pin: ImagePin,
                        container: str) -> None:
    """An image named with its location must be in the repository its container's pin names
    (the pin's own `repository`, else the environment's)."""
    repository = pin.repository_in(env_obj)
    if ref.repository is not None and (ref.repository != repository
                                       or ref.registry != env_obj.registry):
        whose = (f"{env_obj.name}'s repository" if pin.repository is None
                 else f"the repository of container {container}")
        raise InvalidInput(
            f"image {image_ref!r} is not in {whose} {pin.uri_in(env_obj)}",
            f"push it there first (`release build --env {env_obj.name} --push`), or pass "
            "tag@sha256:<digest> of an image that is",
        )


def _changes(repo_root: Path, rel: str, doc: dict[str, Any], env_obj: Environment,
             refs: Mapping[str | None, str]) -> list[PinChange]:
    """The pin change of each container asked for (None: the primary's)."""
    named, primary = _targets(repo_root, rel, doc)
    changes = []
    for container, image_ref in refs.items():
        name = container or primary
        pin = named.get(name)
        if pin is None:
            raise InvalidInput(f"{rel} pins no container {name!r}",
                               f"pinned containers: {', '.join(named)}; a new one is added to "
                               "/images by hand once")
        ref = parse_image_ref(image_ref)
        _require_repository(ref, image_ref, env_obj, pin, name)
        changes.append(PinChange(name, pin.pointer, pin.tag, pin.digest, ref.tag, ref.digest))
    return sorted(changes, key=lambda c: c.container != primary)


def promote_pin(repo_root: Path, env: str, service: str, image_ref: str, commit: bool = False,
                message: str | None = None, source: SourceRelease | None = None,
                container: str | None = None) -> PromoteResult:
    """Pin one container of `service` in `env` (default: the primary's) to `image_ref`."""
    return promote_pins(repo_root, env, service, {container: image_ref}, commit, message,
                        source)


def promote_pins(repo_root: Path, env: str, service: str, refs: Mapping[str | None, str],
                 commit: bool = False, message: str | None = None,
                 source: SourceRelease | None = None) -> PromoteResult:
    """Pin containers of `service` in `env` ({container: image reference}, None: the primary)
    by editing the spec's text, one pin after another; optionally commit it (one commit)."""
    repo_root = Path(repo_root)
    path = _spec_path(repo_root, env, service)
    rel = path.relative_to(repo_root).as_posix()
    text, doc = _read_spec(path, rel)
    service_name = service_name_of(doc) or path.stem
    changes = _changes(repo_root, rel, doc, _load_env(repo_root, env), refs)
    made = [c for c in changes if c.changed]
    first = (made or changes)[0]
    result = PromoteResult(env, service_name, path, first.old_tag, first.old_digest,
                           first.new_tag, first.new_digest, changed=bool(made), source=source,
                           pins=changes)
    if not made:
        return result
    new_text = text
    try:
        for change in made:
            new_text = rewrite_pin(new_text, change.new_tag, change.new_digest, change.pointer)
    except ValueError as exc:
        raise InvalidInput(f"cannot edit {rel}: {exc}", "fix the file's JSON first") from None
    repo = git.open_repo(repo_root) if commit else None
    if repo is not None:
        git.check_clean(repo)
    _validate_candidate(repo_root, rel, new_text)
    path.write_text(new_text, encoding="utf-8")
    if repo is None:
        return result
    ref = ImageRef(None, None, first.new_tag, first.new_digest)
    result.message = message or default_message(service_name, env, ref, source, made)
    body = commit_body(result.message, rel, made, env, source)
    result.commit = git.commit_file(repo, path, body, text)
    return result


def push_promotion(repo_root: Path, result: PromoteResult, remote: str = "origin",
                   branch: str | None = None) -> PromoteResult:
    """Push the promotion commit (fast-forward only); no commit, nothing to push."""
    if result.commit is None:
        return result
    repo = git.open_repo(repo_root)
    target = git.push_branch(repo, branch, remote)
    git.push_head(repo, remote, target)
    result.pushed = f"{remote}/{target}"
    return result


def _load_env(repo_root: Path, env: str) -> Environment:
    path = repo_root / documents.ENVIRONMENTS_DIR / env / "environment.json"
    try:
        return Environment.from_doc(path.relative_to(repo_root),
                                    documents.read_json(path, root=repo_root), env)
    except documents.DocumentError as exc:
        raise InvalidInput(str(exc), "fix the environment document first") from None
    except (KeyError, TypeError, ValueError):
        raise InvalidInput(f"{path.relative_to(repo_root)} is incomplete",
                           "run `release validate` and fix it first") from None

