"""Table tests of the stability verdict over snapshots in the ECS and ELB API shapes.

The ELB's DescribeInstanceHealth answers reach the verdict as the wait passes them: through
the classic ELB's health source (`ClassicWatch`), whose neutral view is all `Watch` reads.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any

import pytest
from engine_shapes import (
    DRAINING,
    INSTANCE_IDS,
    NEW_DEPLOYMENT,
    NEW_TD,
    OLD_DEPLOYMENT,
    OLD_TD,
    T0,
    assert_shape,
    deployment,
    ec2,
    event,
    health,
    service,
    task,
)

from release.adapters.elb_classic import ClassicElb
from release.core import rollout_watch
from release.core import stability as st
from release.core.serving import placed

PORT_EVENT = ("(service akka-firehose-service) was unable to place a task because no container "
              "instance met all of its requirements. The closest matching (container-instance "
              "ci-1) is already using a port required by your task. For more information, see "
              "the Troubleshooting section.")
MEMORY_EVENT = ("(service akka-firehose-service) was unable to place a task because no "
                "container instance met all of its requirements. The closest matching "
                "(container-instance ci-2) has insufficient memory available.")
CRASH = "Essential container in task exited"
ELB_FAILED = "Task failed ELB health checks in (elb akkaElb)"


def target(**overrides: Any) -> st.Target:
    args: dict[str, Any] = dict(
        task_definition_arn=NEW_TD, deployment_id=NEW_DEPLOYMENT, started_at=T0,
        deadline=T0 + 600, desired_count=2, previous_task_definition_arn=OLD_TD,
        draining_timeout=300, host_port=80, cluster="AkkaCluster")
    args.update(overrides)
    return st.Target(**args)


@dataclass(frozen=True)
class Poll:
    """One poll's answers: ECS's, and the ELB's (None: no ELB) before the source reads it."""

    taken_at: float
    service: dict[str, Any]
    tasks: list[dict[str, Any]]
    elb: list[dict[str, Any]] | None


def snap(seconds: float, svc: dict[str, Any], tasks: list[dict[str, Any]],
         elb: list[dict[str, Any]] | None) -> Poll:
    assert_shape(svc, "ecs", "Service")
    for t in tasks:
        assert_shape(t, "ecs", "Task")
    for h in elb or []:
        assert_shape(h, "elb", "InstanceState")
    return Poll(T0 + seconds, svc, tasks, elb)


class ClassicWatch:
    """A `Watch` fed as the wait feeds it behind a classic ELB (HealthyThreshold × Interval
    60 s, the target's draining timeout), without the DescribeInstanceHealth call."""

    def __init__(self, target: st.Target, healthy_after: float = 60) -> None:
        self.watch = rollout_watch.Watch(target)
        self.source = ClassicElb(None, "akkaElb", healthy_after, target.draining_timeout)

    def observe(self, poll: Poll) -> st.Verdict:
        now = poll.taken_at
        view = None if poll.elb is None else self.source.judge(
            [placed(t, INSTANCE_IDS, now) for t in poll.tasks], poll.elb, now)
        return self.watch.observe(st.Snapshot(now, poll.service, poll.tasks, INSTANCE_IDS,
                                              view))


def done_primary(**kw: Any) -> dict[str, Any]:
    return deployment(NEW_DEPLOYMENT, NEW_TD, running=2, rollout="COMPLETED", **kw)


def new_tasks(*instances: int) -> list[dict[str, Any]]:
    return [task(f"new{n}", NEW_TD, instance=n) for n in instances]


def old_task(n: int, *, last: str = "RUNNING", desired: str = "RUNNING") -> dict[str, Any]:
    return task(f"old{n}", OLD_TD, instance=n, last=last, desired=desired,
                started_by=OLD_DEPLOYMENT)


def in_service(*instances: int) -> list[dict[str, Any]]:
    return [health(ec2(n)) for n in instances]


def stopped_new(n: int, at: float, reason: str, exit_code: int | None = None,
                code: str | None = "EssentialContainerExited") -> dict[str, Any]:
    return task(f"dead{n}", NEW_TD, instance=1 + n % 2, last="STOPPED", desired="STOPPED",
                stopped_at=at, stopped_reason=reason, stop_code=code, exit_code=exit_code)


@dataclass
class Case:
    name: str
    snapshots: list[Poll]
    state: str
    cause: str | None = None
    summary_has: list[str] = field(default_factory=list)
    reason_has: list[str] = field(default_factory=list)
    fix_has: list[str] = field(default_factory=list)
    target: st.Target = field(default_factory=target)


