"""What a set of documents releases, and what changes in effect between two such sets.

Every service is rendered the way a release would render it (task definition +
overrides + image pins, service settings, its environment's document) and the
results are compared. So a README edit, re-indented JSON, reordered keys or a
`$schema` comment change nothing, while a task-definition edit changes every
service that uses it.

Services are identified by (environment, serviceName), which is what ECS
knows them by: renaming a spec file whose serviceName stays the same is not a
change, and changing a serviceName is a new service plus a removed one.

Pure: the documents come in as bytes (from git, read by `release.adapters.git`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from release.core import documents
from release.core.config import Environment, ServiceSpec, TaskDefinition
from release.core.render import pinned_images, render_taskdef

DOCUMENT_DIRS = (documents.ENVIRONMENTS_DIR, documents.TASKDEFS_DIR, documents.SCHEMAS_DIR)

ADDED, CHANGED, REMOVED = "added", "changed", "removed"


def write_documents(files: dict[str, bytes], dest: Path) -> Path:
    """Materialise documents read from git into a folder laid out like the repository."""
    for rel, data in files.items():
        target = dest / PurePosixPath(rel)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    (dest / documents.ENVIRONMENTS_DIR).mkdir(exist_ok=True)
    return dest


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
    targets = set(pinned_images(env, spec, taskdef))
    images = {}
    for container in rendered.get("containerDefinitions", []):
        if container.get("name") in targets:
            images[container["name"]] = container.pop("image", None)
    return {
        "image": images,  # {container: image} of every pinned container
        "taskdef": rendered,
        "service": {"family": spec.family, **_strip_editor_keys(spec.service)},
        "environment": _strip_editor_keys(env.doc),
    }


def revision_parts(env: Environment, spec: ServiceSpec) -> dict[str, Any]:
    """A spec naming an existing revision: the revision it names stands for the task
    definition and the image (read offline, its content is AWS's, not git's)."""
    return {
        "image": None,
        "taskdef": {"revision": spec.revision},
        "service": {"family": spec.family, **_strip_editor_keys(spec.service)},
        "environment": _strip_editor_keys(env.doc),
    }


def _parse(files: dict[str, bytes], rel: str) -> Any:
    try:
        return documents.parse_json(documents.decode(files[rel], rel), rel)
    except (KeyError, documents.DocumentError):
        return None


def effective_state(files: dict[str, bytes]) -> dict[tuple[str, str], ServiceState]:
    """Every service's effective state at one revision, keyed by (env, serviceName).

    Lenient on purpose: the earlier end of a range may hold documents that were
    broken then; such a service compares as changed instead of failing the command.
    """
    states: dict[tuple[str, str], ServiceState] = {}
    for env_name, docs in sorted(_documents_by_env(files).items()):
        env_rel = docs.pop("", f"environments/{env_name}/environment.json")
        env_doc = _parse(files, env_rel)
        try:
            env = Environment.from_doc(Path(env_rel), env_doc, env_name)
            order = env.promotion_order
        except (KeyError, TypeError, ValueError, AttributeError):
            env, order = None, _promotion_order_of(env_doc)
        for stem, spec_rel in sorted(docs.items()):
            spec_doc = _parse(files, spec_rel)
            name = service_name_of(spec_doc) or stem
            parts = None
            if env is not None and spec_doc is not None:
                try:
                    spec = ServiceSpec.from_doc(env_name, Path(spec_rel), spec_doc)
                    td_doc = _parse(files, spec.taskdef_file) if spec.taskdef_file else None
                    if spec.revision:  # a revision registered elsewhere: its name is its effect
                        parts = revision_parts(env, spec)
                    elif isinstance(td_doc, dict):
                        parts = service_parts(env, spec, TaskDefinition(spec.taskdef_file, td_doc))
                except (KeyError, TypeError, ValueError, AttributeError, IndexError):
                    parts = None
            states[(env_name, name)] = ServiceState(env_name, name, spec_rel, order, parts)
    return states


def _documents_by_env(files: dict[str, bytes]) -> dict[str, dict[str, str]]:
    """Per environment: its document under the key "" and each spec under its file stem."""
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
    return env_dirs


def service_name_of(doc: Any) -> str | None:
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


@dataclass
class ChangeSet:
    """The changes in effect of one commit range, by the full shas of its ends."""

    since: str  # full shas
    until: str
    changes: list[Change]

    @property
    def releasable(self) -> list[Change]:
        return [c for c in self.changes if c.releasable]

