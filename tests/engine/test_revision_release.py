"""Releasing a revision someone else registered (a spec's /taskDefinition/revision, or
`deploy --revision`): nothing registered, the rest of the release as usual."""

from __future__ import annotations

import copy

from engine_sandbox import SPEC, Stage


def register_elsewhere(stage: Stage, family: str = "akka-demo") -> str:
    """What a Terraform or CI job would do: register a copy of the live revision, changed."""
    ecs = stage.ecs()
    live = ecs.describe_task_definition(taskDefinition=stage.service()["taskDefinition"])
    body = copy.deepcopy(live["taskDefinition"])
    keep = ("containerDefinitions", "networkMode", "requiresCompatibilities", "volumes",
            "placementConstraints", "cpu", "memory", "taskRoleArn", "executionRoleArn")
    body = {k: v for k, v in body.items() if k in keep}
    body["containerDefinitions"][0]["environment"].append({"name": "FROM", "value": "terraform"})
    arn = ecs.register_task_definition(family=family, **body)["taskDefinition"][
        "taskDefinitionArn"]
    return arn.rsplit("/", 1)[-1]


def test_deploy_revision_releases_it_as_it_is_and_registers_nothing(released: Stage) -> None:
    theirs = register_elsewhere(released)
    before = set(released.revisions())
    run = released.cli("deploy", "--service", "akka-firehose", "--revision", theirs)
    assert run.exit_code == 0, run.output
    assert released.live_revision() == theirs
    assert set(released.revisions()) == before  # nothing registered
    assert not run.has("release.registered")
    history = released.cli("history").first("history")["entries"]
    assert history[0]["revision"].rsplit("/", 1)[-1] == theirs
    assert history[0]["outcome"] == "completed"
    again = released.cli("deploy", "--service", "akka-firehose", "--revision",
                         theirs.rsplit(":", 1)[-1])
    assert again.exit_code == 0 and again.has("release.unchanged"), again.output


def test_a_spec_naming_a_revision_is_released_and_then_unchanged(released: Stage) -> None:
    theirs = register_elsewhere(released)

    def name_it(doc):
        doc["taskDefinition"] = {"revision": theirs}
        for key in ("image", "build", "overrides"):
            doc.pop(key, None)

    released.edit(SPEC, name_it)
    released.commit("run the revision Terraform registered")
    plan = released.cli("plan")
    assert plan.exit_code == 0, plan.output
    assert "registered elsewhere" in plan.output
    run = released.cli("deploy")
    assert run.exit_code == 0, run.output
    assert released.live_revision() == theirs
    assert released.cli("deploy").has("release.unchanged")
    assert released.cli("status").first("status")["drift"] == []
    back = register_elsewhere(released)  # someone moves the service on by hand
    released.ecs().update_service(cluster="AkkaCluster", service="akka-firehose-service",
                                  taskDefinition=back)
    drift = released.cli("status").first("status")["drift"]
    assert len(drift) == 1 and theirs in drift[0]


def test_a_revision_of_another_family_or_none_at_all_changes_nothing(released: Stage) -> None:
    other = register_elsewhere(released, family="someone-else")
    for given in (other, "akka-demo:999"):
        run = released.cli("deploy", "--service", "akka-firehose", "--revision", given)
        assert run.exit_code == 1, run.output
        assert released.live_revision() == "akka-demo:1"
    usage = released.cli("deploy", "--revision", "1")
    assert usage.exit_code == 2, usage.output
