"""A service that pins one image per built container: the pin rewrite under /images, the
release record (tags and ledger entry), the source judgement of `promote --from`, the build
report, the change detection and the notification."""

from __future__ import annotations

import json
import unicodedata
from pathlib import Path

import pytest

from release.core import changes, records
from release.core.config import ConfigRepo, Environment, ServiceSpec, TaskDefinition
from release.core.errors import InvalidInput
from release.core.notify import Notifications
from release.core.pin import rewrite_pin
from release.core.promotion import images_from_build_report, judge_source
from release.core.records import COMPLETED, RELEASE, Entry, Record
from release.core.render import pinned_images, render_taskdef

ARN = "arn:aws:ecs:us-east-1:123456789012:task-definition/akka-demo:7"
REGISTRY = "123456789012.dkr.ecr.us-east-1.amazonaws.com"
APP = "sha256:" + "a1" * 32
WORKER = "sha256:" + "b2" * 32
SIDECAR = "sha256:" + "c3" * 32
SPEC_TEXT = """{
  "taskDefinition": {"file": "taskdefs/akka-firehose.json", "family": "akka-demo"},
  "service": {"serviceName": "svc", "loadBalancers": [
    {"loadBalancerName": "akkaElb", "containerName": "akka-firehose", "containerPort": 8080}]},
  "images": {
    "worker":   { "repository": "akka-worker",
                  "tag" : "0000000000aa", "digest": "WORKER",
                  "build": {"context": "examples/worker"} },
    "akka-firehose": {
        "tag": "0000000000bb",
        "digest": "APP"
    }
  }
}
""".replace("WORKER", WORKER).replace("APP", APP)


def spec_of(text: str = SPEC_TEXT) -> ServiceSpec:
    return ServiceSpec.from_doc("staging", Path("environments/staging/services/svc.json"),
                                json.loads(text))


def environment() -> Environment:
    return Environment.from_doc(Path("environments/staging/environment.json"), {
        "account": "123456789012", "region": "us-east-1", "cluster": "AkkaCluster",
        "ecr": {"repository": "akka-firehose"},
        "loadBalancer": {"name": "akkaElb", "listener": {}, "healthCheck": {
            "target": "HTTP:80/", "interval": 10, "unhealthyThreshold": 2,
            "healthyThreshold": 3, "timeout": 5}}}, "staging")


TASKDEF = TaskDefinition("taskdefs/akka-firehose.json", {"family": "akka-demo",
                         "containerDefinitions": [
                             {"name": "akka-firehose", "memory": 512},
                             {"name": "worker", "memory": 128},
                             {"name": "log-router", "memory": 64,
                              "image": f"public.ecr.aws/aws-observability/fluent-bit@{SIDECAR}"}]})


# -- the pins and the rewrite -------------------------------------------------------------


def test_the_primary_pin_is_the_load_balancers_container_and_each_pin_knows_its_place() -> None:
    spec = spec_of()
    assert [p.container for p in spec.images] == ["worker", "akka-firehose"]
    assert spec.image.container == "akka-firehose" and spec.image.pointer == "/images/akka-firehose"
    assert spec.pin_for("worker").repository_in(environment()) == "akka-worker"
    assert pinned_images(environment(), spec, TASKDEF) == {
        "worker": f"{REGISTRY}/akka-worker@{WORKER}",
        "akka-firehose": f"{REGISTRY}/akka-firehose@{APP}"}


def test_render_fills_each_pinned_container_and_keeps_the_sidecars_own_image() -> None:
    body = render_taskdef(environment(), spec_of(), TASKDEF)
    images = {c["name"]: c["image"] for c in body["containerDefinitions"]}
    assert images["log-router"] == f"public.ecr.aws/aws-observability/fluent-bit@{SIDECAR}"
    assert images["worker"].endswith(f"/akka-worker@{WORKER}")


def test_rewriting_one_containers_pin_changes_only_its_values_byte_for_byte() -> None:
    new = "sha256:" + "d4" * 32
    out = rewrite_pin(SPEC_TEXT, "0000000000cc", new, "/images/worker")
    assert out == SPEC_TEXT.replace('"tag" : "0000000000aa"', '"tag" : "0000000000cc"').replace(
        WORKER, new)
    assert json.loads(out)["images"]["akka-firehose"] == json.loads(SPEC_TEXT)["images"][
        "akka-firehose"]


def test_a_digest_only_pin_drops_the_tag_and_a_missing_pin_is_a_clear_refusal() -> None:
    out = rewrite_pin(SPEC_TEXT, None, APP, "/images/worker")
    assert json.loads(out)["images"]["worker"] == {
        "repository": "akka-worker", "digest": APP, "build": {"context": "examples/worker"}}
    with pytest.raises(InvalidInput, match="no pin /images/nope") as caught:
        rewrite_pin(SPEC_TEXT, "v1", None, "/images/nope")
    assert "/images/nope" in caught.value.hint
    with pytest.raises(InvalidInput, match='no "image" object'):
        rewrite_pin(SPEC_TEXT, "v1", None)


