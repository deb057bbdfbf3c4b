"""The IAM and ECR policy documents of the seed, and how two policies are compared.

Pure (no AWS calls): the documents are built from the environment, and the
comparison works on parsed JSON after normalisation (sorted actions and
resources, statements in a canonical order, a missing Version read as AWS reads
it), never on strings, because AWS re-serialises what it stores.
"""

from __future__ import annotations

import json
import re
import urllib.parse
from typing import Any

from release.core.config import Environment
from release.core.errors import InvalidInput

# --------------------------------------------------------------------------- desired documents


def trust_policy(service_principal: str) -> dict[str, Any]:
    """The seed's trust documents (ecsInstanceRole.json, ecsServiceRole.json), Version 2012-10-17.

    The seed writes 2008-10-17; IAM recommends 2012-10-17 (the older language has no
    policy variables) and moto's UpdateAssumeRolePolicy refuses anything older, so a
    drifted trust policy could not be repaired in the sandbox. The statements are the seed's.
    """
    return {
        "Version": "2012-10-17",
        "Statement": [{"Sid": "", "Effect": "Allow",
                       "Principal": {"Service": service_principal},
                       "Action": "sts:AssumeRole"}],
    }


def ecr_pull_policy() -> dict[str, Any]:
    return {
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Action": ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer",
                       "ecr:GetAuthorizationToken"],
            "Resource": "*",
        }],
    }


def firehose_stream_arn(env: Environment) -> str:
    if not env.firehose_stream:
        raise InvalidInput(
            f"environment {env.name!r} names no Firehose delivery stream",
            f"set firehose.deliveryStream in {env.path}; the instance role's firehosePolicy "
            "is scoped to that one stream and is never granted on '*'",
        )
    return f"arn:aws:firehose:{env.region}:{env.account}:deliverystream/{env.firehose_stream}"


def firehose_policy(env: Environment) -> dict[str, Any]:
    return {
        "Version": "2012-10-17",
        "Statement": [{
            "Sid": "",
            "Effect": "Allow",
            "Action": ["firehose:DescribeDeliveryStream", "firehose:ListDeliveryStreams",
                       "firehose:PutRecord", "firehose:PutRecordBatch"],
            "Resource": [firehose_stream_arn(env)],
        }],
    }


def ecs_service_policy() -> dict[str, Any]:
    return {
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Action": ["elasticloadbalancing:Describe*",
                       "elasticloadbalancing:DeregisterInstancesFromLoadBalancer",
                       "elasticloadbalancing:RegisterInstancesWithLoadBalancer",
                       "ec2:Describe*", "ec2:AuthorizeSecurityGroupIngress"],
            "Resource": ["*"],
        }],
    }


ECR_PULL_ACTIONS = ["ecr:DescribeRepositories", "ecr:GetRepositoryPolicy",
                    "ecr:BatchCheckLayerAvailability", "ecr:GetDownloadUrlForLayer",
                    "ecr:ListImages", "ecr:BatchGetImage"]
ECR_PUSH_ACTIONS = ["ecr:PutImage", "ecr:InitiateLayerUpload", "ecr:UploadLayerPart",
                    "ecr:CompleteLayerUpload"]


def role_arn(env: Environment, role: str) -> str:
    return f"arn:aws:iam::{env.account}:role/{role}"


def repository_policy(env: Environment) -> dict[str, Any]:
    """Both of the seed's repository statements in ONE document (see the module docstring)."""
    return {
        "Version": "2008-10-17",
        "Statement": [
            {"Sid": "jenkins_push_pull", "Effect": "Allow",
             "Principal": {"AWS": role_arn(env, iam_name(env, "jenkinsRole"))},
             "Action": ECR_PULL_ACTIONS + ECR_PUSH_ACTIONS},
            {"Sid": "ecs_instance_pull", "Effect": "Allow",
             "Principal": {"AWS": role_arn(env, iam_name(env, "instanceRole"))},
             "Action": list(ECR_PULL_ACTIONS)},
        ],
    }


