"""`plan` never prints a credential, whichever side of the diff it is on.

Git's documents cannot hold one (validation refuses it: secret-in-environment,
secret-in-document), but the live revision is whatever was registered, by anyone: a hotfix
made by hand with a Stripe key, a Slack webhook URL and a DB_PASSWORD in plain text. `plan`
shows the change that removes them without repeating them, in the text lines and the JSON
events alike; and what git adds (tags, an environment value) is shown masked when it is one.
"""

from __future__ import annotations

from engine_sandbox import CONTAINER, SPEC, Stage

from release.core import plan as pl
from release.core.calls import ApiCall

STRIPE = "sk_live_" + "Fake" * 6
WEBHOOK = "https://hooks.slack.com/services/T00000000/B00000000/" + "Zx9" * 8
PASSWORD = "hunter2-hunter2"


def test_plan_masks_the_credentials_of_a_live_revision_made_by_hand(released: Stage) -> None:
    stage = released
    ecs = stage.ecs()
    taskdef = ecs.describe_task_definition(taskDefinition="akka-demo:1")["taskDefinition"]
    body = {k: taskdef[k] for k in ("family", "containerDefinitions", "networkMode",
                                    "requiresCompatibilities")}
    body["containerDefinitions"][0]["environment"] += [
        {"name": "PAYMENTS", "value": STRIPE}, {"name": "CHAT", "value": WEBHOOK},
        {"name": "DB_PASSWORD", "value": PASSWORD}]
    other = ecs.register_task_definition(**body)["taskDefinition"]["taskDefinitionArn"]
    ecs.update_service(cluster="AkkaCluster", service="akka-firehose-service",
                       taskDefinition=other)
    for output in ("json", "text"):
        run = stage.cli("plan", "--format", output) if output == "text" else stage.cli("plan")
        changes = [e for e in run.events if e["event"] == "plan.change"]
        assert run.exit_code == 0, run.output
        for secret in (STRIPE, WEBHOOK, "Zx9Zx9", PASSWORD):
            assert secret not in run.output, (output, secret)
        assert "environment[PAYMENTS]" in run.output and "***" in run.output
        assert output == "text" or changes


def test_a_change_shows_both_sides_masked() -> None:
    change = pl.Change("containerDefinitions[app].environment[DB_PASSWORD].value", PASSWORD, None)
    added = pl.Change("containerDefinitions[app].environment[CHAT]", None,
                      {"name": "CHAT", "value": WEBHOOK})
    tag = pl.Change("tags[api-token]", "c2VjcmV0LXZhbHVl", "c2VjcmV0LXZhbHVm")
    said = " ".join(c.one_line() + str(c.as_dict()) for c in (change, added, tag))
    for secret in (PASSWORD, "Zx9Zx9", "c2VjcmV0LXZhbHV"):
        assert secret not in said
    assert "hooks.slack.com/***" in said
    kept = pl.Change("containerDefinitions[app].environment[JWT_TOKEN_EXPIRATION].value", "15m",
                     "30m")
    assert kept.one_line() == ('~ containerDefinitions[app].environment[JWT_TOKEN_EXPIRATION]'
                               '.value: "15m" → "30m"')


def test_a_call_s_parameters_are_shown_masked() -> None:
    call = ApiCall("ecs", "register_task_definition", {"containerDefinitions": [{
        "name": "app", "environment": [{"name": "PAYMENTS", "value": STRIPE},
                                       {"name": "REGION", "value": "eu-west-1"}]}]}, "new")
    shown = call.as_dict()["params"]["containerDefinitions"][0]["environment"]
    assert shown == [{"name": "PAYMENTS", "value": "***"},
                     {"name": "REGION", "value": "eu-west-1"}]
    assert call.params["containerDefinitions"][0]["environment"][0]["value"] == STRIPE


def test_a_credential_filled_in_from_outside_git_is_not_printed(stage: Stage) -> None:
    """A String parameter (where a SecureString belonged) read into an environment value: the
    task gets it, the plan's lines, values and calls show ***."""
    stage.sandbox.client("ssm").put_parameter(Name="/akka/payments", Value=STRIPE, Type="String")
    stage.edit(SPEC, lambda d: d["overrides"]["containers"][CONTAINER]["environment"].update(
        PAYMENTS="{{ ssm `/akka/payments` }}"))
    stage.pin("v1")
    plan = stage.cli("plan")
    assert plan.exit_code == 0, plan.output
    assert STRIPE not in plan.output
    assert plan.first("plan.value")["value"] == "***"
    run = stage.cli("deploy")
    assert run.exit_code == 0, run.output
    assert STRIPE not in run.output
    taskdef = stage.ecs().describe_task_definition(taskDefinition="akka-demo:1")["taskDefinition"]
    environment = taskdef["containerDefinitions"][0]["environment"]
    assert {"name": "PAYMENTS", "value": STRIPE} in environment
