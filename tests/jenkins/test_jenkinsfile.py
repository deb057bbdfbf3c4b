"""The Jenkinsfile's shape, read from what real Groovy recorded under the stub pipeline DSL."""

from __future__ import annotations

from jenkins_stub import commands_in_order, shell_steps, step_names

RELEASE_STAGES = ["Setup", "Validate", "Build & Push", "Promote staging", "Plan",
                  "Deploy staging", "Approve production", "Promote production",
                  "Deploy production", "Rollback", "Continue", "Verify"]


def ran(record):
    return [s["name"] for s in record["stages"] if s["runs"]]


def stage(record, name):
    return next(s for s in record["stages"] if s["name"] == name)


def test_the_pipeline_has_the_release_stages_in_order(pipeline):
    assert [s["name"] for s in pipeline["release_staging"]["stages"]] == RELEASE_STAGES


def test_options_forbid_concurrent_builds_and_set_a_timeout_and_timestamps(pipeline):
    options = {o["step"]: o["args"] for o in pipeline["release_staging"]["options"]}
    assert {"disableConcurrentBuilds", "timeout", "timestamps"} <= set(options)
    assert options["timeout"][0]["unit"] in ("MINUTES", "HOURS")


def test_parameters_are_action_env_and_to_revision(pipeline):
    params = {p["name"]: p for p in pipeline["release_staging"]["parameters"]}
    assert params["ACTION"]["choices"] == ["release", "rollback", "continue"]
    assert set(params["ENV"]["choices"]) == {"staging", "production"}
    assert params["TO_REVISION"]["kind"] == "string"


def test_every_stage_that_runs_is_one_release_command(pipeline):
    for record in pipeline.values():
        for st in record["stages"]:
            scripts = shell_steps(st["steps"])
            if st["name"] == "Approve production":
                assert scripts == []
                continue
            if st["name"] == "Setup":  # installs `release` itself
                assert scripts == ['scripts/agent-venv.sh "$RELEASE_VENV"']
                continue
            assert len(scripts) == 1, st["name"]
            assert scripts[0].startswith("release "), scripts[0]


def test_validation_reports_junit_to_jenkins(pipeline):
    validate = stage(pipeline["release_staging"], "Validate")
    assert shell_steps(validate["steps"]) == [
        "release validate --format junit --output reports/validate.xml"]
    assert validate["post"]["always"] == [{"step": "junit", "args": ["reports/validate.xml"]}]


def test_the_release_is_driven_by_the_commits_since_the_last_successful_build(pipeline):
    scripts = dict(commands_in_order(pipeline["release_production"]))
    for name in ("Plan", "Deploy staging", "Deploy production"):
        assert scripts[name].startswith('release apply --since "$GIT_PREVIOUS_SUCCESSFUL_COMMIT"')
    assert "--dry-run" in scripts["Plan"]
    assert "--approved" in scripts["Deploy production"]
    assert "--approved" not in scripts["Deploy staging"]


def test_deploys_hold_a_lock_and_production_waits_for_approval(pipeline):
    record = pipeline["release_production"]
    assert ran(record) == ["Setup", "Validate", "Plan", "Deploy staging", "Approve production",
                           "Promote production", "Deploy production", "Verify"]
    for name, resource in (("Deploy staging", "release-staging"),
                           ("Deploy production", "release-production")):
        [lock] = stage(record, name)["steps"]
        assert lock["step"] == "lock" and lock["args"] == [{"resource": resource}]
    assert "input" in step_names(stage(record, "Approve production")["steps"])


def test_a_staging_release_never_asks_for_or_deploys_production(pipeline):
    assert ran(pipeline["release_staging"]) == ["Setup", "Validate", "Plan", "Deploy staging",
                                                "Verify"]


def test_the_image_is_built_only_when_the_application_changed_or_it_was_asked(pipeline):
    assert "Build & Push" not in ran(pipeline["release_staging"])
    for scenario in ("application_changed", "build_asked"):
        scripts = dict(commands_in_order(pipeline[scenario]))
        assert scripts["Build & Push"].startswith(
            "release build --env staging --service akka-firehose --push --format json")