def test_a_container_name_with_a_slash_is_escaped_in_the_pointer() -> None:
    text = '{"images": {"a/b": {"tag": "v1"}, "a": {"tag": "v1"}}}'
    assert rewrite_pin(text, "v2", None, "/images/a~1b") == text.replace(
        '"a/b": {"tag": "v1"}', '"a/b": {"tag": "v2"}')


# -- the release record -------------------------------------------------------------------


def record_of(images: dict[str, str]) -> Record:
    return records.new_record("staging", "svc", ("c0ffee", ""), APP, None, 0.0, "0000000000bb",
                              images)


def test_the_record_keeps_the_primary_fields_and_one_tag_per_container() -> None:
    record = record_of(pinned_images(environment(), spec_of(), TASKDEF))
    tags = {t["key"]: t["value"] for t in record.tags()}
    assert tags["release:image"] == APP and tags["release:image-tag"] == "0000000000bb"
    assert tags["release:image:worker"] == WORKER
    assert tags["release:image:akka-firehose"] == APP
    again = Record.from_tags(ARN, record.tags())
    assert again is not None and again.image_map == {"worker": WORKER, "akka-firehose": APP}
    assert again.as_dict()["images"] == {"worker": WORKER, "akka-firehose": APP}


def test_record_tags_stay_within_ecs_limits_and_a_key_too_long_is_left_to_the_ledger() -> None:
    long_name = "c" * 120  # release:image: + 120 > 128, ECS's TagKey maximum
    images = {f"c{i}": f"{REGISTRY}/repo{i}@sha256:{i:064x}" for i in range(9)}
    record = record_of({**images, long_name: f"{REGISTRY}/x:only-a-tag"})
    tags = record.tags()
    assert len(tags) <= 50  # ECS: at most 50 tags on a resource
    assert all(1 <= len(t["key"]) <= 128 and len(t["value"]) <= 256 for t in tags)
    assert all(unicodedata.category(ch)[0] in "LZN" or ch in "_.:/=+-@"
               for t in tags for ch in t["key"] + t["value"])
    assert f"release:image:{long_name}" not in {t["key"] for t in tags}
    assert record.image_map[long_name] == f"{REGISTRY}/x:only-a-tag"  # a tag-only pin: the ref
    entry = records.release_entry("1", record, "deploy")
    assert records.images_map(entry.images) == record.image_map  # the ledger keeps them all


def test_an_older_record_without_container_tags_reads_as_no_images() -> None:
    old = Record.from_tags(ARN, [{"key": "release:image", "value": APP},
                                 {"key": "release:outcome", "value": COMPLETED}])
    assert old is not None and old.image_map == {} and old.image == APP
    row = Entry(id="1", kind=RELEASE, env="staging", service="svc", image=APP).history_row()
    assert row["images"] == {} and row["image"] == APP


# -- promote --from: every container's digest --------------------------------------------


LIVE = {"containerDefinitions": [
    {"name": "akka-firehose", "image": f"{REGISTRY}/akka-firehose@{APP}"},
    {"name": "worker", "image": f"{REGISTRY}/akka-worker@{WORKER}"},
    {"name": "log-router", "image": f"public.ecr.aws/aws-observability/fluent-bit@{SIDECAR}"}]}


def judged(worker_pin=("0000000000aa", WORKER), taskdef=LIVE):
    record = Record(revision=ARN, env="staging", service="svc", commit="c0ffee", image=APP,
                    image_tag="0000000000bb", outcome=COMPLETED)
    return judge_source("staging", "svc", ARN, taskdef, record, [], "akka-firehose",
                        ("0000000000bb", APP), {"worker": worker_pin})


def test_a_completed_two_image_release_gives_every_containers_digest() -> None:
    source = judged()
    assert source.image_refs == {"akka-firehose": f"0000000000bb@{APP}",
                                 "worker": f"0000000000aa@{WORKER}"}
    assert any("worker" in line and WORKER in line for line in source.describe())
    assert source.as_dict()["images"]["worker"] == {"tag": "0000000000aa", "digest": WORKER}


def test_a_second_container_that_drifts_from_git_refuses_the_whole_promotion() -> None:
    with pytest.raises(InvalidInput, match="drifts from git.* in container worker"):
        judged(worker_pin=("0000000000aa", "sha256:" + "ee" * 32))


def test_a_second_container_not_running_a_digest_is_refused() -> None:
    taskdef = {"containerDefinitions": [LIVE["containerDefinitions"][0],
                                        {"name": "worker", "image": f"{REGISTRY}/w:v1"}]}
    with pytest.raises(InvalidInput, match="'worker' .* not pinned to a sha256 digest"):
        judged(taskdef=taskdef)


