"""What every rule family shares: the rule catalogue, the context a rule reads, helpers.

A rule is a function `Context -> Iterator[Finding]` declared with `@rule`,
which records its id, severity, summary and usual fix in `CATALOGUE` (the
table in docs/validation.md is generated from it). Which rules run is decided
by the registry in `release/core/rules/__init__.py`, not by importing.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from release.core import config, render, rolling
from release.core.findings import Finding, Loaded, RequestCheck, did_you_mean
from release.core.rolling import containers


@dataclass(frozen=True)
class Rule:
    id: str
    severity: str
    summary: str
    fix: str


CATALOGUE: dict[str, Rule] = {}
# each id's module: the table's order is the families' order, not the order of imports
WRITTEN_IN: dict[str, str] = {}
RuleFn = Callable[["Context"], Iterator[Finding]]


def rule(id: str, severity: str, summary: str, fix: str) -> Callable[[RuleFn], RuleFn]:
    """Describe a rule function under its id; the registry list decides that it runs."""

    def describe_fn(fn: RuleFn) -> RuleFn:
        describe(id, severity, summary, fix, module=fn.__module__)
        fn.rule_id = id  # type: ignore[attr-defined]
        return fn

    return describe_fn


def describe(id: str, severity: str, summary: str, fix: str, module: str | None = None
             ) -> None:
    """Add a rule to the catalogue (also for checks made by the document layer)."""
    CATALOGUE[id] = Rule(id, severity, summary, fix)
    WRITTEN_IN[id] = module or sys._getframe(1).f_globals.get("__name__", "")


def finding(rule_id: str, file: str, pointer: str, message: str, fix: str | None = None,
            severity: str | None = None) -> Finding:
    """A finding of a catalogued rule, with the rule's severity and fix unless given."""
    meta = CATALOGUE[rule_id]
    return Finding(severity or meta.severity, rule_id, file, pointer, message, fix or meta.fix)


@dataclass
class ServiceView:
    """One service with everything its rules need, resolved once."""

    env_name: str
    rel: str
    doc: dict[str, Any]
    spec: config.ServiceSpec
    env: config.Environment | None
    env_rel: str | None
    taskdef_rel: str
    taskdef: dict[str, Any] | None  # None when missing or broken
    effective: dict[str, Any] | None = None  # effective_taskdef's answer, made on first use
    plan: tuple[Any, rolling.RollingPlan | None] | None = None  # service_plan's, by taskdef


class Context:
    """The loaded documents as typed views, and the edge's API request check (if any)."""

    def __init__(self, loaded: Loaded, request_check: RequestCheck | None = None) -> None:
        self.loaded = loaded
        self.request_check = request_check
        self.environments: dict[str, tuple[str, config.Environment]] = {}
        self.services: list[ServiceView] = []
        for name, (rel, doc) in loaded.environments.items():
            self.environments[name] = (rel, config.Environment.from_doc(
                Path(rel), doc, name))
        for (env_name, _), (rel, doc) in loaded.services.items():
            spec = config.ServiceSpec.from_doc(env_name, Path(rel), doc)
            env_rel, env = self.environments.get(env_name, (None, None))
            # a spec naming a revision registered elsewhere has no document to check
            td_rel = spec.taskdef_file or ""
            self.services.append(ServiceView(env_name, rel, doc, spec, env, env_rel, td_rel,
                                             loaded.taskdefs.get(td_rel)))

    def taskdef_items(self) -> Iterator[tuple[str, dict[str, Any]]]:
        return iter(self.loaded.taskdefs.items())


def container_index(taskdef: dict[str, Any], name: str) -> int | None:
    for index, container in enumerate(containers(taskdef)):
        if container.get("name") == name:
            return index
    return None


def effective_taskdef(view: ServiceView) -> dict[str, Any]:
    """The task definition with the service's overrides applied (render's merge, no image).

    Merged once per service and shared by every rule that asks (a dozen do): rules read
    it and never change it (tests/validate/test_rules_readonly.py holds them to that).
    """
    assert view.taskdef is not None
    if view.effective is None:
        view.effective = render.apply_overrides(
            view.spec, config.TaskDefinition(view.taskdef_rel, view.taskdef))
    return view.effective


def with_taskdef(ctx: Context) -> Iterator[tuple[ServiceView, dict[str, Any]]]:
    for view in ctx.services:
        if view.taskdef is not None:
            yield view, effective_taskdef(view)


def lb_entries(view: ServiceView) -> Iterator[tuple[int, dict[str, Any]]]:
    return enumerate(view.spec.service.get("loadBalancers", []))


def hint(word: str, choices: list[str]) -> str:
    return did_you_mean(word, choices)


def service_plan(view: ServiceView, taskdef: dict[str, Any]) -> rolling.RollingPlan | None:
    """The rolling plan of a service on its environment's instances (None: no env, DAEMON)."""
    if view.env is None or view.spec.service.get("schedulingStrategy") == "DAEMON":
        return None
    if view.plan is not None and view.plan[0] is taskdef:  # three rules ask, with the same one
        return view.plan[1]
    spec = view.spec
    plan = rolling.plan_for(view.env, spec.desired_count, spec.minimum_healthy_percent,
                            spec.maximum_percent, taskdef, spec.service.get("launchType"))
    view.plan = (taskdef, plan)
    return plan
