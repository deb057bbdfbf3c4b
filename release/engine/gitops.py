"""Git as the release request: what a commit range changes in effect, and promotion commits.

`changed_between` reads the documents of two revisions straight from git's
object store (no checkout, the working tree is never touched), renders every
service the way a release would (task definition + overrides + image pin,
service settings, its environment's document) and compares the results. So a
README edit, re-indented JSON, reordered keys or a `$schema` comment change
nothing, while a task-definition edit changes every service that uses it.

Services are identified by (environment, serviceName), which is what ECS
knows them by: renaming a spec file whose serviceName stays the same is not a
change, and changing a serviceName is a new service plus a removed one.

`promote_pin` edits only the text of the image pin in a service spec, so the
file's formatting and key order survive byte for byte, and can make the one
commit that records the promotion.
"""

from __future__ import annotations

import dataclasses
import json
import re
import tempfile
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

from release.adapters.apicheck import register_task_definition_problems
from release.core import config
from release.core.config import ConfigRepo, Environment, ServiceSpec, TaskDefinition
from release.core.errors import InvalidInput, ReleaseError
from release.core.render import image_container, render_taskdef

if TYPE_CHECKING:  # gitpython is imported inside functions: `release --help` stays fast
    import git

DOCUMENT_DIRS = (config.ENVIRONMENTS_DIR, config.TASKDEFS_DIR, config.SCHEMAS_DIR)

ADDED, CHANGED, REMOVED = "added", "changed", "removed"


# --------------------------------------------------------------------------- reading git


def open_repo(path: Path) -> git.Repo:
    """The git repository holding `path`; a folder outside git is an input error."""
    import git

    try:
        return git.Repo(path, search_parent_directories=True)
    except (git.InvalidGitRepositoryError, git.NoSuchPathError):
        raise InvalidInput(
            f"{path} is not inside a git repository",
            "run from a clone of the config repository or pass --repo PATH",
        ) from None


def resolve(repo: git.Repo, rev: str) -> git.Commit:
    """A revision (sha, branch, tag, HEAD~2 ...) as a commit, or a clear input error."""
    import git

    try:
        return repo.commit(rev)
    except (git.BadName, git.BadObject, ValueError):
        raise InvalidInput(
            f"unknown git revision {rev!r}",
            "pass a commit, branch or tag that exists in this clone (`git log --oneline`); "
            "in a shallow clone fetch more history first",
        ) from None


def config_prefix(repo: git.Repo, root: Path) -> str:
    """Where the config repository sits inside the git repository ("" at its top)."""
    top = Path(repo.working_tree_dir or root).resolve()
    try:
        rel = Path(root).resolve().relative_to(top).as_posix()
    except ValueError:
        return ""
    return "" if rel == "." else rel


def tree_documents(commit: git.Commit, prefix: str = "") -> dict[str, bytes]:
    """The document files (environments/, taskdefs/, schemas/) of a commit: path → bytes.

    Paths are relative to the config repository, which may be a folder (`prefix`)
    of a larger git repository.
    """
    files: dict[str, bytes] = {}
    for top in DOCUMENT_DIRS:
        try:
            subtree = commit.tree / (f"{prefix}/{top}" if prefix else top)
        except KeyError:
            continue
        for item in subtree.traverse():
            if item.type == "blob":
                rel = item.path[len(prefix) + 1:] if prefix else item.path
                files[rel] = item.data_stream.read()
    return files


def write_documents(files: dict[str, bytes], dest: Path) -> Path:
    """Materialise documents read from git into a folder laid out like the repository."""
    for rel, data in files.items():
        target = dest / PurePosixPath(rel)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    (dest / config.ENVIRONMENTS_DIR).mkdir(exist_ok=True)
    return dest


# --------------------------------------------------------------------------- effective state


@dataclass(frozen=True)
class ServiceState:
    """What one service would run, in parts that say *why* two states differ."""

    env: str
    service_name: str
    file: str  # repo-relative spec path
    promotion_order: int
    parts: dict[str, Any] | None  # None: the documents could not be read at this revision

    def differences(self, other: ServiceState) -> list[str]:
        if self.parts is None or other.parts is None:
            return ["documents unreadable at the earlier revision"]
        return [PART_LABELS[k] for k in PART_LABELS if self.parts.get(k) != other.parts.get(k)]


PART_LABELS = {
    "image": "image pin",
    "taskdef": "task definition",
    "service": "service settings",
    "environment": "environment",
}


