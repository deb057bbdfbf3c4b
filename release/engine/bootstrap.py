"""The seed's infrastructure as an idempotent plan: read what exists, plan what is missing.

The seed sets the platform up with a page of `aws` CLI calls that can only be
run once. Here every resource is described (Describe/List/Get only), compared
with what the environment document asks for, and only the differences become
`ApiCall`s, each with the reason a person reads before saying yes. A second
run therefore plans nothing, and a resource edited by hand is planned back.

The documents and their comparison live in release/core/policies.py. Two
departures from the seed, both deliberate:
- the repository policy holds BOTH statements in one document; the seed's two
  `set-repository-policy` calls replace each other, so its second call erases
  the Jenkins statement;
- `firehosePolicy` is scoped to the environment's delivery stream ARN; a
  missing stream name is an error, never a `*`.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from release.adapters.aws import Aws, aws_errors, error_code
from release.core.calls import ApiCall
from release.core.config import Environment
from release.core.errors import InvalidInput
from release.core.policies import (
    ecr_pull_policy,
    ecs_service_policy,
    firehose_policy,
    firehose_stream_arn,
    iam_name,
    policy_difference,
    repository_policy,  # noqa: F401 (the document bootstrap_ecr sets; tests name it here)
    role_arn,
    trust_policy,
)
from release.engine import balancers, bootstrap_ecr
from release.engine.bootstrap_alarms import plan_alarms
from release.engine.bootstrap_ecr import PRINCIPAL_NOT_FOUND, ecr_settings  # noqa: F401
from release.engine.bootstrap_instances import plan_instances
from release.engine.executor import RETRY_BUDGET_SECONDS, Executor, display
from release.output.events import Reporter

MANAGED_INSTANCE_POLICY = (
    "arn:aws:iam::aws:policy/service-role/AmazonEC2ContainerServiceforEC2Role"
)


# --------------------------------------------------------------------------- the plan


@dataclass
class Plan:
    """The calls that bring one environment to its document, in the order they must run."""

    env: Environment
    calls: list[ApiCall] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # things the plan will NOT do, and why

    @property
    def empty(self) -> bool:
        return not self.calls

    def add(self, call: ApiCall) -> None:
        self.calls.append(call)


def _absent_on(codes: set[str], fn: Callable[..., Any], **params: Any) -> Any:
    """Run a read call; None when AWS says the resource does not exist."""
    import botocore.exceptions

    try:
        return fn(**params)
    except botocore.exceptions.ClientError as exc:
        if error_code(exc) in codes:
            return None
        raise


def _ordered_unique(values: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(values))


class Planner:
    """Reads one environment's live infrastructure and plans the calls that are missing.

    Only Describe/List/Get calls are made here; the executor makes the rest.
    """

    def __init__(self, aws: Aws, env: Environment, instances: int | None = None,
                 log_groups: Iterable[tuple[str, str | None]] = (),
                 repositories: Mapping[str, list[str]] | None = None) -> None:
        self.aws = aws
        self.env = env
        self.instances = instances
        self.log_groups = list(log_groups)
        # ECR repository -> the pins that name it (ConfigRepo.repositories_of)
        self.repositories = dict(repositories or {env.ecr_repository: []})
        self.plan = Plan(env)
        self._subnets: dict[str, Any] = {}  # name in the document -> id
        self._groups: dict[str, Any] = {}
        self._cluster_exists = False

    def build(self) -> Plan:
        firehose_stream_arn(self.env)  # fail on bad input before any call
        if self.instances is not None and self.instances > 0 and not self.env.instances.get("ami"):
            raise InvalidInput(f"environment {self.env.name!r} names no instances.ami",
                               f"set instances.ami in {self.env.path} or drop --instances")
        self.aws.check_account()  # reading another account's resources would plan nonsense
        with aws_errors(self.env, "reading the live infrastructure"):
            self._network()
            self._iam()
            balancers.of_environment(self.env).plan_bootstrap(self)  # its kind's calls
            self._cluster()
            self._repository()
            self._ledger_table()
            self._log_groups()
            plan_alarms(self.aws, self.env, self.plan)  # environment.json /alarms
            if self.instances is not None:
                plan_instances(self, self.instances)
        return self.plan

    def absent(self, codes: set[str], fn: Callable[..., Any], **params: Any) -> Any:
        """A read call's answer; None when AWS says the resource does not exist."""
        return _absent_on(codes, fn, **params)

    # -- network: the document names subnets/security groups by id or by Name tag

    def _network(self) -> None:
        lb = self.env.load_balancer
        subnet_names = list(lb.subnets)
        group_names = list(lb.security_groups)
        if self.instances:
            subnet_names += list(self.env.instances.get("subnets", []))
            group_names += list(self.env.instances.get("securityGroups", []))
        self._subnets = self._resolve("subnet", _ordered_unique(subnet_names))
        self._groups = self._resolve("security group", _ordered_unique(group_names))

    def _resolve(self, kind: str, names: list[str]) -> dict[str, Any]:
        if not names:
            return {}
        ec2 = self.aws.ec2
        if kind == "subnet":
            def describe(filters: list[dict[str, Any]]) -> list[dict[str, Any]]:
                return ec2.describe_subnets(Filters=filters)["Subnets"]
            id_key, id_filter = "SubnetId", "subnet-id"
        else:
            def describe(filters: list[dict[str, Any]]) -> list[dict[str, Any]]:
                return ec2.describe_security_groups(Filters=filters)["SecurityGroups"]
            id_key, id_filter = "GroupId", "group-id"
        found = {item[id_key]: item[id_key]
                 for item in describe([{"Name": id_filter, "Values": names}])}
        for item in describe([{"Name": "tag:Name", "Values": names}]):
            tag = next((t["Value"] for t in item.get("Tags", []) if t["Key"] == "Name"), None)
            if tag in names and tag not in found:
                found[tag] = item[id_key]
        missing = [n for n in names if n not in found]
        if missing:  # the network is the account's, not the tool's (the sandbox seeds its own)
            raise InvalidInput(
                f"{kind}(s) {', '.join(missing)} of environment {self.env.name!r} not found "
                f"in {self.env.region} (neither as id nor as Name tag)",
                f"create them, or name existing ones in {self.env.path}",
            )
        return {name: found[name] for name in names}

    # -- IAM

    def _iam(self) -> None:
        env = self.env
        instance_role = iam_name(env, "instanceRole")
        self._role(instance_role, trust_policy("ec2.amazonaws.com"), [MANAGED_INSTANCE_POLICY],
                   {"ecrPullPolicy": ecr_pull_policy(), "firehosePolicy": firehose_policy(env)})
        self._instance_profile(iam_name(env, "instanceProfile"), instance_role)
        self._role(iam_name(env, "serviceRole"), trust_policy("ecs.amazonaws.com"), [],
                   {"ecsServicePolicy": ecs_service_policy()})
        self._jenkins_role()

    def _jenkins_role(self) -> None:
        """The repository policy names the Jenkins role, and real ECR refuses a policy whose
        principal does not exist ("Principal not found"): it must exist before that call.

        Bootstrap creates it only when the document asks (`iam.createJenkinsRole`), with a
        trust policy for EC2 (where the write-up's Jenkins runs) and no permissions of its
        own; once it exists it is the operator's (trust and grants are never planned back).
        """
        env = self.env
        name = iam_name(env, "jenkinsRole")
        if _absent_on({"NoSuchEntity"}, self.aws.iam.get_role, RoleName=name) is not None:
            return
        if not env.create_jenkins_role:
            raise InvalidInput(
                f"the Jenkins role {name!r} does not exist in account {env.account}: the ECR "
                f"repository policy names it ({role_arn(env, name)}) and ECR refuses a policy "
                "whose principal does not exist; nothing was changed",
                f"create it where Jenkins gets its credentials (see docs/gitops.md for what it "
                f"needs), fix iam.jenkinsRole, or set iam.createJenkinsRole to true in "
                f"{env.path} to let bootstrap create it", where=str(env.path))
        self.plan.add(ApiCall(
            "iam", "create_role",
            {"RoleName": name, "AssumeRolePolicyDocument": json.dumps(
                trust_policy("ec2.amazonaws.com")),
             "Description": "Jenkins: pushes images to ECR and releases (release bootstrap)"},
            "role does not exist; the ECR repository policy names it (iam.createJenkinsRole)",
            name))

    def _role(self, name: str, trust: dict[str, Any], managed: list[str],
              inline: dict[str, dict[str, Any]]) -> None:
        iam = self.aws.iam
        live = _absent_on({"NoSuchEntity"}, iam.get_role, RoleName=name)
        attached: set[str] = set()
        if live is None:
            self.plan.add(ApiCall("iam", "create_role",
                                  {"RoleName": name, "AssumeRolePolicyDocument": json.dumps(trust)},
                                  "role does not exist", name))
        else:
            difference = policy_difference(trust, live["Role"].get("AssumeRolePolicyDocument", {}))
            if difference:
                self.plan.add(ApiCall("iam", "update_assume_role_policy",
                                      {"RoleName": name, "PolicyDocument": json.dumps(trust)},
                                      f"trust policy differs ({difference})", name))
            for page in iam.get_paginator("list_attached_role_policies").paginate(RoleName=name):
                attached |= {p["PolicyArn"] for p in page["AttachedPolicies"]}
        for arn in managed:
            if arn not in attached:
                self.plan.add(ApiCall("iam", "attach_role_policy",
                                      {"RoleName": name, "PolicyArn": arn},
                                      "managed policy not attached",
                                      f"{name}/{arn.rsplit('/', 1)[-1]}"))
        for policy_name, document in inline.items():
            current = None if live is None else _absent_on(
                {"NoSuchEntity"}, iam.get_role_policy, RoleName=name, PolicyName=policy_name)
            if current is None:
                reason = "inline policy missing"
            else:
                difference = policy_difference(document, current["PolicyDocument"])
                if difference is None:
                    continue
                reason = f"policy differs ({difference})"
            self.plan.add(ApiCall("iam", "put_role_policy",
                                  {"RoleName": name, "PolicyName": policy_name,
                                   "PolicyDocument": json.dumps(document)},
                                  reason, f"{name}/{policy_name}"))

    def _instance_profile(self, name: str, role: str) -> None:
        iam = self.aws.iam
        live = _absent_on({"NoSuchEntity"}, iam.get_instance_profile, InstanceProfileName=name)
        roles: list[str] = []
        if live is None:
            self.plan.add(ApiCall("iam", "create_instance_profile", {"InstanceProfileName": name},
                                  "instance profile does not exist", name))
        else:
            roles = [r["RoleName"] for r in live["InstanceProfile"].get("Roles", [])]
        if role in roles:
            return
        for other in roles:  # an instance profile holds at most one role
            self.plan.add(ApiCall("iam", "remove_role_from_instance_profile",
                                  {"InstanceProfileName": name, "RoleName": other},
                                  f"holds {other} instead of {role}", f"{name}/{other}"))
        self.plan.add(ApiCall("iam", "add_role_to_instance_profile",
                              {"InstanceProfileName": name, "RoleName": role},
                              f"role {role} not in the instance profile", f"{name}/{role}"))

    # -- ECS cluster

    def _cluster(self) -> None:
        name = self.env.cluster
        found = self.aws.ecs.describe_clusters(clusters=[name]).get("clusters", [])
        self._cluster_exists = any(c.get("status") == "ACTIVE" for c in found)
        if not self._cluster_exists:
            inactive = any(found)
            self.plan.add(ApiCall("ecs", "create_cluster", {"clusterName": name},
                                  "cluster is INACTIVE" if inactive else "cluster does not exist",
                                  name))

    # -- ECR: every repository the environment's pins name (engine/bootstrap_ecr.py)

    def _repository(self) -> None:
        self.plan.calls.extend(bootstrap_ecr.plan_repositories(
            self.aws.ecr, self.env, self.repositories, _absent_on, RETRY_BUDGET_SECONDS))

    # -- the release ledger: the service locks and the records of releases (adapters/ledger.py)

    def _ledger_table(self) -> None:
        from release.adapters import ledger

        name = ledger.table_name(self.env)
        dynamodb = self.aws.dynamodb
        found = _absent_on({"ResourceNotFoundException"}, dynamodb.describe_table,
                           TableName=name)
        if found is None:
            self.plan.add(ApiCall("dynamodb", "create_table", ledger.table_definition(name),
                                  "release ledger table does not exist", name))
            reason = "new table: expired locks are deleted by DynamoDB"
        else:
            keys = {k["AttributeName"]: k["KeyType"] for k in found["Table"]["KeySchema"]}
            if keys != {"pk": "HASH", "sk": "RANGE"}:
                raise InvalidInput(
                    f"DynamoDB table {name!r} exists with other keys ({keys}) than the release "
                    "ledger's (pk, sk)", f"name another table in {self.env.path} "
                    "(releaseLedger.table)")
            ttl = dynamodb.describe_time_to_live(TableName=name)["TimeToLiveDescription"]
            status = ttl.get("TimeToLiveStatus", "DISABLED")
            if status in ("ENABLED", "ENABLING"):
                if ttl.get("AttributeName") != ledger.TTL_ATTRIBUTE:
                    self.plan.notes.append(
                        f"table {name} deletes items by {ttl.get('AttributeName')!r}, not "
                        f"{ledger.TTL_ATTRIBUTE!r}: expired locks stay until a taker replaces "
                        "them (harmless); left alone")
                return
            reason = f"time to live is {status}"
        # UpdateTimeToLive on a table still CREATING is refused with ResourceInUseException
        self.plan.add(ApiCall("dynamodb", "update_time_to_live", ledger.ttl_specification(name),
                              reason, f"{name} time to live",
                              retry_on=("ResourceInUseException",)))

    # -- the awslogs groups of the environment's containers (engine/bootstrap_logs.py)

    def _log_groups(self) -> None:
        from release.engine.bootstrap_logs import plan_log_groups

        calls, notes = plan_log_groups(self.aws.logs, self.env, self.log_groups)
        self.plan.calls.extend(calls)
        self.plan.notes.extend(notes)