STABLE_SERVICE = service([done_primary()])

CASES = [
    Case("all new tasks InService, one completed deployment: stable",
         [snap(90, STABLE_SERVICE, new_tasks(1, 2), in_service(1, 2))],
         st.STABLE, summary_has=["2/2 new tasks InService"]),
    Case("an old task still draining on the ELB: the boto3 waiter would say stable, we do not",
         [snap(90, STABLE_SERVICE, new_tasks(1, 2) + [old_task(3, desired="STOPPED")],
               in_service(1, 2) + [health(ec2(3), description=DRAINING)])],
         st.PROGRESSING, summary_has=["2/2 new tasks InService", "1 old task draining"]),
    Case("an instance draining with no task listed for it: not stable",
         [snap(90, STABLE_SERVICE, new_tasks(1, 2),
               in_service(1, 2) + [health(ec2(3), description=DRAINING)])],
         st.PROGRESSING, summary_has=["1 instance draining"]),
    Case("a new task running but still in ELB registration: not stable",
         [snap(90, STABLE_SERVICE, new_tasks(1, 2),
               in_service(1) + [health(ec2(2), "OutOfService", "Instance registration is "
                                       "still in progress.", "ELB")])],
         st.PROGRESSING, summary_has=["1/2 new tasks InService", "1 in ELB health checks"]),
    Case("old deployment still ACTIVE: not stable",
         [snap(90, service([done_primary(), deployment(OLD_DEPLOYMENT, OLD_TD, "ACTIVE",
                                                       rollout="COMPLETED")]),
               new_tasks(1, 2), in_service(1, 2))],
         st.PROGRESSING, summary_has=["2 deployments"]),
    Case("rolloutState still IN_PROGRESS: not stable",
         [snap(90, service([deployment(NEW_DEPLOYMENT, NEW_TD, running=2)]), new_tasks(1, 2),
               in_service(1, 2))],
         st.PROGRESSING),
    Case("pending tasks: not stable",
         [snap(90, service([done_primary(pending=1)], pending=1), new_tasks(1, 2),
               in_service(1, 2))],
         st.PROGRESSING),
    Case("without an ELB the instance health is not needed",
         [snap(90, STABLE_SERVICE, new_tasks(1, 2), None)],
         st.STABLE, summary_has=["2/2 new tasks running"]),
    Case("circuit breaker rolled back: our deployment FAILED, old one PRIMARY again",
         [snap(60, service([
             deployment(OLD_DEPLOYMENT + "9", OLD_TD, running=1),
             deployment(NEW_DEPLOYMENT, NEW_TD, "ACTIVE", rollout="FAILED",
                        reason="ECS deployment circuit breaker: tasks failed to start.")]),
             [old_task(1)], in_service(1))],
         st.FAILED, st.ROLLED_BACK_BY_ECS, reason_has=["rolled back by ECS", "tasks failed"]),
    Case("after ECS's rollback settled, the waiter's 'stable' is our failure",
         [snap(300, service([deployment(OLD_DEPLOYMENT + "9", OLD_TD, running=2,
                                        rollout="COMPLETED")]),
               [old_task(1), old_task(2)], in_service(1, 2))],
         st.FAILED, st.ROLLED_BACK_BY_ECS, reason_has=["rolled back by ECS"]),
    Case("circuit breaker without rollback: our deployment FAILED and still PRIMARY",
         [snap(60, service([deployment(NEW_DEPLOYMENT, NEW_TD, rollout="FAILED",
                                       reason="ECS deployment circuit breaker: tasks failed "
                                              "to start.")]),
               [old_task(1)], in_service(1))],
         st.FAILED, st.CIRCUIT_BREAKER, reason_has=["circuit breaker"]),
    Case("another revision took over the service",
         [snap(60, service([deployment("ecs-svc/3", NEW_TD[:-1] + "3")]), [], in_service())],
         st.FAILED, st.SUPERSEDED, reason_has=["akka-demo:3"]),
    Case("new tasks keep crashing: failed with ECS's reason and the exit code",
         [snap(30, service([deployment(NEW_DEPLOYMENT, NEW_TD)]),
               [old_task(2)] + [stopped_new(i, 10 + i, CRASH, exit_code=1) for i in range(3)],
               in_service(2))],
         st.FAILED, st.TASKS_STOPPING, reason_has=["3 new tasks stopped", CRASH, "exit code 1"],
         fix_has=["logs"]),
    Case("two crashes are not yet a crash loop",
         [snap(30, service([deployment(NEW_DEPLOYMENT, NEW_TD)]),
               [old_task(2)] + [stopped_new(i, 10 + i, CRASH, exit_code=1) for i in range(2)],
               in_service(2))],
         st.PROGRESSING, summary_has=["2 new tasks failed"]),
    Case("new tasks stopped by failed ELB health checks",
         [snap(200, service([deployment(NEW_DEPLOYMENT, NEW_TD)]),
               [old_task(2)] + [stopped_new(i, 100 + i, ELB_FAILED,
                                            code="ServiceSchedulerInitiated") for i in range(3)],
               in_service(2))],
         st.FAILED, st.ELB_UNHEALTHY, reason_has=["failed ELB health checks"],
         fix_has=["health check"]),
    Case("stops from before this release do not count",
         [snap(30, service([deployment(NEW_DEPLOYMENT, NEW_TD)]),
               [old_task(2)] + [stopped_new(i, -100 - i, CRASH, exit_code=1) for i in range(3)],
               in_service(2))],
         st.PROGRESSING),
    Case("scale-in stops of new tasks do not count",
         [snap(30, service([deployment(NEW_DEPLOYMENT, NEW_TD)]),
               [old_task(2)] + [stopped_new(i, 10, "Scaling activity initiated by (deployment "
                                            f"{NEW_DEPLOYMENT})", code="ServiceSchedulerInitiated")
                                for i in range(3)], in_service(2))],
         st.PROGRESSING),
    Case("port conflict with nothing in transition: failed after the grace, with the fix",
         [snap(s, service([deployment(NEW_DEPLOYMENT, NEW_TD),
                           deployment(OLD_DEPLOYMENT, OLD_TD, "ACTIVE", running=2)],
                          events=[event("e1", PORT_EVENT, 5)]),
               [old_task(1), old_task(2)], in_service(1, 2))
          for s in (5, 20, 40, 70)],
         st.FAILED, st.UNPLACEABLE_PORT, reason_has=["already using a port"],
         fix_has=["minimumHealthyPercent", "hostPort 0", "port 80"]),
    Case("port conflict while an old task drains: expected, not a failure",
         [snap(s, service([deployment(NEW_DEPLOYMENT, NEW_TD),
                           deployment(OLD_DEPLOYMENT, OLD_TD, "ACTIVE", running=1)],
                          events=[event("e1", PORT_EVENT, 5)]),
               [old_task(1, desired="STOPPED"), old_task(2)],
               [health(ec2(1), description=DRAINING)] + in_service(2))
          for s in (5, 20, 40, 70, 130)],
         st.PROGRESSING, summary_has=["ECS cannot place a task (port in use)", "draining"]),
    Case("insufficient memory with nothing in transition: failed, resources named",
         [snap(s, service([deployment(NEW_DEPLOYMENT, NEW_TD),
                           deployment(OLD_DEPLOYMENT, OLD_TD, "ACTIVE", running=2)],
                          events=[event("e2", MEMORY_EVENT, 5)]),
               [old_task(1), old_task(2)], in_service(1, 2))
          for s in (5, 30, 70)],
         st.FAILED, st.UNPLACEABLE_RESOURCES, reason_has=["insufficient memory"],
         fix_has=["cpu/memory"]),
    Case("an unplaceable event from before the release is ignored",
         [snap(s, service([deployment(NEW_DEPLOYMENT, NEW_TD),
                           deployment(OLD_DEPLOYMENT, OLD_TD, "ACTIVE", running=2)],
                          events=[event("e0", PORT_EVENT, -50)]),
               [old_task(1), old_task(2)], in_service(1, 2))
          for s in (5, 30, 70, 100)],
         st.PROGRESSING, target=target(events_before=frozenset({"e0"}))),
    Case("budget exhausted while draining: says draining is the slow part",
         [snap(599, service([done_primary(), deployment(OLD_DEPLOYMENT, OLD_TD, "ACTIVE")]),
               new_tasks(1, 2) + [old_task(3, desired="STOPPED")],
               in_service(1, 2) + [health(ec2(3), description=DRAINING)]),
          snap(601, service([done_primary(), deployment(OLD_DEPLOYMENT, OLD_TD, "ACTIVE")]),
               new_tasks(1, 2) + [old_task(3, desired="STOPPED")],
               in_service(1, 2) + [health(ec2(3), description=DRAINING)])],
         st.FAILED, st.BUDGET_EXHAUSTED, reason_has=["not stable after 601 s"],
         fix_has=["release.timeout", "connectionDraining"]),
    Case("stable exactly at the deadline is stable",
         [snap(600, STABLE_SERVICE, new_tasks(1, 2), in_service(1, 2))], st.STABLE),
    Case("service deleted under us",
         [snap(10, service([done_primary()], status="DRAINING"), [], None)],
         st.FAILED, st.SERVICE_GONE),
    Case("a new task OutOfService on the ELB for longer than allowed",
         [snap(s, service([deployment(NEW_DEPLOYMENT, NEW_TD, running=1)]),
               new_tasks(1) + [old_task(2)],
               [health(ec2(1), "OutOfService", "Instance has failed at least the "
                       "UnhealthyThreshold number of health checks consecutively.",
                       "Instance")] + in_service(2))
          for s in (10, 50, 100)],
         st.FAILED, st.ELB_UNHEALTHY, reason_has=["OutOfService", "90 s"],
         target=target(unhealthy_after=80)),
]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_verdict_table(case: Case) -> None:
    watch = ClassicWatch(case.target)
    verdicts = [watch.observe(s) for s in case.snapshots]
    final = verdicts[-1]
    assert all(v.state == st.PROGRESSING for v in verdicts[:-1]), [v.state for v in verdicts]
    assert final.state == case.state, (final.summary, final.reason)
    assert final.cause == case.cause
    for text in case.summary_has:
        assert text in final.summary
    for text in case.reason_has:
        assert text in final.reason
    for text in case.fix_has:
        assert text in final.fix


