"""What the container agent needs before a task's containers start, and how a task fails
without it: the execution role, secrets, the image, the awslogs log group.

moto registers any task definition and the emulator used to start every task, so a
revision naming a role, a parameter, an image or a log group that does not exist ran
and served in the sandbox while ECS stops it at once. This module looks each one up in
moto (IAM, SSM Parameter Store, Secrets Manager, ECR, CloudWatch Logs) the way ECS and
its agent do, and words the failure as ECS does (each message is cited where it is built).

What it follows (AWS documentation, by page title, and what users report ECS answers):

* "Amazon ECS task execution IAM role": the role "grants the Amazon ECS container and
  Fargate agents permission to make AWS API calls on your behalf"; its trust policy allows
  "Service": "ecs-tasks.amazonaws.com" to sts:AssumeRole. ECS assumes the role a task
  definition names when it launches a task; when it cannot (no such role, or a trust
  policy without ecs-tasks.amazonaws.com) no task starts and the service reports "failed
  to launch a task with (error ECS was unable to assume the role '<arn>' that was
  provided for this task. Please verify that the role being passed has the proper trust
  relationship and permissions and that your IAM user has permissions to pass this
  role.)" (the service event users report, e.g. telia-oss/terraform-aws-ecs-fargate#58;
  RunTask answers it as ClientException). The task role (taskRoleArn) is assumed the same
  way and fails with the same words. A task definition with no executionRoleArn is
  not checked here: ECS needs the role only for the cases that page lists (secrets,
  private registry authentication; on Fargate also ECR pulls and awslogs), and refuses
  such a task definition at RegisterTaskDefinition, which the sandbox does not (see
  docs/sandbox.md).
* "Amazon ECS stopped task error messages" / "Stopped tasks error codes": a task that
  cannot start stops with stopCode TaskFailedToStart (Task.stopCode, API reference), its
  stoppedReason the agent's error. ResourceInitializationError "occurs when the container
  agent for your Fargate task fails to create or bootstrap the resources required to start
  the container", "only ... on platform version 1.4.0 or later"; CannotPullContainerError
  "occurs when the agent is unable to pull the container image specified in the task
  definition"; CannotStartContainerError "occurs when a container can't be started". On
  EC2 the ECS container agent words secret failures itself (its ssmsecret/asmsecret task
  resources): "fetching secret data from SSM Parameter Store in <region>: invalid
  parameters: <names>" — what DescribeTasks shows as "Fetching secret data from SSM
  Parameter Store in ...".
* "Using the awslogs log driver": awslogs-create-group "If this option isn't specified,
  it defaults to false" — a missing group fails the container's start unless it is "true".

Images are looked up only in the registries the sandbox serves (ECR of its account and
region, and the sandbox registry, which mirrors every push into moto's ECR); an image of
any other registry cannot be known and is taken to exist.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

TASK_FAILED_TO_START = "TaskFailedToStart"
ECS_TASKS_PRINCIPAL = "ecs-tasks.amazonaws.com"
ROLE_NOT_ASSUMED = ("ECS was unable to assume the role '{arn}' that was provided for this "
                    "task. Please verify that the role being passed has the proper trust "
                    "relationship and permissions and that your IAM user has permissions to "
                    "pass this role.")
_NO_LOG_GROUP = "ResourceNotFoundException: The specified log group does not exist."
_NO_SECRET = "ResourceNotFoundException: Secrets Manager can't find the specified secret."
_SECRETS_PREFIX = ("ResourceInitializationError: unable to pull secrets or registry auth: "
                   "execution resource retrieval failed: ")


@dataclass(frozen=True)
class StartFailure:
    """Why the agent could not start a task: its stoppedReason and the container's reason."""

    stopped_reason: str
    container: str | None = None  # the container whose start failed (None: the whole task)
    container_reason: str | None = None
    stop_code: str = TASK_FAILED_TO_START


def _backend(service: str, account: str, region: str) -> Any:
    from moto.backends import get_backend

    return get_backend(service)[account][region]


def trusts_ecs_tasks(policy: Any) -> bool:
    """Does an assume-role policy allow ecs-tasks.amazonaws.com to sts:AssumeRole?"""
    if isinstance(policy, str):
        try:
            policy = json.loads(policy)
        except ValueError:
            return False
    statements = (policy or {}).get("Statement") if isinstance(policy, dict) else None
    if isinstance(statements, dict):
        statements = [statements]
    for statement in statements or []:
        if not isinstance(statement, dict) or statement.get("Effect") != "Allow":
            continue
        actions = statement.get("Action") or []
        actions = [actions] if isinstance(actions, str) else actions
        services = (statement.get("Principal") or {}).get("Service") or []
        services = [services] if isinstance(services, str) else services
        if (ECS_TASKS_PRINCIPAL in services
                and any(a in ("sts:AssumeRole", "sts:*", "*") for a in actions)):
            return True
    return False