def _strip_editor_keys(doc: Any) -> Any:
    """Drop `$schema`-style keys: editor hints, not settings."""
    if isinstance(doc, dict):
        return {k: _strip_editor_keys(v) for k, v in doc.items() if not k.startswith("$")}
    return doc


def service_parts(env: Environment, spec: ServiceSpec, taskdef: TaskDefinition) -> dict[str, Any]:
    """The rendered result that a release deploys, split into comparable parts."""
    rendered = render_taskdef(env, spec, taskdef)
    target = image_container(spec, taskdef)
    image = None
    for container in rendered.get("containerDefinitions", []):
        if container.get("name") == target:
            image = container.pop("image", None)
    return {
        "image": image,
        "taskdef": rendered,
        "service": {"family": spec.family, **_strip_editor_keys(spec.service)},
        "environment": _strip_editor_keys(env.doc),
    }


def _parse(files: dict[str, bytes], rel: str) -> Any:
    try:
        return config.parse_json(config.decode(files[rel], rel), rel)
    except (KeyError, config.DocumentError):
        return None


def effective_state(files: dict[str, bytes]) -> dict[tuple[str, str], ServiceState]:
    """Every service's effective state at one revision, keyed by (env, serviceName).

    Lenient on purpose: the earlier end of a range may hold documents that were
    broken then; such a service compares as changed instead of failing the command.
    """
    env_dirs: dict[str, dict[str, str]] = {}
    pattern = re.compile(r"^environments/([^/]+)/(?:(environment\.json)|services/([^/]+)\.json)$")
    for rel in files:
        m = pattern.match(rel)
        if m:
            entry = env_dirs.setdefault(m.group(1), {})
            if m.group(2):
                entry[""] = rel
            else:
                entry[m.group(3)] = rel
    states: dict[tuple[str, str], ServiceState] = {}
    for env_name, docs in sorted(env_dirs.items()):
        env_rel = docs.pop("", f"environments/{env_name}/environment.json")
        env_doc = _parse(files, env_rel)
        try:
            env = Environment.from_doc(Path(env_rel), env_doc, env_name)
            order = env.promotion_order
        except (KeyError, TypeError, ValueError, AttributeError):
            env, order = None, _promotion_order_of(env_doc)
        for stem, spec_rel in sorted(docs.items()):
            spec_doc = _parse(files, spec_rel)
            name = _service_name_of(spec_doc) or stem
            parts = None
            if env is not None and spec_doc is not None:
                try:
                    spec = ServiceSpec.from_doc(env_name, Path(spec_rel), spec_doc)
                    td_doc = _parse(files, spec.taskdef_file)
                    if isinstance(td_doc, dict):
                        parts = service_parts(env, spec, TaskDefinition(spec.taskdef_file, td_doc))
                except (KeyError, TypeError, ValueError, AttributeError, IndexError):
                    parts = None
            states[(env_name, name)] = ServiceState(env_name, name, spec_rel, order, parts)
    return states


def _service_name_of(doc: Any) -> str | None:
    try:
        name = doc["service"]["serviceName"]
    except (KeyError, TypeError):
        return None
    return name if isinstance(name, str) and name else None


def _promotion_order_of(doc: Any) -> int:
    try:
        return int(doc["promotion"]["order"])
    except (KeyError, TypeError, ValueError):
        return 0


@dataclass(frozen=True)
class Change:
    """One (environment, service) pair that a commit range changes in effect."""

    env: str
    service: str  # serviceName
    file: str
    kind: str  # added | changed | removed
    reasons: list[str] = field(default_factory=list)
    promotion_order: int = 0

    @property
    def releasable(self) -> bool:
        """Removed services are reported, never released (deleting a service is a person's call)."""
        return self.kind != REMOVED

    def as_dict(self) -> dict[str, Any]:
        return {"env": self.env, "service": self.service, "file": self.file,
                "change": self.kind, "reasons": list(self.reasons)}


