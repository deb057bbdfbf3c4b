"""`release changed`: which (environment, service) pairs a commit range changes in effect."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from release.cli import app
from release.core.changes import ADDED, CHANGED, REMOVED
from release.engine.changed import changed_between

STAGING_SPEC = "environments/staging/services/akka-firehose.json"
PRODUCTION_SPEC = "environments/production/services/akka-firehose.json"
SERVICE = "akka-firehose-service"
DIGEST_2 = "sha256:" + "2" * 64


def pairs(repo, since, until="HEAD"):
    """(env, service, change) in output order; validation is covered by its own test."""
    result = changed_between(repo.root, since, until, validate=False)
    return [(c.env, c.service, c.kind) for c in result.changes]


def test_a_service_spec_edit_changes_only_that_service(config_git):
    base = config_git.head
    config_git.edit_json(STAGING_SPEC, lambda d: d["service"].update(desiredCount=3))
    config_git.commit("staging: three tasks")
    result = changed_between(config_git.root, base, "HEAD", validate=False)
    assert [(c.env, c.service, c.kind) for c in result.changes] == [("staging", SERVICE, CHANGED)]
    assert result.changes[0].reasons == ["service settings"]


def test_an_image_pin_edit_changes_that_service_for_the_image(config_git):
    base = config_git.head
    config_git.edit_json(STAGING_SPEC, lambda d: d["image"].update(digest=DIGEST_2))
    config_git.commit("promote")
    result = changed_between(config_git.root, base, "HEAD", validate=False)
    assert [(c.env, c.kind, c.reasons) for c in result.changes] == [
        ("staging", CHANGED, ["image pin"])]


def test_a_task_definition_edit_changes_every_service_using_it_in_promotion_order(config_git):
    base = config_git.head
    config_git.edit_json("taskdefs/akka-firehose.json",
                         lambda d: d["containerDefinitions"][0].update(stopTimeout=60))
    config_git.commit("longer stop timeout")
    assert pairs(config_git, base) == [("sandbox", SERVICE, CHANGED), ("staging", SERVICE, CHANGED),
                                       ("production", SERVICE, CHANGED)]


def test_an_environment_document_edit_changes_its_services_only(config_git):
    base = config_git.head
    config_git.edit_json("environments/staging/environment.json",
                         lambda d: d["loadBalancer"]["connectionDraining"].update(timeout=120))
    config_git.commit("staging: shorter draining")
    result = changed_between(config_git.root, base, "HEAD", validate=False)
    assert [(c.env, c.reasons) for c in result.changes] == [("staging", ["environment"])]


def test_formatting_key_order_schema_comment_and_readme_edits_change_nothing(config_git):
    base = config_git.head

    def reorder(rel):
        doc = json.loads(config_git.read(rel))
        doc["$schema"] = "../../../schemas/other-location.json"
        reordered = dict(reversed(list(doc.items())))
        config_git.write(rel, json.dumps(reordered, indent=4, sort_keys=False))

    reorder(STAGING_SPEC)
    config_git.write("taskdefs/akka-firehose.json",
                     json.dumps(json.loads(config_git.read("taskdefs/akka-firehose.json"))))
    config_git.write("README.md", "# config\n\nHow we release.\n")
    config_git.commit("cosmetics")
    assert pairs(config_git, base) == []


def test_a_new_service_is_changed_and_a_deleted_one_is_removed_not_released(config_git):
    base = config_git.head
    config_git.edit_json(STAGING_SPEC, lambda d: None)  # same content
    doc = json.loads(config_git.read(STAGING_SPEC))
    doc["service"]["serviceName"] = "akka-audit-service"
    config_git.write("environments/staging/services/akka-audit.json", json.dumps(doc, indent=2))
    config_git.path(PRODUCTION_SPEC).unlink()
    config_git.commit("add audit to staging, drop production's service")
    result = changed_between(config_git.root, base, "HEAD", validate=False)
    assert [(c.env, c.service, c.kind) for c in result.changes] == [
        ("staging", "akka-audit-service", ADDED), ("production", SERVICE, REMOVED)]
    assert [c.service for c in result.releasable] == ["akka-audit-service"]


def test_a_merge_commit_counts_for_what_both_parents_brought(config_git):
    base = config_git.head
    repo = config_git.git
    repo.git.checkout("-q", "-b", "feature")
    config_git.edit_json(PRODUCTION_SPEC, lambda d: d["image"].update(digest=DIGEST_2))
    config_git.commit("feature: production pin")
    repo.git.checkout("-q", "main")
    config_git.edit_json("environments/staging/environment.json",
                         lambda d: d["loadBalancer"]["healthCheck"].update(interval=10))
    before_merge = config_git.commit("main: staging health check")
    repo.git.merge("-q", "--no-ff", "-m", "merge feature", "feature")
    merge = config_git.head
    assert len(repo.head.commit.parents) == 2
    assert pairs(config_git, base, merge) == [("staging", SERVICE, CHANGED),
                                              ("production", SERVICE, CHANGED)]
    # from main's side only the branch's change is new
    assert pairs(config_git, before_merge, merge) == [("production", SERVICE, CHANGED)]


def test_a_renamed_spec_file_with_the_same_service_name_changes_nothing(config_git):
    base = config_git.head
    config_git.git.git.mv(STAGING_SPEC, "environments/staging/services/firehose.json")
    config_git.commit("rename the spec file")
    assert pairs(config_git, base) == []


def test_renaming_the_service_itself_is_a_new_service_and_a_removed_one(config_git):
    base = config_git.head
    config_git.git.git.mv(STAGING_SPEC, "environments/staging/services/firehose.json")
    config_git.edit_json("environments/staging/services/firehose.json",
                         lambda d: d["service"].update(serviceName="firehose-service"))
    config_git.commit("rename the service")
    assert pairs(config_git, base) == [("staging", "firehose-service", ADDED),
                                       ("staging", SERVICE, REMOVED)]


def test_a_range_whose_start_had_broken_documents_reports_those_services_changed(config_git):
    config_git.write(STAGING_SPEC, "{ not json")
    broken = config_git.commit("broken")
    config_git.git.git.checkout("HEAD~1", "--", STAGING_SPEC)
    config_git.commit("fixed")
    result = changed_between(config_git.root, broken, "HEAD", validate=False)
    assert [(c.env, c.kind) for c in result.changes] == [("staging", CHANGED)]


def test_changed_prints_json_rows_in_promotion_order(config_git):
    base = config_git.head
    config_git.edit_json("taskdefs/akka-firehose.json",
                         lambda d: d["containerDefinitions"][0].update(memory=2048))
    config_git.commit("more memory")
    out = CliRunner().invoke(app, ["changed", "--since", base, "--format", "json",
                                   "--repo", str(config_git.root)])
    assert out.exit_code == 0, out.output
    events = [json.loads(line) for line in out.stdout.splitlines()]
    table = next(e for e in events if e["event"] == "changed")
    assert [r["env"] for r in table["rows"]] == ["sandbox", "staging", "production"]
    assert table["rows"][0]["why"] == "task definition"
    assert events[-1]["release"] == 3


def test_an_unknown_revision_is_an_input_error(config_git):
    out = CliRunner().invoke(app, ["changed", "--since", "no-such-rev",
                                   "--repo", str(config_git.root)])
    assert out.exit_code == 1
    assert "unknown git revision" in out.output


def test_invalid_documents_at_the_end_of_the_range_exit_1_with_findings(config_git):
    base = config_git.head
    config_git.edit_json(STAGING_SPEC, lambda d: d["service"].update(desiredCount="many"))
    config_git.commit("bad count")
    out = CliRunner().invoke(app, ["changed", "--since", base, "--format", "json",
                                   "--repo", str(config_git.root)])
    assert out.exit_code == 1, out.output
    events = [json.loads(line) for line in out.stdout.splitlines()]
    assert any(e["event"] == "validate.finding" for e in events)
    assert events[-1]["event"] == "error"


def test_an_empty_since_means_a_first_build_where_every_service_is_new(config_git):
    assert pairs(config_git, "") == [("sandbox", SERVICE, ADDED),
                                     ("sandbox", "audit-worker-service", ADDED),
                                     ("staging", SERVICE, ADDED),
                                     ("production", SERVICE, ADDED),
                                     ("sandbox-alb", SERVICE, ADDED)]


def test_a_config_repository_in_a_folder_of_a_larger_git_repository_works(config_git):
    outer = config_git
    config_root = outer.root / "deploy" / "config"
    config_root.mkdir(parents=True)
    for name in ("environments", "taskdefs", "schemas"):
        (outer.root / name).rename(config_root / name)
    base = outer.commit("move the documents into deploy/config")
    spec = config_root / STAGING_SPEC
    spec.write_text(spec.read_text().replace('"desiredCount": 2', '"desiredCount": 4'))
    outer.commit("staging: four tasks")
    result = changed_between(config_root, base, "HEAD", validate=False)
    assert [(c.env, c.service, c.reasons) for c in result.changes] == [
        ("staging", SERVICE, ["service settings"])]


def test_a_backwards_range_is_refused_before_anything_is_planned(config_git):
    base = config_git.head
    config_git.edit_json(STAGING_SPEC, lambda d: d["image"].update(digest=DIGEST_2))
    config_git.commit("promote")
    for verb in (["changed"], ["apply", "--dry-run"]):
        out = CliRunner().invoke(app, [*verb, "--since", "HEAD", "--until", base,
                                       "--repo", str(config_git.root)])
        assert out.exit_code == 1, out.output
        assert "does not descend from --since HEAD" in out.stderr
        assert "release rollback" in out.stderr
