"""Who owns desiredCount: the rules of core/autoscaling.decide, one case each, and how the
plan, its budget and its calls follow the count it decides."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest

from release.core import autoscaling, plan
from release.core.autoscaling import ScalableTarget, Scaling
from release.core.config import load_repo
from release.core.render import render_service

ROOT = Path(__file__).resolve().parents[2]
RID = "service/AkkaCluster/akka-firehose-service"


@pytest.fixture(scope="module")
def repo() -> Any:
    return load_repo(ROOT)


def spec_with(repo: Any, count: int | None, **release: Any) -> Any:
    spec = repo.services_of("staging")[0]
    service = {k: v for k, v in spec.service.items() if k != "desiredCount"}
    if count is not None:
        service["desiredCount"] = count
    doc = {**spec.doc, "service": service,
           "release": {**spec.doc.get("release", {}), **release}}
    return dataclasses.replace(spec, service=service, doc=doc)


def target(low: int = 2, high: int = 10, scale_in_suspended: bool = False) -> Scaling:
    return Scaling(ScalableTarget(RID, low, high, (scale_in_suspended, False, False)))


@pytest.mark.parametrize(("spec", "live", "scaling", "effective", "set_to", "owner", "note"), [
    # no scalable target
    (2, 3, Scaling(None), 2, 2, "spec", "desiredCount: 2 (the spec)"),
    (None, 3, Scaling(None), 3, None, "live", "desiredCount: 3 kept (the spec sets none)"),
    (None, None, Scaling(None), 1, 1, "default", "desiredCount: 1 for the new service (the "
     "spec sets none and there is no scalable target: 1)"),
    (4, None, Scaling(None), 4, 4, "spec", "desiredCount: 4 (the spec)"),
    # a scalable target owns the count
    (2, 3, target(), 3, None, "autoscaling", "desiredCount: 3 kept (Application Auto "
     "Scaling owns it: min 2, max 10; the spec says 2)"),
    (None, 6, target(), 6, None, "autoscaling", "desiredCount: 6 kept (Application Auto "
     "Scaling owns it: min 2, max 10; the spec sets none)"),
    (5, 3, target(), 5, 5, "autoscaling", "desiredCount: 3 → 5 (Application Auto Scaling "
     "owns it: min 2, max 10; the spec says 5; raised, never lowered)"),
    (12, 3, target(), 10, 10, "autoscaling", None),  # never above the maximum
    (2, 1, target(), 2, 2, "autoscaling", None),  # never below the minimum
    (None, 12, target(), 12, None, "autoscaling", None),  # above max: not lowered by a release
    # a service to create
    (None, None, target(3, 8), 3, 3, "target-minimum", "desiredCount: 3 for the new service "
     "(the scalable target's minimum; the spec sets none)"),
    (1, None, target(3, 8), 3, 3, "autoscaling", None),
    (5, None, target(3, 8), 5, 5, "spec", None),
])
def test_the_count_and_who_owns_it(repo, spec, live, scaling, effective, set_to, owner,
                                   note) -> None:
    service = None if live is None else {"desiredCount": live}
    count = autoscaling.decide(spec_with(repo, spec), service, scaling)
    assert (count.effective, count.set_to, count.owner) == (effective, set_to, owner)
    if note is not None:
        assert count.note == note


def test_a_refused_read_uses_the_spec_and_says_why(repo) -> None:
    count = autoscaling.decide(spec_with(repo, 2), {"desiredCount": 5},
                               Scaling(None, "AccessDeniedException: not authorized"))
    assert (count.effective, count.set_to, count.worth_showing) == (2, 2, True)
    assert "could not be read: AccessDeniedException: not authorized" in count.note


def test_the_plan_updates_without_the_count_and_waits_for_the_live_one(repo) -> None:
    spec = spec_with(repo, 2)
    env = repo.environment("staging")
    desired = render_service(repo, spec)
    live_td = {**desired, "containerDefinitions": [
        {**desired["containerDefinitions"][0], "image": "old"}]}
    service = {**spec.service, "desiredCount": 6, "taskDefinition": "td:1"}
    kept = plan.make_plan(env, spec, desired, plan.Live(service, live_td, scaling=target()))
    given = plan.make_plan(env, spec, desired, plan.Live(service, live_td, scaling=Scaling()))

    update = next(c for c in kept.calls if c.operation == "update_service")
    assert "desiredCount" not in update.params
    assert kept.setting_changes == []
    assert kept.count is not None and kept.count.effective == 6
    assert kept.budget.waves == plan.budget_for(env, spec, desired, tasks=6).waves
    # without a scalable target the spec's 2 is set, as before: drift, and its budget
    update = next(c for c in given.calls if c.operation == "update_service")
    assert update.params["desiredCount"] == 2
    assert [c.path for c in given.setting_changes] == ["service.desiredCount"]
    assert given.budget.waves == plan.budget_for(env, spec, desired, tasks=2).waves
    assert kept.budget.waves != given.budget.waves  # 6 tasks on the staging instances: more


def test_a_new_service_is_created_with_the_decided_count(repo) -> None:
    spec = spec_with(repo, None)
    env = repo.environment("staging")
    desired = render_service(repo, spec)
    created = plan.make_plan(env, spec, desired, plan.Live(None, None, scaling=target(3, 8)))
    (create,) = [c for c in created.calls if c.operation == "create_service"]
    assert create.params["desiredCount"] == 3


def test_suspension_calls_keep_the_other_flags_and_restore_the_state_it_found(repo) -> None:
    env = repo.environment("staging")
    spec = spec_with(repo, 2, autoscaling={"suspendScaleIn": True})
    found = Scaling(ScalableTarget(RID, 2, 10, (False, True, False)))
    suspension = autoscaling.suspension(env, spec, found)
    assert suspension is not None and suspension.suspend and suspension.restore
    assert suspension.suspend.params["SuspendedState"] == {
        "DynamicScalingInSuspended": True, "DynamicScalingOutSuspended": True,
        "ScheduledScalingSuspended": False}
    assert suspension.restore.params["SuspendedState"] == {
        "DynamicScalingInSuspended": False, "DynamicScalingOutSuspended": True,
        "ScheduledScalingSuspended": False}
    assert suspension.suspend.params["ResourceId"] == RID
    # nothing to do: not asked, no target, already suspended, unreadable
    assert autoscaling.suspension(env, spec_with(repo, 2), found) is None
    for scaling in (Scaling(None), target(scale_in_suspended=True), Scaling(None, "denied")):
        quiet = autoscaling.suspension(env, spec, scaling)
        assert quiet is not None and not quiet.acts and quiet.note


def test_the_resource_id_takes_the_cluster_name_from_an_arn() -> None:
    assert autoscaling.resource_id("arn:aws:ecs:us-east-1:123456789012:cluster/AkkaCluster",
                                   "svc") == "service/AkkaCluster/svc"
