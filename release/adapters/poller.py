"""One poller per environment: every service being waited for is read in shared, batched rounds.

ECS throttles per account and Region, so fifty services each polling on their own
(DescribeServices, ListTasks ×2, DescribeTasks, DescribeInstanceHealth: five calls a
service a poll) spend the account's allowance fifty times over. `EnvPoller` (one per
`aws.Aws`, which `apply` shares per environment) reads them together instead. A
round serves every service that is due:

- DescribeServices, 10 services a call (the API's limit), per cluster; a `failures`
  entry (reason MISSING) is a service that is gone;
- ListTasks only for a service whose task set may have changed: RUNNING when
  its counts, deployments or newest event moved; STOPPED as well on first sight,
  when a deployment's failedTasks moved or a new event says tasks stopped (a task
  that started and stopped between two rounds); both again when a task went
  MISSING or LIST_AGAIN_SECONDS passed. A task seen once stays in the service's
  list: DescribeTasks follows it until it is STOPPED;
- DescribeTasks, 100 tasks a call, for the tasks of all due services whose state
  can still change (a STOPPED task is final and kept);
- DescribeContainerInstances once per instance (instances do not move);
- the load balancer once per load balancer per round: health sources that
  implement the batched protocol of `core/serving.py` (the classic ELB does) share
  one DescribeInstanceHealth with `Instances=` the union of their instances;
  other sources are asked one by one (`serving`).

Each service keeps its own timing: its wait registers when it next wants a
snapshot (`Member.sleep`, timer-aware: a drain due in 200 s means no read for
200 s); a round serves all services due by then. While several services wait,
wanted times are rounded up to the next ROUND_SECONDS so that they fall due
together; a lone service is read exactly when it asks.
"""

from __future__ import annotations

import math
import threading
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from release.core import stability
from release.core.clock import default_clock
from release.core.errors import InvalidInput
from release.core.serving import HealthSource, HealthView, placed

DESCRIBE_SERVICES_MAX = 10  # DescribeServices: "You may specify up to 10 services"
DESCRIBE_TASKS_MAX = 100  # DescribeTasks: "You can specify up to 100 tasks"
ROUND_SECONDS = 1.0
LIST_AGAIN_SECONDS = 120.0
ACTIVE_SECONDS = 30.0  # a member that read this recently still counts as waiting
_DUE_SLACK = 0.05


def chunks(items: list[str], size: int) -> Iterable[list[str]]:
    for i in range(0, len(items), size):
        yield items[i:i + size]


def failed_signature(service: dict[str, Any]) -> tuple[Any, ...]:
    deployments = service.get("deployments", [])
    return tuple(sorted((d.get("id"), d.get("failedTasks")) for d in deployments))


def new_events(service: dict[str, Any], seen: str | None) -> list[dict[str, Any]]:
    """The service's events newer than the event `seen` (ECS lists them newest first)."""
    fresh = []
    for event in service.get("events", []):
        if event.get("id") == seen:
            break
        fresh.append(event)
    return fresh


def task_signature(service: dict[str, Any]) -> tuple[Any, ...]:
    """What moves when the service's set of tasks changes (a start, a stop, a replacement)."""
    deployments = tuple(sorted(
        (d.get("id"), d.get("desiredCount"), d.get("runningCount"), d.get("pendingCount"),
         d.get("failedTasks")) for d in service.get("deployments", [])))
    events = service.get("events", [])
    return (service.get("desiredCount"), service.get("runningCount"), service.get("pendingCount"),
            deployments, events[0].get("id") if events else None)


@dataclass(eq=False)
class Member:
    """One service's seat in the poller: its timing, its task list, its health source."""

    poller: EnvPoller
    cluster: str
    service_name: str
    health: HealthSource | None
    wanted_at: float = math.inf
    last_read_at: float = -math.inf
    pending: stability.Snapshot | None = None
    describe_services_calls: int = 0  # rounds that read this service
    arns: list[str] = field(default_factory=list)
    listed_at: float = -math.inf
    signature: tuple[Any, ...] | None = None
    failed: tuple[Any, ...] = ()
    newest_event: str | None = None
    relist: bool = True

    def sleep(self, seconds: float) -> None:
        """Sleep until this service next wants a snapshot (aligned with the others')."""
        self.poller.sleep(self, seconds)

    def read(self, now: float) -> stability.Snapshot:
        return self.poller.read(self, now)


