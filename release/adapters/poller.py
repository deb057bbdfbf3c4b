"""One poller per environment: every service being waited for is read in shared, batched rounds.

ECS throttles per account and Region, so fifty services each polling on their own
(DescribeServices, ListTasks ×2, DescribeTasks, DescribeInstanceHealth: five calls a
service a poll) spend the account's allowance fifty times over. `EnvPoller` (one per
`aws.Aws`, which `apply` shares per environment) reads them together instead. A
round serves every service that is due:

- DescribeServices, 10 services a call (the API's limit), per cluster; a `failures`
  entry (reason MISSING) is a service that is gone;
- ListTasks only for a service whose task set may have changed: RUNNING when
  ECS counts more tasks (running + pending) than the list holds alive, or a new
  event names a started task the list lacks; STOPPED when a deployment counted
  a failed task or an event names a stopped task the list lacks (one that came
  and went between two rounds); both on first sight and when a task went
  MISSING. ECS's events name their tasks ("has started 1 tasks: (task ID)"), so
  tasks already followed cost no ListTasks. A task seen once stays in the
  service's list: DescribeTasks follows it until it is STOPPED;
- DescribeTasks, 100 tasks a call, only for a service whose counts or
  deployments moved, whose new events speak of tasks, with a task on its way
  (pending → running, stopping → stopped), or whose drain end has come; the
  others keep their tasks as last described (a STOPPED task is final and kept);
- DescribeContainerInstances once per instance (instances do not move);
- the load balancer once per load balancer per round: health sources that
  implement the batched protocol of `core/serving.py` (the classic ELB does) share
  one DescribeInstanceHealth with `Instances=` the union of their instances,
  naming only the services that need it: their tasks moved, or their last view
  held a state without a known moment (a failing check, a task not registered)
  or a moment that has come (a task due InService after HealthyThreshold ×
  Interval, a drain's end). The others are judged again from their last answer.
  Other sources are asked one by one (`serving`).

Which calls a round needs is judged from the answers alone, in
release/core/poll_rounds.py (pure); this module makes the calls and keeps each
service's memory between rounds.

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
from dataclasses import dataclass, field
from typing import Any

from release.core import stability
from release.core.clock import default_clock
from release.core.poll_rounds import (
    DESCRIBE_SERVICES_MAX,
    DESCRIBE_TASKS_MAX,
    chunks,
    expectations,
    failed_signature,
    health_key,
    more_failed,
    names_unknown,
    new_events,
    newest,
    no_cluster,
    on_its_way,
    task_signature,
    tasks_moved,
)
from release.core.serving import HealthSource, HealthView, placed

ROUND_SECONDS = 1.0
ACTIVE_SECONDS = 30.0  # a member that read this recently still counts as waiting
_DUE_SLACK = 0.05


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
    signature: tuple[Any, ...] | None = None
    failed: tuple[Any, ...] = ()
    newest_event: str | None = None
    relist: bool = True
    recount: bool = False  # a followed task stopped: does ECS count tasks the list lacks?
    seen: tuple[Any, ...] | None = None  # the previous round's counts and deployments
    seen_event: str | None = None  # the previous round's newest event
    tasks: dict[str, dict[str, Any]] = field(default_factory=dict)  # last DescribeTasks answers
    answer: tuple[list[str], list[Any]] | None = None  # last health read: (hosts, answer)
    health_key: tuple[Any, ...] = ()  # the task states the last health read was for
    expect_at: float = math.inf  # the earliest moment the last view said something is due
    drain_ends_at: float = math.inf  # the earliest drain end: its task moves on then
    settled: bool = False  # the last view held nothing whose change has no known moment

    def moved(self, service: dict[str, Any]) -> bool:
        """The service's tasks may have changed since the previous round (core/poll_rounds)."""
        return tasks_moved(self.seen, self.seen_event, service)

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
        moved: set[int] = set()  # members whose counts, deployments or events moved
        for cluster in dict.fromkeys(m.cluster for m in due):
            mine = [m for m in due if m.cluster == cluster]
            found = self._describe_services(ecs, cluster, [m.service_name for m in mine], calls)
            for m in mine:
                services[id(m)] = found.get(m.service_name)
            alive = [m for m in mine if services[id(m)] is not None]
            fresh = [m for m in alive if self._wants_tasks(m, services[id(m)] or {}, now)]
            moved |= {id(m) for m in fresh if m.moved(services[id(m)] or {})}
            for m in fresh:
                self._list_if_changed(ecs, m, services[id(m)] or {}, calls)
            described = self._describe_tasks(ecs, cluster, fresh, calls)
            for m in alive:
                m.seen, m.seen_event = task_signature(services[id(m)] or {})[:-1], newest(
                    services[id(m)] or {}, m.seen_event)
                if m in fresh:
                    m.tasks = {a: described[a] for a in m.arns if a in described}
                tasks = [m.tasks.get(a) or self._final.get(a) for a in m.arns]
                tasks_of[id(m)] = [t for t in tasks if t is not None
                                   and stability.belongs_to(t, services[id(m)] or {})]
            self._learn_instances(ecs, cluster, [t for m in alive for t in tasks_of[id(m)]],
                                  calls)
        views = self._health(due, tasks_of, moved, now, calls)
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

    def _wants_tasks(self, m: Member, service: dict[str, Any], now: float) -> bool:
        """DescribeTasks (and ListTasks) only when the service moved, a task of it is on its
        way (pending → running, stopping → stopped), or a moment the last view named is due:
        a task set otherwise changes only with counts, deployments or events
        (DescribeServices, read every round, would show it)."""
        if m.relist or m.recount or m.moved(service) or now >= m.drain_ends_at - _DUE_SLACK:
            return True
        if any(a not in m.tasks and a not in self._final for a in m.arns):
            return True
        return any(on_its_way(t) for t in m.tasks.values())

    def _describe_services(self, ecs: Any, cluster: str, names: list[str],
                           calls: Counter[str]) -> dict[str, dict[str, Any] | None]:
        found: dict[str, dict[str, Any] | None] = dict.fromkeys(names)
        for chunk in chunks(list(dict.fromkeys(names)), DESCRIBE_SERVICES_MAX):
            calls["DescribeServices"] += 1
            try:
                response = ecs.describe_services(cluster=cluster, services=chunk)
            except ecs.exceptions.ClusterNotFoundException:
                env = getattr(self.aws, "env", None)
                raise no_cluster(cluster, getattr(env, "name", None) or "ENV") from None
            # a `failures` entry (reason MISSING) names a service that does not exist
            for service in response.get("services", []):
                if service.get("status") != "INACTIVE" and service.get("serviceName") in found:
                    found[service["serviceName"]] = service
        return found

    def _list_if_changed(self, ecs: Any, m: Member, service: dict[str, Any],
                         calls: Counter[str]) -> None:
        """ListTasks when the task set moved: RUNNING when ECS counts more tasks than the list
        holds alive or an event names a start the list lacks; STOPPED when a failed task was
        counted or an event names a stop the list lacks (a task that started and stopped
        between two rounds); both on first sight. ECS's events name their tasks ("has
        started 1 tasks: (task ID)"), so a move of known tasks costs no ListTasks. Tasks seen
        before stay: they are described until STOPPED, then kept as they ended."""
        signature = task_signature(service)
        if not m.relist and not m.recount and signature == m.signature:
            return
        first = m.relist or m.signature is None
        failed = failed_signature(service)
        news = new_events(service, m.newest_event)
        alive = sum(1 for a in m.arns if (m.tasks.get(a) or self._final.get(a) or {}
                                          ).get("lastStatus") != "STOPPED")
        counted = int(service.get("runningCount", 0)) + int(service.get("pendingCount", 0))
        arns: list[str] = []
        if first or alive < counted or any(names_unknown(e, "started", m.arns) for e in news):
            arns += self._list(ecs, m.cluster, m.service_name, "RUNNING", calls)
        if (first or more_failed(failed, m.failed)
                or any(names_unknown(e, "stopped", m.arns) for e in news)):
            arns += self._list(ecs, m.cluster, m.service_name, "STOPPED", calls)
        m.arns = list(dict.fromkeys(arns + m.arns))
        m.signature, m.failed, m.relist, m.recount = signature, failed, False, False
        m.newest_event = newest(service, m.newest_event)

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
        stopped: set[str] = set()
        for chunk in chunks(changing, DESCRIBE_TASKS_MAX):
            calls["DescribeTasks"] += 1
            # a `failures` entry (MISSING: stopped long ago, forgotten) is left out
            for task in ecs.describe_tasks(cluster=cluster, tasks=chunk).get("tasks", []):
                described[task["taskArn"]] = task
                if task.get("lastStatus") == "STOPPED":
                    self._final[task["taskArn"]] = task
                    stopped.add(task["taskArn"])
        for m in members:  # a task ECS no longer knows (MISSING): the list is read again
            # one that stopped may have a replacement the counts did not show yet (a crash
            # loop at the same counts): the next round compares the list with the counts
            m.recount = m.recount or any(a in stopped for a in m.arns)
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

    def _health(self, due: list[Member], tasks_of: dict[int, list[dict[str, Any]]],
                moved: set[int], now: float, calls: Counter[str]) -> dict[int, HealthView]:
        """One read per load balancer for batched sources, `serving` for the others. A member
        whose last view was settled, whose tasks did not move and whose due moment has not
        come is judged again from its last answer, without a call."""
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
            hosts = m.health.hosts(tasks)  # type: ignore[attr-defined]
            key = health_key(tasks_of[id(m)])
            if (m.answer is not None and m.answer[0] == hosts and m.health_key == key
                    and m.settled and id(m) not in moved and now < m.expect_at - _DUE_SLACK):
                views[id(m)] = m.health.view(tasks, m.answer[1], hosts, now)  # type: ignore[attr-defined]
                continue
            m.health_key = key
            groups.setdefault(batch_key(), []).append((m, tasks, hosts))
        for key, seats in groups.items():
            asked = sorted({h for _, _, hosts in seats for h in hosts})
            calls[str(key[0])] += 1  # batch_key(): (API name, load balancer)
            answer = seats[0][0].health.fetch(asked)  # type: ignore[union-attr]
            for m, tasks, hosts in seats:
                m.answer = (hosts, answer)
                views[id(m)] = m.health.view(tasks, answer, hosts, now)  # type: ignore[union-attr]
        for m in due:
            if id(m) in views:
                m.expect_at, m.settled = expectations(views[id(m)])
                m.drain_ends_at = min((u for u in views[id(m)].draining.values()
                                       if u is not None), default=math.inf)
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