def build_plan(aws: Aws, env: Environment, instances: int | None = None,
               log_groups: Iterable[tuple[str, str | None]] = (),
               repositories: Mapping[str, list[str]] | None = None) -> Plan:
    """Describe what exists and return the calls that would make it match the document."""
    return Planner(aws, env, instances, log_groups, repositories).build()


# --------------------------------------------------------------------------- applying


def executor(aws: Aws, env: Environment, reporter: Reporter, clock: Any = None) -> Executor:
    """The executor of a bootstrap plan: a failed step says that a re-run resumes."""
    return Executor(aws, reporter, env, kind="bootstrap", clock=clock,
                    rerun=f"release bootstrap --env {env.name}")


def bootstrap(aws: Aws, env: Environment, reporter: Reporter, instances: int | None,
              dry_run: bool, confirm: Callable[[int], bool],
              log_groups: Iterable[tuple[str, str | None]] = (),
              repositories: Mapping[str, list[str]] | None = None) -> None:
    """Read, plan, show; then (unless a dry run, and once `confirm` says yes) apply."""
    repositories = dict(repositories or {env.ecr_repository: []})
    reporter.emit("bootstrap.reading", f"reading the live infrastructure of {env.name} "
                  f"({aws.endpoint or env.region})", "dim")
    reporter.emit("bootstrap.repositories", bootstrap_ecr.describe(repositories, env), "dim",
                  repositories=repositories)
    plan = build_plan(aws, env, instances, log_groups, repositories)
    for note in plan.notes:
        reporter.emit("bootstrap.note", note, "warn")
    changes = len(plan.calls)
    if plan.empty:
        reporter.emit("bootstrap.done", f"{env.name}: nothing to change, the infrastructure "
                      "matches the environment document", "success", changes=0, applied=0,
                      dry_run=dry_run)
        return
    reporter.emit("bootstrap.plan", f"bootstrap plan for {env.name}: {changes} change(s)",
                  changes=changes, calls=[c.as_dict() for c in plan.calls])
    display(plan, reporter, "bootstrap.plan")
    if dry_run:
        reporter.emit("bootstrap.done", f"dry run: {changes} change(s) planned, nothing was "
                      "changed", "success", changes=changes, applied=0, dry_run=True)
        return
    if not confirm(changes):
        reporter.emit("bootstrap.done", "not applied: nothing was changed", "warn",
                      changes=changes, applied=0, dry_run=False)
        return
    executor(aws, env, reporter).execute(plan)
    reporter.emit("bootstrap.done", f"{env.name}: {changes} change(s) applied", "success",
                  changes=changes, applied=changes, dry_run=False)