@dataclass
class EnvPoller:
    """The shared reader of one environment's services (see the module docstring)."""

    aws: Any
    members: list[Member] = field(default_factory=list)
    rounds: list[Counter[str]] = field(default_factory=list)  # calls of each round, by API
    round_sizes: list[int] = field(default_factory=list)  # services served by each round
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _round_lock: threading.Lock = field(default_factory=threading.Lock)
    _final: dict[str, dict[str, Any]] = field(default_factory=dict)  # STOPPED tasks
    _instance_ids: dict[str, str] = field(default_factory=dict)  # container instance → EC2

    def join(self, cluster: str, service_name: str, health: HealthSource | None) -> Member:
        member = Member(self, cluster, service_name, health)
        with self._lock:
            self.members.append(member)
        return member

    def _waiting_others(self, member: Member, now: float) -> bool:
        with self._lock:
            return any(m is not member and (m.wanted_at < math.inf
                                            or now - m.last_read_at < ACTIVE_SECONDS)
                       for m in self.members)

    def sleep(self, member: Member, seconds: float) -> None:
        clock = default_clock()
        now = clock.now()
        wanted = now + max(seconds, 0.0)
        if self._waiting_others(member, now):
            wanted = math.ceil(wanted / ROUND_SECONDS - 1e-9) * ROUND_SECONDS
        member.wanted_at = wanted
        clock.sleep(wanted - now)

    def read(self, member: Member, now: float) -> stability.Snapshot:
        """The member's snapshot: from the round that already served it, or a new round."""
        with self._round_lock:
            if member.pending is None:
                now = max(now, default_clock().now())  # another round may have taken a while
                with self._lock:
                    due = [m for m in self.members if m is member or (
                        m.pending is None and m.wanted_at <= now + _DUE_SLACK)]
                self.round(due, now)
            snap, member.pending = member.pending, None
            member.wanted_at, member.last_read_at = math.inf, now
            assert snap is not None
            return snap

    # -- one round -----------------------------------------------------------------------

    def round(self, due: list[Member], now: float) -> None:
        """Read every member of `due` with shared calls; each gets its `pending` snapshot."""
        calls: Counter[str] = Counter()
        ecs = self.aws.ecs
        tasks_of: dict[int, list[dict[str, Any]]] = {}
        services: dict[int, dict[str, Any] | None] = {}
        for cluster in dict.fromkeys(m.cluster for m in due):
            mine = [m for m in due if m.cluster == cluster]
            found = self._describe_services(ecs, cluster, [m.service_name for m in mine], calls)
            for m in mine:
                services[id(m)] = found.get(m.service_name)
            alive = [m for m in mine if services[id(m)] is not None]
            for m in alive:
                self._list_if_changed(ecs, m, services[id(m)] or {}, now, calls)
            described = self._describe_tasks(ecs, cluster, alive, calls)
            for m in alive:
                tasks = [described.get(a) or self._final.get(a) for a in m.arns]
                tasks_of[id(m)] = [t for t in tasks if t is not None
                                   and stability.belongs_to(t, services[id(m)] or {})]
            self._learn_instances(ecs, cluster, [t for m in alive for t in tasks_of[id(m)]],
                                  calls)
        views = self._health(due, tasks_of, now, calls)
        for m in due:
            m.describe_services_calls += 1
            service = services.get(id(m))
            if service is None:
                m.pending = stability.Snapshot(now, {"serviceName": m.service_name,
                                                     "status": "INACTIVE", "deployments": []}, [])
                continue
            m.pending = stability.Snapshot(now, service, tasks_of[id(m)],
                                           dict(self._instance_ids), views.get(id(m)))
        with self._lock:
            self.rounds.append(calls)
            self.round_sizes.append(len(due))

    def _describe_services(self, ecs: Any, cluster: str, names: list[str],
                           calls: Counter[str]) -> dict[str, dict[str, Any] | None]:
        found: dict[str, dict[str, Any] | None] = dict.fromkeys(names)
        for chunk in chunks(list(dict.fromkeys(names)), DESCRIBE_SERVICES_MAX):
            calls["DescribeServices"] += 1
            try:
                response = ecs.describe_services(cluster=cluster, services=chunk)
            except ecs.exceptions.ClusterNotFoundException:
                raise InvalidInput(f"cluster {cluster!r} does not exist",
                                   "create it with `release bootstrap --env ENV`, or fix "
                                   "environment.json's cluster") from None
            # a `failures` entry (reason MISSING) names a service that does not exist
            for service in response.get("services", []):
                if service.get("status") != "INACTIVE" and service.get("serviceName") in found:
                    found[service["serviceName"]] = service
        return found

    def _list_if_changed(self, ecs: Any, m: Member, service: dict[str, Any], now: float,
                         calls: Counter[str]) -> None:
        """ListTasks RUNNING when the task set moved; STOPPED too when something stopped that
        the list does not hold yet (a failed task counted, a stop event) or on first sight.
        Tasks seen before stay: they are described until STOPPED, then kept as they ended."""
        signature = task_signature(service)
        stale = m.relist or now - m.listed_at >= LIST_AGAIN_SECONDS
        if not stale and signature == m.signature:
            return
        failed = failed_signature(service)
        news = new_events(service, m.newest_event)
        stopped_too = (stale or failed != m.failed or m.signature is None
                       or any("stopped" in str(e.get("message", "")) for e in news))
        arns = self._list(ecs, m.cluster, m.service_name, "RUNNING", calls)
        if stopped_too:
            arns += self._list(ecs, m.cluster, m.service_name, "STOPPED", calls)
        m.arns = list(dict.fromkeys(arns + m.arns))
        m.signature, m.failed, m.listed_at, m.relist = signature, failed, now, False
        events = service.get("events", [])
        m.newest_event = events[0].get("id") if events else m.newest_event

    @staticmethod
    def _list(ecs: Any, cluster: str, service_name: str, status: str,
              calls: Counter[str]) -> list[str]:
        arns: list[str] = []
        token: str | None = None
        while True:
            calls["ListTasks"] += 1
            page = ecs.list_tasks(cluster=cluster, serviceName=service_name,
                                  desiredStatus=status, **({"nextToken": token} if token else {}))
            arns += page.get("taskArns", [])
            token = page.get("nextToken")
            if not token:
                return arns

    def _describe_tasks(self, ecs: Any, cluster: str, members: list[Member],
                        calls: Counter[str]) -> dict[str, dict[str, Any]]:
        changing = list(dict.fromkeys(a for m in members for a in m.arns if a not in self._final))
        described: dict[str, dict[str, Any]] = {}
        for chunk in chunks(changing, DESCRIBE_TASKS_MAX):
            calls["DescribeTasks"] += 1
            # a `failures` entry (MISSING: stopped long ago, forgotten) is left out
            for task in ecs.describe_tasks(cluster=cluster, tasks=chunk).get("tasks", []):
                described[task["taskArn"]] = task
                if task.get("lastStatus") == "STOPPED":
                    self._final[task["taskArn"]] = task
        for m in members:  # a task ECS no longer knows (MISSING): the list is read again
            gone = [a for a in m.arns if a not in described and a not in self._final]
            if gone:
                m.arns = [a for a in m.arns if a not in gone]
                m.relist = True
        return described

    def _learn_instances(self, ecs: Any, cluster: str, tasks: list[dict[str, Any]],
                         calls: Counter[str]) -> None:
        unknown = sorted({t["containerInstanceArn"] for t in tasks
                          if t.get("containerInstanceArn")} - set(self._instance_ids))
        for chunk in chunks(unknown, DESCRIBE_TASKS_MAX):
            calls["DescribeContainerInstances"] += 1
            response = ecs.describe_container_instances(cluster=cluster, containerInstances=chunk)
            for ci in response.get("containerInstances", []):
                self._instance_ids[ci["containerInstanceArn"]] = ci.get("ec2InstanceId", "")

    def _health(self, due: list[Member], tasks_of: dict[int, list[dict[str, Any]]], now: float,
                calls: Counter[str]) -> dict[int, HealthView]:
        """One read per load balancer for batched sources, `serving` for the others."""
        views: dict[int, HealthView] = {}
        groups: dict[Any, list[tuple[Member, list[Any], list[str]]]] = {}
        for m in due:
            if m.health is None or id(m) not in tasks_of:
                continue
            tasks = [placed(t, self._instance_ids, now) for t in tasks_of[id(m)]]
            batch_key = getattr(m.health, "batch_key", None)
            if batch_key is None:
                calls[type(m.health).__name__] += 1
                views[id(m)] = m.health.serving(tasks, now)
                continue
            groups.setdefault(batch_key(), []).append((m, tasks, m.health.hosts(tasks)))  # type: ignore[attr-defined]
        for key, seats in groups.items():
            asked = sorted({h for _, _, hosts in seats for h in hosts})
            calls[str(key[0])] += 1  # batch_key(): (API name, load balancer)
            answer = seats[0][0].health.fetch(asked)  # type: ignore[union-attr]
            for m, tasks, hosts in seats:
                views[id(m)] = m.health.view(tasks, answer, hosts, now)  # type: ignore[union-attr]
        return views


_pollers_lock = threading.Lock()


def poller_for(aws: Any, reporter: Any = None) -> EnvPoller:
    """The one poller of `aws` (one client set: one environment); throttling reported once."""
    with _pollers_lock:
        poller = getattr(aws, "_release_poller", None)
        if poller is None:
            poller = EnvPoller(aws)
            aws._release_poller = poller
            budget = getattr(aws, "budget", None)
            if budget is not None and reporter is not None:
                budget.on_throttle(lambda operation, code: reporter.emit(
                    "aws.throttled", f"AWS is throttling ({operation}: {code}); absorbed with "
                    f"backoff, reported once (request budget {budget.per_second} calls/s)",
                    "warn", operation=operation, code=code, budget=budget.per_second))
        return poller