def test_the_rollback_path_validates_rolls_back_under_the_lock_and_verifies(pipeline):
    record = pipeline["rollback"]
    assert ran(record) == ["Setup", "Validate", "Rollback", "Verify"]
    [lock] = stage(record, "Rollback")["steps"]
    assert lock["args"] == [{"resource": "release-production"}]
    assert shell_steps([lock]) == ['release rollback --env "$ENV" --to "$TO_REVISION" --yes']


def test_a_paused_deployment_is_continued_after_an_approval_under_the_lock(pipeline):
    record = pipeline["continue"]
    assert ran(record) == ["Setup", "Validate", "Continue", "Verify"]
    names = step_names(stage(record, "Continue")["steps"])
    assert names.index("input") < names.index("lock")
    assert shell_steps(stage(record, "Continue")["steps"]) == [
        'release continue --env "$ENV" --service "$SERVICE"']


def test_the_release_summaries_are_archived(pipeline):
    [archive] = pipeline["release_staging"]["post"]["always"]
    assert archive["step"] == "archiveArtifacts"
    assert archive["args"][0]["artifacts"] == "reports/*.json"


def test_setup_installs_the_tool_in_a_workspace_venv_that_later_stages_find_on_path(pipeline):
    record = pipeline["release_production"]
    assert ran(record)[0] == "Setup"
    environment = record["environment"]
    assert environment["RELEASE_VENV"] == "$WORKSPACE/.release-venv"
    assert environment["PATH"] == "$WORKSPACE/.release-venv/bin:$PATH"


def promote_step(record, name):
    """The stage's one `sh`, inside withCredentials binding the job's git credentials."""
    [binding] = stage(record, name)["steps"]
    assert binding["step"] == "withCredentials"
    [[credentials]] = binding["args"]
    assert credentials == {"binding": "gitUsernamePassword", "gitToolName": "Default",
                           "credentialsId": record["environment"]["GIT_PUSH_CREDENTIALS"]}
    [script] = shell_steps([binding])
    return script


def test_a_built_image_is_promoted_in_staging_and_pushed_with_the_jobs_git_credentials(pipeline):
    record = pipeline["code_to_staging"]
    assert ran(record) == ["Setup", "Validate", "Build & Push", "Promote staging", "Plan",
                           "Deploy staging", "Verify"]
    assert promote_step(record, "Promote staging") == (
        "release promote --env staging --service akka-firehose --image @reports/build.json "
        "--commit --push")
    scripts = [script for _, script in commands_in_order(record)]
    assert scripts.index(next(s for s in scripts if "build.json" in s and "build " in s)) < \
        scripts.index(promote_step(record, "Promote staging"))


def test_production_is_promoted_from_staging_after_the_approval(pipeline):
    record = pipeline["code_to_production"]
    order = ran(record)
    assert order.index("Deploy staging") < order.index("Approve production") < \
        order.index("Promote production") < order.index("Deploy production")
    assert promote_step(record, "Promote production") == (
        "release promote --from staging --env production --service akka-firehose --commit --push")


def test_no_change_builds_and_commits_nothing(pipeline):
    stages = ran(pipeline["nothing_changed"])
    assert "Build & Push" not in stages and "Promote staging" not in stages


def test_the_pipelines_own_promotion_commit_does_not_build_the_image_again(pipeline):
    for scenario in ("promotion_pushed", "promotion_listing_the_application"):
        stages = ran(pipeline[scenario])
        assert "Build & Push" not in stages and "Promote staging" not in stages, scenario
        assert "Deploy staging" in stages, scenario  # apply still releases the commit


def test_a_code_change_next_to_a_promotion_commit_is_still_built(pipeline):
    stages = ran(pipeline["promotion_and_a_code_change"])
    assert {"Build & Push", "Promote staging"} <= set(stages)
