"""Autoscaling-aware counts, replayed on Application Auto Scaling answers in real shapes.

botocore's Stubber answers DescribeScalableTargets and RegisterScalableTarget as AWS
does (each answer validated against the model): a scalable target owns the count (the
plan keeps the live 3 against the spec's 2 and says who owns it), a refused read is a
warning and the spec's count with a note, and the suspension of scale-in is made, and
undone, with the whole SuspendedState the target had.
"""

from __future__ import annotations

import copy
import io
import json
from pathlib import Path
from typing import Any

import pytest
import shapes_preflight as aws_says
from botocore.stub import Stubber
from shapes_autoscaling import ASKED, RESOURCE, queue_scaling, scalable_target
from shapes_taskdef import (
    described_images,
    described_service,
    described_task_definition,
    no_canary,
    stubbed,
)
from typer.testing import CliRunner

from release.adapters import autoscaling as reading
from release.adapters import ledger
from release.cli import app
from release.core import autoscaling, plan, records
from release.core.errors import ReleaseError
from release.engine import deploy
from release.engine.autoscaling import ScaleIn
from release.engine.hold import Hold, RunLedger
from release.output.events import Reporter

ROOT = Path(__file__).resolve().parents[2]
ENV = "staging"
DENIED = ("User: arn:aws:sts::123456789012:assumed-role/jenkins-release/jenkins-akka-firehose"
          "-41 is not authorized to perform: application-autoscaling:DescribeScalableTargets")


@pytest.fixture
def world(replay_world: Any) -> dict[str, Any]:
    return replay_world(caller="AROAEXAMPLEID:jenkins-akka-firehose-41", ledger=True,
                        connect=[deploy])


LIVE_ARN = "arn:aws:ecs:us-east-1:123456789012:task-definition/akka-demo:41"


def queue_live(world: dict[str, Any], running: int) -> Stubber:
    """A live service of `running` tasks on revision 41, whose image differs from git's (so
    the plan updates the service)."""
    previous = copy.deepcopy(world["desired"])
    container = previous["containerDefinitions"][0]
    container["image"] = container["image"][:-1] + "0"
    answer = described_task_definition(previous, 41)
    arn = answer["taskDefinition"]["taskDefinitionArn"]
    service = described_service({**world["spec"].service, "desiredCount": running}, arn)
    stubbed(world["aws"].ecr, [("describe_images", described_images(
        world["env"].ecr_repository, world["spec"].image.digest, world["spec"].image.tag),
        None)])
    return stubbed(world["aws"].ecs, [
        ("describe_services", service, {"cluster": world["env"].cluster,
                                        "services": [world["spec"].service_name]}),
        ("describe_task_definition", answer, {"taskDefinition": arn, "include": ["TAGS"]}),
        no_canary(world["env"].cluster, world["spec"].service_name)])  # the plan looks for one


def run(*args: str) -> tuple[int, list[dict[str, Any]], str]:
    result = CliRunner().invoke(app, [*args, "--env", ENV, "--repo", str(ROOT),
                                      "--format", "json"], catch_exceptions=False)
    events = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    return result.exit_code, events, result.output


def test_a_scalable_target_is_read_in_its_real_shape(world) -> None:
    stub = queue_scaling(world["aws"].application_autoscaling,
                         scalable_target(2, 10, scale_out_suspended=True))
    found = reading.read(world["aws"], world["env"], world["spec"])
    stub.assert_no_pending_responses()
    assert found.unknown == ""
    assert found.target == autoscaling.ScalableTarget(RESOURCE, 2, 10, (False, True, False))


def test_no_target_means_the_spec_owns_the_count(world) -> None:
    queue_scaling(world["aws"].application_autoscaling)
    found = reading.read(world["aws"], world["env"], world["spec"])
    assert found == autoscaling.Scaling(None)


