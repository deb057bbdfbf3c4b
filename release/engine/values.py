"""Values from outside git, filled in where a verb that talks to AWS has loaded its documents.

`resolve` is the one place: the engines call it right after they connect to
the environment (deploy's `prepare`, so also `plan` and `apply`; status,
history, rollback, run, logs, continue, verify, bootstrap, promote --from).
It finds the templates of environment.json and of the service's spec
(core/templates.py), has every value they need read once per run with the
environment's credentials (adapters/lookups.py), and returns the repository
with both documents filled in and checked again against their schemas: a
value that is missing, a SecureString, or of the wrong form is exit 1 naming
the file, the JSON pointer and the source, before anything is changed.
Documents without templates cost nothing here.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from release.core import redact, templates
from release.core.config import ConfigRepo, Environment, ServiceSpec
from release.core.errors import InvalidInput
from release.core.missing import Missing
from release.core.templates import Reference, Sources, Substitution
from release.output.events import Reporter


@dataclass(frozen=True)
class ResolvedRepo(ConfigRepo):
    """A repository some of whose documents are filled in: `done` names them (an environment
    by name, a service by its (env, file stem) key), so resolving again changes nothing and
    never reads a value's own text as a template."""

    done: frozenset[Any] = frozenset()
    values: tuple[Substitution, ...] = ()


@dataclass(frozen=True)
class Resolved:
    """The repository with one environment (and one service) filled in; what came from where."""

    repo: ConfigRepo
    env: Environment
    spec: ServiceSpec | None
    values: tuple[Substitution, ...] = ()


def resolve(repo: ConfigRepo, spec: ServiceSpec | None, aws: Any, env_name: str | None = None,
            environ: Mapping[str, str] | None = None) -> Resolved:
    """Fill in the templates of the environment's document and of `spec` (if given)."""
    env = repo.environment(spec.env if spec is not None else str(env_name))
    done = repo.done if isinstance(repo, ResolvedRepo) else frozenset()
    key = (spec.env, spec.name) if spec is not None else None
    if key in done:
        spec = repo.services[key]
    try:
        env_found = [] if env.name in done else templates.templates_of(env.doc)
    except templates.TemplateError as exc:
        raise InvalidInput(f"{env.path}#{exc.message}", exc.fix, where=str(env.path)) from None
    try:
        spec_found = templates.templates_of(spec.doc) if spec is not None and key not in done \
            else []
    except templates.TemplateError as exc:
        raise InvalidInput(f"{spec.path}#{exc.message}", exc.fix, where=str(spec.path)) from None
    if not env_found and not spec_found:
        return Resolved(repo, env, spec, _values_of(repo, env, spec))
    sources = _read(repo, env, aws, templates.wanted(env_found) | templates.wanted(spec_found))
    environ = os.environ if environ is None else environ

    def value(ref: Reference) -> str | Missing:
        return templates.value_of(ref, sources, environ)

    new_env, new_spec, values = env, spec, []
    problems: list[str] = []
    fixes: list[str] = []
    if env_found:
        doc = _filled(env.path.as_posix(), env.doc, value, "environment", repo.root, values,
                      problems, fixes)
        new_env = Environment.from_doc(env.path, doc, env.name) if not problems else env
    if spec is not None and spec_found:
        doc = _filled(spec.path.as_posix(), spec.doc, value, "service", repo.root, values,
                      problems, fixes)
        new_spec = _refilled(spec, doc) if not problems else spec
    if problems:
        raise InvalidInput(
            f"{len(problems)} value(s) from outside git cannot be used: " + "; ".join(problems),
            "; ".join(dict.fromkeys(fixes)) + "; nothing was changed",
            where=problems[0].split("#", 1)[0])
    services = dict(repo.services)
    if key is not None and new_spec is not None:
        services[key] = new_spec
    fields = {f.name: getattr(repo, f.name) for f in dataclasses.fields(ConfigRepo)}
    fields.update(environments={**repo.environments, env.name: new_env}, services=services)
    resolved = ResolvedRepo(**fields, done=done | {env.name} | ({key} if key else set()),
                            values=(*getattr(repo, "values", ()), *values))
    return Resolved(resolved, new_env, new_spec, _values_of(resolved, new_env, new_spec))