def compare_states(before: dict[tuple[str, str], ServiceState],
                   after: dict[tuple[str, str], ServiceState]) -> list[Change]:
    """The changes in effect, in promotion order; per environment releases first, then removals."""
    changes: list[Change] = []
    by_file = {(s.env, s.file): key for key, s in after.items()}
    before = dict(before)
    for key, old in list(before.items()):  # unreadable then: match it by its file instead
        now = by_file.get((old.env, old.file))
        if old.parts is None and now is not None and now != key and now not in before:
            before[now] = before.pop(key)
    for key, new in after.items():
        old = before.get(key)
        if old is None:
            changes.append(Change(new.env, new.service_name, new.file, ADDED, ["new service"],
                                  new.promotion_order))
            continue
        reasons = new.differences(old) if old.parts != new.parts or new.parts is None else []
        if reasons:
            changes.append(Change(new.env, new.service_name, new.file, CHANGED, reasons,
                                  new.promotion_order))
    env_orders = {s.env: s.promotion_order for s in after.values()}
    for key, old in before.items():
        if key not in after:
            order = env_orders.get(old.env, old.promotion_order)
            changes.append(Change(old.env, old.service_name, old.file, REMOVED,
                                  ["spec deleted: not released; delete the ECS service by hand "
                                   "if that is intended"], order))
    return sorted(changes, key=lambda c: (c.promotion_order, c.env, c.kind == REMOVED, c.service))


# --------------------------------------------------------------------------- changed


@dataclass
class ChangeSet:
    since: str  # full shas
    until: str
    changes: list[Change]

    @property
    def releasable(self) -> list[Change]:
        return [c for c in self.changes if c.releasable]


class InvalidAtRevision(InvalidInput):
    """The documents at the end of the range do not validate; carries the findings."""

    def __init__(self, message: str, hint: str, findings: list[Any]) -> None:
        super().__init__(message, hint)
        self.findings = findings


def validate_documents(root: Path, rev_label: str) -> None:
    """The documents at `root` must validate (schemas + rules) before anything is released."""
    from release.core import validate

    report = validate.validate_repo(root, None, api_check=register_task_definition_problems)
    if report.errors:
        raise InvalidAtRevision(
            f"the documents at {rev_label} have {len(report.errors)} validation error(s)",
            f"fix them in a new commit (run `release validate` on a checkout of {rev_label}); "
            "nothing was released",
            list(report.errors),
        )


def changed_between(repo_path: Path, since: str, until: str = "HEAD",
                    validate: bool = True) -> ChangeSet:
    """Which (env, service) pairs the range since..until changes in effect.

    An empty `since` (Jenkins' GIT_PREVIOUS_SUCCESSFUL_COMMIT on a first build)
    means nothing was released before: every service counts as added.

    Only the two endpoint trees are compared, so merge commits, reverts and
    rebases in between count for what they leave behind, not for their steps.
    """
    repo = open_repo(repo_path)
    prefix = config_prefix(repo, repo_path)
    new_commit = resolve(repo, until)
    new_files = tree_documents(new_commit, prefix)
    if since.strip():
        old_commit = resolve(repo, since)
        require_forward(repo, old_commit, new_commit, since, until)
        old_sha, old_files = old_commit.hexsha, tree_documents(old_commit, prefix)
    else:  # nothing released yet (a pipeline's first build): everything is new
        old_sha, old_files = "", {}
    if validate:
        with tempfile.TemporaryDirectory(prefix="release-rev-") as tmp:
            validate_documents(write_documents(new_files, Path(tmp)),
                               f"{until} ({new_commit.hexsha[:12]})")
    changes = compare_states(effective_state(old_files), effective_state(new_files))
    return ChangeSet(old_sha, new_commit.hexsha, changes)


def require_forward(repo: git.Repo, old: git.Commit, new: git.Commit, since: str,
                    until: str) -> None:
    """--until must descend from --since: a range read backwards would plan the older pins
    as changes and release them (a rollback nobody asked for)."""
    if old.hexsha == new.hexsha or repo.is_ancestor(old, new):
        return
    bases = repo.merge_base(old, new)
    base = f" (their common ancestor is {bases[0].hexsha[:12]})" if bases else ""
    raise InvalidInput(
        f"--until {until} ({new.hexsha[:12]}) does not descend from --since {since} "
        f"({old.hexsha[:12]}){base}: the range is backwards or history was rewritten",
        "pass the older commit as --since and the newer as --until; to go back to an older "
        "pin use `release rollback` or `release promote`; in a shallow clone fetch more "
        "history first; nothing was changed")


def load_repo_at(commit: git.Commit, dest: Path, prefix: str = "") -> ConfigRepo:
    """Write a commit's documents to `dest` and load them as a ConfigRepo of that commit."""
    loaded = config.load_repo(write_documents(tree_documents(commit, prefix), dest))
    return dataclasses.replace(loaded, commit=commit.hexsha)


# --------------------------------------------------------------------------- promote


DIGEST_RE = re.compile(r"^sha256:[0-9a-f]{64}$")
TAG_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")