OLD_TASK_STATES = ["PROVISIONING", "PENDING", "ACTIVATING", "RUNNING", "DEACTIVATING",
                   "STOPPING", "DEPROVISIONING"]


@pytest.mark.parametrize(("last", "desired"),
                         list(itertools.product(OLD_TASK_STATES, ["RUNNING", "STOPPED"])))
def test_never_stable_while_an_old_task_is_not_stopped(last: str, desired: str) -> None:
    watch = ClassicWatch(target())
    verdict = watch.observe(snap(120, STABLE_SERVICE,
                                 new_tasks(1, 2) + [old_task(3, last=last, desired=desired)],
                                 in_service(1, 2, 3)))
    assert verdict.state == st.PROGRESSING


def test_a_stopped_old_task_does_not_hold_stability() -> None:
    watch = ClassicWatch(target())
    verdict = watch.observe(snap(120, STABLE_SERVICE,
                                 new_tasks(1, 2) + [old_task(3, last="STOPPED",
                                                             desired="STOPPED")],
                                 in_service(1, 2)))
    assert verdict.state == st.STABLE


def test_draining_summary_counts_down_from_when_draining_was_first_seen() -> None:
    watch = ClassicWatch(target())
    draining = [health(ec2(3), description=DRAINING)] + in_service(1, 2)
    tasks = new_tasks(1, 2) + [old_task(3, desired="STOPPED")]
    watch.observe(snap(10, STABLE_SERVICE, tasks, draining))
    verdict = watch.observe(snap(98, STABLE_SERVICE, tasks, draining))
    assert verdict.summary == "2/2 new tasks InService, 1 old task draining (212 s left)"
    assert verdict.next_change_at == T0 + 310


