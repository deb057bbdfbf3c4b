"""`release init` round trips and `release run` on the real sandbox (moto + the emulator)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from engine_sandbox import CLUSTER, SERVICE, Run, Stage
from typer.testing import CliRunner

from release.cli import app


def _cli(*args: str) -> tuple[int, list[dict]]:
    result = CliRunner().invoke(app, [*args, "--format", "json"], catch_exceptions=False)
    events = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    return result.exit_code, events


def _run(stage: Stage, *command: str) -> Run:
    """`release run` (options before `--`: what follows it is the task's command)."""
    argv = ["run", "--env", "sandbox", "--service", "akka-firehose", "--repo", str(stage.repo),
            "--format", "json", "--", *command]
    result = CliRunner().invoke(app, argv, catch_exceptions=False)
    events = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    return Run(result.exit_code, result.output, events)


def _init_into(stage: Stage, target: Path, service: str, monkeypatch: pytest.MonkeyPatch
               ) -> list[dict]:
    monkeypatch.setenv("RELEASE_AWS_ENDPOINT", stage.sandbox.endpoint)
    target.mkdir()
    code, events = _cli("init", "--env", "sandbox", "--cluster", CLUSTER, "--service", service,
                        "--region", stage.sandbox.region, "--repo", str(target))
    assert code == 0, events
    return events


def test_deploy_then_init_into_an_empty_dir_validates_and_plans_no_change(
        released: Stage, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "adopted"
    _init_into(released, target, SERVICE, monkeypatch)
    taskdef = json.loads((target / "taskdefs/akka-demo.json").read_text())
    spec = json.loads((target / f"environments/sandbox/services/{SERVICE}.json").read_text())
    assert "image" not in taskdef["containerDefinitions"][0]
    assert "taskDefinitionArn" not in taskdef and "revision" not in taskdef
    assert "essential" not in taskdef["containerDefinitions"][0]  # the API default
    assert spec["image"]["digest"].startswith("sha256:") and spec["image"]["tag"] == "v1"
    assert all("$schema" in json.loads(p.read_text()) for p in target.rglob("*.json"))
    code, events = _cli("validate", "--repo", str(target))
    assert code == 0, events
    code, events = _cli("plan", "--env", "sandbox", "--repo", str(target))
    assert code == 0, events
    plan = next(e for e in events if e["event"] == "plan")
    assert plan["unchanged"], (plan["taskdef_changes"], plan["service_changes"])
    code, events = _cli("init", "--env", "sandbox", "--cluster", CLUSTER, "--service", SERVICE,
                        "--repo", str(target))
    assert code == 1 and "overwrite" in events[-1]["message"]


def test_init_of_a_service_the_environment_already_manages_writes_no_second_spec(
        released: Stage, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RELEASE_AWS_ENDPOINT", released.sandbox.endpoint)
    spec = released.repo / "environments/sandbox/services/akka-firehose.json"
    before = spec.read_text()
    code, events = _cli("init", "--env", "sandbox", "--cluster", CLUSTER, "--service", SERVICE,
                        "--repo", str(released.repo))
    assert code == 1, events
    assert "already manages service 'akka-firehose-service' in " \
        "environments/sandbox/services/akka-firehose.json" in events[-1]["message"]
    assert "release plan --env sandbox --service akka-firehose" in events[-1]["hint"]
    assert not (released.repo / f"environments/sandbox/services/{SERVICE}.json").exists()
    assert spec.read_text() == before
    # --force rewrites that spec from the live service, in its own file
    code, events = _cli("init", "--env", "sandbox", "--cluster", CLUSTER, "--service", SERVICE,
                        "--repo", str(released.repo), "--force")
    assert code == 0, events
    assert "environments/sandbox/services/akka-firehose.json" in events[-1]["written"]
    assert not (released.repo / f"environments/sandbox/services/{SERVICE}.json").exists()
    code, events = _cli("plan", "--env", "sandbox", "--repo", str(released.repo))
    assert code == 0, events
    assert next(e for e in events if e["event"] == "plan")["unchanged"]


def test_init_of_a_service_created_by_hand_validates_and_plans_no_change(
        stage: Stage, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Written the way a person would with boto3, with the API defaults spelled out."""
    sandbox = stage.sandbox
    digest = sandbox.put_image("v7")
    image = f"{sandbox.account}.dkr.ecr.{sandbox.region}.amazonaws.com/akka-firehose:v7"
    ecs = sandbox.client("ecs")
    arn = ecs.register_task_definition(
        family="handmade", networkMode="bridge", requiresCompatibilities=["EC2"],
        containerDefinitions=[{
            "name": "web", "image": image, "cpu": 512, "memory": 512, "essential": True,
            "portMappings": [{"containerPort": 8080, "hostPort": 80, "protocol": "tcp"}],
            "environment": [{"name": "MODE", "value": "live"}], "mountPoints": [],
            "volumesFrom": []}])["taskDefinition"]["taskDefinitionArn"]
    ecs.create_service(
        cluster=CLUSTER, serviceName="handmade", taskDefinition=arn, desiredCount=1,
        launchType="EC2", role="ecsServiceRole", schedulingStrategy="REPLICA",
        healthCheckGracePeriodSeconds=20,
        deploymentController={"type": "ECS"},
        deploymentConfiguration={"maximumPercent": 200, "minimumHealthyPercent": 100},
        loadBalancers=[{"loadBalancerName": "akkaElb", "containerName": "web",
                        "containerPort": 8080}],
        placementStrategy=[{"type": "spread", "field": "instanceId"}])
    target = tmp_path / "adopted"
    events = _init_into(stage, target, "handmade", monkeypatch)
    spec = json.loads((target / "environments/sandbox/services/handmade.json").read_text())
    assert spec["image"] == {"container": "web", "tag": "v7"}  # a digest would be a change
    decisions = [e["decision"] for e in events if e["event"] == "init.decide"]
    assert len(decisions) == 1 and digest in decisions[0]  # ECR resolved it: the person decides
    assert "deploymentController" not in spec["service"]  # the API default, nobody must write
    code, events = _cli("validate", "--repo", str(target))
    assert code == 0, events
    code, events = _cli("plan", "--env", "sandbox", "--repo", str(target))
    assert code == 0, events
    plan = next(e for e in events if e["event"] == "plan")
    assert plan["unchanged"], (plan["taskdef_changes"], plan["service_changes"])


AWSLOGS = {"logDriver": "awslogs", "options": {"awslogs-group": "/ecs/akka",
                                               "awslogs-region": "us-east-1",
                                               "awslogs-stream-prefix": "app"}}


@pytest.fixture
def logged(stage: Stage) -> Stage:
    """Live on akka-demo:1 whose container logs with awslogs to /ecs/akka."""
    stage.sandbox.client("logs").create_log_group(logGroupName="/ecs/akka")
    stage.edit("taskdefs/akka-firehose.json",
               lambda doc: doc["containerDefinitions"][0].update(logConfiguration=AWSLOGS))
    stage.pin("v1")
    run = stage.cli("deploy")
    assert run.exit_code == 0, run.output
    return stage


@pytest.mark.instances(3)  # a free instance: the run variant is used all the same
def test_run_passes_exit_0_and_streams_the_log_lines(logged: Stage) -> None:
    run = _run(logged, "sh", "-c", "echo migrated 3 tables; exit 0")
    assert run.exit_code == 0, run.output
    statuses = [e["status"] for e in run.events if e["event"] == "run.status"]
    assert statuses[-1] == "STOPPED" and "RUNNING" in statuses
    assert [e["message"] for e in run.events if e["event"] == "run.log"] == [
        "migrated 3 tables"], run.output
    task = logged.ecs().describe_tasks(cluster=CLUSTER, tasks=[run.first("run.started")["task"]],
                                       include=["TAGS"])["tasks"][0]
    tags = {t["key"]: t["value"] for t in task["tags"]}
    assert tags["release:by"] == "operator1" and len(tags["release:commit"]) == 40
    assert task["overrides"]["containerOverrides"][0]["command"][-1].endswith("exit 0")
    assert task["launchType"] == "EC2"


@pytest.mark.instances(3)
def test_run_reports_the_container_exit_code_apart_and_says_when_there_are_no_logs(
        logged: Stage, monkeypatch: pytest.MonkeyPatch) -> None:
    """The container's 3 is reported, not passed on: 3 is the tool's "rolled back"."""
    monkeypatch.setattr("release_sandbox.awslogs.write", lambda *args, **kwargs: 0)  # no stream
    run = _run(logged, "sh", "-c", "echo x; exit 3")
    assert run.exit_code == 6, run.output
    error = run.first("error")
    assert error["container_exit_code"] == 3 and error["exit_code"] == 6
    assert "akka-firehose exited 3" in error["message"]
    unavailable = [e["message"] for e in run.events if e["event"] == "logs.unavailable"]
    assert len(unavailable) == 1 and "/ecs/akka" in unavailable[0]
    assert "does not exist" in unavailable[0]
    assert run.summary["event"] == "run.summary"
    assert (run.summary["exit_code"], run.summary["container_exit_code"]) == (6, 3)


@pytest.mark.instances(3)
def test_run_of_a_task_ecs_cannot_start_exits_1_with_ecs_words_and_the_remedy(
        logged: Stage) -> None:
    logged.sandbox.client("logs").delete_log_group(logGroupName="/ecs/akka")
    run = _run(logged, "sh", "-c", "echo x; exit 0")
    assert run.exit_code == 1, run.output
    error = run.first("error")
    assert error["message"] == (
        "the task stopped before its container ran: CannotStartContainerError: Error response "
        "from daemon: failed to initialize logging driver: failed to create Cloudwatch log "
        "stream: ResourceNotFoundException: The specified log group does not exist.")
    assert "awslogs-create-group" in error["hint"] and "release bootstrap" in error["hint"]


@pytest.mark.instances(3)
def test_run_interrupted_leaves_the_task_running_and_says_how_to_stop_it(
        released: Stage, monkeypatch: pytest.MonkeyPatch) -> None:
    from release.output.events import Reporter

    original = Reporter.emit

    def emit(self, kind, message, level="info", **data):  # Ctrl-C once the task runs
        event = original(self, kind, message, level, **data)
        if kind == "run.status" and data.get("status") == "RUNNING":
            raise KeyboardInterrupt
        return event

    monkeypatch.setattr(Reporter, "emit", emit)
    run = _run(released, "sleep", "600")
    assert run.exit_code == 130, run.output
    assert "aws ecs stop-task --cluster AkkaCluster --task" in run.output
    task = released.ecs().describe_tasks(cluster=CLUSTER,
                                         tasks=[run.first("run.started")["task"]])["tasks"][0]
    assert task["lastStatus"] == "RUNNING"


def _before_deploy(stage: Stage, command: list[str]) -> None:
    stage.edit("environments/sandbox/services/akka-firehose.json",
               lambda doc: doc["release"].update(beforeDeploy={"command": command}))


def test_a_failing_before_deploy_leaves_the_service_untouched(
        released: Stage, monkeypatch: pytest.MonkeyPatch) -> None:
    from release_sandbox import moto_hooks  # noqa: F401  (the emulator's update hook)

    updates: list[str] = []
    emulator = released.sandbox.emulator
    original = emulator.service_updated
    monkeypatch.setattr(emulator, "service_updated",
                        lambda service, params, before: (updates.append(params["service"]),
                                                         original(service, params, before)))
    _before_deploy(released, ["sh", "-c", "migrate; exit 4"])
    released.pin("v2")
    run = released.cli("deploy")
    assert run.exit_code == 3, run.output
    assert "beforeDeploy exited 4" in run.output and "not updated" in run.output
    assert released.live_revision() == "akka-demo:1"
    assert "akka-demo:2" in released.revisions()  # registered, not released
    assert updates == [] and not any(e.get("operation") == "update_service"
                                     for e in run.events)
    assert len(released.service()["deployments"]) == 1


@pytest.mark.instances(3)
def test_a_passing_before_deploy_runs_with_the_new_revision_then_releases(
        released: Stage) -> None:
    _before_deploy(released, ["sh", "-c", "migrate; exit 0"])
    released.pin("v2")
    run = released.cli("deploy")
    assert run.exit_code == 0, run.output
    started = run.first("run.started")
    assert "akka-demo-run:1 (the run variant of akka-demo:2)" in started["message"]
    stopped = next(i for i, e in enumerate(run.events) if e.get("status") == "STOPPED")
    assert stopped < next(i for i, e in enumerate(run.events)
                          if e.get("operation") == "update_service")
    assert released.live_revision() == "akka-demo:2"


# -- a full cluster: the seed's two instances, each holding the service's static host port 80


def _variant_tags(stage: Stage, revision: str) -> dict[str, str]:
    arn = stage.ecs().describe_task_definition(taskDefinition=revision)["taskDefinition"][
        "taskDefinitionArn"]
    return {t["key"]: t["value"]
            for t in stage.ecs().list_tags_for_resource(resourceArn=arn)["tags"]}


def test_run_on_the_seeds_full_cluster_runs_in_the_variant_and_reports_exit_3(
        released: Stage) -> None:
    """Two instances, two tasks on host port 80: the revision itself fits nowhere."""
    assert released.service()["runningCount"] == 2
    run = _run(released, "sh", "-c", "exit 3")
    assert run.exit_code == 6, run.output
    assert run.summary["container_exit_code"] == 3
    variant = run.first("run.variant")
    assert variant["registered"] is True and variant["revision"].endswith("/akka-demo-run:1")
    assert "host port 80" in variant["message"]
    ecs = released.ecs()
    task = ecs.describe_tasks(cluster=CLUSTER, tasks=[run.first("run.started")["task"]])[
        "tasks"][0]
    assert task["taskDefinitionArn"] == variant["revision"]
    registered = ecs.describe_task_definition(taskDefinition="akka-demo-run:1")["taskDefinition"]
    live = ecs.describe_task_definition(taskDefinition="akka-demo:1")["taskDefinition"]
    assert not registered["containerDefinitions"][0].get("portMappings")
    assert live["containerDefinitions"][0]["portMappings"][0]["hostPort"] == 80

    def without_ports(taskdef: dict) -> dict:  # all else is the revision's own
        strip = {"taskDefinitionArn", "family", "revision", "registeredAt", "registeredBy"}
        kept = {k: v for k, v in taskdef.items() if k not in strip}
        kept["containerDefinitions"] = [{k: v for k, v in c.items() if k != "portMappings"}
                                        for c in taskdef["containerDefinitions"]]
        return kept

    assert without_ports(registered) == without_ports(live)
    tags = _variant_tags(released, "akka-demo-run:1")
    assert tags["release-run:variant-of"] == "akka-demo:1"
    assert tags["release-run:content"].startswith("sha256:")
    assert not any(k.startswith("release:") for k in tags)  # no release record on it

    again = _run(released, "sh", "-c", "exit 0")  # unchanged: the same variant, reused
    assert again.exit_code == 0, again.output
    assert again.first("run.variant")["registered"] is False
    assert again.first("run.variant")["revision"] == variant["revision"]
    assert [a.rsplit("/", 1)[-1] for a in ecs.list_task_definitions(
        familyPrefix="akka-demo-run")["taskDefinitionArns"]] == ["akka-demo-run:1"]

    # never the service's revision, nor in its family's history, nor a change to deploy
    assert released.live_revision() == "akka-demo:1"
    assert released.revisions() == ["akka-demo:1"]
    plan = released.cli("plan")
    assert plan.exit_code == 0 and plan.first("plan")["unchanged"], plan.output
    history = released.cli("history", "--service", "akka-firehose")
    assert history.exit_code == 0, history.output
    assert "akka-demo-run" not in history.output and "akka-demo:1" in history.output
    refused = released.cli("rollback", "--service", "akka-firehose", "--to", "akka-demo-run:1",
                           "--yes")
    assert refused.exit_code == 1 and "not 'akka-demo'" in refused.output


def test_run_refuses_a_revision_arn_of_another_account_before_any_call(
        released: Stage) -> None:
    """ECS resolves a task definition ARN by family:revision in the caller's own account: an
    ARN copied from another account would run the local akka-demo:1 without a word."""
    other = "arn:aws:ecs:us-east-1:999999999999:task-definition/akka-demo:1"
    argv = ["run", "--env", "sandbox", "--service", "akka-firehose", "--repo",
            str(released.repo), "--format", "json", "--revision", other, "--", "true"]
    result = CliRunner().invoke(app, argv, catch_exceptions=False)
    assert result.exit_code == 1, result.output
    assert "--revision " + other in result.output and "123456789012" in result.output
    assert not released.ecs().list_tasks(cluster=CLUSTER, startedBy="release-run")["taskArns"]


def test_before_deploy_on_the_seeds_full_cluster_runs_in_the_variant_of_the_new_revision(
        released: Stage) -> None:
    """beforeDeploy runs while both old tasks still hold port 80 on the two instances."""
    _before_deploy(released, ["sh", "-c", "migrate; exit 0"])
    released.pin("v2")
    run = released.cli("deploy")
    assert run.exit_code == 0, run.output
    variant = run.first("run.variant")
    assert variant["source"].endswith("/akka-demo:2")
    assert variant["revision"].endswith("/akka-demo-run:1") and variant["registered"] is True
    assert "akka-demo-run:1" in run.first("run.started")["message"]
    assert released.live_revision() == "akka-demo:2"
    assert released.revisions() == ["akka-demo:1", "akka-demo:2"]
    assert released.cli("plan").first("plan")["unchanged"]


def test_before_deploy_that_fits_on_no_instance_stops_the_release_with_ecs_reasons(
        released: Stage) -> None:
    """A new revision of 1536 CPU units: one task per t2.medium still fits (2048), but not
    beside an old task of 1024 — so beforeDeploy's task never runs (RESOURCE:CPU)."""
    _before_deploy(released, ["sh", "-c", "migrate; exit 0"])
    released.edit("taskdefs/akka-firehose.json",
                  lambda doc: doc["containerDefinitions"][0].update(cpu=1536))
    released.pin("v2")
    run = released.cli("deploy")
    assert run.exit_code == 3, run.output
    error = run.summary
    assert "beforeDeploy never ran" in error["message"], run.output
    assert "RESOURCE:CPU" in error["message"] and "1536 units" in error["message"]
    assert "add container instances" in error["hint"] and "not released" in error["hint"]
    assert released.live_revision() == "akka-demo:1"
    assert len(released.service()["deployments"]) == 1