@dataclass(frozen=True)
class ImageRef:
    """A parsed --image argument: where it lives (if said) and the pin it asks for."""

    registry: str | None
    repository: str | None
    tag: str | None
    digest: str | None

    @property
    def short(self) -> str:
        """How a commit message names it: the digest (12 hex) else the tag."""
        if self.digest:
            return f"{self.digest[:19]}…"
        return str(self.tag)


def parse_image_ref(ref: str) -> ImageRef:
    """`<registry>/<repo>@sha256:…`, `<registry>/<repo>:tag[@sha256:…]`, `tag@sha256:…`, `tag`,
    or `sha256:…`."""
    text = ref.strip()
    registry = repository = None
    name = text
    if "/" in text.split("@", 1)[0]:
        location, _, last = text.rpartition("/")
        first, _, rest = location.partition("/")
        registry, repository_prefix = first, rest
        name_part = re.split(r"[:@]", last, maxsplit=1)[0]
        repository = f"{repository_prefix}/{name_part}" if repository_prefix else name_part
        name = last[len(name_part):]
        if not name:
            raise _bad_ref(ref, "it names a repository but no tag or digest")
        if name[0] == ":":
            name = name[1:]
    tag, digest = name, None
    if "@" in name:
        tag, _, digest = name.partition("@")
    elif name.startswith("sha256:"):
        tag, digest = "", name
    tag = tag or None
    if digest is not None and not DIGEST_RE.match(digest):
        raise _bad_ref(ref, f"{digest!r} is not a sha256 digest (sha256: and 64 hex digits)")
    if tag is not None and not TAG_RE.match(tag):
        raise _bad_ref(ref, f"{tag!r} is not a valid image tag")
    if tag is None and digest is None:
        raise _bad_ref(ref, "it has neither a tag nor a digest")
    return ImageRef(registry, repository, tag, digest)


def _bad_ref(ref: str, why: str) -> InvalidInput:
    return InvalidInput(
        f"cannot use image reference {ref!r}: {why}",
        "pass <registry>/<repository>@sha256:<digest>, <registry>/<repository>:<tag>, or "
        "<tag>@sha256:<digest> (the digest `release build --format json` printed)",
    )


@dataclass(frozen=True)
class Span:
    start: int
    end: int


@dataclass
class Member:
    key: str
    member_start: int  # the key's opening quote
    value: Span


_WS = re.compile(r"[ \t\n\r]*")


def object_members(text: str, start: int) -> tuple[list[Member], int]:
    """Members of the JSON object at `start` with the positions of their values.

    A position-aware scan: editing values by position is what keeps the rest of
    the file byte-for-byte as its author wrote it.
    """
    decoder = json.JSONDecoder()
    if text[start:start + 1] != "{":
        raise ValueError(f"expected an object at offset {start}")
    pos = _WS.match(text, start + 1).end()
    members: list[Member] = []
    if text[pos:pos + 1] == "}":
        return members, pos + 1
    while True:
        if text[pos:pos + 1] != '"':
            raise ValueError(f"expected a key at offset {pos}")
        key, after_key = json.decoder.scanstring(text, pos + 1)
        colon = _WS.match(text, after_key).end()
        if text[colon:colon + 1] != ":":
            raise ValueError(f"expected ':' at offset {colon}")
        value_start = _WS.match(text, colon + 1).end()
        _, value_end = decoder.raw_decode(text, value_start)
        members.append(Member(key, pos, Span(value_start, value_end)))
        pos = _WS.match(text, value_end).end()
        if text[pos:pos + 1] == "}":
            return members, pos + 1
        if text[pos:pos + 1] != ",":
            raise ValueError(f"expected ',' or '}}' at offset {pos}")
        pos = _WS.match(text, pos + 1).end()


def _last(members: list[Member], key: str) -> Member | None:
    found = [m for m in members if m.key == key]
    return found[-1] if found else None