# -- the build report ---------------------------------------------------------------------


def test_a_several_image_build_report_lists_each_containers_reference() -> None:
    report = json.dumps({"event": "build.result", "reference": f"{REGISTRY}/akka-firehose@{APP}",
                         "container": "akka-firehose", "images": [
                             {"container": "akka-firehose",
                              "reference": f"{REGISTRY}/akka-firehose@{APP}"},
                             {"container": "worker",
                              "reference": f"{REGISTRY}/akka-worker@{WORKER}"}]})
    assert images_from_build_report(report, "build.json") == {
        "akka-firehose": f"{REGISTRY}/akka-firehose@{APP}",
        "worker": f"{REGISTRY}/akka-worker@{WORKER}"}


def test_a_report_from_before_images_were_listed_is_the_one_pin() -> None:
    report = json.dumps({"event": "build.result", "reference": f"{REGISTRY}/akka-firehose@{APP}"})
    assert images_from_build_report(report, "build.json") == {
        None: f"{REGISTRY}/akka-firehose@{APP}"}


def test_a_container_built_but_not_pushed_is_named_in_the_refusal() -> None:
    report = json.dumps({"event": "build.result", "images": [
        {"container": "akka-firehose", "reference": f"{REGISTRY}/akka-firehose@{APP}"},
        {"container": "worker", "reference": None}]})
    with pytest.raises(InvalidInput, match="no pushed digest reference for container 'worker'"):
        images_from_build_report(report, "build.json")


# -- what a commit changes, and what a notification says ----------------------------------


def test_a_change_to_the_second_containers_pin_is_an_image_pin_change() -> None:
    env = environment()
    before = changes.service_parts(env, spec_of(), TASKDEF)
    after = changes.service_parts(env, spec_of(SPEC_TEXT.replace(WORKER, "sha256:" + "f" * 64)),
                                  TASKDEF)
    assert before["taskdef"] == after["taskdef"] and before["image"] != after["image"]
    assert set(before["image"]) == {"akka-firehose", "worker"}


def test_a_notification_of_a_two_image_release_carries_every_digest() -> None:
    notes = Notifications()
    [start] = notes.observe("release.plan", {
        "env": "staging", "service": "svc", "commit": "c0ffee", "image": APP,
        "images": {"akka-firehose": APP, "worker": WORKER}}, 0.0)
    assert start["digest"] == APP and start["images"] == {"akka-firehose": APP, "worker": WORKER}
    [single] = Notifications().observe("release.plan", {
        "env": "staging", "service": "svc", "image": APP, "images": {"akka-firehose": APP}}, 0.0)
    assert "images" not in single


def test_the_projects_own_single_pin_services_still_render_as_before() -> None:
    repo_root = Path(__file__).resolve().parents[2]
    from release.core import config

    repo: ConfigRepo = config.load_repo(repo_root, ["staging"])
    spec = repo.services_of("staging")[0]
    env = repo.environment("staging")
    assert [p.pointer for p in spec.images] == ["/image"]
    assert pinned_images(env, spec, repo.taskdef_for(spec)) == {
        "akka-firehose": spec.image.reference(env.repository_uri)}


# -- release init ---------------------------------------------------------------------------


def live_service(images: tuple, env_repository: str | None):
    from release.core import adopt

    service = {"serviceName": "svc", "desiredCount": 1, "loadBalancers": [
        {"loadBalancerName": "akkaElb", "containerName": "akka-firehose", "containerPort": 8080}]}
    taskdef = {"family": "akka-demo", "containerDefinitions": [
        {"name": "akka-firehose", "image": f"{REGISTRY}/team/app@{APP}", "memory": 512},
        {"name": "log-router", "image": f"public.ecr.aws/x/fluent-bit@{SIDECAR}",
         "memory": 64}]}
    return adopt.LiveService("staging", "123456789012", "us-east-1", "AkkaCluster", service,
                             taskdef, digest=APP, image_tag="v1", images=images,
                             env_repository=env_repository)


def test_init_names_the_repository_of_a_pin_outside_the_kept_environments() -> None:
    from release.core import adopt

    images = (adopt.LiveImage("akka-firehose", "team/app", "v1", APP),)
    spec = adopt.adopt(live_service(images, "akka-firehose")).documents[
        "environments/staging/services/svc.json"]
    assert spec["image"] == {"container": "akka-firehose", "repository": "team/app",
                             "tag": "v1", "digest": APP}
    written = adopt.adopt(live_service(images, None)).documents  # environment.json written
    assert "repository" not in written["environments/staging/services/svc.json"]["image"]
    assert written["environments/staging/environment.json"]["ecr"] == {"repository": "team/app"}
    taskdef = written["taskdefs/akka-demo.json"]
    assert [c.get("image") for c in taskdef["containerDefinitions"]] == [
        None, f"public.ecr.aws/x/fluent-bit@{SIDECAR}"]
