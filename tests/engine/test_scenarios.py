"""Release scenarios through the CLI against the sandbox, on a virtual clock.

Each test ends by asserting which revision is live; the `stage` fixture also
checks, at every moment `release` declared stable, that no old task was still
running, draining or stopping in the emulator (see conftest.py).
"""

from __future__ import annotations

import os
import signal
import time
from typing import Any

import pytest
from engine_sandbox import ENV_DOC, SPEC, Stage

from release.core.clock import default_clock
from release.output.events import Reporter


def test_healthy_rollout_registers_records_and_waits_for_draining(released: Stage) -> None:
    stage = released
    stage.pin("v2")
    commit = stage.git.head.commit.hexsha
    run = stage.cli("deploy")
    assert run.exit_code == 0, run.output
    assert stage.live_revision() == "akka-demo:2"
    assert run.summary["event"] == "deploy.summary"
    assert run.summary["outcomes"][0]["status"] == "released"
    # the wait saw an old task drain and said how long was left
    progress = [e["summary"] for e in run.events if e["event"] == "wait.progress"]
    assert any("draining (" in p and "s left)" in p for p in progress), progress
    assert any("has begun draining" in e["message"] for e in run.events
               if e["event"] == "service.event")
    tags = stage.tags("akka-demo:2")
    assert tags["release:outcome"] == "completed"
    assert tags["release:commit"] == commit
    assert tags["release:previous"].endswith("akka-demo:1")
    assert tags["release:image-tag"] == "v2"
    assert tags["release:by"] == "operator1"
    assert stage.stable_checks == 2


@pytest.mark.instances(4)
def test_new_tasks_in_service_while_old_ones_drain_is_not_yet_stable(stage: Stage) -> None:
    # Spare instances and maximumPercent 200: the new tasks start and turn InService first,
    # then the old ones drain. The boto3 waiter's "one deployment, running == desired" and
    # "all new tasks InService" both come before the old tasks are gone.
    stage.edit(ENV_DOC, lambda d: (d["instances"].update(count=4),
                                   d["loadBalancer"]["connectionDraining"].update(timeout=30)))
    stage.sandbox.client("elb").modify_load_balancer_attributes(
        LoadBalancerName="akkaElb",
        LoadBalancerAttributes={"ConnectionDraining": {"Enabled": True, "Timeout": 30}})
    stage.edit(SPEC, lambda d: d["service"]["deploymentConfiguration"].update(
        minimumHealthyPercent=100, maximumPercent=200))
    stage.pin("v1")
    assert stage.cli("deploy").exit_code == 0
    stage.pin("v2")
    run = stage.cli("deploy")
    assert run.exit_code == 0, run.output
    progress = [e["summary"] for e in run.events if e["event"] == "wait.progress"]
    assert any(p.startswith("2/2 new tasks InService") and "draining" in p for p in progress), \
        progress
    stable = run.first("wait.stable")
    assert stable["seconds"] >= 30  # not before the 30 s drain was over
    assert stage.live_revision() == "akka-demo:2"


def test_release_record_names_the_jenkins_build(released: Stage, monkeypatch) -> None:
    stage = released
    monkeypatch.setenv("BUILD_URL", "https://jenkins.example/job/akka/42/")
    monkeypatch.setenv("BUILD_TAG", "jenkins-akka-42")
    monkeypatch.setenv("JOB_NAME", "akka")
    monkeypatch.setenv("BUILD_USER_ID", "alice")
    stage.pin("v2", commit=False)
    assert stage.cli("deploy").exit_code == 0
    tags = stage.tags("akka-demo:2")
    assert tags["release:build-url"] == "https://jenkins.example/job/akka/42/"
    assert tags["release:build-tag"] == "jenkins-akka-42"
    assert tags["release:job"] == "akka"
    assert tags["release:by"] == "alice"
    assert tags["release:commit"] == "uncommitted"
    assert tags["release:base"] == stage.git.head.commit.hexsha


