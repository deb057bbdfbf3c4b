"""The wait and the rollback replayed against responses in real AWS's shapes.

`deploy.release_service` runs for real (plan, register, update, wait, roll back)
on a virtual clock against the staging environment's documents; its boto3
clients are real, answered by botocore's Stubber from `shapes_service` (see
there). Behind a classic ELB ECS reports no rolloutState and no circuit breaker:
these tests prove the tool's own verdict finds a whole rollout, a crash loop, a
draining instance, a stale InService and a JVM's scale-in stop without them.
"""

from __future__ import annotations

import copy
import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.stub import ANY
from shapes_autoscaling import ASKED, described
from shapes_ledger import quiet_ledger
from shapes_service import (
    CLUSTER,
    DRAINING_NOW,
    ELB,
    GONE,
    IN_SERVICE,
    REGISTERING_NOW,
    SERVICE,
    Call,
    Moment,
    Polls,
    Replay,
    at,
    ci_arn,
    crashed,
    deployment,
    ec2,
    event,
    no_canary,
    replaced,
    service,
    task,
    td_arn,
)

from release.adapters import elb_classic, live
from release.adapters.aws import Aws
from release.core import serving
from release.core.clock import VirtualClock, use_clock
from release.core.config import load_repo
from release.core.errors import EXIT_OK, EXIT_ROLLED_BACK
from release.core.render import render_service
from release.engine import deploy, rollback
from release.output.events import Reporter

PROJECT = Path(__file__).resolve().parents[2]
FIRST_POLL = 2.0  # the wait looks first CHANGED_POLL_SECONDS after the UpdateService
OLD_IMAGE = ("123456789012.dkr.ecr.us-east-1.amazonaws.com/akka-firehose@sha256:"
             + "0" * 63 + "9")
ROLLBACK_DEPLOYMENT = "ecs-svc/9223370564341629999"


def p(seconds: float) -> float:
    """Seconds since the first poll, as the seconds-since-start that ECS timestamps carry."""
    return FIRST_POLL + seconds


