"""A repository per service: bootstrap creates, checks and repairs every repository the
environment's pins name, each with the seed's policy and the environment's ECR settings."""

from __future__ import annotations

import io
import json
from pathlib import Path

from bootstrap_helpers import ACCOUNT, canonical, seed_document

from release.core import config
from release.engine.bootstrap import bootstrap, build_plan
from release.output.events import OutputFormat, Reporter

WORKER = {
    "$schema": "../../../schemas/service.schema.json",
    "taskDefinition": {"file": "taskdefs/akka-firehose.json", "family": "ledger-audit"},
    "service": {"serviceName": "ledger-audit-service", "desiredCount": 1},
    "images": {
        "akka-firehose": {"repository": "ledger-audit", "tag": "v1",
                          "digest": "sha256:" + "1" * 64},
        "audit-sidecar": {"repository": "team-a/audit-sidecar", "tag": "v1",
                          "digest": "sha256:" + "2" * 64},
    },
}


def _with_worker(repo: Path) -> dict[str, list[str]]:
    """A service of the sandbox pinning two images, each in a repository of its own."""
    path = repo / "environments" / "sandbox" / "services" / "ledger-audit.json"
    path.write_text(json.dumps(WORKER, indent=2) + "\n")
    return config.load_repo(repo, ["sandbox"]).repositories_of("sandbox")


def _run(aws, env, repositories, dry_run: bool = False) -> list[dict]:
    out = io.StringIO()
    bootstrap(aws, env, Reporter(OutputFormat.json, stream=out), None, dry_run,
              lambda _changes: True, (), repositories)
    return [json.loads(line) for line in out.getvalue().splitlines()]


def test_every_named_repository_is_made_with_the_seeds_policy_and_the_settings(repo,
                                                                               sandbox_aws):
    repositories = _with_worker(repo)
    assert repositories == {"akka-firehose": ["akka-firehose"],
                            "audit-worker": ["audit-worker"],  # the sandbox's own second app
                            "ledger-audit": ["ledger-audit/akka-firehose"],
                            "team-a/audit-sidecar": ["ledger-audit/audit-sidecar"]}
    env = config.load_repo(repo, ["sandbox"]).environment("sandbox")
    events = _run(sandbox_aws, env, repositories)
    listed = next(e for e in events if e["event"] == "bootstrap.repositories")
    assert listed["repositories"] == repositories
    assert ("team-a/audit-sidecar (ledger-audit/audit-sidecar)" in listed["message"]
            and "akka-firehose (the environment's ecr.repository; akka-firehose)"
            in listed["message"])
    ids = {"<account-id>": ACCOUNT, "<Jenkins-role>": "jenkins"}
    seed_policy = seed_document("repositoryPolicy-jenkins", **ids)
    seed_policy["Statement"] += seed_document("repositoryPolicy-ecs", **ids)["Statement"]
    ecr = sandbox_aws.ecr
    for name in repositories:
        live = ecr.describe_repositories(repositoryNames=[name])["repositories"][0]
        assert live["imageTagMutability"] == "IMMUTABLE", name
        assert live["imageScanningConfiguration"] == {"scanOnPush": True}, name
        policy = ecr.get_repository_policy(repositoryName=name)["policyText"]
        assert canonical(policy) == canonical(seed_policy), name
    assert build_plan(sandbox_aws, env, repositories=repositories).empty  # a re-run: nothing


def test_drift_in_a_services_repository_is_planned_back_naming_that_repository(repo,
                                                                               sandbox_aws):
    repositories = _with_worker(repo)
    env = config.load_repo(repo, ["sandbox"]).environment("sandbox")
    _run(sandbox_aws, env, repositories)
    ecr = sandbox_aws.ecr
    ecr.put_image_tag_mutability(repositoryName="ledger-audit", imageTagMutability="MUTABLE")
    ecr.delete_repository_policy(repositoryName="team-a/audit-sidecar")
    plan = build_plan(sandbox_aws, env, repositories=repositories)
    assert [(c.operation, c.target) for c in plan.calls] == [
        ("put_image_tag_mutability", "ledger-audit"),
        ("set_repository_policy", "team-a/audit-sidecar policy")]
    dry = _run(sandbox_aws, env, repositories, dry_run=True)
    shown = [e for e in dry if e["event"] == "bootstrap.plan" and "calls" in e]
    assert [c["target"] for c in shown[0]["calls"]] == ["ledger-audit",
                                                       "team-a/audit-sidecar policy"]
    _run(sandbox_aws, env, repositories)
    assert build_plan(sandbox_aws, env, repositories=repositories).empty


def test_without_a_service_naming_one_only_the_environments_repository_is_planned(repo,
                                                                                  sandbox_aws):
    loaded = config.load_repo(repo, ["sandbox"])
    env = loaded.environment("sandbox")
    named = loaded.repositories_of("sandbox")
    assert next(iter(named)) == env.ecr_repository  # the environment's first, always
    plan = build_plan(sandbox_aws, env, repositories={env.ecr_repository: []})
    created = [c.target for c in plan.calls if c.operation == "create_repository"]
    assert created == [env.ecr_repository]