def test_no_change_release_does_nothing_and_says_so_quickly(released: Stage) -> None:
    stage = released
    before = stage.revisions()
    clock_before = default_clock().now()
    started = time.monotonic()
    run = stage.cli("deploy")
    elapsed = time.monotonic() - started
    assert run.exit_code == 0
    assert run.has("release.unchanged")
    assert "nothing to change" in run.first("release.unchanged")["message"]
    assert not run.has("release.call")
    assert stage.revisions() == before
    assert elapsed < 2.0
    assert default_clock().now() == clock_before  # it did not even wait
    assert stage.live_revision() == "akka-demo:1"


def test_crash_loop_is_rolled_back_and_the_previous_revision_serves(released: Stage) -> None:
    stage = released
    stage.edit(SPEC, lambda d: d["service"]["deploymentConfiguration"].update(
        deploymentCircuitBreaker={"enable": False, "rollback": False}))
    stage.pin("v2", fault="crash:exit=3")
    run = stage.cli("deploy")
    assert run.exit_code == 3, run.output
    failed = run.first("wait.failed")
    assert failed["cause"] == "tasks_stopping"
    assert "exit code 3" in failed["reason"] and "Essential container" in failed["reason"]
    # Each crashed task was reported as it stopped, before the verdict.
    stops = [e for e in run.events if e["event"] == "task.stopped"]
    assert len(stops) >= 3 and all("exit code 3" in e["reason"] for e in stops)
    assert run.has("release.rolled_back")
    assert stage.live_revision() == "akka-demo:1"
    assert stage.tags("akka-demo:2")["release:outcome"] == "rolled-back"
    assert stage.tags("akka-demo:1")["release:restored-from"].endswith("akka-demo:2")
    error = run.first("error")
    assert error["exit_code"] == 3 and "logs" in error["hint"]
    # ... and the crashed container's last log lines, once per crashed task, before the verdict
    logs = [e for e in run.events if e["event"] == "task.logs"]
    assert [e["task"] for e in logs] == [e["task"] for e in stops]
    assert run.kinds().index("task.logs") < run.kinds().index("wait.failed")
    for event in logs:
        task_id = event["task"].rsplit("/", 1)[-1]
        assert (event["group"], event["stream"], event["container"]) == (
            "/ecs/akka-firehose", f"ecs/akka-firehose/{task_id}", "akka-firehose")
        assert event["lines"][-2:] == [
            "fatal: the service cannot start: IllegalStateException: sandbox fault "
            "crash:exit=3 (RELEASE_SANDBOX_FAULT)", "exiting with code 3"]
        assert "| exiting with code 3" in event["message"]  # the console shows the lines


def test_behind_a_classic_elb_a_crash_loop_is_rolled_back_by_release_not_by_ecs(
        released: Stage) -> None:
    # The spec turns the circuit breaker on, but behind a classic ELB ECS neither trips it
    # nor reports rolloutState: the tool's own detection and rollback are what happen.
    stage = released
    stage.pin("v2", fault="crash")
    run = stage.cli("deploy")
    assert run.exit_code == 3, run.output
    assert stage.live_revision() == "akka-demo:1"
    assert run.summary["outcomes"][0]["status"] == "rolled_back"
    causes = [e.get("cause") for e in run.events if e["event"] == "wait.failed"]
    assert causes[0] == "tasks_stopping", causes
    said = run.first("release.rolled_back")["message"]
    assert "to akka-demo:1, which is serving again" in said
    assert "rolled back by ECS" not in run.output


def test_failing_elb_health_check_is_rolled_back(released: Stage) -> None:
    stage = released
    stage.pin("v2", fault="unhealthy")
    run = stage.cli("deploy")
    assert run.exit_code == 3, run.output
    failed = run.first("wait.failed")
    assert failed["cause"] in ("elb_unhealthy", "tasks_stopping"), failed  # ours, not ECS's
    assert "ELB health checks" in run.output
    assert "rolled back by ECS" not in run.output
    assert stage.live_revision() == "akka-demo:1"
    # what the failing task answered the ELB, from its log stream, once per task
    logs = [e for e in run.events if e["event"] == "task.logs"]
    assert logs and len({e["task"] for e in logs}) == len(logs), run.output
    lines = logs[0]["lines"]
    assert lines[0].startswith("akka-firehose stand-in listening on port 8080 (revision ")
    assert "GET /api/healthcheck 503" in lines and "GET /api/healthcheck 200" not in lines