def test_changed_only_when_something_moved() -> None:
    watch = ClassicWatch(target())
    tasks, elb = new_tasks(1) + [old_task(2)], in_service(1, 2)
    svc = service([deployment(NEW_DEPLOYMENT, NEW_TD, running=1)])
    assert watch.observe(snap(1, svc, tasks, elb)).changed
    assert not watch.observe(snap(2, svc, tasks, elb)).changed
    assert watch.observe(snap(3, svc, new_tasks(1, 2), in_service(1, 2))).changed


def test_next_change_predicts_when_a_new_task_should_be_in_service() -> None:
    watch = ClassicWatch(target(), healthy_after=10)
    svc = service([deployment(NEW_DEPLOYMENT, NEW_TD, running=1)])
    started_3s_in = [task("new1", NEW_TD, instance=1, started_at=3)]
    verdict = watch.observe(snap(5, svc, started_3s_in, [health(ec2(1), "OutOfService")]))
    assert verdict.next_change_at == T0 + 13  # startedAt + HealthyThreshold × Interval


def test_task_belongs_to_service_by_group_or_deployment() -> None:
    svc = STABLE_SERVICE
    assert st.belongs_to(task("a", NEW_TD, instance=1), svc)
    other = task("b", NEW_TD, instance=1, started_by="someone")
    other["group"] = "family:akka-demo"
    assert not st.belongs_to(other, svc)
    other["startedBy"] = NEW_DEPLOYMENT
    assert st.belongs_to(other, svc)


