"""`promote`: pin a service to an image by editing only the pin's text, and commit it.

The file's formatting and key order survive byte for byte (`release.core.pin`);
the repository as it would be after the edit is validated before anything is
written, and the commit (`release.adapters.git`) holds that one file.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from release.adapters import git
from release.adapters.apicheck import register_task_definition_problems
from release.core import config, names
from release.core.changes import DOCUMENT_DIRS, service_name_of
from release.core.config import Environment
from release.core.errors import InvalidInput
from release.core.pin import ImageRef, parse_image_ref, rewrite_pin
from release.core.promotion import SourceRelease, trailers


@dataclass
class PromoteResult:
    """What a promotion changed (or found already pinned), and its commit if one was made."""

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

    def as_dict(self) -> dict[str, Any]:
        return {"env": self.env, "service": self.service, "file": str(self.path),
                "old": {"tag": self.old_tag, "digest": self.old_digest},
                "new": {"tag": self.new_tag, "digest": self.new_digest},
                "changed": self.changed, "commit": self.commit, "commit_message": self.message,
                "source": self.source.as_dict() if self.source else None, "pushed": self.pushed}


def default_message(service: str, env: str, ref: ImageRef,
                    source: SourceRelease | None = None) -> str:
    if source is not None:
        return (f"promote {service} in {env} to {source.env}'s release "
                f"{source.short_revision} ({ref.short})")
    return f"promote {service} to {ref.short} in {env}"


def commit_body(title: str, rel: str, old: tuple[str | None, str | None], ref: ImageRef,
                env: str, source: SourceRelease | None) -> str:
    """Title, the source release (promote --from), the pin before and after, the trailers."""
    parts = [title, *(["\n".join(source.describe())] if source else []),
             f"{rel}: image pin\n  was: tag={old[0]} digest={old[1]}\n"
             f"  now: tag={ref.tag} digest={ref.digest}",
             "\n".join(trailers(env, source))]
    return "\n\n".join(parts) + "\n"


def _spec_path(repo_root: Path, env: str, service: str) -> Path:
    """The spec file of `service` (file stem or serviceName) in `env`: a file of the repository,
    never one a name or a symbolic link leads outside it to (it is written)."""
    names.check_environment(env)
    names.check_service(service)
    svc_dir = repo_root / config.ENVIRONMENTS_DIR / env / "services"
    if not (repo_root / config.ENVIRONMENTS_DIR / env).is_dir():
        known = sorted(p.name for p in (repo_root / config.ENVIRONMENTS_DIR).glob("*")
                       if p.is_dir())
        raise InvalidInput(f"unknown environment {env!r}",
                           f"environments in this repository: {', '.join(known) or 'none'}")
    direct = svc_dir / f"{service}.json"
    if direct.is_file():
        return _within(repo_root, direct)
    for candidate in sorted(svc_dir.glob("*.json")):
        try:
            doc = config.read_json(candidate, root=repo_root)
        except config.DocumentError:
            continue
        if service_name_of(doc) == service:
            return candidate
    known = sorted(p.stem for p in svc_dir.glob("*.json"))
    raise InvalidInput(f"unknown service {service!r} in environment {env!r}",
                       f"services there: {', '.join(known) or 'none'}")



def _within(repo_root: Path, path: Path) -> Path:
    """`path` when it stays in the repository; a link out of it is refused (exit 1)."""
    if not config.inside(repo_root, path):
        error = config.outside_error(path.relative_to(repo_root))
        raise InvalidInput(f"{error.path}: {error.message}", error.fix)
    return path


def _validate_candidate(repo_root: Path, rel: str, new_text: str) -> None:
    """Validate the repository as it would be after the edit, before writing anything."""
    from release.core import validate

    with tempfile.TemporaryDirectory(prefix="release-promote-") as tmp:
        root = Path(tmp)
        for top in DOCUMENT_DIRS:
            source = repo_root / top
            for path in source.rglob("*") if source.is_dir() else []:
                if path.is_file() and config.inside(repo_root, path):  # links out: not copied
                    target = root / path.relative_to(repo_root)
                    target.parent.mkdir(parents=True, exist_ok=True)
                    target.write_bytes(path.read_bytes())
        (root / rel).write_text(new_text, encoding="utf-8")
        env = PurePosixPath(rel).parts[1]
        report = validate.validate_repo(root, [env], api_check=register_task_definition_problems)
        if report.errors:
            first = report.errors[0]
            raise InvalidInput(
                f"the promoted pin does not validate: {first.one_line()}"
                + (f" (and {len(report.errors) - 1} more)" if len(report.errors) > 1 else ""),
                "pin an immutable tag and/or the sha256 digest of an image in the environment's "
                "repository; nothing was changed",
            )




def _read_spec(path: Path, rel: str) -> tuple[str, dict[str, Any]]:
    """The spec's text and its document; a spec that does not parse is fixed first."""
    try:
        text = config.read_text(path)  # _spec_path found it within the repository
        doc = config.parse_json(text, rel)
    except config.DocumentError as exc:
        raise InvalidInput(f"{rel}: {exc.message}", "fix the file first (`release validate`)"
                           ) from None
    if not isinstance(doc, dict):
        raise InvalidInput(f"{rel}: a service spec is a JSON object, not {type(doc).__name__}",
                           "fix the file first (`release validate`)")
    return text, doc