@pytest.fixture
def staging(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    for var in ("AWS_PROFILE", "RELEASE_AWS_ENDPOINT", "BUILD_URL", "BUILD_TAG", "JOB_NAME"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAIOSFODNN7EXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")
    repo = load_repo(PROJECT)
    spec = repo.services_of("staging")[0]
    clock = VirtualClock()
    previous = use_clock(clock)
    try:
        yield {"repo": repo, "spec": spec, "env": repo.environment("staging"), "clock": clock,
               "monkeypatch": monkeypatch}
    finally:
        use_clock(previous)


def classic(aws: Aws) -> elb_classic.ClassicElb:
    """The staging ELB's health source (health check 2 × 30 s), as the wait builds it."""
    return elb_classic.ClassicElb(aws.elb, ELB, healthy_after=60, draining=300)


def registered(revision: int, image: str, desired: dict[str, Any]) -> dict[str, Any]:
    """A TaskDefinition as DescribeTaskDefinition / RegisterTaskDefinition return it."""
    doc = copy.deepcopy(desired)
    doc["containerDefinitions"][0]["image"] = image
    doc.update(taskDefinitionArn=td_arn(revision), revision=revision, status="ACTIVE",
               compatibilities=["EXTERNAL", "EC2"], registeredAt=at(-86400 * revision),
               registeredBy=f"arn:aws:sts::123456789012:assumed-role/jenkins/{revision}",
               requiresAttributes=[{"name": "com.amazonaws.ecs.capability.ecr-auth"}],
               enableFaultInjection=False)
    return doc


def record_tags(outcome: str, previous: int | None = None, day: int = 2
                ) -> list[dict[str, str]]:
    tags = [{"key": "release:env", "value": "staging"},
            {"key": "release:service", "value": SERVICE},
            {"key": "release:outcome", "value": outcome},
            {"key": "release:at", "value": f"2026-01-{day:02d}T00:00:00Z"}]
    if previous:
        tags.append({"key": "release:previous", "value": td_arn(previous)})
    return tags


STEADY_ON_1 = service([deployment(1, running=2, created=-86400)], running=2)


def release_calls(stage: dict[str, Any], rolling: dict[str, Any]) -> list[Call]:
    """What `release deploy` calls before it waits: the reads, register :2, update to :2."""
    desired = render_service(stage["repo"], stage["spec"])
    new = registered(2, desired["containerDefinitions"][0]["image"], desired)
    return [
        Call("ecr", "describe_images", {"imageDetails": [{
            "registryId": "123456789012", "repositoryName": "akka-firehose",
            "imageDigest": stage["spec"].image.digest, "imageTags": [stage["spec"].image.tag],
            "imagePushedAt": at(-600)}]}),
        Call("ecs", "describe_services", {"services": [STEADY_ON_1], "failures": []},
             {"cluster": CLUSTER, "services": [SERVICE]}),
        Call("ecs", "describe_task_definition",
             {"taskDefinition": registered(1, OLD_IMAGE, desired),
              "tags": record_tags("completed")}),
        Call("application_autoscaling", "describe_scalable_targets", described(), ASKED),
        no_canary(),  # the plan looks for a canary left behind, whatever the spec says
        Call("ecs", "register_task_definition", {"taskDefinition": new, "tags": []}),
        Call("ecs", "update_service", {"service": rolling}),
        Call("elb", "describe_load_balancer_attributes", {"LoadBalancerAttributes": {
            "ConnectionDraining": {"Enabled": True, "Timeout": 300}}},
            {"LoadBalancerName": ELB}),
    ]


def record_update(revision: int) -> Call:
    return Call("ecs", "tag_resource", {}, {"resourceArn": td_arn(revision), "tags": ANY})


def run_release(stage: dict[str, Any], script: list[Call | Polls]
                ) -> tuple[deploy.ReleaseOutcome, Reporter, Replay]:
    aws = Aws(stage["env"])
    quiet_ledger(aws)
    reporter = Reporter("json", stream=io.StringIO())
    script = [*script, no_canary()]  # once it ended, a release looks for a canary to remove
    with Replay(aws, script, stage["clock"].now) as replay:
        stage["monkeypatch"].setattr(deploy, "connect", lambda env: aws)
        outcome = deploy.release_service(stage["repo"], stage["spec"], reporter)
        replay.assert_done()
    return outcome, reporter, replay


def events(reporter: Reporter, kind: str) -> list[dict[str, Any]]:
    return [e.data | {"message": e.message} for e in reporter.events if e.kind == kind]


ROLLING = service([deployment(2), deployment(1, "ACTIVE", running=2, created=-86400)],
                  running=2)


def whole_rollout() -> Polls:
    """Two waves on two instances (50 % / 100 %), 300 s draining, health check 2 × 30 s."""
    old2 = task("old2", 1, 2, started=-86400)
    both = [deployment(2, running=0), deployment(1, "ACTIVE", running=1, created=-86400)]
    draining1 = task("old1", 1, 1, "DEACTIVATING", started=-86400, stopping=p(0))
    stopped1 = replaced("old1", 1, 1, stopping=p(0), stopped=p(300))
    new1 = task("new1", 2, 1, started=p(305))
    draining2 = task("old2", 1, 2, "DEACTIVATING", started=-86400, stopping=p(365))
    stopped2 = replaced("old2", 1, 2, stopping=p(365), stopped=p(665))
    new2 = task("new2", 2, 2, started=p(670))
    return Polls([
        (0, Moment(service(both, running=1, events=[event(1, "has begun draining connections "
                                                         "on 1 tasks.", p(0))]),
                   [draining1, old2], {ec2(1): DRAINING_NOW, ec2(2): IN_SERVICE})),
        (300, Moment(service(both, running=1, pending=1),
                     [stopped1, task("new1", 2, 1, "PENDING"), old2],
                     {ec2(1): GONE, ec2(2): IN_SERVICE})),
        (305, Moment(service([deployment(2, running=1), both[1]], running=2),
                     [stopped1, new1, old2], {ec2(1): REGISTERING_NOW, ec2(2): IN_SERVICE})),
        (365, Moment(service([deployment(2, running=1),
                              deployment(1, "ACTIVE", running=0, created=-86400)], running=1),
                     [stopped1, new1, draining2], {ec2(1): IN_SERVICE, ec2(2): DRAINING_NOW})),
        (665, Moment(service([deployment(2, running=1)], running=1, pending=1),
                     [stopped1, new1, stopped2, task("new2", 2, 2, "PENDING")],
                     {ec2(1): IN_SERVICE, ec2(2): GONE})),
        (670, Moment(service([deployment(2, running=2)], running=2),
                     [stopped1, new1, stopped2, new2],
                     {ec2(1): IN_SERVICE, ec2(2): REGISTERING_NOW})),
        (730, Moment(service([deployment(2, running=2)], running=2,
                             events=[event(2, "has reached a steady state.", p(730))]),
                     [stopped1, new1, stopped2, new2],
                     {ec2(1): IN_SERVICE, ec2(2): IN_SERVICE})),
    ])


def test_a_classic_elb_rollout_without_rollout_state_is_followed_to_stable(staging) -> None:
    outcome, reporter, replay = run_release(
        staging, [*release_calls(staging, ROLLING), whole_rollout(), record_update(2)])
    assert outcome.exit_code == EXIT_OK, outcome.message
    assert outcome.status == deploy.RELEASED and outcome.revision_arn == td_arn(2)
    stable = events(reporter, "wait.stable")[0]
    # not before the second new task passed its health checks, and within a poll of it
    assert p(730) <= stable["seconds"] <= p(730) + 3
    # the drain was seen as such (and counted down) although the ELB no longer lists the
    # deregistered instance unless it is named
    progress = [e["summary"] for e in events(reporter, "wait.progress")]
    assert any("1 old task draining (" in s for s in progress), progress
    assert all(call.get("Instances") for call in replay.health_calls)
    named = {i["InstanceId"] for call in replay.health_calls for i in call["Instances"]}
    assert named == {ec2(1), ec2(2)}


def test_a_stale_in_service_does_not_make_a_just_started_task_stable(staging) -> None:
    # The snapshot of the issue: the last new task started a moment ago on an instance that
    # the ELB still reports InService from its previous task. Stable only once HealthyThreshold
    # × Interval (2 × 30 s) has passed since its startedAt, or an OutOfService was seen.
    stale = Moment(service([deployment(2, running=2)], running=2),
                   [replaced("old1", 1, 1, stopping=-300, stopped=p(-1)),
                    task("new1", 2, 1, started=p(0)), task("new2", 2, 2, started=-100)],
                   {ec2(1): IN_SERVICE, ec2(2): IN_SERVICE})
    polls = Polls([(0, stale)])
    outcome, reporter, _ = run_release(
        staging, [*release_calls(staging, ROLLING), polls, record_update(2)])
    assert outcome.exit_code == EXIT_OK, outcome.message
    first = events(reporter, "wait.progress")[0]["summary"]
    assert first.startswith("1/2 new tasks InService, 1 in ELB health checks"), first
    stable = events(reporter, "wait.stable")[0]
    assert p(60) <= stable["seconds"] <= p(60) + 1
    assert len(polls.polled_at) <= 10


def test_a_crash_loop_without_any_ecs_signal_is_rolled_back_by_release(staging) -> None:
    # No rolloutState, no circuit-breaker event: only the tasks say the revision crashes.
    old2 = task("old2", 1, 2, started=-86400)
    stopped1 = replaced("old1", 1, 1, stopping=-300, stopped=p(-1))
    both = service([deployment(2, pending=1), deployment(1, "ACTIVE", running=1,
                                                         created=-86400)], running=1, pending=1)
    crashes = [crashed(f"new{n}", 2, 1, started=p(10 * n)) for n in range(3)]
    crash_loop = Polls([
        (10 * n, Moment(both, [stopped1, old2, *crashes[:n],
                               task(f"new{n}", 2, 1, "PENDING")],
                        {ec2(1): GONE, ec2(2): IN_SERVICE}))
        for n in range(3)] + [(30, Moment(both, [stopped1, old2, *crashes],
                                          {ec2(1): GONE, ec2(2): IN_SERVICE}))])
    back = service([deployment(1, running=1, dep=ROLLBACK_DEPLOYMENT),
                    deployment(2, "ACTIVE", running=0)], running=1, pending=1)
    restored = task("back1", 1, 1, started=p(45), dep=ROLLBACK_DEPLOYMENT)
    settling = Polls([
        (0, Moment(back, [stopped1, old2, *crashes,
                          task("back1", 1, 1, "PENDING", dep=ROLLBACK_DEPLOYMENT)],
                   {ec2(1): GONE, ec2(2): IN_SERVICE})),
        (5, Moment(service([deployment(1, running=2, dep=ROLLBACK_DEPLOYMENT)], running=2),
                   [stopped1, old2, *crashes, restored],
                   {ec2(1): REGISTERING_NOW, ec2(2): IN_SERVICE})),
        (65, Moment(service([deployment(1, running=2, dep=ROLLBACK_DEPLOYMENT)], running=2),
                    [stopped1, old2, *crashes, restored],
                    {ec2(1): IN_SERVICE, ec2(2): IN_SERVICE})),
    ])
    desired = render_service(staging["repo"], staging["spec"])
    on_1 = registered(1, OLD_IMAGE, desired)
    # the wait shows each crashed task's last lines (its stream; new2's never started)
    crash_loop.taskdefs[td_arn(2)] = registered(2, desired["containerDefinitions"][0]["image"],
                                                desired)
    crash_loop.logs.update({f"ecs/akka-firehose/new{n}": [f"line {i}" for i in range(30)]
                            + ["fatal: no FIREHOSE_STREAM"] for n in range(2)})
    script = [
        *release_calls(staging, ROLLING), crash_loop,
        record_update(2),  # failed
        Call("ecs", "describe_task_definition", {"taskDefinition": on_1,
                                                 "tags": record_tags("completed")},
             {"taskDefinition": td_arn(1), "include": ["TAGS"]}),
        Call("ecs", "describe_task_definition", {"taskDefinition": on_1,
                                                 "tags": record_tags("completed")}),
        Call("ecs", "describe_services", {"services": [service(
            [deployment(2, pending=1), deployment(1, "ACTIVE", running=1, created=-86400)],
            running=1)], "failures": []}),
        Call("ecs", "update_service", {"service": back},
             {"cluster": CLUSTER, "service": SERVICE, "taskDefinition": td_arn(1)}),
        settling,
        record_update(1),  # restored
        record_update(2),  # rolled back
    ]
    outcome, reporter, _ = run_release(staging, script)
    assert outcome.exit_code == EXIT_ROLLED_BACK, outcome.message
    assert outcome.status == deploy.ROLLED_BACK and outcome.previous_arn == td_arn(1)
    assert outcome.cause == "tasks_stopping"
    assert "rolled back by release to akka-demo:1" in outcome.message
    assert "by ECS" not in outcome.message
    said = events(reporter, "release.rolled_back")[0]["message"]
    assert said.endswith("rolled back by release to akka-demo:1, which is serving again")
    stops = events(reporter, "task.stopped")
    assert len(stops) == 3 and all("exit code 1" in s["reason"] for s in stops)
    logs = events(reporter, "task.logs")
    assert [e["task"].rsplit("/", 1)[-1] for e in logs] == ["new0", "new1", "new2"]
    assert [len(e["lines"]) for e in logs] == [20, 20, 0]  # the last 20, then one line why
    assert logs[0]["lines"][-1] == "fatal: no FIREHOSE_STREAM"
    assert logs[0]["group"] == "/ecs/akka-firehose" and logs[2]["cause"] == "missing"


def test_a_jvm_scale_in_stop_with_exit_143_is_not_a_failure(staging) -> None:
    # Three tasks of the new revision stopped by the scheduler during the rollout; the JVM
    # answered SIGTERM with 143. As many failures would be a crash loop (3 for 2 tasks).
    scaled_in = [task(f"extra{n}", 2, 3, "STOPPED", started=-120, stopping=p(n),
                      stopped=p(n) + 1, exit_code=143, stop_code="ServiceSchedulerInitiated",
                      reason=f"Scaling activity initiated by (deployment {deployment(2)['id']})")
                 for n in range(3)]
    done = Moment(service([deployment(2, running=2)], running=2),
                  [*scaled_in, task("new1", 2, 1, started=-100),
                   task("new2", 2, 2, started=-100)],
                  {ec2(1): IN_SERVICE, ec2(2): IN_SERVICE, ec2(3): GONE})
    outcome, reporter, replay = run_release(
        staging, [*release_calls(staging, ROLLING), Polls([(0, done)]), record_update(2)])
    assert outcome.exit_code == EXIT_OK, outcome.message
    assert not events(reporter, "task.stopped")
    assert {i["InstanceId"] for i in replay.health_calls[0]["Instances"]} == {
        ec2(1), ec2(2), ec2(3)}


def test_an_instance_the_elb_refuses_is_left_out_not_fatal() -> None:
    # DescribeInstanceHealth with an id the ELB cannot describe fails the whole call with
    # InvalidInstance ("The specified endpoint is not valid."): ask each one on its own.
    import boto3
    from botocore.stub import Stubber

    elb = boto3.client("elb", region_name="us-east-1", aws_access_key_id="x",
                       aws_secret_access_key="x")
    with Stubber(elb) as stub:
        asked = [{"InstanceId": ec2(1)}, {"InstanceId": ec2(9)}]
        stub.add_client_error("describe_instance_health", "InvalidInstance", http_status_code=400,
                              expected_params={"LoadBalancerName": ELB, "Instances": asked})
        stub.add_response("describe_instance_health", {"InstanceStates": [
            {"InstanceId": ec2(1), "State": "InService", "ReasonCode": "N/A",
             "Description": "N/A"}]}, {"LoadBalancerName": ELB, "Instances": asked[:1]})
        stub.add_client_error("describe_instance_health", "InvalidInstance", http_status_code=400,
                              expected_params={"LoadBalancerName": ELB, "Instances": asked[1:]})
        states = elb_classic.instance_health(elb, ELB, [ec2(1), ec2(9)])
        stub.assert_no_pending_responses()
    assert [s["InstanceId"] for s in states] == [ec2(1)]


def test_the_reader_names_every_instance_of_the_service_old_and_new(staging) -> None:
    # Unfiltered, the ELB lists registered instances only: the draining one (deregistered,
    # still serving in-flight requests) appears only because it is named.
    moment = Moment(ROLLING, [task("old1", 1, 1, "DEACTIVATING", started=-86400, stopping=0),
                              task("new2", 2, 2, started=-50)],
                    {ec2(1): DRAINING_NOW, ec2(2): IN_SERVICE})
    aws = Aws(staging["env"])
    with Replay(aws, [Polls([(0, moment)])], staging["clock"].now) as replay:
        reader = live.SnapshotReader(aws, CLUSTER, SERVICE, classic(aws))
        snap = reader.read(staging["clock"].now())
        replay.assert_done()
    by_id = {h["InstanceId"]: h for h in snap.health.answer}
    assert by_id[ec2(1)]["Description"] == DRAINING_NOW.description
    assert snap.health.of(task("old1", 1, 1)["taskArn"]).state == serving.DRAINING
    assert snap.instance_ids == {ci_arn(1): ec2(1), ci_arn(2): ec2(2)}
    assert sorted(t["lastStatus"] for t in snap.tasks) == ["DEACTIVATING", "RUNNING"]


@pytest.mark.parametrize(("previous_outcome", "restored", "expected"), [
    ("completed", False, 3),
    ("failed", False, 2),      # left in place by --no-rollback: not a release that completed
    ("rolled-back", True, 3),  # its release failed, but a rollback made it live again since
])
def test_the_tool_rolls_back_to_the_last_completed_release(staging, previous_outcome,
                                                           restored, expected) -> None:
    aws = Aws(staging["env"])
    quiet_ledger(aws)  # no ledger entries yet: the tags are the only records
    desired = render_service(staging["repo"], staging["spec"])
    tags_of_3 = record_tags(previous_outcome, previous=2, day=3)
    if restored:
        tags_of_3.append({"key": "release:restored-at", "value": "2026-01-03T00:00:00Z"})
    script: list[Call | Polls] = [
        Call("ecs", "describe_task_definition",
             {"taskDefinition": registered(3, OLD_IMAGE, desired), "tags": tags_of_3},
             {"taskDefinition": td_arn(3), "include": ["TAGS"]})]
    if expected != 3:
        script += [
            Call("ecs", "list_task_definitions",
                 {"taskDefinitionArns": [td_arn(n) for n in (4, 3, 2, 1)]},
                 {"familyPrefix": "akka-demo", "sort": "DESC"}),
            *(Call("ecs", "list_tags_for_resource", {"tags": tags}, {"resourceArn": td_arn(n)})
              for n, tags in ((4, record_tags("in-progress", previous=3, day=4)),
                              (3, tags_of_3), (2, record_tags("completed", previous=1)),
                              (1, record_tags("completed", day=1))))]
    with Replay(aws, script, staging["clock"].now) as replay:
        chosen = rollback.last_completed(aws, staging["env"], staging["spec"], td_arn(3),
                                         td_arn(4))
        replay.assert_done()
    assert chosen == td_arn(expected)


def test_an_instance_the_elb_refused_is_not_asked_again_on_every_poll(staging) -> None:
    # An old task stopped on an instance since terminated: ECS still lists the task (for an
    # hour), the ELB refuses the id. One extra round on the first poll, none after.
    moment = Moment(service([deployment(2, running=1)], running=1, desired=1),
                    [task("new1", 2, 1, started=-50),
                     replaced("old3", 1, 3, stopping=-400, stopped=-100)],
                    {ec2(1): IN_SERVICE, ec2(3): None})
    aws = Aws(staging["env"])
    with Replay(aws, [Polls([(0, moment)])], staging["clock"].now) as replay:
        reader = live.SnapshotReader(aws, CLUSTER, SERVICE, classic(aws))
        first = reader.read(staging["clock"].now())
        second = reader.read(staging["clock"].now())
        replay.assert_done()
    asked = [[i["InstanceId"] for i in call["Instances"]] for call in replay.health_calls]
    assert asked == [[ec2(1), ec2(3)], [ec2(1)], [ec2(3)], [ec2(1)]]
    assert first.health.answer == second.health.answer
    assert [h["InstanceId"] for h in second.health.answer] == [ec2(1)]