def test_no_rollback_leaves_the_failed_release_in_place_with_exit_4(released: Stage) -> None:
    stage = released
    stage.edit(SPEC, lambda d: d["service"]["deploymentConfiguration"].update(
        deploymentCircuitBreaker={"enable": False, "rollback": False}))
    stage.pin("v2", fault="crash")
    run = stage.cli("deploy", "--no-rollback")
    assert run.exit_code == 4, run.output
    assert not run.has("release.rollback")
    assert "release rollback" in run.first("error")["hint"]
    assert stage.live_revision() == "akka-demo:2"
    assert stage.tags("akka-demo:2")["release:outcome"] == "failed"


@pytest.mark.instances(3)
def test_unplaceable_port_conflict_fails_fast_with_the_fix(
        stage: Stage, monkeypatch: pytest.MonkeyPatch) -> None:
    # Three instances (so validation, and preflight's capacity check, let minimumHealthyPercent
    # 100 roll with static ports), but the spare one leaves once the release has begun: every
    # new task finds port 80 taken. (Gone before, preflight refuses: test_preflight_scenarios.)
    stage.edit(ENV_DOC, lambda d: d["instances"].update(count=3))
    stage.edit(SPEC, lambda d: d["service"]["deploymentConfiguration"].update(
        minimumHealthyPercent=100, maximumPercent=200))
    stage.pin("v1")
    assert stage.cli("deploy").exit_code == 0
    stage.pin("v2")
    ecs = stage.ecs()
    busy = {t["containerInstanceArn"] for t in ecs.describe_tasks(
        cluster="AkkaCluster", tasks=ecs.list_tasks(cluster="AkkaCluster")["taskArns"])["tasks"]}
    [spare] = [a for a in ecs.list_container_instances(cluster="AkkaCluster")[
        "containerInstanceArns"] if a not in busy]
    emit = Reporter.emit

    def spare_leaves(self: Reporter, kind: str, *args: Any, **data: Any) -> Any:
        if kind == "release.registered":
            ecs.deregister_container_instance(cluster="AkkaCluster", containerInstance=spare,
                                              force=True)
        return emit(self, kind, *args, **data)

    monkeypatch.setattr(Reporter, "emit", spare_leaves)
    started = default_clock().now()
    run = stage.cli("deploy")
    failed = run.first("wait.failed")
    assert failed["cause"] == "unplaceable_port"
    assert "already using a port" in failed["reason"]
    assert "minimumHealthyPercent" in failed["fix"] and "hostPort 0" in failed["fix"]
    budget = run.first("release.plan")["budget"]["seconds"]
    failed_after = [e for e in run.events if e["event"] == "wait.failed"]
    assert failed_after and default_clock().now() - started < 2 * budget
    # With minimumHealthyPercent 100 and no spare instance the rollback deployment cannot
    # place its tasks either: the old tasks keep serving, and the tool says exactly that.
    assert run.exit_code == 4
    error = run.first("error")
    assert "all 2 tasks of akka-demo:1 are serving" in error["message"]
    assert "minimumHealthyPercent" in error["hint"]
    # the old tasks never stopped, and the service points at the previous revision again
    assert stage.live_revision() == "akka-demo:1"
    running = stage.ecs().list_tasks(cluster="AkkaCluster", serviceName="akka-firehose-service")
    described = stage.ecs().describe_tasks(cluster="AkkaCluster", tasks=running["taskArns"])
    assert {t["taskDefinitionArn"].rsplit("/", 1)[-1] for t in described["tasks"]} == {
        "akka-demo:1"}