def rewrite_pin(text: str, tag: str | None, digest: str | None) -> str:
    """The spec text with only image.tag / image.digest changed.

    A value that the new pin does not have is removed (a stale digest next to
    a new tag would silently win); a missing key is added after the last member,
    indented like its siblings.
    """
    top_start = _WS.match(text, 0).end()
    members, _ = object_members(text, top_start)
    image = _last(members, "image")
    if image is None or text[image.value.start] != "{":
        raise InvalidInput("the service spec has no \"image\" object to rewrite",
                           "add \"image\": {\"container\": ..., \"tag\": ..., \"digest\": ...} "
                           "to the spec once by hand")
    edits: list[tuple[int, int, str]] = []  # (start, end, replacement), applied back to front
    image_members, image_end = object_members(text, image.value.start)
    wanted = {"tag": tag, "digest": digest}
    to_add: list[str] = []
    for key in ("tag", "digest"):
        member = _last(image_members, key)
        value = wanted[key]
        if member is not None and value is not None:
            edits.append((member.value.start, member.value.end, json.dumps(value)))
        elif member is not None and value is None:
            edits.append(_removal(text, image_members, member, image.value.start))
        elif value is not None:
            to_add.append(key)
    if to_add:
        edits.append(_insertion(text, image_members, image.value.start, image_end,
                                [(k, wanted[k]) for k in to_add]))
    for start, end, replacement in sorted(edits, key=lambda e: e[0], reverse=True):
        text = text[:start] + replacement + text[end:]
    return text


def _removal(text: str, members: list[Member], member: Member, obj_start: int
             ) -> tuple[int, int, str]:
    """The span that deletes one member and exactly one neighbouring comma."""
    index = members.index(member)
    if index > 0:  # delete from the end of the previous value through this value
        return members[index - 1].value.end, member.value.end, ""
    if len(members) > 1:  # first of several: delete through the next member's start
        return member.member_start, members[1].member_start, ""
    return obj_start + 1, member.value.end, ""


def _insertion(text: str, members: list[Member], obj_start: int, obj_end: int,
               pairs: list[tuple[str, Any]]) -> tuple[int, int, str]:
    """Text adding members after the last one, in the style (indent, spacing) of the object."""
    if members:
        last = members[-1]
        line_start = text.rfind("\n", 0, last.member_start) + 1
        indent = text[line_start:last.member_start]
        separator = (",\n" + indent) if indent.strip() == "" and line_start > obj_start else ", "
        colon = text[text.index(":", members[0].member_start):members[0].value.start]
        added = "".join(f"{separator}{json.dumps(k)}{colon}{json.dumps(v)}" for k, v in pairs)
        return last.value.end, last.value.end, added
    added = ", ".join(f"{json.dumps(k)}: {json.dumps(v)}" for k, v in pairs)
    return obj_start + 1, obj_end - 1, added


@dataclass
class PromoteResult:
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

    def as_dict(self) -> dict[str, Any]:
        return {"env": self.env, "service": self.service, "file": str(self.path),
                "old": {"tag": self.old_tag, "digest": self.old_digest},
                "new": {"tag": self.new_tag, "digest": self.new_digest},
                "changed": self.changed, "commit": self.commit, "commit_message": self.message}


def default_message(service: str, env: str, ref: ImageRef) -> str:
    return f"promote {service} to {ref.short} in {env}"


def _spec_path(repo_root: Path, env: str, service: str) -> Path:
    """The spec file of `service` (file stem or serviceName) in `env`."""
    svc_dir = repo_root / config.ENVIRONMENTS_DIR / env / "services"
    if not (repo_root / config.ENVIRONMENTS_DIR / env).is_dir():
        known = sorted(p.name for p in (repo_root / config.ENVIRONMENTS_DIR).glob("*")
                       if p.is_dir())
        raise InvalidInput(f"unknown environment {env!r}",
                           f"environments in this repository: {', '.join(known) or 'none'}")
    direct = svc_dir / f"{service}.json"
    if direct.is_file():
        return direct
    for candidate in sorted(svc_dir.glob("*.json")):
        try:
            doc = config.read_json(candidate)
        except config.DocumentError:
            continue
        if _service_name_of(doc) == service:
            return candidate
    known = sorted(p.stem for p in svc_dir.glob("*.json"))
    raise InvalidInput(f"unknown service {service!r} in environment {env!r}",
                       f"services there: {', '.join(known) or 'none'}")


def _check_clean(repo: git.Repo, rel: str) -> None:
    """Refuse to commit when anything but the pin would end up in (or be hidden by) the commit."""
    dirty = {d.a_path for d in repo.index.diff(None)} | {d.b_path for d in repo.index.diff(None)}
    if repo.head.is_valid():
        staged = repo.index.diff("HEAD")
        dirty |= {d.a_path for d in staged} | {d.b_path for d in staged}
    dirty.discard(None)
    if dirty:
        shown = ", ".join(sorted(dirty)[:5]) + (" ..." if len(dirty) > 5 else "")
        raise InvalidInput(
            f"the working tree has uncommitted changes ({shown}); a promotion commit must "
            "contain the pin and nothing else",
            "commit or discard those changes first (`git status`), then promote again; "
            "nothing was changed",
        )


