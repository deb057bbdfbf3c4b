"""A preflight Context over stubbed clients: one check at a time, in AWS's own shapes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from release.core.config import ConfigRepo, Environment, ServiceSpec, load_repo
from release.core.plan import Live
from release.core.references import Origin
from release.core.render import pinned_container, render_taskdef
from release.engine.preflight.context import PLAN, Context

PROJECT = Path(__file__).resolve().parents[2]


class Clients:
    """`aws` for a Context: the stubbed clients by name (any Region: client_in)."""

    def __init__(self, **clients: Any) -> None:
        self.__dict__.update(clients)

    def client_in(self, name: str, region: str) -> Any:
        return getattr(self, f"{name}_{region.replace('-', '_')}", None) or getattr(self, name)


def context(env: Environment, spec: ServiceSpec, aws: Any, *,
            taskdef: dict[str, Any] | None = None, live: Live | None = None,
            mode: str = PLAN, repo: ConfigRepo | None = None) -> Context:
    """The context preflight builds for git's version of `spec` (`taskdef`: rendered)."""
    repo = repo or load_repo(PROJECT)
    written = repo.taskdef_for(spec)
    rendered = taskdef if taskdef is not None else render_taskdef(env, spec, written)
    pins = {pinned_container(spec, pin, written): pin.pointer for pin in spec.images}
    origin = Origin(written.path, written.doc, spec, pins)
    return Context(env, spec, aws, rendered, origin, live or Live(None, None), mode)


def by_check(results: list[Any]) -> list[tuple[str, str]]:
    return [(r.status, r.resource) for r in results]