def test_an_autoscaled_count_is_kept_and_the_plan_says_who_owns_it(world) -> None:
    ecs = queue_live(world, running=3)
    preflight = aws_says.queue_reads(world["aws"], world["env"], ecs, LIVE_ARN, instances=3)
    scaling = queue_scaling(world["aws"].application_autoscaling, scalable_target(2, 10))
    code, events, output = run("plan")
    assert code == 0, output
    (shown,) = [e for e in events if e["event"] == "plan"]
    update = next(c for c in shown["calls"] if c["operation"] == "update_service")
    assert "desiredCount" not in update["params"]  # UpdateService leaves the live 3 alone
    assert [c["path"] for c in shown["service_changes"]] == []  # 3 against 2 is no drift
    note = next(e for e in events if e["event"] == "plan.count")
    assert note["message"].strip() == ("desiredCount: 3 kept (Application Auto Scaling owns "
                                       "it: min 2, max 10; the spec says 2)")
    assert (note["effective"], note["set"], note["owner"]) == (3, None, "autoscaling")
    assert shown["budget"]["waves"] == plan.budget_for(
        world["env"], world["spec"], world["desired"], tasks=3).waves
    ecs.assert_no_pending_responses()
    scaling.assert_no_pending_responses()
    for stub in preflight:
        stub.assert_no_pending_responses()
    # preflight placed the count autoscaling keeps (3), not the spec's 2
    (report,) = [e for e in events if e["event"] == "plan.preflight"]
    (room,) = [r for r in report["results"] if r["check"] == "capacity"]
    assert "of 3 new task(s)" in room["message"]


def test_a_refused_read_is_a_warning_and_the_spec_count_is_used_with_a_note(world) -> None:
    ecs = queue_live(world, running=3)
    aws_says.queue_reads(world["aws"], world["env"], ecs, LIVE_ARN, instances=3)
    client = world["aws"].application_autoscaling
    stub = Stubber(client)
    stub.add_client_error("describe_scalable_targets", "AccessDeniedException", DENIED, 400,
                          expected_params=ASKED)
    stub.activate()
    code, events, output = run("plan")
    assert code == 0, output
    (shown,) = [e for e in events if e["event"] == "plan"]
    update = next(c for c in shown["calls"] if c["operation"] == "update_service")
    assert update["params"]["desiredCount"] == 2  # the spec's, as before
    note = next(e for e in events if e["event"] == "plan.count")
    assert note["level"] == "warn"
    assert note["autoscaling_unknown"] == f"AccessDeniedException: {DENIED}"
    assert "could not be read" in note["message"] and "may undo it" in note["message"]
    stub.assert_no_pending_responses()


def test_any_other_error_of_the_read_is_not_taken_for_no_target(world) -> None:
    stub = Stubber(world["aws"].application_autoscaling)
    stub.add_client_error("describe_scalable_targets", "ValidationException",
                          "Unsupported service namespace", 400, expected_params=ASKED)
    stub.activate()
    with pytest.raises(Exception) as raised:
        reading.read(world["aws"], world["env"], world["spec"])
    assert "ValidationException" in str(raised.value)


def suspend_world(world: dict[str, Any], target: dict[str, Any]) -> Any:
    """A prepared release (as deploy.prepare makes it) whose plan suspends scale-in."""
    spec = world["spec"]
    doc = copy.deepcopy(spec.doc)
    doc["release"]["autoscaling"] = {"suspendScaleIn": True}
    spec = type(spec).from_doc(spec.env, spec.path, doc)
    scaling = autoscaling.Scaling(autoscaling.ScalableTarget.from_api(target))
    live_now = plan.Live(described_service(spec.service, "arn:x")["services"][0], None,
                         scaling=scaling)
    the_plan = plan.make_plan(world["env"], spec, world["desired"], live_now)
    return type("Prepared", (), {"env": world["env"], "spec": spec, "aws": world["aws"],
                                 "plan": the_plan, "held": held_release(world, spec)})()


