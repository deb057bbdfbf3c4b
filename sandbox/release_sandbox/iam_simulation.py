"""IAM's policy simulator in the sandbox: SimulatePrincipalPolicy, which moto does not have.

What it follows (IAM API reference, SimulatePrincipalPolicy): "Simulate how a set of IAM
policies attached to an IAM entity works with a list of API operations and Amazon Web
Services resources to determine the policies' effective permissions. The entity can be an
IAM user, group, or role." Each action is evaluated on each of `ResourceArns` (`*` when none
is given) against the role's inline and attached managed policies (their default versions)
with the evaluation logic of the IAM User Guide ("Policy evaluation logic": an implicit deny
unless a statement allows, an explicit deny over any allow: core/policies.evaluate). One
EvaluationResult per action and resource: EvalActionName, EvalResourceName, EvalDecision
(allowed | explicitDeny | implicitDeny), the deciding statements, and the resource's
ResourceSpecificResults entry. A statement with a Condition is not matched (the simulator
needs ContextEntries for it) and its keys are listed in MissingContextValues.

Sandbox choices: users and groups, permissions boundaries, SCPs and resource policies are
not simulated (the tool simulates execution roles); no paging (IsTruncated is false).
"""

from __future__ import annotations

from typing import Any

from release.core import policies


def _documents(role: Any) -> list[tuple[str, Any]]:
    """(policy id, document) of the role's inline and attached managed policies."""
    found = [(name, document) for name, document in role.policies.items()]
    for arn, policy in role.managed_policies.items():
        version = next((v for v in policy.versions if v.version_id == policy.default_version_id),
                       None)
        if version is not None:
            found.append((arn, version.document))
    return found


def _missing_context(documents: list[tuple[str, Any]]) -> list[str]:
    keys: list[str] = []
    for _, document in documents:
        for statement in policies.statements_of(document):
            for condition in (statement.get("Condition") or {}).values():
                keys += [str(k) for k in condition]
    return list(dict.fromkeys(keys))


def simulate(backend: Any, params: dict[str, Any]) -> dict[str, Any]:
    """SimulatePrincipalPolicy's answer for a role of `backend` (moto's IAM backend); an
    unknown PolicySourceArn raises moto's NoSuchEntity, as IAM answers."""
    role = backend.get_role_by_arn(str(params["PolicySourceArn"]))
    documents = _documents(role)
    missing = _missing_context(documents)
    results = []
    for action in params.get("ActionNames") or []:
        for resource in params.get("ResourceArns") or ["*"]:
            decision, statements = policies.evaluate([d for _, d in documents], action,
                                                     resource)
            matched = [{"SourcePolicyId": source, "SourcePolicyType": _kind(source)}
                       for source, document in documents
                       if any(s in statements for s in policies.statements_of(document))]
            results.append({
                "EvalActionName": action, "EvalResourceName": resource,
                "EvalDecision": decision, "MatchedStatements": matched,
                "MissingContextValues": missing if decision != policies.ALLOWED else [],
                "ResourceSpecificResults": [{"EvalResourceName": resource,
                                             "EvalResourceDecision": decision,
                                             "MatchedStatements": matched}]})
    return {"EvaluationResults": results, "IsTruncated": False}


def _kind(source: str) -> str:
    """SourcePolicyType: an inline policy of the role, or a managed one (AWS's or ours)."""
    if not source.startswith("arn:"):
        return "role"
    return "aws-managed" if ":aws:policy/" in source else "user-managed"