IAM_DEFAULTS = {"instanceRole": "ecsInstanceRole", "instanceProfile": "ecsServer",
                "serviceRole": "ecsServiceRole", "jenkinsRole": "jenkins"}


def iam_name(env: Environment, key: str) -> str:
    return str(env.iam.get(key) or IAM_DEFAULTS[key])


# --------------------------------------------------------------------------- policy comparison


LIST_KEYS = ("Action", "NotAction", "Resource", "NotResource")


def _as_sorted_list(value: Any) -> list[Any]:
    values = value if isinstance(value, list) else [value]
    return sorted(set(values), key=str)


def _normalise_statement(statement: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in statement.items():
        if key == "Sid" and not value:
            continue  # "Sid": "" and no Sid mean the same
        if key in LIST_KEYS:
            out[key] = _as_sorted_list(value)
        elif key in ("Principal", "NotPrincipal") and isinstance(value, dict):
            out[key] = {k: _as_sorted_list(v) for k, v in sorted(value.items())}
        elif key == "Condition" and isinstance(value, dict):
            out[key] = {op: {k: _as_sorted_list(v) for k, v in sorted(cond.items())}
                        for op, cond in sorted(value.items())}
        else:
            out[key] = value
    return out


def parse_policy(document: str | dict[str, Any]) -> dict[str, Any]:
    """A policy as a dict, whether boto3 handed it over parsed, as JSON or URL-encoded JSON."""
    if isinstance(document, dict):
        return document
    text = document.strip()
    if text.startswith("%7B") or text.startswith("%7b"):
        text = urllib.parse.unquote(text)
    return json.loads(text)


def normalise_policy(document: str | dict[str, Any]) -> dict[str, Any]:
    """Canonical form for comparison: lists sorted, statements ordered, Version explicit."""
    doc = parse_policy(document)
    statements = doc.get("Statement", [])
    if isinstance(statements, dict):
        statements = [statements]
    normalised = sorted((_normalise_statement(s) for s in statements),
                        key=lambda s: json.dumps(s, sort_keys=True))
    # IAM reads a policy without Version as the 2008-10-17 language version.
    return {"Version": doc.get("Version", "2008-10-17"), "Statement": normalised}


def policy_difference(desired: str | dict[str, Any], live: str | dict[str, Any]) -> str | None:
    """None when equal, else what differs: `Resource`, `statement jenkins_push_pull missing`."""
    want, have = normalise_policy(desired), normalise_policy(live)
    if want == have:
        return None
    parts: list[str] = []
    if want["Version"] != have["Version"]:
        parts.append(f"Version {have['Version']} instead of {want['Version']}")
    unmatched = list(have["Statement"])
    for index, statement in enumerate(want["Statement"], 1):
        sid = statement.get("Sid")
        partner = next((s for s in unmatched if sid and s.get("Sid") == sid), None)
        if partner is None:
            partner = next((s for s in unmatched if not s.get("Sid") and not sid), None)
        label = f"statement {sid}" if sid else f"statement {index}"
        if partner is None:
            parts.append(f"{label} missing")
            continue
        unmatched.remove(partner)
        keys = sorted(k for k in set(statement) | set(partner)
                      if statement.get(k) != partner.get(k))
        if keys:
            parts.append(", ".join(keys) if len(want["Statement"]) == 1
                         else f"{label}: {', '.join(keys)}")
    for extra in unmatched:
        parts.append(f"unexpected statement {extra.get('Sid') or json.dumps(extra)[:60]}")
    return "; ".join(parts) or "statements differ"


# --------------------------------------------------------------------------- policy evaluation

# IAM policy evaluation (IAM User Guide, "Policy evaluation logic"): "By default, all requests
# are implicitly denied"; "An explicit allow in an identity-based or a resource-based policy
# overrides this default"; "An explicit deny in any policy overrides any allows". Action names
# match case-insensitively, resource ARNs case-sensitively, both with the wildcards * and ?
# (IAM JSON policy elements: Action, Resource).
ALLOWED, EXPLICIT_DENY, IMPLICIT_DENY = "allowed", "explicitDeny", "implicitDeny"


def _wildcard(pattern: str, value: str, *, case: bool) -> bool:
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.fullmatch(regex, value, 0 if case else re.IGNORECASE) is not None


def _listed(value: Any) -> list[str]:
    return [str(v) for v in (value if isinstance(value, list) else [value])]


def _matches(statement: dict[str, Any], key: str, value: str, *, case: bool) -> bool:
    """Whether `value` is covered by the statement's `key` (Action, Resource) or its Not-form.
    A statement that names neither covers everything (a trust policy has no Resource)."""
    if key in statement:
        return any(_wildcard(p, value, case=case) for p in _listed(statement[key]))
    if "Not" + key in statement:
        return not any(_wildcard(p, value, case=case) for p in _listed(statement["Not" + key]))
    return True


def _principal_matches(statement: dict[str, Any], service: str | None) -> bool:
    if service is None:
        return True
    principal = statement.get("Principal")
    if principal == "*":
        return True
    if not isinstance(principal, dict):
        return False
    return service in _listed(principal.get("Service", [])) or "*" in _listed(
        principal.get("AWS", []))


def statements_of(document: str | dict[str, Any]) -> list[dict[str, Any]]:
    statements = parse_policy(document).get("Statement", [])
    return [statements] if isinstance(statements, dict) else list(statements)


def evaluate(documents: list[str | dict[str, Any]], action: str, resource: str = "*", *,
             principal: str | None = None, conditions_hold: bool = False
             ) -> tuple[str, list[dict[str, Any]]]:
    """(decision, the statements that decide it) for one action on one resource.

    A statement with a Condition counts only when `conditions_hold` (a trust policy's
    aws:SourceAccount is met by the service that assumes the role); the policy simulator
    reports such keys as MissingContextValues and does not match them."""
    allows, denies = [], []
    for document in documents:
        for statement in statements_of(document):
            if statement.get("Condition") and not conditions_hold:
                continue
            if not (_matches(statement, "Action", action, case=False)
                    and _matches(statement, "Resource", resource, case=True)
                    and _principal_matches(statement, principal)):
                continue
            (denies if statement.get("Effect") == "Deny" else allows).append(statement)
    if denies:
        return EXPLICIT_DENY, denies
    return (ALLOWED, allows) if allows else (IMPLICIT_DENY, [])


def trusts(document: str | dict[str, Any], service: str) -> bool:
    """Whether a role's trust policy lets `service` (ecs-tasks.amazonaws.com) assume it."""
    decision, _ = evaluate([document], "sts:AssumeRole", principal=service,
                           conditions_hold=True)
    return decision == ALLOWED


# --------------------------------------------------------------------------- what the tool needs

# The reads `release preflight` (and plan, deploy, apply, rollback before any change) makes,
# by check: the statement `Preflight` of the Jenkins policy in docs/gitops.md holds them all
# (tests/core/test_preflight.py keeps the two equal). A read the credentials may not make is
# reported "not checked", never an error.
PREFLIGHT_ACTIONS: dict[str, tuple[str, ...]] = {
    "roles": ("iam:GetRole",),
    "secrets": ("ssm:DescribeParameters", "secretsmanager:DescribeSecret",
                "iam:SimulatePrincipalPolicy"),
    "images": ("ecr:DescribeImages",),
    "logs": ("logs:DescribeLogGroups",),
    "load-balancer": ("elasticloadbalancing:DescribeLoadBalancers",
                      "elasticloadbalancing:DescribeTargetGroups"),
    "capacity": ("ecs:DescribeClusters", "ecs:DescribeCapacityProviders",
                 "ecs:ListContainerInstances", "ecs:DescribeContainerInstances",
                 "ecs:ListTasks", "ecs:DescribeTasks"),
    "alarms": ("cloudwatch:DescribeAlarms",),
    "scan-gate": ("ecr:DescribeImageScanFindings",),
}