def _refilled(spec: ServiceSpec, doc: dict[str, Any]) -> ServiceSpec:
    """The spec read from its filled-in document, keeping what a verb set beside the document
    (`deploy --revision` names the revision to release)."""
    read = ServiceSpec.from_doc(spec.env, spec.path, spec.doc)
    kept = {f.name: getattr(spec, f.name) for f in dataclasses.fields(spec)
            if f.name != "doc" and getattr(spec, f.name) != getattr(read, f.name)}
    return dataclasses.replace(ServiceSpec.from_doc(spec.env, spec.path, doc), **kept)


def wanted(repo: ConfigRepo, env_name: str) -> bool:
    """Does the environment's document hold templates (to be filled in before use)?"""
    return bool(templates.templates_of(repo.environment(env_name).doc))


def _values_of(repo: ConfigRepo, env: Environment, spec: ServiceSpec | None
               ) -> tuple[Substitution, ...]:
    """The values filled into this environment's and this service's documents."""
    files = {env.path.as_posix(), *([spec.path.as_posix()] if spec is not None else [])}
    return tuple(v for v in getattr(repo, "values", ()) if v.file in files)


def _read(repo: ConfigRepo, env: Environment, aws: Any, refs: set[Reference]) -> Sources:
    if not refs:
        return Sources()
    from release.adapters import lookups
    from release.adapters.aws import aws_errors

    if callable(aws) and not hasattr(aws, "client"):  # a verb that may not need AWS
        aws = aws()  # passes a maker: connected only when a value is wanted
    state_at = (env.doc.get("values") or {}).get("tfstate")
    kinds = sorted({r.function for r in refs})
    with aws_errors(env, f"reading values from outside git ({', '.join(kinds)})"):
        return lookups.for_run(aws, repo.root).fetch(refs, state_at)


def _filled(rel: str, doc: dict[str, Any], value: Any, kind: str, root: Path,
            values: list[Substitution], problems: list[str], fixes: list[str]
            ) -> dict[str, Any]:
    filled = templates.fill(rel, doc, value)
    for pointer, ref, missing in filled.missing:
        problems.append(f"{rel}#{pointer}: {ref.source}: {missing.why}")
        fixes.append(missing.fix)
    values.extend(filled.substitutions)
    if not filled.missing:
        for finding in _schema_findings(root, kind, rel, filled.doc):
            came = [s for s in filled.substitutions
                    if s.pointer == finding.pointer or s.pointer.startswith(finding.pointer + "/")
                    or finding.pointer.startswith(s.pointer + "/")]
            source = ", ".join(dict.fromkeys(s.reference.source for s in came)) or "the document"
            problems.append(f"{rel}#{finding.pointer}: the value from {source} does not fit "
                            f"the schema: {finding.message}")
            fixes.append(f"fix the value at its source ({source}): {finding.fix}")
    return filled.doc


def _schema_findings(root: Path, kind: str, rel: str, doc: Any) -> list[Any]:
    """The document's schema findings once its values are in (patterns, lengths, enums)."""
    from release.core import schema_findings

    checker, _ = schema_findings.load_checker(root, kind)
    if checker is None or checker.is_valid(doc):
        return []
    return checker.findings(rel, doc)


def show(values: tuple[Substitution, ...], reporter: Reporter, kind: str) -> None:
    """One line per value from outside git: where it went, what it is, where it came from;
    a credential (by its shape, or under a name that says secret) shown as *** (core/redact.py:
    a String parameter may hold what should have been a SecureString)."""
    for item in values:
        label = "environment.json" if item.file.endswith("environment.json") else ""
        value = redact.mask_value(item.value, item.pointer.rsplit("/", 1)[-1])
        reporter.emit(f"{kind}.value", f"  {label}{item.pointer} = {value} "
                      f"({item.reference.source})", "dim", file=item.file, pointer=item.pointer,
                      value=value, source=item.reference.source)