def test_draining_longer_than_the_budget_fails_and_says_why(stage: Stage) -> None:
    stage.edit(ENV_DOC, lambda d: d["loadBalancer"]["connectionDraining"].update(timeout=120))
    stage.sandbox.client("elb").modify_load_balancer_attributes(
        LoadBalancerName="akkaElb",
        LoadBalancerAttributes={"ConnectionDraining": {"Enabled": True, "Timeout": 120}})
    stage.pin("v1")
    assert stage.cli("deploy").exit_code == 0
    stage.pin("v2")
    run = stage.cli("deploy", "--timeout", "60")
    assert run.exit_code == 3, run.output
    failed = run.first("wait.failed")
    assert failed["cause"] == "budget_exhausted"
    assert "draining" in failed["fix"] and "release.timeout" in failed["fix"]
    assert stage.live_revision() == "akka-demo:1"


def once_the_rollout_of_v2_began(stage: Stage, inject) -> list[float]:
    """Call `inject()` on the first clock tick after the service moved to revision 2."""
    armed: list[float] = []

    def tick(now: float) -> None:
        if not armed and stage.service()["deployments"][0]["taskDefinition"].endswith(":2"):
            armed.append(now)
            inject()

    stage.sandbox.clock.on_tick(tick)
    return armed


def test_throttling_storm_is_absorbed(released: Stage) -> None:
    stage = released
    stage.pin("v2")
    armed = once_the_rollout_of_v2_began(stage, lambda: stage.sandbox.faults.throttle(6))
    run = stage.cli("deploy")
    assert armed, "the storm never started"
    assert run.exit_code == 0, run.output
    assert stage.live_revision() == "akka-demo:2"


def test_server_dropping_connections_mid_wait_is_retried(released: Stage) -> None:
    stage = released
    stage.pin("v2")
    armed = once_the_rollout_of_v2_began(stage, lambda: stage.sandbox.faults.drop(25))
    run = stage.cli("deploy")
    assert armed
    assert run.exit_code == 0, run.output
    assert run.has("wait.retry") and run.has("wait.reconnected")
    assert stage.live_revision() == "akka-demo:2"


def test_interrupt_mid_wait_leaves_the_service_and_tells_how_to_resume(released: Stage) -> None:
    stage = released
    stage.pin("v2")
    fired = []

    def ctrl_c(now: float) -> None:
        if not fired and len(stage.service()["deployments"]) == 2:
            fired.append(now)
            raise KeyboardInterrupt

    stage.sandbox.clock.on_tick(ctrl_c)
    run = stage.cli("deploy")
    assert fired
    assert run.exit_code == 130, run.output
    interrupted = run.first("release.interrupted")
    assert interrupted["resume"] == "release deploy --env sandbox --service akka-firehose"
    assert interrupted["rollback"].startswith("release rollback --env sandbox")
    assert not run.has("release.rollback")
    service = stage.service()
    assert service["taskDefinition"].endswith("akka-demo:2")
    assert len(service["deployments"]) == 2  # left exactly as it was
    # running the same deploy again resumes the wait instead of registering again
    resumed = stage.cli("deploy")
    assert resumed.exit_code == 0, resumed.output
    assert resumed.has("release.resume") and not resumed.has("release.call")
    assert stage.revisions() == ["akka-demo:1", "akka-demo:2"]
    assert stage.live_revision() == "akka-demo:2"
    assert stage.tags("akka-demo:2")["release:outcome"] == "completed"


def test_deploy_refuses_while_another_deployment_is_in_progress(released: Stage) -> None:
    stage = released
    ecs = stage.ecs()
    taskdef = ecs.describe_task_definition(taskDefinition="akka-demo:1")["taskDefinition"]
    body = {k: taskdef[k] for k in ("family", "containerDefinitions", "networkMode",
                                    "requiresCompatibilities")}
    body["containerDefinitions"][0]["environment"].append({"name": "HOTFIX", "value": "1"})
    other = ecs.register_task_definition(**body)["taskDefinition"]["taskDefinitionArn"]
    ecs.update_service(cluster="AkkaCluster", service="akka-firehose-service",
                       taskDefinition=other)
    stage.pin("v2")
    run = stage.cli("deploy")
    assert run.exit_code == 1, run.output
    error = run.first("error")
    assert "deployment in progress" in error["message"] and "akka-demo:2" in error["message"]
    assert "release status" in error["hint"] and "release rollback" in error["hint"]
    assert stage.revisions() == ["akka-demo:1", "akka-demo:2"]  # nothing registered
    assert stage.live_revision() == "akka-demo:2"


