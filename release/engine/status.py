"""What `release status` and `release history` read: the live state of a service, and its
release ledger. Reads only; the verbs render what these return."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from release.core import autoscaling, plan, records, rollout_watch, stability
from release.core.clock import default_clock
from release.core.config import ConfigRepo, ServiceSpec
from release.core.deployments import primary, short
from release.core.errors import InvalidInput
from release.core.registration import Where
from release.engine import balancers
from release.engine.desired import git_version
from release.engine.wait import aws_step, connect, make_target


@dataclass
class ServiceStatus:
    """One service as it is now, and how far it is from git."""

    env: str
    service: str
    exists: bool
    revision: str | None = None
    state: str = ""  # stable | in progress | not stable
    verdict: stability.Verdict | None = None
    record: records.Record | None = None
    drift: list[str] = field(default_factory=list)
    deployments: list[dict[str, Any]] = field(default_factory=list)
    tasks: list[dict[str, Any]] = field(default_factory=list)
    elb: list[dict[str, Any]] = field(default_factory=list)
    canary: dict[str, Any] | None = None  # a live <service>-canary (engine/canary.py)

    def fields(self) -> dict[str, Any]:
        """The JSON fields of the `status` event."""
        if not self.exists:
            return {"env": self.env, "service": self.service, "exists": False}
        assert self.verdict is not None
        return {"env": self.env, "service": self.service, "exists": True,
                "revision": self.revision, "state": self.verdict.state,
                "summary": self.verdict.summary,
                "record": self.record.as_dict() if self.record else None, "drift": self.drift,
                "deployments": self.deployments, "tasks": self.tasks, "elb": self.elb,
                "canary": self.canary}


def status_of(config_repo: ConfigRepo, spec: ServiceSpec) -> ServiceStatus:
    """Read the service, its tasks and ELB health in one snapshot, and compare with git."""
    from release.adapters import autoscaling as scaling_state
    from release.adapters import live
    from release.engine import canary, values

    environment = config_repo.environment(spec.env)
    aws = connect(environment)
    unresolved = None
    try:  # values from outside git; status still shows the live state without them
        resolved = values.resolve(config_repo, spec, aws)
        config_repo, spec, environment = resolved.repo, resolved.spec or spec, resolved.env
    except InvalidInput as exc:
        unresolved = f"cannot compare with git: {exc.message}"
    with aws_step(environment, f"reading {spec.service_name}"):
        current = live.fetch_live(aws.ecs, environment, spec)
        if current.service is None:
            return ServiceStatus(spec.env, spec.service_name, exists=False)
        reader = live.SnapshotReader(aws, environment.cluster, spec.service_name,
                                     balancers.health_source(aws, environment, spec))
        snap = reader.read(default_clock().now())
        found_canary = canary.explain(environment, spec, aws)
        # who owns desiredCount (core/autoscaling.py): the wait's count and the drift's
        current = dataclasses.replace(current,
                                      scaling=scaling_state.read(aws, environment, spec))
        count = autoscaling.decide(spec, current.service, current.scaling)
        drift = [unresolved] if unresolved else drift_from_git(aws, config_repo, spec, current)
    target = make_target(environment, spec, current.revision_arn or "",
                         (primary(current.service) or {}).get("id"), None, 10**9, None,
                         current.taskdef or {}, desired_count=count.effective)
    verdict = rollout_watch.Watch(target).observe(snap)
    record = records.Record.from_tags(current.revision_arn or "",
                                      [{"key": k, "value": v}
                                       for k, v in current.taskdef_tags.items()])
    state = "stable" if verdict.state == stability.STABLE else "in progress" \
        if verdict.state == stability.PROGRESSING else "not stable"
    return ServiceStatus(spec.env, spec.service_name, True, current.revision_arn, state, verdict,
                         record, drift, _deployment_rows(current.service), _task_rows(snap),
                         list(snap.health.answer if snap.health else []), found_canary)


def statuses(config_repo: ConfigRepo, specs: list[ServiceSpec]) -> Iterator[ServiceStatus]:
    """`status_of` each service on one client set (each value from outside git read once)."""
    from release.adapters.aws import shared

    if not specs:
        return
    with shared(config_repo.environment(specs[0].env)):
        for spec in specs:
            yield status_of(config_repo, spec)


def drift_from_git(aws: Any, config_repo: ConfigRepo, spec: ServiceSpec,
                   current: plan.Live) -> list[str]:
    """What `release plan` would change, one line each: git's version resolved and compared
    by the functions plan uses (engine/desired.py, core/plan.drift), so a service just
    released is in sync. What keeps git from being rendered or resolved is one line."""
    try:
        wanted = git_version(aws, config_repo, spec)
    except (KeyError, TypeError, ValueError) as exc:
        return [f"cannot render git's version: {exc}"]
    except InvalidInput as exc:  # a name git gives that AWS does not know
        return [f"cannot resolve git's version: {exc.message}"]
    env = config_repo.environment(spec.env)
    return [c.one_line() for c in plan.drift(wanted.spec, wanted.taskdef, current,
                                             Where(env.account, env.region)).changes]


def _deployment_rows(service: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"id": d.get("id"), "status": d.get("status"),
             "revision": short(d.get("taskDefinition")), "desired": d.get("desiredCount"),
             "running": d.get("runningCount"), "pending": d.get("pendingCount"),
             "rollout": d.get("rolloutState")} for d in service.get("deployments", [])]


def _task_rows(snap: Any) -> list[dict[str, Any]]:
    """One row per task still running; `elb` is the load balancer's state for that task."""
    rows = []
    for t in snap.tasks:
        if t.get("lastStatus") == "STOPPED":
            continue
        instance = snap.instance_ids.get(t.get("containerInstanceArn", ""), "")
        state = snap.health.of(t.get("taskArn", "")).state if snap.health else ""
        rows.append({"task": short(t.get("taskArn"), "")[:12],
                     "revision": short(t.get("taskDefinitionArn")),
                     "last": t.get("lastStatus"), "desired": t.get("desiredStatus"),
                     "instance": instance, "elb": state})
    return rows


@dataclass
class ServiceHistory:
    """The ledger of one service, newest first, with the live revision marked."""

    env: str
    service: str
    live_revision: str | None
    rows: list[dict[str, Any]]


def history_of(config_repo: ConfigRepo, spec: ServiceSpec, limit: int) -> ServiceHistory:
    """Every release, restore and rollback of the service with its outcome (ledger + tags)."""
    from release.adapters import ledger, live
    from release.engine import values

    environment = config_repo.environment(spec.env)
    aws = connect(environment)
    environment = values.resolve(config_repo, None, aws, spec.env).env  # its cluster
    with aws_step(environment, f"reading the records of {spec.family}"):
        found = [r for r in live.records_of(aws.ecs, spec.family, limit)
                 if r.service in ("", spec.service_name) and r.env in ("", spec.env)]
        live_revision = (live.describe_service(aws.ecs, environment.cluster, spec.service_name,
                                               environment.name) or {}).get("taskDefinition")
    entries = ledger.history(environment, spec.service_name, found, aws, limit)
    rows = [e.history_row() for e in entries]
    for row in rows:
        row["live"] = row["revision"] == live_revision
    return ServiceHistory(spec.env, spec.service_name, live_revision, rows)
