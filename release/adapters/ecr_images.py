"""ECR's part of a build: the login token, whether a tag is already there, the pushed digest.

ECR repositories are immutable, so a tag ECR already holds is never built again
(adapters/image.py asks `existing_digest` first). The authorization token is decoded in
memory; `RegistryAuth`'s repr hides the password.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlparse

from release.core.clock import Clock, default_clock
from release.core.config import Environment
from release.core.errors import Unreachable

CONFIRM_TIMEOUT_S = 10.0  # how long ECR may take to list a pushed image (the sandbox mirrors)
CONFIRM_INTERVAL_S = 0.2
ECR_MAX_ATTEMPTS = 5


@dataclass(frozen=True)
class RegistryAuth:
    """Decoded ECR login; repr hides the password so it cannot leak into logs."""

    registry: str
    username: str
    password: str

    def __repr__(self) -> str:
        return f"RegistryAuth(registry={self.registry!r}, username={self.username!r})"

    def auth_config(self) -> dict[str, str]:
        return {"username": self.username, "password": self.password,
                "serveraddress": self.registry}


def ecr_clients(env: Environment) -> Any:
    """Clients for the build's few ECR calls: fewer retries than deploys use, so an
    unreachable ECR fails a pipeline stage in seconds instead of half a minute."""
    import botocore.config

    from release.adapters.aws import RETRY_CONFIG, connect

    retries = botocore.config.Config(retries={"mode": "adaptive",
                                              "max_attempts": ECR_MAX_ATTEMPTS})
    return connect(env, config=RETRY_CONFIG.merge(retries))


def ecr_login(aws: Any, env: Environment) -> RegistryAuth:
    """Decode the ECR token in memory; the host comes from proxyEndpoint unless overridden."""
    from release.adapters.aws import aws_errors

    # No registryIds: the ECR model deprecates it ("specifying a registry ID doesn't change
    # the permissions scope of the authorization token"); connect() has made sure the
    # caller's default registry is the environment's account.
    with aws_errors(env, "getting an ECR authorization token"):
        data = aws.ecr.get_authorization_token()["authorizationData"][0]
    try:
        username, password = base64.b64decode(data["authorizationToken"]).decode().split(":", 1)
    except (ValueError, UnicodeDecodeError):
        raise Unreachable("ECR returned an authorization token that does not decode to "
                          "user:password", "retry; if it persists, check the ECR endpoint") \
            from None
    endpoint = data.get("proxyEndpoint", "")
    host = env.registry_override or urlparse(endpoint).netloc or endpoint or env.registry
    return RegistryAuth(registry=host, username=username, password=password)


def existing_digest(aws: Any, env: Environment, tag: str, repository: str | None = None
                    ) -> str | None:
    """The digest ECR holds under `tag` in `repository` (default: the environment's), None
    when absent; a missing repository is exit 5."""
    import botocore.exceptions

    from release.adapters.aws import aws_errors, error_code

    repository = repository or env.ecr_repository
    with aws_errors(env, f"looking up {repository}:{tag} in ECR"):
        try:
            found = aws.ecr.describe_images(registryId=env.account,
                                            repositoryName=repository,
                                            imageIds=[{"imageTag": tag}])["imageDetails"]
        except botocore.exceptions.ClientError as exc:
            code = error_code(exc)
            if code == "ImageNotFoundException":
                return None
            if code == "RepositoryNotFoundException":
                raise Unreachable(
                    f"the ECR repository {repository!r} does not exist "
                    f"(account {env.account}, {env.region})",
                    f"create it with `release bootstrap --env {env.name}`",
                ) from None
            raise
    return found[0]["imageDigest"] if found else None


def confirm_digest(aws: Any, env: Environment, tag: str, digest: str,
                   clock: Clock | None = None, timeout: float = CONFIRM_TIMEOUT_S,
                   repository: str | None = None) -> None:
    """ECR must list the pushed tag with the digest the push reported (polls on the clock)."""
    clock = clock or default_clock()
    repository = repository or env.ecr_repository
    deadline = clock.now() + timeout
    while True:
        listed = existing_digest(aws, env, tag, repository)
        if listed is not None:
            if listed != digest:
                raise Unreachable(
                    f"ECR lists {repository}:{tag} with digest {listed}, "
                    f"but the push reported {digest}",
                    "the tag was pushed concurrently by someone else; "
                    "check `aws ecr describe-images` and build again",
                )
            return
        if clock.now() >= deadline:
            raise Unreachable(
                f"ECR does not list {repository}:{tag} {timeout:.0f} s after the push",
                "check the registry and ECR; the push itself reported " + digest,
            )
        clock.sleep(CONFIRM_INTERVAL_S)
