"""boto3 session and clients for one environment, and AWS errors as tool errors.

Adaptive retry mode absorbs throttling; connection errors are retried by
botocore and, if they persist, reported as exit 5 with what to check.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Iterator
from functools import cached_property
from typing import Any

import boto3
import botocore.config
import botocore.exceptions
import botocore.session

from release.config import Environment
from release.errors import InvalidInput, Unreachable

RETRY_CONFIG = botocore.config.Config(
    retries={"mode": "adaptive", "max_attempts": 10},
    connect_timeout=5,
    read_timeout=30,
    user_agent_extra="release/0.1",
)

ENDPOINT_ENV = "RELEASE_AWS_ENDPOINT"


def endpoint_for(env: Environment) -> str | None:
    """The AWS endpoint override: the environment's own (sandbox), else $RELEASE_AWS_ENDPOINT."""
    return env.aws_endpoint or os.environ.get(ENDPOINT_ENV) or None


def is_local(endpoint: str | None) -> bool:
    return bool(endpoint) and any(h in endpoint for h in ("127.0.0.1", "localhost", "[::1]"))


_shared_loader: Any = None
_loader_lock = threading.Lock()


def new_session(**kwargs: Any) -> boto3.session.Session:
    """A boto3 session whose service models are parsed once per process.

    Every new session re-reads and parses the JSON service models (about 0.2 s
    of CPU for ECS + ECR); `apply` makes one per concurrently released service,
    so sharing botocore's data loader keeps 50 releases from spending seconds
    on it. Credentials, region and config stay per session.
    """
    global _shared_loader
    core = botocore.session.get_session()
    with _loader_lock:
        if _shared_loader is None:
            _shared_loader = core.get_component("data_loader")
        else:
            core.register_component("data_loader", _shared_loader)
        session = boto3.session.Session(botocore_session=core, **kwargs)
        paths = _shared_loader.search_paths  # boto3 appends its data folder per session
        paths[:] = list(dict.fromkeys(paths))
    return session


class Aws:
    """Clients for one environment's account and region, created on first use."""

    def __init__(self, env: Environment, config: botocore.config.Config = RETRY_CONFIG) -> None:
        self.env = env
        self.endpoint = endpoint_for(env)
        self.config = config
        kwargs: dict[str, Any] = {"region_name": env.region}
        if is_local(self.endpoint) and not os.environ.get("AWS_ACCESS_KEY_ID"):
            # The sandbox accepts any credentials; never send real ones to it.
            kwargs.update(aws_access_key_id="sandbox", aws_secret_access_key="sandbox")
        self.session = new_session(**kwargs)

    def client(self, name: str) -> Any:
        return self.session.client(name, endpoint_url=self.endpoint, config=self.config)

    @cached_property
    def ecs(self) -> Any:
        return self.client("ecs")

    @cached_property
    def ecr(self) -> Any:
        return self.client("ecr")

    @cached_property
    def elb(self) -> Any:
        return self.client("elb")

    @cached_property
    def iam(self) -> Any:
        return self.client("iam")

    @cached_property
    def ec2(self) -> Any:
        return self.client("ec2")

    @cached_property
    def sts(self) -> Any:
        return self.client("sts")

    @cached_property
    def dynamodb(self) -> Any:
        return self.client("dynamodb")


AUTH_CODES = {"ExpiredToken", "ExpiredTokenException", "UnrecognizedClientException",
              "InvalidClientTokenId", "AccessDenied", "AccessDeniedException",
              "SignatureDoesNotMatch", "AuthFailure"}


def error_code(exc: BaseException) -> str:
    if isinstance(exc, botocore.exceptions.ClientError):
        return exc.response.get("Error", {}).get("Code", "")
    return ""


@contextlib.contextmanager
def aws_errors(env: Environment, doing: str) -> Iterator[None]:
    """Turn boto3's failures into errors that say what to do (exit 5 for reach/auth)."""
    endpoint = endpoint_for(env) or f"AWS {env.region}"
    try:
        yield
    except botocore.exceptions.NoCredentialsError:
        raise Unreachable(
            f"no AWS credentials while {doing}",
            "set AWS_PROFILE or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, or run on a host "
            "with an instance role",
        ) from None
    except (botocore.exceptions.EndpointConnectionError,
            botocore.exceptions.ConnectionClosedError,
            botocore.exceptions.ConnectTimeoutError,
            botocore.exceptions.ReadTimeoutError) as exc:
        hint = ("start it with `release sandbox up`" if is_local(endpoint_for(env))
                else "check network access to AWS and the region")
        raise Unreachable(f"cannot reach {endpoint} while {doing}: {exc}", hint) from None
    except botocore.exceptions.ClientError as exc:
        code = error_code(exc)
        msg = exc.response.get("Error", {}).get("Message", str(exc))
        if code in AUTH_CODES:
            raise Unreachable(
                f"AWS refused the credentials while {doing}: {code}: {msg}",
                "refresh the credentials (expired session token?) and retry",
            ) from None
        if code in {"ThrottlingException", "Throttling", "RequestLimitExceeded"}:
            raise Unreachable(f"AWS kept throttling while {doing}: {msg}",
                              "retry in a minute; lower concurrency if it persists") from None
        raise InvalidInput(f"AWS rejected the request while {doing}: {code}: {msg}",
                           "check the named resource and the request") from None