def test_timestamps_in_any_of_the_shapes_they_arrive_in() -> None:
    assert st.epoch(T0) == T0
    assert st.epoch("2023-11-14T22:13:20+00:00") == T0
    assert st.epoch("2023-11-14T22:13:20Z") == T0
    assert st.epoch(None) is None


def test_an_in_service_left_over_from_the_previous_task_does_not_prove_the_new_one() -> None:
    # The new task on instance 2 started 5 s ago; the ELB still says InService from the old
    # task that ran there. Only HealthyThreshold × Interval (60 s) after startedAt, or an
    # OutOfService seen since, shows the ELB passed the new task.
    watch = ClassicWatch(target())
    fresh = [task("new1", NEW_TD, instance=1), task("new2", NEW_TD, instance=2, started_at=85)]
    early = watch.observe(snap(90, STABLE_SERVICE, fresh, in_service(1, 2)))
    assert early.state == st.PROGRESSING
    assert early.summary.startswith("1/2 new tasks InService, 1 in ELB health checks")
    assert early.next_change_at == T0 + 145
    assert watch.observe(snap(144, STABLE_SERVICE, fresh, in_service(1, 2))).state == \
        st.PROGRESSING
    assert watch.observe(snap(145, STABLE_SERVICE, fresh, in_service(1, 2))).state == st.STABLE


def test_an_out_of_service_seen_after_the_start_proves_the_next_in_service() -> None:
    watch = ClassicWatch(target())
    fresh = [task("new1", NEW_TD, instance=1), task("new2", NEW_TD, instance=2, started_at=85)]
    registering = in_service(1) + [health(ec2(2), "OutOfService", "Instance registration is "
                                          "still in progress.", "ELB")]
    assert watch.observe(snap(90, STABLE_SERVICE, fresh, registering)).state == st.PROGRESSING
    assert watch.observe(snap(100, STABLE_SERVICE, fresh, in_service(1, 2))).state == st.STABLE


def test_an_instance_missing_from_the_answer_was_not_in_service() -> None:
    # Unfiltered DescribeInstanceHealth lists registered instances only: not listed = not
    # registered, which dates the InService that follows after the task's start.
    watch = ClassicWatch(target())
    fresh = [task("new1", NEW_TD, instance=1), task("new2", NEW_TD, instance=2, started_at=85)]
    assert watch.observe(snap(90, STABLE_SERVICE, fresh, in_service(1))).state == st.PROGRESSING
    assert watch.observe(snap(100, STABLE_SERVICE, fresh, in_service(1, 2))).state == st.STABLE


SCALE_IN = f"Scaling activity initiated by (deployment {NEW_DEPLOYMENT})"


@pytest.mark.parametrize(("reason", "code", "exit_code", "failure"), [
    (SCALE_IN, "ServiceSchedulerInitiated", 143, False),  # a JVM's answer to SIGTERM
    (SCALE_IN, "ServiceSchedulerInitiated", 137, False),  # SIGKILL after stopTimeout
    (SCALE_IN, "ServiceSchedulerInitiated", 0, False),
    (SCALE_IN, "ServiceSchedulerInitiated", 1, True),     # crashed while being stopped
    (CRASH, "EssentialContainerExited", 143, True),       # exited by itself
    (CRASH, "EssentialContainerExited", 137, True),       # e.g. killed for memory
    (CRASH, "EssentialContainerExited", 1, True),
    (ELB_FAILED, "ServiceSchedulerInitiated", 143, True),  # stopped cleanly, still unhealthy
])
def test_scheduler_stops_on_the_stop_signal_are_not_failures(reason, code, exit_code,
                                                            failure) -> None:
    stopped = stopped_new(1, 10, reason, exit_code=exit_code, code=code)
    assert_shape(stopped, "ecs", "Task")
    assert st.is_failure_stop(stopped) is failure


def test_three_jvm_scale_in_stops_are_not_a_crash_loop() -> None:
    watch = ClassicWatch(target())
    stops = [stopped_new(i, 10 + i, SCALE_IN, exit_code=143, code="ServiceSchedulerInitiated")
             for i in range(3)]
    verdict = watch.observe(snap(30, service([deployment(NEW_DEPLOYMENT, NEW_TD)]),
                                 [old_task(2)] + stops, in_service(2)))
    assert verdict.state == st.PROGRESSING and "failed" not in verdict.summary
