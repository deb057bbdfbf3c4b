"""Waiting for a service to be stable: the rolling wait.

The wait runs the one poll loop (engine/poll.py) over `rollout_watch.Watch`: one snapshot
per poll, its pace core/poll.py's backoff: polling fast
while things change and backing off while they do not, waking up when the watch
expects something (a drain ending, a task due InService). The snapshot comes from
the environment's one poller (adapters/poller.py), which serves every service due
at the same moment from shared, batched reads; each wait keeps its own timing
(`reader.sleep`). Throttling is absorbed by botocore's adaptive retry mode under
the environment's request budget and reported once; a dropped connection (or throttling
that outlasted botocore) is retried by the one poll loop (engine/poll.py, core/poll.py's
outage policy) for up to a minute before the wait gives up with exit 5. Ctrl-C, SIGTERM or
SIGHUP leaves the service as it is and prints how to resume waiting or roll back.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from release.core import plan as planning
from release.core import records, rollout_watch, stability
from release.core.clock import default_clock
from release.core.config import Environment, ServiceSpec
from release.core.deployments import short
from release.core.poll import CHANGED_POLL_SECONDS, COUNTDOWN_EVERY_SECONDS, Again, Pace, shape
from release.engine.poll import Contact, poll
from release.engine.task_logs import show_failing_task_logs
from release.output.events import Reporter

# ---------------------------------------------------------------------------- AWS access


def connect(env: Environment) -> Any:
    """Clients for `env`, after STS has confirmed the credentials are its account."""
    from release.adapters.aws import connect as connect_checked

    return connect_checked(env)


@contextlib.contextmanager
def aws_step(env: Environment, doing: str) -> Iterator[None]:
    from release.adapters.aws import aws_errors

    with aws_errors(env, doing):
        yield


# ------------------------------------------------------------------------------ waiting


def make_target(env: Environment, spec: ServiceSpec, revision: str, deployment_id: str | None,
                previous: str | None, budget_seconds: int, service: dict[str, Any] | None,
                taskdef: dict[str, Any], draining: float | None = None,
                desired_count: int | None = None) -> stability.Target:
    """What the wait waits for. `desired_count`: the count the service really has (the
    plan's `Count.effective`, core/autoscaling.py), else the spec's."""
    now = default_clock().now()
    count = spec.desired_count if desired_count is None else desired_count
    hc = env.load_balancer.health_check
    grace = int(spec.service.get("healthCheckGracePeriodSeconds", 0))
    return stability.Target(
        task_definition_arn=revision, started_at=now, deadline=now + budget_seconds,
        desired_count=count, deployment_id=deployment_id,
        previous_task_definition_arn=previous,
        draining_timeout=env.load_balancer.effective_draining if draining is None else draining,
        unhealthy_after=grace + 2 * (hc.healthy_threshold + hc.unhealthy_threshold) * hc.interval
        + 30,
        # as many failed tasks as the ECS circuit breaker tolerates (half, 3..200)
        stop_failures_allowed=min(200, max(3, math.ceil(count / 2))),
        host_port=planning.static_host_port(taskdef, planning.load_balanced_container(spec)),
        cluster=env.cluster,
        events_before=frozenset(e.get("id", "") for e in (service or {}).get("events", [])))


@dataclass
class Waiter:
    """The wait loop of one service: polls, prints what is new, returns the final verdict."""

    env: Environment
    spec: ServiceSpec
    aws: Any
    reporter: Reporter
    reader: Any = None
    describe_calls: int = 0
    lease: Any = None  # the release's lease (adapters/lease.ServiceLease), checked each poll
    stable_at: list[float] = field(default_factory=list)

    def __post_init__(self) -> None:
        from release.adapters.poller import poller_for
        from release.engine.balancers import health_source

        self.reader = poller_for(self.aws, self.reporter).join(
            self.env.cluster, self.spec.service_name, health_source(self.aws, self.env, self.spec))

    def draining(self) -> float | None:
        """The load balancer's draining timeout, as the live one has it (read once)."""
        return self.reader.health.draining_seconds() if self.reader.health else None

    def wait(self, target: stability.Target, label: str, just_updated: bool = True
             ) -> stability.Verdict:
        """Poll until stable or failed. Right after an UpdateService its answer is the
        freshest state there is, so the first poll waits for ECS to act on it."""
        clock = default_clock()
        watch = rollout_watch.Watch(target)
        printed: set[str] = set(target.events_before)
        last_summary = last_shape = ""
        last_printed = 0.0
        where = f"{self.env.name}/{self.spec.service_name}"
        self.reporter.emit("wait.start", f"{where}: waiting for {short(target.task_definition_arn)}"
                           f" to be stable ({label}, budget "
                           f"{math.ceil(target.deadline - target.started_at)} s)",
                           env=self.env.name, service=self.spec.service_name,
                           revision=target.task_definition_arn,
                           deadline=records.iso(target.deadline))
        if just_updated:
            self.reader.sleep(CHANGED_POLL_SECONDS)

        def read(now: float) -> stability.Snapshot:
            if self.lease is not None:
                self.lease.check()  # the lock still ours?
            return self.reader.read(now)

        def judge(now: float, snap: stability.Snapshot) -> stability.Verdict | Again:
            nonlocal last_summary, last_shape, last_printed
            self.describe_calls = self.reader.describe_services_calls
            verdict = watch.observe(snap)
            self._print_events(snap, printed)
            self._print_failed_tasks(snap, target, printed)
            show_failing_task_logs(self, snap, target, verdict)
            shown = shape(verdict.summary)
            if shown != last_shape or (verdict.summary != last_summary
                                       and now - last_printed >= COUNTDOWN_EVERY_SECONDS):
                last_summary, last_shape, last_printed = verdict.summary, shown, now
                self.reporter.emit("wait.progress", f"{where}: {verdict.summary}",
                                   "dim" if verdict.state == stability.PROGRESSING else "info",
                                   env=self.env.name, service=self.spec.service_name,
                                   summary=verdict.summary, counts=verdict.counts)
            if verdict.state == stability.STABLE:
                self.stable_at.append(now)
                self.reporter.emit("wait.stable", f"{where}: stable on "
                                   f"{short(target.task_definition_arn)} after "
                                   f"{int(now - target.started_at)} s", "success",
                                   env=self.env.name, service=self.spec.service_name,
                                   revision=target.task_definition_arn,
                                   seconds=round(now - target.started_at, 1))
                return verdict
            if verdict.state == stability.FAILED:
                self.reporter.emit("wait.failed", f"{where}: {verdict.reason}", "error",
                                   env=self.env.name, service=self.spec.service_name,
                                   cause=verdict.cause, reason=verdict.reason, fix=verdict.fix,
                                   revision=target.task_definition_arn)
                return verdict
            return Again(verdict.changed, verdict.next_change_at, verdict.moving_on_its_own)

        contact = Contact(self.env, f"waiting for {self.spec.service_name}",
                          resume_hint(self.env, self.spec, target.task_definition_arn,
                                      target.task_definition_arn if label == "rollback"
                                      else None),
                          self.reporter, "wait", f"{where}: ",
                          fields={"env": self.env.name, "service": self.spec.service_name})
        return poll(read, judge, pace=Pace(CHANGED_POLL_SECONDS, target.deadline, backoff=True),
                    contact=contact, clock=clock, sleep=self.reader.sleep)

    def _print_events(self, snap: stability.Snapshot, printed: set[str]) -> None:
        for event in reversed(list(snap.service.get("events", []))):
            event_id = event.get("id", "")
            if event_id in printed:
                continue
            printed.add(event_id)
            when = stability.epoch(event.get("createdAt"))
            self.reporter.emit("service.event", f"  {event.get('message', '')}",
                               env=self.env.name, service=self.spec.service_name,
                               id=event_id, at=records.iso(when) if when else None)


    def _print_failed_tasks(self, snap: stability.Snapshot, target: stability.Target,
                            printed: set[str]) -> None:
        """Each task of the new revision that stopped for a failure, once, with ECS's reason and
        the exit code: the diagnosis operators look for first."""
        for task in snap.tasks:
            arn = task.get("taskArn", "")
            if (task.get("lastStatus") != "STOPPED" or arn in printed
                    or task.get("taskDefinitionArn") != target.task_definition_arn
                    or not stability.stopped_during(task, target)
                    or not stability.is_failure_stop(task)):
                continue
            printed.add(arn)
            reason = stability.describe_stop(task)
            self.reporter.emit("task.stopped", f"  task {short(arn)} stopped: {reason}", "warn",
                               env=self.env.name, service=self.spec.service_name, task=arn,
                               reason=reason)


def resume_commands(env: Environment, spec: ServiceSpec, rollback_to: str | None = None
                    ) -> tuple[str, str]:
    """(resume waiting, roll back): a release resumes with `deploy`, a rollback with itself."""
    where = f"--env {env.name} --service {spec.name}"
    if rollback_to:
        number = short(rollback_to).rsplit(":", 1)[-1]
        resume = f"release rollback {where} --to {number} --yes"
    else:
        resume = f"release deploy {where}"
    return resume, f"release rollback {where}"


def resume_hint(env: Environment, spec: ServiceSpec, revision: str | None,
                rollback_to: str | None = None) -> str:
    resume, back = resume_commands(env, spec, rollback_to)
    return (f"the service was left as it is; to resume waiting run `{resume}` (it continues "
            f"the deployment in progress) or watch `release status --env {env.name} --service "
            f"{spec.name}`" + ("" if rollback_to else f"; to roll back run `{back}`"))

