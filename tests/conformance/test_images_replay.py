"""A two-container service on answers in real AWS shapes: the application and a worker, each
built into its own ECR repository and pinned under /images, plus a third-party sidecar whose
image the task definition names by digest.

Replayed with botocore's Stubber (every answer checked against the output model, every
request against the expected parameters): `promote --from` reads both digests off the live
revision and its release record and the ledger's entry keeps both; `release init` on the
live service writes /images pins with their repositories (the sidecar stays in the task
definition) that plan no change; a rollback checks each image in its own repository.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from shapes_taskdef import (
    ACCOUNT,
    JENKINS,
    described_images,
    described_service,
    described_task_definition,
    stubbed,
    taskdef_arn,
)
from test_init_run_replay import container_instances, load_balancer

from release.adapters import ledger
from release.core import plan, records
from release.core.config import load_repo
from release.core.errors import InvalidInput
from release.core.render import pinned_images, render_service
from release.engine import init as init_engine
from release.engine.promote_from import read_source

ROOT = Path(__file__).resolve().parents[2]
ENV = "staging"
REVISION = 41
COMMIT = "4e89c9ca9c2a5f0b7d6e3a1c8b9f0e2d4c6a8b1f"
WORKER_DIGEST = "sha256:" + "7b" * 32
SIDECAR = ("public.ecr.aws/aws-observability/aws-for-fluent-bit@sha256:"
           + "5c" * 32)


def two_images(root: Path) -> None:
    """The project's documents, with staging's service building a worker image of its own
    (repository akka-worker) and running a log router pinned in the task definition."""
    for folder in ("environments", "taskdefs", "schemas"):
        shutil.copytree(ROOT / folder, root / folder)
    taskdef_path = root / "taskdefs/akka-firehose.json"
    taskdef = json.loads(taskdef_path.read_text())
    taskdef["containerDefinitions"] += [
        {"name": "worker", "cpu": 128, "memory": 128, "essential": True,
         "environment": [{"name": "QUEUE", "value": "jobs"}]},
        {"name": "log-router", "image": SIDECAR, "cpu": 64, "memory": 64, "essential": False}]
    taskdef_path.write_text(json.dumps(taskdef, indent=2) + "\n")
    spec_path = root / "environments/staging/services/akka-firehose.json"
    spec = json.loads(spec_path.read_text())
    pin = {k: spec["image"][k] for k in ("tag", "digest")}
    spec["images"] = {
        "akka-firehose": {**pin, "build": spec.pop("build")},
        "worker": {"repository": "akka-worker", "tag": "00000000beef", "digest": WORKER_DIGEST,
                   "build": {"context": "examples/worker"}}}
    del spec["image"]
    spec_path.write_text(json.dumps(spec, indent=2) + "\n")


@pytest.fixture
def world(tmp_path: Path, replay_world: Any) -> dict[str, Any]:
    two_images(tmp_path / "repo")
    world = replay_world(tmp_path / "repo", only_envs=[ENV])
    repo, env, spec = world["repo"], world["env"], world["spec"]
    arn = taskdef_arn(spec.family, REVISION)
    record = records.new_record(ENV, spec.service_name, (COMMIT, ""), spec.image.digest, None,
                                1_764_494_102.0, spec.image.tag,
                                pinned_images(env, spec, repo.taskdef_for(spec)))
    record.outcome = records.COMPLETED
    return {**world, "registered": world["desired"], "arn": arn, "record": record,
            "tmp": tmp_path, "service": described_service(spec.service, arn)}


def _ledger_answer(world: dict[str, Any], entries: list[records.Entry]) -> Any:
    pk = ledger.partition(ENV, world["spec"].service_name)
    items = [ledger._entry_item(pk, e) for e in entries]
    return stubbed(world["aws"].dynamodb, [
        ("query", {"Items": items, "Count": len(items), "ScannedCount": len(items)}, None)])


def _read(world: dict[str, Any], taskdef: dict[str, Any], entries: list[records.Entry]):
    env, spec, aws = world["env"], world["spec"], world["aws"]
    tags = {t["key"]: t["value"] for t in world["record"].tags()}
    ecs = stubbed(aws.ecs, [
        ("describe_services", world["service"], None),
        ("describe_task_definition", described_task_definition(taskdef, REVISION, tags),
         {"taskDefinition": world["arn"], "include": ["TAGS"]})])
    dynamo = _ledger_answer(world, entries)
    found: list[list[records.Entry]] = []

    def history(tag_records: list[records.Record]) -> list[records.Entry]:
        found.append(ledger.history(env, spec.service_name, tag_records, aws))
        return found[-1]

    source = read_source(aws, env, spec, history)
    ecs.assert_no_pending_responses()
    dynamo.assert_no_pending_responses()
    return source, found[0]


def _entry(world: dict[str, Any]) -> records.Entry:
    entry = records.release_entry("2026-11-30T09:15:02.517Z#a1b2", world["record"], "apply")
    entry.revision, entry.outcome = world["arn"], records.COMPLETED
    return entry


def test_promote_from_reads_both_digests_and_the_ledger_keeps_both(world) -> None:
    spec = world["spec"]
    source, entries = _read(world, world["registered"], [_entry(world)])
    assert source.image_refs == {
        "akka-firehose": f"{spec.image.tag}@{spec.image.digest}",
        "worker": f"00000000beef@{WORKER_DIGEST}"}
    assert entries[0].source == "ledger"
    assert records.images_map(entries[0].images) == {"akka-firehose": spec.image.digest,
                                                     "worker": WORKER_DIGEST}
    assert entries[0].history_row()["images"]["worker"] == WORKER_DIGEST


def test_promote_from_refuses_when_the_worker_runs_another_digest_than_git_pins(world) -> None:
    taskdef = json.loads(json.dumps(world["registered"]))
    other = "sha256:" + "99" * 32
    for container in taskdef["containerDefinitions"]:
        if container["name"] == "worker":
            container["image"] = container["image"].split("@")[0] + "@" + other
    with pytest.raises(InvalidInput, match="drifts from git.*in container worker"):
        _read(world, taskdef, [_entry(world)])


def test_init_of_the_live_two_image_service_pins_both_and_plans_no_change(
        world, monkeypatch: pytest.MonkeyPatch) -> None:
    env, spec, aws = world["env"], world["spec"], world["aws"]
    target = world["tmp"] / "adopted"
    shutil.copytree(world["tmp"] / "repo/environments" / ENV, target / "environments" / ENV,
                    ignore=shutil.ignore_patterns("services"))
    stubbed(aws.sts, [("get_caller_identity", {
        "UserId": "AROAEXAMPLEID:jenkins", "Account": env.account, "Arn": JENKINS}, None)])
    tags = {"release:by": "jenkins"}
    described = described_task_definition(world["registered"], REVISION, tags)
    ci_arn = container_instances()["containerInstances"][0]["containerInstanceArn"]
    ecs = stubbed(aws.ecs, [
        ("describe_services", world["service"], None),
        ("describe_task_definition", described, {"taskDefinition": world["arn"],
                                                 "include": ["TAGS"]}),
        ("list_container_instances", {"containerInstanceArns": [ci_arn]}, None),
        ("describe_container_instances", container_instances(), None)])
    stubbed(aws.elb, [
        ("describe_load_balancers", load_balancer(env.load_balancer.name), None),
        ("describe_load_balancer_attributes", {"LoadBalancerAttributes": {
            "ConnectionDraining": {"Enabled": True, "Timeout": 20}}}, None)])
    ecr = stubbed(aws.ecr, [  # each ECR image in its own repository; the sidecar is not ours
        ("describe_images", described_images(env.ecr_repository, spec.image.digest,
                                             spec.image.tag),
         {"registryId": ACCOUNT, "repositoryName": env.ecr_repository,
          "imageIds": [{"imageDigest": spec.image.digest}]}),
        ("describe_images", described_images("akka-worker", WORKER_DIGEST, "00000000beef"),
         {"registryId": ACCOUNT, "repositoryName": "akka-worker",
          "imageIds": [{"imageDigest": WORKER_DIGEST}]})])
    monkeypatch.setattr(init_engine.aws_adapter, "connect", lambda _env: aws)
    init_engine.init(target, ENV, env.cluster, spec.service_name)
    ecs.assert_no_pending_responses()
    ecr.assert_no_pending_responses()
    written = json.loads((target / f"environments/{ENV}/services/"
                                   f"{spec.service_name}.json").read_text())
    assert "image" not in written
    assert written["images"] == {
        "akka-firehose": {"repository": env.ecr_repository, "tag": spec.image.tag,
                          "digest": spec.image.digest},
        "worker": {"repository": "akka-worker", "tag": "00000000beef",
                   "digest": WORKER_DIGEST}}
    taskdef = json.loads((target / f"taskdefs/{spec.family}.json").read_text())
    images = {c["name"]: c.get("image") for c in taskdef["containerDefinitions"]}
    assert images == {"akka-firehose": None, "worker": None, "log-router": SIDECAR}
    adopted = load_repo(target, [ENV])
    adopted_spec = adopted.services_of(ENV)[0]
    live = plan.Live(world["service"]["services"][0], described["taskDefinition"])
    the_plan = plan.make_plan(env, adopted_spec, render_service(adopted, adopted_spec), live)
    assert the_plan.unchanged, [c.one_line() for c in the_plan.taskdef_changes
                                + the_plan.setting_changes]


def test_a_rollback_checks_each_image_in_its_own_repository(world, monkeypatch) -> None:
    from release.adapters import registry_api
    from release.core.plan import Live
    from release.engine import preflight
    from release.engine.preflight import images

    env, spec, aws = world["env"], world["spec"], world["aws"]
    target = described_task_definition(world["registered"], REVISION)["taskDefinition"]
    not_found = "ImageNotFoundException"
    stubber = stubbed(aws.ecr, [
        ("describe_images", described_images(env.ecr_repository, spec.image.digest,
                                             spec.image.tag),
         {"registryId": ACCOUNT, "repositoryName": env.ecr_repository,
          "imageIds": [{"imageDigest": spec.image.digest}]})])
    stubber.add_client_error("describe_images", not_found, "The image with imageId {…} does "
                             "not exist within the repository with name 'akka-worker'",
                             400, expected_params={
                                 "registryId": ACCOUNT, "repositoryName": "akka-worker",
                                 "imageIds": [{"imageDigest": WORKER_DIGEST}]})
    asked: list[tuple[str, str, str]] = []

    def offline(registry: str, repository: str, reference: str) -> registry_api.Answer:
        asked.append((registry, repository, reference))
        return registry_api.Answer(registry_api.UNREACHABLE, detail=f"{registry}: offline")

    monkeypatch.setattr(registry_api, "lookup", offline)
    ctx = preflight.for_revision(env, spec, aws, target, Live(None, None))
    results = images.check(ctx)
    stubber.assert_no_pending_responses()
    assert [(r.status, r.message.split(":")[0]) for r in results] == [
        ("ok", "in ECR (container akka-firehose)"), ("problem", "missing image"),
        ("not checked", "not checked")]
    assert "container worker" in results[1].message
    assert results[1].where == (f"akka-demo:{REVISION} (registered in ECS)#"
                                "/containerDefinitions/1/image")
    assert "--to" in results[1].fix
    # the sidecar's public image is asked of its own registry (here: offline, said so)
    assert asked == [("public.ecr.aws", "aws-observability/aws-for-fluent-bit",
                      SIDECAR.split("@")[1])]