def held_release(world: dict[str, Any], spec: Any) -> Hold:
    """The release's ledger entry, open, on the quiet ledger (the lease is not this test's)."""
    run = RunLedger(ledger.Ledger(world["env"], world["aws"].dynamodb), spec.service_name,
                    Reporter("json", stream=io.StringIO()), "deploy", lambda *_: None)
    run.release_entry = run.begin(records.Entry(
        id="2026-01-01T00:00:00.000Z#1", kind=records.RELEASE, env=ENV,
        service=spec.service_name))
    return Hold(lease=None, ledger=run)  # type: ignore[arg-type]


def register_params(scale_in: bool, scale_out: bool = True) -> dict[str, Any]:
    return {"ServiceNamespace": "ecs", "ResourceId": RESOURCE,
            "ScalableDimension": "ecs:service:DesiredCount",
            "SuspendedState": {"DynamicScalingInSuspended": scale_in,
                               "DynamicScalingOutSuspended": scale_out,
                               "ScheduledScalingSuspended": False}}


REGISTERED = {"ScalableTargetARN": "arn:aws:application-autoscaling:us-east-1:123456789012:"
                                   "scalable-target/0ec9a1b2c3d4e5f60718293a4b5c6d7e8f90"}


def test_scale_in_is_suspended_then_restored_with_the_whole_state_it_had(world) -> None:
    # scale-out was suspended by someone else: the release sends it back as it was
    prepared = suspend_world(world, scalable_target(2, 10, scale_out_suspended=True))
    assert prepared.plan.suspension.acts
    stub = stubbed(world["aws"].application_autoscaling, [
        ("register_scalable_target", REGISTERED, register_params(True)),
        ("register_scalable_target", REGISTERED, register_params(False))])
    reporter = Reporter("json", stream=io.StringIO())
    with ScaleIn(reporter) as scale_in:
        scale_in.suspend(prepared)
        assert len(stub._queue) == 1  # suspended, not yet restored
    stub.assert_no_pending_responses()
    kinds = [e.kind for e in reporter.events]
    assert kinds.index("autoscaling.suspended") < kinds.index("autoscaling.restored")
    assert prepared.held.ledger.release_entry.autoscaling == (
        "scale-in suspended during the release, then restored")  # the entry says so


def test_a_suspension_that_is_refused_stops_the_release_before_any_change(world) -> None:
    prepared = suspend_world(world, scalable_target(2, 10))
    stub = Stubber(world["aws"].application_autoscaling)
    stub.add_client_error("register_scalable_target", "AccessDeniedException", "not allowed",
                          400, expected_params=register_params(True, False))
    stub.activate()
    reporter = Reporter("json", stream=io.StringIO())
    with pytest.raises(ReleaseError) as refused, ScaleIn(reporter) as scale_in:
        scale_in.suspend(prepared)
    assert "could not suspend dynamic scale-in" in refused.value.message
    assert "RegisterScalableTarget" in refused.value.hint and "nothing was changed" in \
        refused.value.hint
    assert not any(e.kind == "autoscaling.restored" for e in reporter.events)  # nothing to undo


def test_a_restore_that_fails_is_said_with_the_command_never_raised(world) -> None:
    prepared = suspend_world(world, scalable_target(2, 10))
    stub = Stubber(world["aws"].application_autoscaling)
    stub.add_response("register_scalable_target", REGISTERED, register_params(True, False))
    stub.add_client_error("register_scalable_target", "ConcurrentUpdateException",
                          "Concurrent update on the scalable target", 400,
                          expected_params=register_params(False, False))
    stub.activate()
    reporter = Reporter("json", stream=io.StringIO())
    with ScaleIn(reporter) as scale_in:
        scale_in.suspend(prepared)
    failed = next(e for e in reporter.events if e.kind == "autoscaling.not_restored")
    assert failed.data["command"] == (
        "aws application-autoscaling register-scalable-target --service-namespace ecs "
        f"--resource-id {RESOURCE} --scalable-dimension ecs:service:DesiredCount "
        "--suspended-state DynamicScalingInSuspended=false,DynamicScalingOutSuspended=false,"
        "ScheduledScalingSuspended=false")
    stub.assert_no_pending_responses()

