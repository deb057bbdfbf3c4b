"""`release promote`: only the pin changes, byte for byte; one commit; refusals change nothing."""

from __future__ import annotations

import json
from dataclasses import astuple

import pytest
from typer.testing import CliRunner

from release.cli import app
from release.core.errors import InvalidInput
from release.core.pin import parse_image_ref, rewrite_pin
from release.engine.promote import promote_pin

SPEC = "environments/staging/services/akka-firehose.json"
OLD_TAG = "0123456789ab"
OLD_DIGEST = "sha256:" + "0" * 63 + "1"
NEW_DIGEST = "sha256:" + "ab" * 32
REGISTRY = "123456789012.dkr.ecr.us-east-1.amazonaws.com"


def test_promote_rewrites_only_the_pin_and_keeps_every_other_byte(config_git):
    before = config_git.read(SPEC)
    result = promote_pin(config_git.root, "staging", "akka-firehose-service",
                         f"{REGISTRY}/akka-firehose:feedface0001@{NEW_DIGEST}")
    after = config_git.read(SPEC)
    expected = before.replace(f'"tag": "{OLD_TAG}"', '"tag": "feedface0001"').replace(
        f'"digest": "{OLD_DIGEST}"', f'"digest": "{NEW_DIGEST}"')
    assert after == expected and after != before
    assert (result.old_digest, result.new_digest, result.commit) == (OLD_DIGEST, NEW_DIGEST, None)


def test_unusual_formatting_and_key_order_survive_a_rewrite():
    text = ('{"service":{"serviceName":"x"},\n\t"image" :{ "digest":"sha256:' + "1" * 64
            + '" ,"container":"c",  "tag" : "old" }, "z": [1, {"tag": "not-this-one"}]}\n')
    out = rewrite_pin(text, "new-tag", NEW_DIGEST)
    assert out == text.replace("sha256:" + "1" * 64, NEW_DIGEST).replace('"old"', '"new-tag"')


def test_a_tag_only_reference_drops_the_stale_digest_and_a_missing_key_is_added_in_style():
    stale = "sha256:" + "1" * 64
    text = '{\n  "image": {\n    "container": "c",\n    "digest": "' + stale + '"\n  }\n}\n'
    expected = '{\n  "image": {\n    "container": "c",\n    "tag": "v2"\n  }\n}\n'
    assert rewrite_pin(text, "v2", None) == expected


def test_image_references_in_every_accepted_form_parse_to_a_pin():
    assert astuple(parse_image_ref(f"{REGISTRY}/akka-firehose@{NEW_DIGEST}")) == (
        REGISTRY, "akka-firehose", None, NEW_DIGEST)
    assert astuple(parse_image_ref("127.0.0.1:5050/team/akka-firehose:v1.2")) == (
        "127.0.0.1:5050", "team/akka-firehose", "v1.2", None)
    assert astuple(parse_image_ref(f"v1@{NEW_DIGEST}")) == (None, None, "v1", NEW_DIGEST)
    for bad in ("akka-firehose@sha256:short", f"{REGISTRY}/akka-firehose", "bad tag!"):
        with pytest.raises(InvalidInput):
            parse_image_ref(bad)


def test_promote_commit_makes_exactly_one_commit_touching_only_the_spec(config_git):
    start = config_git.head
    out = CliRunner().invoke(app, ["promote", "--env", "staging", "--service", "akka-firehose",
                                   "--image", f"feedface0002@{NEW_DIGEST}", "--commit",
                                   "--repo", str(config_git.root), "--format", "json"])
    assert out.exit_code == 0, out.output
    commits = list(config_git.git.iter_commits(f"{start}..HEAD"))
    assert len(commits) == 1
    assert list(commits[0].stats.files) == [SPEC]
    assert commits[0].summary == ("promote akka-firehose-service to "
                                  f"{NEW_DIGEST[:19]}… in staging")
    assert not config_git.git.is_dirty()


def test_promote_refuses_when_the_tree_has_unrelated_changes(config_git):
    config_git.edit_json("environments/production/environment.json",
                         lambda d: d["instances"].update(count=3))
    before = config_git.read(SPEC)
    with pytest.raises(InvalidInput, match="uncommitted changes"):
        promote_pin(config_git.root, "staging", "akka-firehose-service",
                    f"v3@{NEW_DIGEST}", commit=True)
    assert config_git.read(SPEC) == before
    assert len(list(config_git.git.iter_commits())) == 1


def test_promote_refuses_an_image_from_another_repository(config_git):
    before = config_git.read(SPEC)
    with pytest.raises(InvalidInput, match="not in staging's repository"):
        promote_pin(config_git.root, "staging", "akka-firehose-service",
                    f"{REGISTRY}/someone-else@{NEW_DIGEST}")
    assert config_git.read(SPEC) == before


def test_promoting_the_pin_already_there_changes_and_commits_nothing(config_git):
    result = promote_pin(config_git.root, "staging", "akka-firehose-service",
                         f"{OLD_TAG}@{OLD_DIGEST}", commit=True)
    assert not result.changed and result.commit is None
    assert len(list(config_git.git.iter_commits())) == 1


def test_a_pin_that_fails_validation_is_refused_and_nothing_is_written(config_git):
    before = config_git.read(SPEC)
    out = CliRunner().invoke(app, ["promote", "--env", "staging", "--service", "akka-firehose",
                                   "--image", "latest", "--repo", str(config_git.root)])
    assert out.exit_code == 1
    assert "validation error(s) in the repository with the promoted pin" in out.output
    assert config_git.read(SPEC) == before
    assert json.loads(before)["image"]["tag"] == OLD_TAG


def test_a_digest_only_promotion_says_no_tag_none(config_git):
    start = config_git.head
    out = CliRunner().invoke(app, ["promote", "--env", "staging", "--service", "akka-firehose",
                                   "--image", NEW_DIGEST, "--commit",
                                   "--repo", str(config_git.root)])
    assert out.exit_code == 0, out.output
    assert "None" not in out.output and f"pinned to digest={NEW_DIGEST}" in out.output
    [commit] = list(config_git.git.iter_commits(f"{start}..HEAD"))
    assert "None" not in commit.message and f"now: digest={NEW_DIGEST}" in commit.message
