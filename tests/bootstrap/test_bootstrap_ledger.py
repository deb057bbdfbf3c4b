"""`release bootstrap` creates the release ledger's table (locks and records) with its TTL."""

from __future__ import annotations

from bootstrap_helpers import edit_environment, environment, run_bootstrap

from release.adapters import ledger
from release.engine.bootstrap import build_plan


def test_first_run_creates_the_table_with_time_to_live_and_a_second_plans_nothing(
        repo, sandbox_aws):
    plan = build_plan(sandbox_aws, environment(repo))
    calls = [(c.service, c.operation, c.target) for c in plan.calls if c.service == "dynamodb"]
    assert calls == [("dynamodb", "create_table", "release-ledger"),
                     ("dynamodb", "update_time_to_live", "release-ledger time to live")]
    assert run_bootstrap(repo, "--env", "sandbox", "--yes").exit_code == 0
    table = sandbox_aws.dynamodb.describe_table(TableName="release-ledger")["Table"]
    assert {k["AttributeName"]: k["KeyType"] for k in table["KeySchema"]} == {
        "pk": "HASH", "sk": "RANGE"}
    ttl = sandbox_aws.dynamodb.describe_time_to_live(TableName="release-ledger")
    assert ttl["TimeToLiveDescription"] == {"TimeToLiveStatus": "ENABLED",
                                            "AttributeName": ledger.TTL_ATTRIBUTE}
    assert build_plan(sandbox_aws, environment(repo)).calls == []


def test_time_to_live_switched_off_is_planned_back(repo, sandbox_aws):
    assert run_bootstrap(repo, "--env", "sandbox", "--yes").exit_code == 0
    sandbox_aws.dynamodb.update_time_to_live(TableName="release-ledger", TimeToLiveSpecification={
        "Enabled": False, "AttributeName": ledger.TTL_ATTRIBUTE})
    plan = build_plan(sandbox_aws, environment(repo))
    assert [(c.operation, c.reason) for c in plan.calls] == [
        ("update_time_to_live", "time to live is DISABLED")]


def test_the_table_name_comes_from_the_environment(repo, sandbox_aws):
    edit_environment(repo, "sandbox", lambda doc: doc.update(
        releaseLedger={"table": "platform-releases"}))
    assert run_bootstrap(repo, "--env", "sandbox", "--yes").exit_code == 0
    assert sandbox_aws.dynamodb.list_tables()["TableNames"] == ["platform-releases"]


def test_a_foreign_table_of_that_name_is_refused_not_reused(repo, sandbox_aws):
    sandbox_aws.dynamodb.create_table(
        TableName="release-ledger", BillingMode="PAY_PER_REQUEST",
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}])
    result = run_bootstrap(repo, "--env", "sandbox", "--yes")
    assert result.exit_code == 1, result.output
    assert "releaseLedger.table" in result.output