def _validate_candidate(repo_root: Path, rel: str, new_text: str) -> None:
    """Validate the repository as it would be after the edit, before writing anything."""
    from release.core import validate

    with tempfile.TemporaryDirectory(prefix="release-promote-") as tmp:
        root = Path(tmp)
        for top in DOCUMENT_DIRS:
            source = repo_root / top
            for path in source.rglob("*") if source.is_dir() else []:
                if path.is_file():
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


def promote_pin(repo_root: Path, env: str, service: str, image_ref: str, commit: bool = False,
                message: str | None = None) -> PromoteResult:
    """Pin `service` in `env` to `image_ref` by editing the spec's text; optionally commit it."""
    repo_root = Path(repo_root)
    path = _spec_path(repo_root, env, service)
    rel = path.relative_to(repo_root).as_posix()
    ref = parse_image_ref(image_ref)
    try:
        text = config.read_text(path)
        doc = config.parse_json(text, rel)
    except config.DocumentError as exc:
        raise InvalidInput(f"{rel}: {exc.message}", "fix the file first (`release validate`)"
                           ) from None
    if not isinstance(doc, dict):
        raise InvalidInput(f"{rel}: a service spec is a JSON object, not {type(doc).__name__}",
                           "fix the file first (`release validate`)")
    service_name = _service_name_of(doc) or path.stem
    env_obj = _load_env(repo_root, env)
    if ref.repository is not None and (ref.repository != env_obj.ecr_repository
                                       or ref.registry != env_obj.registry):
        raise InvalidInput(
            f"image {image_ref!r} is not in {env}'s repository {env_obj.repository_uri}",
            f"push it there first (`release build --env {env} --push`), or pass "
            "tag@sha256:<digest> of an image that is",
        )
    pin = doc.get("image") if isinstance(doc.get("image"), dict) else {}
    old_tag, old_digest = pin.get("tag"), pin.get("digest")
    new_tag = ref.tag
    new_digest = ref.digest
    result = PromoteResult(env, service_name, path, old_tag, old_digest, new_tag, new_digest,
                           changed=(old_tag, old_digest) != (new_tag, new_digest))
    if not result.changed:
        return result
    try:
        new_text = rewrite_pin(text, new_tag, new_digest)
    except ValueError as exc:
        raise InvalidInput(f"cannot edit {rel}: {exc}", "fix the file's JSON first") from None
    repo = open_repo(repo_root) if commit else None
    if repo is not None:
        _check_clean(repo, rel)
    _validate_candidate(repo_root, rel, new_text)
    path.write_text(new_text, encoding="utf-8")
    if repo is None:
        return result
    result.message = message or default_message(service_name, env, ref)
    body = (f"{result.message}\n\n{rel}: image pin\n"
            f"  was: tag={old_tag} digest={old_digest}\n"
            f"  now: tag={new_tag} digest={new_digest}\n")
    result.commit = _commit_file(repo, repo_root, path, body, text)
    return result


def _load_env(repo_root: Path, env: str) -> Environment:
    path = repo_root / config.ENVIRONMENTS_DIR / env / "environment.json"
    try:
        return Environment.from_doc(path.relative_to(repo_root), config.read_json(path), env)
    except config.DocumentError as exc:
        raise InvalidInput(str(exc), "fix the environment document first") from None
    except (KeyError, TypeError, ValueError):
        raise InvalidInput(f"{path.relative_to(repo_root)} is incomplete",
                           "run `release validate` and fix it first") from None


def _commit_file(repo: git.Repo, repo_root: Path, path: Path, message: str,
                 previous_text: str) -> str:
    """Commit exactly one file; restore it if git refuses (bad input changes nothing)."""
    import git

    work_rel = path.resolve().relative_to(Path(repo.working_tree_dir).resolve()).as_posix()
    try:
        repo.git.add("--", work_rel)
        repo.git.commit("-m", message, "--", work_rel)
    except git.GitCommandError as exc:
        path.write_text(previous_text, encoding="utf-8")
        with suppress(git.GitCommandError):
            repo.git.reset("-q", "--", work_rel)
        detail = (exc.stderr or "").strip().splitlines()
        raise ReleaseError(
            f"git refused the promotion commit: {detail[-1] if detail else exc}",
            "set user.name/user.email (`git config`), check commit hooks, and retry; "
            "the spec file was restored",
        ) from None
    return repo.head.commit.hexsha
