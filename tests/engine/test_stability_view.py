"""The verdict from the load-balancer-neutral view alone: no load balancer's shapes here.

Whatever kind of load balancer a `HealthSource` speaks to, `rollout_watch.Watch` reads only
which tasks it serves, which it drains and until when.
"""

from __future__ import annotations

from typing import Any

from engine_shapes import (
    INSTANCE_IDS,
    NEW_DEPLOYMENT,
    NEW_TD,
    OLD_DEPLOYMENT,
    OLD_TD,
    T0,
    deployment,
    service,
    task,
)

from release.core import rollout_watch
from release.core import stability as st
from release.core.serving import (
    DRAINING,
    NOT_REGISTERED,
    NOT_YET,
    SERVING,
    HealthView,
    Serving,
    placed,
)

ARN = "arn:aws:ecs:us-east-1:123456789012:task/AkkaCluster/"
STABLE_SERVICE = service([deployment(NEW_DEPLOYMENT, NEW_TD, running=2, rollout="COMPLETED")])
NEW = [task("new1", NEW_TD, instance=1), task("new2", NEW_TD, instance=2)]
OLD_LEAVING = task("old3", OLD_TD, instance=3, desired="STOPPED", started_by=OLD_DEPLOYMENT)


def target(**overrides: Any) -> st.Target:
    args: dict[str, Any] = dict(task_definition_arn=NEW_TD, deployment_id=NEW_DEPLOYMENT,
                                started_at=T0, deadline=T0 + 600, desired_count=2,
                                previous_task_definition_arn=OLD_TD, draining_timeout=300)
    args.update(overrides)
    return st.Target(**args)


def view(draining: dict[str, float | None] | None = None, **states: Serving) -> HealthView:
    return HealthView({ARN + name: s for name, s in states.items()}, draining or {})


def observe(watch: rollout_watch.Watch, seconds: float, tasks: list[dict[str, Any]],
            health: HealthView | None, svc: dict[str, Any] = STABLE_SERVICE) -> st.Verdict:
    return watch.observe(st.Snapshot(T0 + seconds, svc, tasks, INSTANCE_IDS, health))


def test_stable_when_every_new_task_is_served_and_nothing_drains() -> None:
    verdict = observe(rollout_watch.Watch(target()), 90, NEW,
                      view(new1=Serving(SERVING), new2=Serving(SERVING)))
    assert verdict.state == st.STABLE
    assert verdict.summary == "2/2 new tasks InService"


def test_a_task_not_served_yet_holds_stability_and_says_when_it_is_due() -> None:
    verdict = observe(rollout_watch.Watch(target()), 90, NEW,
                      view(new1=Serving(SERVING), new2=Serving(NOT_YET, "registering",
                                                               until=T0 + 130)))
    assert verdict.state == st.PROGRESSING
    assert verdict.summary.startswith("1/2 new tasks InService, 1 in ELB health checks")
    assert verdict.next_change_at == T0 + 130


def test_a_task_the_load_balancer_does_not_know_is_not_served() -> None:
    verdict = observe(rollout_watch.Watch(target()), 90, NEW, view(new1=Serving(SERVING)))
    assert verdict.state == st.PROGRESSING
    assert HealthView({}).of(ARN + "new2").state == NOT_REGISTERED


def test_an_old_task_draining_holds_stability_and_counts_down_to_its_end() -> None:
    health = view({"i-3": T0 + 310}, new1=Serving(SERVING), new2=Serving(SERVING),
                  old3=Serving(DRAINING, until=T0 + 310))
    verdict = observe(rollout_watch.Watch(target()), 98, [*NEW, OLD_LEAVING], health)
    assert verdict.state == st.PROGRESSING
    assert verdict.summary == "2/2 new tasks InService, 1 old task draining (212 s left)"
    assert verdict.next_change_at == T0 + 310


def test_a_drain_with_no_task_of_the_service_still_holds_stability() -> None:
    health = view({"i-3": None}, new1=Serving(SERVING), new2=Serving(SERVING))
    verdict = observe(rollout_watch.Watch(target()), 90, NEW, health)
    assert verdict.state == st.PROGRESSING
    assert "1 instance draining" in verdict.summary and "left" not in verdict.summary


def test_a_task_failing_its_health_checks_too_long_fails_the_release() -> None:
    watch = rollout_watch.Watch(target(unhealthy_after=80))
    svc = service([deployment(NEW_DEPLOYMENT, NEW_TD, running=1)])
    failing = view(new1=Serving(NOT_YET, "failed its checks", failing=True))
    verdicts = [observe(watch, s, NEW[:1], failing, svc) for s in (10, 50, 100)]
    assert [v.state for v in verdicts] == [st.PROGRESSING, st.PROGRESSING, st.FAILED]
    assert verdicts[-1].cause == st.ELB_UNHEALTHY and "90 s" in verdicts[-1].reason


def test_a_task_still_registering_never_fails_for_health() -> None:
    watch = rollout_watch.Watch(target(unhealthy_after=80))
    svc = service([deployment(NEW_DEPLOYMENT, NEW_TD, running=1)])
    registering = view(new1=Serving(NOT_YET, "registration in progress"))
    assert all(observe(watch, s, NEW[:1], registering, svc).state == st.PROGRESSING
               for s in (10, 50, 100, 200))


def test_a_view_that_only_counts_down_is_not_a_change() -> None:
    watch = rollout_watch.Watch(target())
    tasks = [*NEW, OLD_LEAVING]
    assert observe(watch, 10, tasks, view({"i-3": T0 + 310}, old3=Serving(DRAINING,
                                                                          until=T0 + 310))
                   ).changed
    again = observe(watch, 20, tasks, view({"i-3": T0 + 300}, old3=Serving(DRAINING,
                                                                         until=T0 + 300)))
    assert not again.changed
    moved = observe(watch, 30, tasks, view(new1=Serving(SERVING, "up"),
                                           new2=Serving(SERVING, "up"),
                                           old3=Serving(NOT_REGISTERED, "gone")))
    assert moved.changed


def test_without_a_load_balancer_running_is_enough() -> None:
    verdict = observe(rollout_watch.Watch(target()), 90, NEW, None)
    assert verdict.state == st.STABLE and verdict.summary == "2/2 new tasks running"


def test_a_task_as_a_load_balancer_sees_it() -> None:
    running = task("new1", NEW_TD, instance=1, started_at=5)
    running["containers"][0]["networkBindings"] = [{"containerPort": 8080, "hostPort": 80}]
    seen = placed(running, INSTANCE_IDS, T0 + 50)
    assert (seen.task_arn, seen.instance_id, seen.host_port, seen.started_at, seen.stopped) == (
        ARN + "new1", INSTANCE_IDS[running["containerInstanceArn"]], 80, T0 + 5, False)
    pending = placed(task("new2", NEW_TD, instance=2, last="PENDING"), INSTANCE_IDS, T0)
    assert pending.started_at is None and pending.host_port is None
