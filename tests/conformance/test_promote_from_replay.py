"""`promote --from`'s reading of the source release, replayed on answers in real AWS shapes.

What it reads: DescribeServices (the live revision), DescribeTaskDefinition with
include=[TAGS] (the digest the container runs and the release record on the revision)
and a DynamoDB Query of the ledger. botocore's Stubber validates every answer against
the output models and every request against the expected parameters.
"""

from __future__ import annotations

from typing import Any

import pytest
from botocore.stub import Stubber
from shapes_taskdef import described_service, described_task_definition, stubbed, taskdef_arn

from release.adapters import ledger
from release.core import records
from release.core.errors import InvalidInput
from release.engine.promote_from import read_source

REVISION = 41
COMMIT = "4e89c9ca9c2a5f0b7d6e3a1c8b9f0e2d4c6a8b1f"


@pytest.fixture
def world(replay_world: Any) -> dict[str, Any]:
    world = replay_world()
    return {**world, "registered": world["desired"]}


def record(spec: Any, outcome: str) -> records.Record:
    return records.Record(env="staging", service=spec.service_name, commit=COMMIT,
                          image=spec.image.digest, image_tag=spec.image.tag, by="jenkins",
                          at="2026-11-30T09:15:02Z", outcome=outcome,
                          finished_at="2026-11-30T09:16:40Z",
                          build_url="https://jenkins.example.invalid/job/release/41/")


def queue(world: dict[str, Any], tags: dict[str, str] | None, entries: list[records.Entry]
          ) -> list[Stubber]:
    arn = taskdef_arn(world["spec"].family, REVISION)
    described = described_task_definition(world["registered"], REVISION, tags)
    if tags is None:
        described.pop("tags")  # a revision registered without tags: ECS leaves the member out
    ecs = stubbed(world["aws"].ecs, [
        ("describe_services", described_service(world["spec"].service, arn),
         {"cluster": world["env"].cluster, "services": [world["spec"].service_name]}),
        ("describe_task_definition", described, {"taskDefinition": arn, "include": ["TAGS"]}),
    ])
    pk = ledger.partition("staging", world["spec"].service_name)
    items = [ledger._entry_item(pk, e) for e in entries]
    dynamo = stubbed(world["aws"].dynamodb, [
        ("query", {"Items": items, "Count": len(items), "ScannedCount": len(items)}, None)])
    return [ecs, dynamo]


def entry(spec: Any, outcome: str, at: str = "2026-11-30T09:15:02Z") -> records.Entry:
    return records.Entry(id=f"{at}#a1b2", kind=records.RELEASE, env="staging",
                         service=spec.service_name, revision=taskdef_arn(spec.family, REVISION),
                         at=at, outcome=outcome, commit=COMMIT, image=spec.image.digest)


def read(world: dict[str, Any]):
    env, spec, aws = world["env"], world["spec"], world["aws"]
    return read_source(aws, env, spec, lambda found: ledger.history(
        env, spec.service_name, found, aws))


def tags_of(rec: records.Record) -> dict[str, str]:
    return {t["key"]: t["value"] for t in rec.tags()}


def test_a_completed_live_release_that_git_pins_is_the_source(world) -> None:
    spec = world["spec"]
    stubbers = queue(world, tags_of(record(spec, records.COMPLETED)),
                     [entry(spec, records.COMPLETED)])

    source = read(world)

    assert (source.digest, source.tag, source.commit) == (spec.image.digest, spec.image.tag,
                                                          COMMIT)
    assert source.short_revision == f"{spec.family}:{REVISION}"
    assert source.build_url.endswith("/41/")
    for stubber in stubbers:
        stubber.assert_no_pending_responses()


def test_a_live_revision_without_tags_has_no_record_and_is_refused(world) -> None:
    queue(world, None, [])
    with pytest.raises(InvalidInput, match="has no release record"):
        read(world)


def test_a_release_still_in_progress_in_the_ledger_is_refused(world) -> None:
    spec = world["spec"]
    queue(world, tags_of(record(spec, records.COMPLETED)),
          [entry(spec, records.IN_PROGRESS, "2026-11-30T10:00:00Z"),
           entry(spec, records.COMPLETED)])
    with pytest.raises(InvalidInput, match="is in progress"):
        read(world)


def test_a_rolled_back_release_on_the_live_revision_is_refused(world) -> None:
    spec = world["spec"]
    queue(world, tags_of(record(spec, records.ROLLED_BACK)), [entry(spec, records.ROLLED_BACK)])
    with pytest.raises(InvalidInput, match="ended rolled-back"):
        read(world)


def test_a_service_that_does_not_exist_yet_has_nothing_to_promote(world) -> None:
    spec = world["spec"]
    service_arn = f"arn:aws:ecs:us-east-1:{world['env'].account}:service/{spec.service_name}"
    stubbed(world["aws"].ecs, [("describe_services", {
        "services": [], "failures": [{"arn": service_arn, "reason": "MISSING"}]}, None)])
    stubbed(world["aws"].dynamodb, [("query", {"Items": [], "Count": 0, "ScannedCount": 0},
                                     None)])
    with pytest.raises(InvalidInput, match="is not running"):
        read(world)