class StartChecks:
    """Looks up, in moto, what a task's start needs (one account and region)."""

    def __init__(self, account: str, region: str) -> None:
        self.account = account
        self.region = region
        self.registry_hosts: set[str] = set()  # the sandbox registry's host:port, if any

    # -- the execution role: checked when ECS launches the task ----------------------------

    def role_refusal(self, task_definition: Any) -> str | None:
        """ECS's error when it cannot assume the task definition's execution role or task
        role (it hands the agent credentials of both), else None."""
        for arn in (getattr(task_definition, "execution_role_arn", None),
                    getattr(task_definition, "task_role_arn", None)):
            if arn and not self._assumable(str(arn)):
                return ROLE_NOT_ASSUMED.format(arn=arn)
        return None

    def _assumable(self, arn: str) -> bool:
        """The role exists in this account's IAM and trusts ecs-tasks.amazonaws.com."""
        parts = arn.split(":", 5)
        name = parts[5].rsplit("/", 1)[-1] if len(parts) == 6 and parts[2] == "iam" else ""
        account = parts[4] if len(parts) == 6 else ""
        role = None
        if name and account == self.account:
            from moto.iam.exceptions import NotFoundException

            try:
                role = _backend("iam", self.account, "aws").get_role(name)
            except NotFoundException:
                role = None
        return role is not None and trusts_ecs_tasks(role.assume_role_policy_document)

    # -- what the agent does before the containers start -----------------------------------

    def failure(self, definitions: Iterable[dict[str, Any]], fargate: bool
                ) -> StartFailure | None:
        """The first thing the agent cannot do for this task, in its order: fetch the secrets
        (a task resource, before any container), pull each image, create each container's
        log stream."""
        definitions = list(definitions)
        return (self._secrets(definitions, fargate) or self._images(definitions, fargate)
                or self._log_groups(definitions, fargate))

    def _secrets(self, definitions: list[dict[str, Any]], fargate: bool
                 ) -> StartFailure | None:
        missing_parameters: dict[str, list[str]] = {}
        for definition in definitions:
            value_froms = [s.get("valueFrom") for s in definition.get("secrets") or []]
            options = (definition.get("logConfiguration") or {}).get("secretOptions") or []
            value_froms += [s.get("valueFrom") for s in options]
            for value_from in (str(v) for v in value_froms if v):
                if value_from.startswith("arn:") and value_from.split(":")[2:3] == [
                        "secretsmanager"]:
                    found = self._secret_failure(value_from, fargate)
                    if found is not None:
                        return found
                    continue
                region = self._parameter_region(value_from)
                if not self._parameter_exists(value_from, region):
                    missing_parameters.setdefault(region, []).append(value_from)
        if not missing_parameters:
            return None
        region, names = next(iter(missing_parameters.items()))
        if fargate:
            # Users' reports of Fargate 1.4.0 (the platform's words are not in the agent's
            # open source): "ResourceInitializationError: unable to pull secrets or registry
            # auth: execution resource retrieval failed: unable to retrieve secrets from
            # ssm: service call has been retried 1 time(s): invalid ssm parameters: NAME".
            return StartFailure(f"{_SECRETS_PREFIX}unable to retrieve secrets from ssm: service "
                                f"call has been retried 1 time(s): invalid ssm parameters: "
                                f"{','.join(names)}")
        # The ECS container agent (agent/taskresource/ssmsecret: "fetching secret data from
        # SSM Parameter Store in %s: %v"; agent/ssm: "invalid parameters: %s"), as
        # DescribeTasks shows it: "Fetching secret data from SSM Parameter Store in REGION:
        # invalid parameters: NAME".
        return StartFailure(f"Fetching secret data from SSM Parameter Store in {region}: "
                            f"invalid parameters: {','.join(names)}")

    def _parameter_region(self, value_from: str) -> str:
        parts = value_from.split(":", 5)
        return parts[3] if value_from.startswith("arn:") and len(parts) == 6 else self.region

    def _parameter_exists(self, value_from: str, region: str) -> bool:
        """A parameter by name or ARN ("arn:aws:ssm:REGION:ACCOUNT:parameter/NAME", NAME with
        or without its leading slash)."""
        candidates = [value_from]
        parts = value_from.split(":", 5)
        if value_from.startswith("arn:") and len(parts) == 6:
            if parts[4] != self.account:
                return True  # another account's parameter: not the sandbox's to know
            rest = parts[5].removeprefix("parameter")
            candidates = [rest, rest.lstrip("/")]
        ssm = _backend("ssm", self.account, region)
        return any(ssm.get_parameters([name]) for name in candidates if name)

    def _secret_failure(self, value_from: str, fargate: bool) -> StartFailure | None:
        """A Secrets Manager secret: "arn:aws:secretsmanager:REGION:ACCOUNT:secret:NAME" with
        an optional ":json-key:version-stage:version-id" after it."""
        parts = value_from.split(":")
        if len(parts) < 7 or parts[4] != self.account:
            return None
        arn, region = ":".join(parts[:7]), parts[3]
        if arn in _backend("secretsmanager", self.account, region).secrets:
            return None
        if fargate:
            # Users' reports of Fargate 1.4.0 (re:Post knowledge center, "ResourceInitialization
            # Error ... unable to retrieve secret from asm: service call has been retried ...
            # failed to fetch secret arn:aws:secretsmanager:...").
            return StartFailure(f"{_SECRETS_PREFIX}unable to retrieve secret from asm: service "
                                f"call has been retried 1 time(s): failed to fetch secret {arn} "
                                f"from secrets manager: {_NO_SECRET}")
        # The ECS container agent (agent/taskresource/asmsecret: "fetching secret data from
        # AWS Secrets Manager in region %s: secret %s: %v"), with Secrets Manager's own
        # ResourceNotFoundException message.
        return StartFailure(f"Fetching secret data from AWS Secrets Manager in region {region}: "
                            f"secret {arn}: {_NO_SECRET}")

    def _images(self, definitions: list[dict[str, Any]], fargate: bool) -> StartFailure | None:
        for definition in definitions:
            image = str(definition.get("image") or "")
            if self._image_exists(image):
                continue
            if fargate:
                # "Stopped tasks error codes": CannotPullContainerError; the detail as Fargate
                # 1.4.0 reports a missing ECR image ("pull image manifest has been retried 1
                # time(s): failed to resolve ref ...: not found").
                reason = (f"CannotPullContainerError: pull image manifest has been retried 1 "
                          f"time(s): failed to resolve ref {image}: {image}: not found")
            else:
                # "CannotPullContainer task errors", Image not found; the Docker daemon's answer
                # on an EC2 instance for a manifest ECR does not have.
                reason = (f"CannotPullContainerError: Error response from daemon: manifest for "
                          f"{image} not found: manifest unknown: Requested image not found")
            return StartFailure(reason, definition.get("name"), reason)
        return None

    def _image_exists(self, image: str) -> bool:
        """Is `image` in the sandbox's ECR? True for images of registries it does not serve."""
        host, _, rest = image.partition("/")
        ecr_host = f"{self.account}.dkr.ecr.{self.region}.amazonaws.com"
        if not rest or (host != ecr_host and host not in self.registry_hosts):
            return True
        name, digest, tag = rest, None, "latest"
        if "@" in rest:  # repository[:tag]@digest: the digest decides
            name, digest = rest.split("@", 1)
        if ":" in name.rsplit("/", 1)[-1]:
            name, tag = name.rsplit(":", 1)
        repository = _backend("ecr", self.account, self.region).repositories.get(name)
        if repository is None:
            return False
        return any((i.get_image_digest() == digest) if digest else (tag in i.image_tags)
                   for i in repository.images)

    def _log_groups(self, definitions: list[dict[str, Any]], fargate: bool
                    ) -> StartFailure | None:
        for definition in definitions:
            config = definition.get("logConfiguration") or {}
            options = config.get("options") or {}
            group = options.get("awslogs-group")
            if config.get("logDriver") != "awslogs" or not group:
                continue
            logs = _backend("logs", self.account, options.get("awslogs-region") or self.region)
            if group in logs.groups:
                continue
            if str(options.get("awslogs-create-group", "false")).lower() == "true":
                logs.create_log_group(group, {})  # the driver creates it
                continue
            if fargate:
                # "Stopped tasks error codes", ResourceInitializationError ("failed to validate
                # logger args" as Fargate 1.4.0 reports a missing group).
                reason = ("ResourceInitializationError: failed to validate logger args: create "
                          "stream has been retried 1 times: failed to create Cloudwatch log "
                          f"stream: {_NO_LOG_GROUP} : exit status 1")
            else:
                # "Stopped tasks error codes", CannotStartContainerError; the Docker daemon's
                # awslogs driver on an EC2 instance.
                reason = ("CannotStartContainerError: Error response from daemon: failed to "
                          "initialize logging driver: failed to create Cloudwatch log stream: "
                          f"{_NO_LOG_GROUP}")
            return StartFailure(reason, definition.get("name"), reason)
        return None
