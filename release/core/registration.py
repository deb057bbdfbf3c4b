"""What ECS rewrites when it registers a task definition, each from the sentence documenting it.

RegisterTaskDefinition takes a few values in more than one form and keeps only one:
DescribeTaskDefinition answers with that form, not with what was written. Compared as
written, such a value differs from the live revision on every run, and every deploy
would register a revision and replace every task. `registered` rewrites a
RegisterTaskDefinition input the way ECS does, so that plan (core/plan.py) compares like
with like, and the sandbox (release_sandbox/moto_hooks.py) stores what ECS would store (moto
keeps values as written).

`REWRITES` lists them with their documentation; a conformance test checks that every
sentence quoted from the ECS API model is still in botocore's copy of it.

Not here, because they are not rewrites: members nobody wrote that DescribeTaskDefinition
reports at their documented API default (`essential: true`, `cpu: 0`, healthCheck
`interval` 30 / `timeout` 5 / `retries` 3, EFS `transitEncryption` and
`authorizationConfig.iam` DISABLED, `readOnly: false`, ...). core/ecs_model.json knows
them, with their sentences, and plan.diff compares a member against its default.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

from release.core.records import PREFIX as RECORD_PREFIX
from release.core.rolling import parse_cpu, parse_memory

# The region's partition, as ARNs name it (botocore's endpoints data: every region of a
# partition matches its regionRegex; tests/conformance/test_registration_replay.py checks each).
PARTITIONS = (("cn-", "aws-cn"), ("us-gov-", "aws-us-gov"), ("us-isob-", "aws-iso-b"),
              ("us-isof-", "aws-iso-f"), ("us-iso-", "aws-iso"), ("eu-isoe-", "aws-iso-e"),
              ("eusc-", "aws-eusc"))
ROLE_MEMBERS = ("taskRoleArn", "executionRoleArn")
EFS_ROOT = "/"
AWS_TAG_PREFIX = "aws:"  # "reserved for Amazon Web Services use" in any case: not ours to write


@dataclass(frozen=True)
class Rewrite:
    """One documented rewrite: where in the document, and the documentation saying so."""

    member: str  # where in a task definition, e.g. volumes[].efsVolumeConfiguration.rootDirectory
    sentence: str  # the documentation's own words
    model: tuple[str, str] | None  # (shape, member) of botocore's ECS model holding `sentence`
    source: str = "ECS API reference"


REWRITES = (
    Rewrite("cpu", "String values are converted to an integer indicating the CPU units when "
            "the task definition is registered.", ("RegisterTaskDefinitionRequest", "cpu")),
    Rewrite("memory", "String values are converted to an integer indicating the MiB when the "
            "task definition is registered.", ("RegisterTaskDefinitionRequest", "memory")),
    Rewrite("taskRoleArn", "The short name or full Amazon Resource Name (ARN) of the IAM role "
            "that containers in this task can assume.",
            ("RegisterTaskDefinitionRequest", "taskRoleArn")),
    # The model documents executionRoleArn as an ARN only; ECS takes a name there too.
    Rewrite("executionRoleArn", "both the executionRoleArn and taskRoleArn can actually be just "
            "the role name. ECS will fill in the account ID server-side when the task "
            "definition is registered.", None,
            "the ECS team, aws-actions/amazon-ecs-render-task-definition#19"),
    # ECS answers "/" for an omitted rootDirectory (with or without an access point).
    Rewrite("volumes[].efsVolumeConfiguration.rootDirectory",
            "Specifying / will have the same effect as omitting this parameter.",
            ("EFSVolumeConfiguration", "rootDirectory")),
)


@dataclass(frozen=True)
class Where:
    """The account and region a task definition is registered in (an environment's)."""

    account: str
    region: str

    @property
    def partition(self) -> str:
        return partition(self.region)

    @classmethod
    def of_arn(cls, arn: str | None) -> Where | None:
        """The account and region of an ARN (e.g. a live revision's), None if it is none."""
        parts = str(arn or "").split(":")
        if len(parts) < 6 or parts[0] != "arn" or not parts[3] or not parts[4]:
            return None
        return cls(parts[4], parts[3])


def partition(region: str) -> str:
    """aws, aws-cn for cn-*, aws-us-gov for us-gov-*, and the isolated ones."""
    return next((name for prefix, name in PARTITIONS if region.startswith(prefix)), "aws")


def role_arn(role: str, where: Where | None) -> str:
    """A role written by name → the ARN ECS stores: in the account and partition registered
    in. An ARN, or a name when the account is unknown, is left as it is."""
    if not role or role.startswith("arn:") or where is None:
        return role
    return f"arn:{where.partition}:iam::{where.account}:role/{role}"


def task_cpu(value: Any) -> Any:
    """"1 vCPU" → "1024", "0.5 vcpu" → "512", 1024 → "1024"; a value ECS would refuse is kept."""
    units = parse_cpu(value)
    return str(units) if units is not None else value


def task_memory(value: Any) -> Any:
    """"2 GB" → "2048", "1GB" → "1024", 512 → "512"; a value ECS would refuse is kept."""
    mib = parse_memory(value)
    return str(mib) if mib is not None else value


def registered(doc: dict[str, Any], where: Where | None = None) -> dict[str, Any]:
    """`doc` (RegisterTaskDefinition input, or a registered one: it is left alone) with the
    members ECS rewrites on register in the form DescribeTaskDefinition answers them."""
    body = copy.deepcopy(doc)
    for key, convert in (("cpu", task_cpu), ("memory", task_memory)):
        if body.get(key) is not None:
            body[key] = convert(body[key])
    for key in ROLE_MEMBERS:
        if isinstance(body.get(key), str):
            body[key] = role_arn(body[key], where)
    for volume in body.get("volumes") or []:
        efs = volume.get("efsVolumeConfiguration") if isinstance(volume, dict) else None
        if isinstance(efs, dict) and not efs.get("rootDirectory"):
            efs["rootDirectory"] = EFS_ROOT
    return body


# ----------------------------------------------------------------------------- tags
#
# DescribeTaskDefinition returns a revision's tags beside `taskDefinition`, and only when
# asked with include=["TAGS"]. A release registers the file's tags and its release record's
# (core/records.py) together; only the file's are compared with the live revision's.


def is_file_tag(key: str) -> bool:
    """A tag a task-definition file may hold: neither the release record's nor AWS's."""
    return not key.startswith(RECORD_PREFIX) and not key.lower().startswith(AWS_TAG_PREFIX)


def file_tags(tags: dict[str, Any]) -> dict[str, str]:
    """{key: value} of the file's kind of tags. A tag's value is optional ("Each tag consists
    of a key and an optional value"): none is the empty value."""
    return {key: str(value or "") for key, value in tags.items() if is_file_tag(key)}


def merged_tags(written: list[dict[str, str]] | None, record: list[dict[str, str]] | None
                ) -> list[dict[str, str]]:
    """The tags a release registers: the file's, then the release record's (its `release:`
    keys are refused in a file by the rule taskdef-tags; were one there, the record wins)."""
    keys = {t["key"] for t in record or []}
    return [dict(t) for t in written or [] if t["key"] not in keys] + [
        dict(t) for t in record or []]