def _require_env_repository(ref: ImageRef, image_ref: str, env_obj: Environment) -> None:
    """An image named with its location must be in the environment's own repository."""
    if ref.repository is not None and (ref.repository != env_obj.ecr_repository
                                       or ref.registry != env_obj.registry):
        raise InvalidInput(
            f"image {image_ref!r} is not in {env_obj.name}'s repository "
            f"{env_obj.repository_uri}",
            f"push it there first (`release build --env {env_obj.name} --push`), or pass "
            "tag@sha256:<digest> of an image that is",
        )


def promote_pin(repo_root: Path, env: str, service: str, image_ref: str, commit: bool = False,
                message: str | None = None, source: SourceRelease | None = None
                ) -> PromoteResult:
    """Pin `service` in `env` to `image_ref` by editing the spec's text; optionally commit it."""
    repo_root = Path(repo_root)
    path = _spec_path(repo_root, env, service)
    rel = path.relative_to(repo_root).as_posix()
    ref = parse_image_ref(image_ref)
    text, doc = _read_spec(path, rel)
    service_name = service_name_of(doc) or path.stem
    _require_env_repository(ref, image_ref, _load_env(repo_root, env))
    pin = doc.get("image") if isinstance(doc.get("image"), dict) else {}
    old_tag, old_digest = pin.get("tag"), pin.get("digest")
    result = PromoteResult(env, service_name, path, old_tag, old_digest, ref.tag, ref.digest,
                           changed=(old_tag, old_digest) != (ref.tag, ref.digest),
                           source=source)
    if not result.changed:
        return result
    try:
        new_text = rewrite_pin(text, ref.tag, ref.digest)
    except ValueError as exc:
        raise InvalidInput(f"cannot edit {rel}: {exc}", "fix the file's JSON first") from None
    repo = git.open_repo(repo_root) if commit else None
    if repo is not None:
        git.check_clean(repo)
    _validate_candidate(repo_root, rel, new_text)
    path.write_text(new_text, encoding="utf-8")
    if repo is None:
        return result
    result.message = message or default_message(service_name, env, ref, source)
    body = commit_body(result.message, rel, (old_tag, old_digest), ref, env, source)
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
    path = repo_root / config.ENVIRONMENTS_DIR / env / "environment.json"
    try:
        return Environment.from_doc(path.relative_to(repo_root),
                                    config.read_json(path, root=repo_root), env)
    except config.DocumentError as exc:
        raise InvalidInput(str(exc), "fix the environment document first") from None
    except (KeyError, TypeError, ValueError):
        raise InvalidInput(f"{path.relative_to(repo_root)} is incomplete",
                           "run `release validate` and fix it first") from None