def test_rollback_goes_to_the_recorded_previous_or_a_named_revision(released: Stage) -> None:
    stage = released
    for tag in ("v2", "v3"):
        stage.pin(tag)
        assert stage.cli("deploy").exit_code == 0
    assert stage.live_revision() == "akka-demo:3"
    run = stage.cli("rollback", "--yes")
    assert run.exit_code == 0, run.output
    assert stage.live_revision() == "akka-demo:2"  # what was live before :3, by its record
    # the release of :3 completed, and rolling back away from it does not rewrite that
    assert stage.tags("akka-demo:3")["release:outcome"] == "completed"
    run = stage.cli("rollback", "--to", "1", "--yes")
    assert run.exit_code == 0, run.output
    assert stage.live_revision() == "akka-demo:1"
    assert stage.revisions() == ["akka-demo:1", "akka-demo:2", "akka-demo:3"]  # none removed
    history = stage.cli("history").first("history")["entries"]
    assert [(e["kind"], e["revision"].rsplit("/", 1)[-1]) for e in history[:3]] == [
        ("rollback", "akka-demo:1"), ("rollback", "akka-demo:2"), ("release", "akka-demo:3")]
    assert [e["outcome"] for e in history[:3]] == ["completed"] * 3
    assert history[0]["live"] is True
    # forward again to a revision that was rolled back: allowed, with a warning
    run = stage.cli("rollback", "--to", "akka-demo:3", "--yes")
    assert run.exit_code == 0 and "rolled back away from it" in run.first(
        "rollback.warning")["message"]
    assert stage.live_revision() == "akka-demo:3"


def test_rollback_with_commit_pins_the_restored_image_in_git(released: Stage) -> None:
    stage = released
    v1 = stage.tags("akka-demo:1")["release:image"]
    stage.pin("v2")
    assert stage.cli("deploy").exit_code == 0
    run = stage.cli("rollback", "--yes", "--commit")
    assert run.exit_code == 0, run.output
    assert stage.live_revision() == "akka-demo:1"
    spec = (stage.repo / SPEC).read_text()
    assert v1 in spec and '"v1"' in spec
    assert not stage.git.is_dirty()
    assert "rollback" in stage.git.head.commit.message
    # and git now asks for exactly what runs: the next deploy has nothing to do
    assert stage.cli("deploy").has("release.unchanged")


def test_missing_image_changes_nothing(released: Stage) -> None:
    stage = released
    stage.edit(SPEC, lambda d: d["image"].update(tag="v9", digest="sha256:" + "9" * 64))
    run = stage.cli("deploy")
    assert run.exit_code == 1
    error = run.first("error")
    assert "missing image" in error["message"] and "release build" in error["hint"]
    assert stage.revisions() == ["akka-demo:1"]


def test_invalid_documents_change_nothing(released: Stage) -> None:
    stage = released
    stage.pin("v2", commit=False)
    stage.edit(SPEC, lambda d: d["service"].update(desiredCount="two"))
    run = stage.cli("deploy")
    assert run.exit_code == 1
    assert stage.revisions() == ["akka-demo:1"]


def test_plan_shows_diff_calls_and_budget_and_changes_nothing(released: Stage) -> None:
    stage = released
    stage.pin("v2")
    run = stage.cli("plan")
    assert run.exit_code == 0, run.output
    plan = run.first("plan")
    assert [c["operation"] for c in plan["calls"]] == ["register_task_definition",
                                                       "update_service"]
    assert [c["path"] for c in plan["taskdef_changes"]] == [
        "containerDefinitions[akka-firehose].image"]
    assert plan["budget"]["source"] == "auto" and plan["budget"]["waves"] == 2
    assert stage.revisions() == ["akka-demo:1"]


