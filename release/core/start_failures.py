"""The remedy for a task ECS could not start, read from ECS's own words.

A task that cannot start stops with stopCode TaskFailedToStart (Task.stopCode, ECS API
reference) and the agent's error as its reason, on the task or on the container that
failed. "Amazon ECS stopped task error messages" / "Stopped tasks error codes" name the
kinds: CannotPullContainerError "occurs when the agent is unable to pull the container
image specified in the task definition"; ResourceInitializationError (Fargate, platform
1.4.0 or later) "occurs when the container agent for your Fargate task fails to create or
bootstrap the resources required to start the container" — its execution role's
credentials, the secrets, the log stream; CannotStartContainerError "occurs when a
container can't be started" (on EC2, the awslogs driver without its log group). On EC2 the
container agent words a secret it cannot fetch itself: "Fetching secret data from SSM
Parameter Store in <region>: invalid parameters: <names>" / "Fetching secret data from AWS
Secrets Manager in region <region>: secret <arn>: ...". "Amazon ECS task execution IAM
role" says what the role must allow. Pure: strings in, a string out.
"""

from __future__ import annotations


def start_failure_fix(reason: str) -> str | None:
    """The remedy named by ECS's words in a stop reason (None: not a start failure)."""
    lowered = reason.lower()
    if "cannotpullcontainererror" in lowered or "cannotpullimagemanifesterror" in lowered:
        return ("ECS cannot pull the image: check that the pinned image exists in its "
                "repository (the digest in the service's image pin; `release build --push` "
                "pushes it) and that the role pulling it may read it (the task's execution "
                "role on Fargate, the container instance role on EC2: ecr:BatchGetImage, "
                "ecr:GetDownloadUrlForLayer, ecr:GetAuthorizationToken)")
    if "fetching secret data" in lowered or "unable to retrieve secret" in lowered:
        return ("ECS cannot fetch the task's secrets: create each SSM parameter or Secrets "
                "Manager secret a `secrets` valueFrom names (in the task's account and "
                "region), and let the task's execution role read them (ssm:GetParameters, "
                "secretsmanager:GetSecretValue, kms:Decrypt for a customer key)")
    if "log group" in lowered or "logging driver" in lowered or "logger args" in lowered:
        return ("the awslogs log group does not exist: create it (`release bootstrap` creates "
                "the groups the task definitions name) or set the container's "
                "awslogs-create-group option to \"true\" (its execution role then needs "
                "logs:CreateLogGroup)")
    if "resourceinitializationerror" in lowered or "cannotstartcontainererror" in lowered:
        return ("ECS could not prepare the task's resources: check its execution role (it "
                "must exist, trust ecs-tasks.amazonaws.com and carry "
                "AmazonECSTaskExecutionRolePolicy), its secrets and its awslogs log group, "
                "and that the task's subnets reach ECR, SSM, Secrets Manager and CloudWatch "
                "Logs (a public IP, a NAT gateway or VPC endpoints)")
    return None
