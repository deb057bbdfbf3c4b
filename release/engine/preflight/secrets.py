"""Preflight's secrets check: every secret, log secret option and registry credential exists,
and the execution role may read it.

Existence is read without any value: SSM DescribeParameters (a Name filter, up to 50 names a
call; it also says SecureString and its KMS key) and Secrets Manager DescribeSecret, never
GetParameter(s) or GetSecretValue. Whether the execution role may read them is IAM's policy
simulator (SimulatePrincipalPolicy) on the actions the ECS developer guide names for the
execution role ("Secrets Manager or Systems Manager permissions"): ssm:GetParameters,
secretsmanager:GetSecretValue, and kms:Decrypt "only if your key uses a custom KMS key and
not the default key". Credentials that may not simulate get one "not checked", not an error.
The simulator evaluates the role's own policies; a secret's resource policy or an
organization's SCPs are named in the message when they decide.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from release.core import preflight as pf
from release.core.references import SSM, SecretRef, role_name, secret_place, secret_refs
from release.engine.preflight.context import Context, Denied, not_checked

READ_ACTION = {SSM: "ssm:GetParameters", "secretsmanager": "secretsmanager:GetSecretValue"}
DECRYPT = "kms:Decrypt"
AWS_MANAGED_KEYS = ("alias/aws/ssm", "alias/aws/secretsmanager")
NAMES_PER_CALL = 50  # DescribeParameters: ParameterStringFilter Values, at most 50


@dataclass(frozen=True)
class Found:
    arn: str  # what IAM evaluates
    key: str | None  # a customer KMS key (ARN or alias); None for AWS managed keys


def check(ctx: Context) -> list[pf.Result]:
    refs = list(secret_refs(ctx.taskdef, ctx.env))
    if not refs:
        return [pf.placed("secrets", pf.OK, "secrets", "the revision reads no secret, "
                          "parameter or registry credential")]
    results: list[pf.Result] = []
    found: dict[SecretRef, Found] = {}
    for ref, answer in _existence(ctx, refs).items():
        at = secret_place(ctx.origin, ref)
        if isinstance(answer, Found):
            found[ref] = answer
        elif isinstance(answer, Denied):
            results.append(not_checked("secrets", ref.label, answer, at))
        elif answer == "elsewhere":
            results.append(pf.placed("secrets", pf.NOT_CHECKED, ref.label, f"not checked: it "
                                     f"is in account {ref.account}, not {ctx.env.account}",
                                     "", at))
        else:
            results.append(pf.placed(
                "secrets", pf.PROBLEM, ref.label,
                f"{ref.label} does not exist in {ref.region} (account {ref.account}): "
                f"{ref.container}'s {_what(ref)} cannot be fetched and its task stops at start",
                _missing_fix(ref), at))
    if found:
        results += _permissions(ctx, found)
    return results


def _what(ref: SecretRef) -> str:
    if ref.key == "repositoryCredentials":
        return "registry credentials"
    return f"secret {ref.entry}" if ref.key == "secrets" else f"log option {ref.entry}"


def _missing_fix(ref: SecretRef) -> str:
    if ref.service == SSM:
        return (f"create it (`aws ssm put-parameter --name {ref.name} --type SecureString "
                f"--region {ref.region} …`) or fix the valueFrom")
    return f"create the secret in Secrets Manager ({ref.region}) or fix the ARN"


# ------------------------------------------------------------------------------ existence


def _existence(ctx: Context, refs: list[SecretRef]) -> dict[SecretRef, Any]:
    """ref → Found, Denied, "missing" or "elsewhere" (another account: not ours to read)."""
    answers: dict[SecretRef, Any] = {}
    parameters: dict[str, list[SecretRef]] = defaultdict(list)
    for ref in refs:
        if ref.account != ctx.env.account:
            answers[ref] = "elsewhere"
        elif ref.service == SSM:
            parameters[ref.region].append(ref)
        else:
            answers[ref] = _secret(ctx, ref)
    for region, group in parameters.items():
        answers.update(_parameters(ctx, region, group))
    return {ref: answers[ref] for ref in refs}


def _parameters(ctx: Context, region: str, refs: list[SecretRef]) -> dict[SecretRef, Any]:
    ssm = ctx.client("ssm", region)
    names = list(dict.fromkeys(name for ref in refs for name in ref.names()))
    known: dict[str, dict[str, Any]] = {}
    try:
        for start in range(0, len(names), NAMES_PER_CALL):
            token = None
            while True:
                params: dict[str, Any] = {"ParameterFilters": [{
                    "Key": "Name", "Option": "Equals",
                    "Values": names[start:start + NAMES_PER_CALL]}], "MaxResults": 50}
                if token:
                    params["NextToken"] = token
                answer = ctx.call(ssm, "describe_parameters", **params)
                known.update({p["Name"]: p for p in answer.get("Parameters", [])})
                token = answer.get("NextToken")
                if not token:
                    break
    except Denied as exc:
        return {ref: exc for ref in refs}
    out: dict[SecretRef, Any] = {}
    for ref in refs:
        parameter = next((known[n] for n in ref.names() if n in known), None)
        if parameter is None:
            out[ref] = "missing"
            continue
        key = parameter.get("KeyId") if parameter.get("Type") == "SecureString" else None
        out[ref] = Found(ref.resource_arn(parameter["Name"]), _customer_key(key))
    return out


def _secret(ctx: Context, ref: SecretRef) -> Any:
    client = ctx.client("secretsmanager", ref.region)
    try:
        answer = ctx.call(client, "describe_secret", SecretId=ref.name)
    except client.exceptions.ResourceNotFoundException:
        return "missing"
    except Denied as exc:
        return exc
    if answer.get("DeletedDate"):
        return "missing"  # scheduled for deletion: GetSecretValue fails meanwhile
    return Found(str(answer.get("ARN") or ref.resource_arn()), _customer_key(
        answer.get("KmsKeyId")))


def _customer_key(key: Any) -> str | None:
    if not key or str(key) in AWS_MANAGED_KEYS:
        return None
    return str(key)


# ------------------------------------------------------------------------------ permissions


def _permissions(ctx: Context, found: dict[SecretRef, Found]) -> list[pf.Result]:
    reference = ctx.taskdef.get("executionRoleArn")
    if not reference:
        return [pf.placed("secrets", pf.PROBLEM, "execution role", "the revision reads "
                          "secrets but names no executionRoleArn: the agent fetches them with "
                          "that role", "set executionRoleArn to a role that may read them",
                          ctx.origin.taskdef("executionRoleArn"))]
    name, account = role_name(str(reference))
    at = ctx.origin.taskdef("executionRoleArn")
    try:
        role = ctx.role(name) if not account or account == ctx.env.account else None
    except Denied as exc:
        return [not_checked("secrets", f"execution role {name}", exc, at)]
    if role is None:
        return [pf.placed("secrets", pf.NOT_CHECKED, f"execution role {name}", "whether it "
                          "may read the secrets was not checked: the role is not readable "
                          "here (see the roles check)", "", at)]
    wanted: dict[tuple[str, str], list[SecretRef]] = defaultdict(list)
    unsimulated: list[pf.Result] = []
    for ref, answer in found.items():
        wanted[(READ_ACTION[ref.service], answer.arn)].append(ref)
        key = _key_arn(answer.key, ref)
        if key:
            wanted[(DECRYPT, key)].append(ref)
        elif answer.key:
            unsimulated.append(pf.placed(
                "secrets", pf.NOT_CHECKED, ref.label, f"{DECRYPT} not checked: its KMS key "
                f"is named by alias ({answer.key}), which IAM does not evaluate", "",
                secret_place(ctx.origin, ref)))
    by_action: dict[str, list[str]] = defaultdict(list)
    for action, arn in wanted:
        by_action[action].append(arn)
    try:
        decisions = {(action, arn): decision for action, arns in by_action.items()
                     for arn, decision in _simulate(ctx, role["Arn"], action, arns).items()}
    except Denied as exc:
        return [pf.placed("secrets", pf.NOT_CHECKED, f"execution role {name}",
                          f"whether it may read the {len(found)} secret(s) was not checked: "
                          f"the credentials may not {exc.action}",
                          f"allow {exc.action} on {role['Arn']} to have it checked", at)]
    results = list(unsimulated)
    for (action, arn), refs in wanted.items():
        decision, why = decisions.get((action, arn), ("implicitDeny", ""))
        if decision == "allowed":
            continue
        for ref in refs:
            results.append(pf.placed(
                "secrets", pf.PROBLEM, f"execution role {name}",
                f"execution role {name} may not {action} on {arn} ({ref.label}): the policy "
                f"simulator answers {decision}{why}; the task stops at start",
                f"allow {action} on {arn} in a policy of role {name}"
                + ("" if action != DECRYPT else " (and in the key's policy)"),
                secret_place(ctx.origin, ref)))
    if not any(r.status == pf.PROBLEM for r in results):
        results.append(pf.placed("secrets", pf.OK, f"execution role {name}",
                                 f"may read all {len(found)} ({_labels(found)})", "", at))
    return results


def _labels(found: dict[SecretRef, Found]) -> str:
    return ", ".join(dict.fromkeys(ref.label for ref in found))


def _key_arn(key: str | None, ref: SecretRef) -> str | None:
    """A customer key as the ARN IAM evaluates: given as an ARN, or as a key id."""
    if not key or key.startswith("alias/") or ":alias/" in key:
        return None
    if key.startswith("arn:"):
        return key
    return f"arn:{ref.partition}:kms:{ref.region}:{ref.account}:key/{key}"


def _simulate(ctx: Context, role_arn: str, action: str, arns: list[str]
              ) -> dict[str, tuple[str, str]]:
    """arn → (decision, why) for one action, every page of SimulatePrincipalPolicy."""
    iam = ctx.client("iam")
    decisions: dict[str, tuple[str, str]] = {}
    marker = None
    while True:
        params: dict[str, Any] = {"PolicySourceArn": role_arn, "ActionNames": [action],
                                  "ResourceArns": arns}
        if marker:
            params["Marker"] = marker
        answer = ctx.call(iam, "simulate_principal_policy", **params)
        for result in answer.get("EvaluationResults", []):
            why = _why(result)
            decisions[str(result.get("EvalResourceName", "*"))] = (result["EvalDecision"], why)
            for specific in result.get("ResourceSpecificResults") or []:
                decisions[str(specific["EvalResourceName"])] = (
                    specific["EvalResourceDecision"], why)
        marker = answer.get("Marker") if answer.get("IsTruncated") else None
        if not marker:
            return decisions


def _why(result: dict[str, Any]) -> str:
    if result.get("EvalDecision") == "explicitDeny":
        return ": a statement denies it"
    if (result.get("OrganizationsDecisionDetail") or {}).get("AllowedByOrganizations") is False:
        return ": an organization's SCP denies it"
    missing = result.get("MissingContextValues") or []
    if missing:
        return f": conditions on {', '.join(missing)} could not be evaluated"
    return ": no statement of its policies allows it"