def test_status_shows_revision_record_and_drift(released: Stage) -> None:
    stage = released
    run = stage.cli("status")
    status = run.first("status")
    assert status["state"] == "stable" and status["drift"] == []
    assert status["record"]["outcome"] == "completed"
    assert len(status["tasks"]) == 2 and all(t["elb"] == "serving" for t in status["tasks"])
    stage.pin("v2")
    drift = stage.cli("status").first("status")["drift"]
    assert len(drift) == 1 and "image" in drift[0]



def test_jenkins_abort_sigterm_mid_wait_exits_130_and_leaves_the_service(released: Stage
                                                                           ) -> None:
    stage = released
    stage.pin("v2")
    fired = []

    def abort(now: float) -> None:
        if not fired and len(stage.service()["deployments"]) == 2:
            fired.append(now)
            os.kill(os.getpid(), signal.SIGTERM)

    stage.sandbox.clock.on_tick(abort)
    run = stage.cli("deploy")
    assert fired
    assert run.exit_code == 130, run.output
    assert run.has("release.interrupted") and not run.has("release.rollback")
    assert len(stage.service()["deployments"]) == 2
    assert stage.live_revision() == "akka-demo:2"


def test_a_dropped_ssh_session_sighup_mid_wait_is_an_interruption_like_sigterm(
        released: Stage) -> None:
    """SIGHUP's default action kills the process at once (exit 129, nothing said, nothing
    recorded); it is handled as SIGTERM is: a message, a notification, the entry closed."""
    from release_sandbox.webhook import WebhookReceiver

    stage = released
    stage.pin("v2")
    fired = []

    def hang_up(now: float) -> None:
        if not fired and len(stage.service()["deployments"]) == 2:
            fired.append(now)
            os.kill(os.getpid(), signal.SIGHUP)

    stage.sandbox.clock.on_tick(hang_up)
    with WebhookReceiver() as hook:
        run = stage.cli("deploy", "--notify", hook.url)
        outcomes = [b["outcome"] for b in hook.bodies()]
    assert fired
    assert run.exit_code == 130, run.output
    interrupted = run.first("release.interrupted")
    assert interrupted["resume"] == "release deploy --env sandbox --service akka-firehose"
    assert "SIGHUP" in run.first("error")["message"]
    assert outcomes == ["started", "interrupted"]
    entry = stage.cli("history").first("history")["entries"][0]
    assert entry["outcome"] == "interrupted" and "SIGHUP" in entry["reason"], entry
    assert len(stage.service()["deployments"]) == 2  # left as it was
    assert signal.getsignal(signal.SIGHUP) is signal.SIG_DFL  # given back after the verb


def test_aws_gone_for_good_mid_wait_exits_5_with_how_to_resume(released: Stage) -> None:
    stage = released
    stage.pin("v2")
    armed = []

    def outage(now: float) -> None:
        if not armed and stage.service()["deployments"][0]["taskDefinition"].endswith(":2"):
            armed.append(now)
            stage.sandbox.faults.drop(100_000)

    stage.sandbox.clock.on_tick(outage)
    run = stage.cli("deploy")
    stage.sandbox.faults.clear()
    assert run.exit_code == 5, run.output
    error = run.first("error")
    assert "lost contact with AWS" in error["message"]
    assert "release deploy --env sandbox --service akka-firehose" in error["hint"]
    assert stage.live_revision() == "akka-demo:2"


def test_unknown_service_is_an_input_error_for_every_verb() -> None:
    from engine_sandbox import PROJECT
    from typer.testing import CliRunner

    from release.cli import app

    for verb in ("plan", "deploy", "rollback", "status", "history"):
        result = CliRunner().invoke(app, [verb, "--env", "sandbox", "--service", "nope",
                                          "--repo", str(PROJECT)])
        assert result.exit_code == 1, (verb, result.output)
        assert "unknown service 'nope'" in result.output
