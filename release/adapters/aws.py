"""boto3 session and clients for one environment, and AWS errors as tool errors.

Adaptive retry mode absorbs throttling; connection errors are retried by
botocore and, if they persist, reported as exit 5 with what to check. Every
client of one `Aws` goes through its one `budget.RequestBudget` (calls per
second); `shared(env)` makes every `connect(env)` inside it return the same
`Aws`, so the services `apply` releases together share one client set, one
budget and one poller (adapters/poller.py).

Right account, right role: when the environment names `/aws/roleArn`, the
credentials found (profile, environment, instance role) assume it, refreshed
by botocore as they near expiry. `connect` then asks STS whose credentials
they are, once per process, and refuses (exit 5) when the account is not the
environment's `/account` — before any other call, so a staging key never
releases into production's name. Every botocore credential or configuration
error is exit 5 with the fix, wherever it surfaces (session, client, call).
"""

from __future__ import annotations

import contextlib
import os
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import boto3
import botocore.config
import botocore.credentials
import botocore.exceptions
import botocore.session

from release.adapters.budget import RequestBudget, configured_per_second
from release.core.config import Environment
from release.core.errors import InvalidInput, Unreachable
from release.core.poll import is_throttling

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


def new_session(credentials: Any = None, **kwargs: Any) -> boto3.session.Session:
    """A boto3 session whose service models are parsed once per process.

    Every new session re-reads and parses the JSON service models (about 0.2 s
    of CPU for ECS + ECR); `apply` makes one per concurrently released service,
    so sharing botocore's data loader keeps 50 releases from spending seconds
    on it. Credentials, region and config stay per session.
    """
    global _shared_loader
    core = botocore.session.get_session()
    if credentials is not None:  # an assumed role's refreshable credentials, nothing else
        core.register_component("credential_provider",
                                botocore.credentials.CredentialResolver([_Given(credentials)]))
    with _loader_lock:
        if _shared_loader is None:
            _shared_loader = core.get_component("data_loader")
        else:
            core.register_component("data_loader", _shared_loader)
        session = boto3.session.Session(botocore_session=core, **kwargs)
        paths = _shared_loader.search_paths  # boto3 appends its data folder per session
        paths[:] = list(dict.fromkeys(paths))
    return session


class _Given(botocore.credentials.CredentialProvider):
    """A credential chain of one: the credentials an assumed role hands out."""

    METHOD = "assume-role"
    CANONICAL_NAME = "custom-release-assume-role"

    def __init__(self, credentials: Any) -> None:
        super().__init__()
        self._credentials = credentials

    def load(self) -> Any:
        return self._credentials


SESSION_NAME_LIMIT = 64  # STS roleSessionNameType: 2 to 64 of [\w+=,.@-]
_NOT_IN_SESSION_NAME = re.compile(r"[^A-Za-z0-9_+=,.@-]")


def role_session_name() -> str:
    """Who assumes the role, as CloudTrail shows it: Jenkins' BUILD_TAG, else the user."""
    from release.core.records import who

    name = _NOT_IN_SESSION_NAME.sub("-", os.environ.get("BUILD_TAG") or who())
    name = name[:SESSION_NAME_LIMIT]
    return name if len(name) >= 2 else f"release-{name}"


def credential_source(env: Environment) -> str:
    """Where the credentials come from, for messages (nothing secret)."""
    profile = os.environ.get("AWS_PROFILE") or os.environ.get("AWS_DEFAULT_PROFILE")
    if os.environ.get("AWS_ACCESS_KEY_ID"):  # botocore prefers these keys to a profile
        source = "AWS_ACCESS_KEY_ID from the environment" + (
            f" (before AWS_PROFILE {profile!r})" if profile else "")
    elif profile:
        source = f"profile {profile!r} (AWS_PROFILE)"
    else:
        source = "the default credential chain (default profile, container or instance role)"
    if env.role_arn:
        return f"{source}, assuming role {env.role_arn} (/aws/roleArn)"
    return f"{source}, no role to assume (no /aws/roleArn)"


@dataclass(frozen=True)
class Identity:
    """What STS GetCallerIdentity says the credentials are."""

    account: str
    arn: str


_identities: dict[tuple[Any, ...], Identity] = {}
_identities_lock = threading.Lock()


class Aws:
    """Clients for one environment's account and region, created on first use.

    `connect` is the way in for verbs: it also checks the account.
    """

    def __init__(self, env: Environment, config: botocore.config.Config = RETRY_CONFIG) -> None:
        self.env = env
        self.endpoint = endpoint_for(env)
        self.config = config
        self.budget = RequestBudget(configured_per_second())
        self.proven: Identity | None = None  # who the credentials are, once check_account passed
        self._clients_lock = threading.Lock()
        # The credentials are the environment's, also for a local sandbox: the sandbox
        # package hands out its placeholder keys (`release sandbox up` prints them).
        kwargs: dict[str, Any] = {"region_name": env.region}
        with aws_errors(env, "loading the AWS configuration"):  # a bad AWS_PROFILE fails here
            source = new_session(**kwargs)
            self.session = self._assume_role(source) if env.role_arn else source

    def _assume_role(self, source: boto3.session.Session) -> boto3.session.Session:
        """A session on the environment's role, assumed with `source`'s credentials.

        botocore's own AssumeRole fetcher (what a profile's role_arn uses) with
        deferred refreshable credentials: assumed on the first call, assumed
        again before they expire, so a long wait never outlives its session.
        """
        credentials = source.get_credentials()
        if credentials is None:
            raise botocore.exceptions.NoCredentialsError()
        extra = {"RoleSessionName": role_session_name()}
        if self.env.external_id:
            extra["ExternalId"] = self.env.external_id

        def sts_client(service: str, **kwargs: Any) -> Any:
            return source.client(service, endpoint_url=self.endpoint, config=self.config,
                                 **kwargs)

        fetcher = botocore.credentials.AssumeRoleCredentialFetcher(
            sts_client, credentials, str(self.env.role_arn), extra_args=extra)
        assumed = botocore.credentials.DeferredRefreshableCredentials(
            fetcher.fetch_credentials, "assume-role")
        return new_session(credentials=assumed, region_name=self.env.region)

    def client(self, name: str) -> Any:
        with aws_errors(self.env, f"creating the {name} client"), self._clients_lock:
            # boto3 sessions are not thread-safe; the clients they make are
            client = self.session.client(name, endpoint_url=self.endpoint, config=self.config)
        self.budget.attach(client)
        return client

    def identity(self) -> Identity:
        """Whose credentials these are (STS), asked once per process and configuration."""
        env = self.env
        key = (self.endpoint, env.region, env.role_arn, env.external_id,
               env.role_arn and role_session_name(), os.environ.get("AWS_PROFILE"),
               os.environ.get("AWS_ACCESS_KEY_ID"))
        with _identities_lock:
            known = _identities.get(key)
        if known is not None:
            return known
        with aws_errors(env, "asking STS which account the credentials belong to"):
            answer = self.sts.get_caller_identity()
        found = Identity(str(answer["Account"]), str(answer["Arn"]))
        with _identities_lock:
            _identities[key] = found
        return found

    def check_account(self) -> Identity:
        """The credentials must be the environment's account: else exit 5, nothing touched."""
        env = self.env
        found = self.identity()
        self.proven = found if found.account == env.account else None
        if found.account != env.account:
            raise Unreachable(
                f"the AWS credentials are account {found.account} ({found.arn}), but "
                f"environment {env.name!r} is account {env.account} ({env.path} /account); "
                f"credentials: {credential_source(env)}; nothing was changed",
                (f"the role in {env.path} /aws/roleArn must be in account {env.account}"
                 if env.role_arn else
                 f"use credentials of account {env.account} (AWS_PROFILE, or the pipeline's "
                 f"credentials for {env.name}), or set /aws/roleArn in {env.path} to a role "
                 f"in {env.account} that these credentials may assume"),
                where=str(env.path))
        return found

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
    def elbv2(self) -> Any:
        return self.client("elbv2")

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

    @cached_property
    def logs(self) -> Any:
        return self.client("logs")

    @cached_property
    def cloudwatch(self) -> Any:
        return self.client("cloudwatch")

    @cached_property
    def ssm(self) -> Any:
        return self.client("ssm")

    @cached_property
    def secretsmanager(self) -> Any:
        return self.client("secretsmanager")

    def client_in(self, name: str, region: str) -> Any:
        """A client in another Region of the same account (an awslogs-region, a parameter's
        ARN): the same credentials, endpoint and budget."""
        with aws_errors(self.env, f"creating the {name} client in {region}"), \
                self._clients_lock:
            client = self.session.client(name, region_name=region, endpoint_url=self.endpoint,
                                         config=self.config)
        self.budget.attach(client)
        return client

    @cached_property
    def application_autoscaling(self) -> Any:
        return self.client("application-autoscaling")

    @cached_property
    def servicediscovery(self) -> Any:
        return self.client("servicediscovery")


def environment_key(env: Environment) -> tuple[Any, ...]:
    """What makes two environments one AWS throttling domain: account, region, endpoint, role."""
    return (env.account, env.region, endpoint_for(env), env.role_arn)


_shared: dict[tuple[Any, ...], list[Any]] = {}  # key → [Aws or None, scopes open]
_shared_lock = threading.Lock()


@contextlib.contextmanager
def shared(env: Environment) -> Iterator[None]:
    """Inside, every `connect(env)` (any thread) returns one `Aws`, made on first use."""
    key = environment_key(env)
    with _shared_lock:
        _shared.setdefault(key, [None, 0])[1] += 1
    try:
        yield
    finally:
        with _shared_lock:
            entry = _shared[key]
            entry[1] -= 1
            if entry[1] == 0:
                del _shared[key]


def connect(env: Environment, config: botocore.config.Config = RETRY_CONFIG) -> Aws:
    """Clients for `env` whose credentials are proven to be the environment's account."""
    key = environment_key(env)
    with _shared_lock:
        entry = _shared.get(key)
        if entry is None:
            aws = None
        elif entry[0] is None:
            aws = entry[0] = Aws(env, config)  # under the lock: one Aws, whoever comes first
        else:
            aws = entry[0]
    if aws is None:
        aws = Aws(env, config)
    aws.check_account()
    return aws


AUTH_CODES = {"ExpiredToken", "ExpiredTokenException", "UnrecognizedClientException",
              "InvalidClientTokenId", "AccessDenied", "AccessDeniedException",
              "SignatureDoesNotMatch", "AuthFailure"}


def error_code(exc: BaseException) -> str:
    if isinstance(exc, botocore.exceptions.ClientError):
        return exc.response.get("Error", {}).get("Code", "")
    return ""


def retryable(exc: BaseException) -> bool:
    """A lost connection or throttling that outlasted botocore's own retries: what a poll
    loop retries under core/poll.py's outage policy rather than failing at once."""
    if isinstance(exc, botocore.exceptions.ConnectionError | botocore.exceptions.HTTPClientError):
        return True
    return is_throttling(error_code(exc))


_bx = botocore.exceptions
_CONFIG_FIX = ("fix the AWS configuration: ~/.aws/config (AWS_CONFIG_FILE), "
               "~/.aws/credentials (AWS_SHARED_CREDENTIALS_FILE) and the AWS_* variables")
# botocore's credential and configuration errors, most specific first, with the fix.
CREDENTIAL_FIXES: tuple[tuple[type[Exception], str], ...] = (
    (_bx.ProfileNotFound, "AWS_PROFILE names a profile that ~/.aws/config and "
     "~/.aws/credentials do not define: list them with `aws configure list-profiles`, then "
     "fix or unset AWS_PROFILE"),
    (_bx.PartialCredentialsError, "set both AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (and "
     "AWS_SESSION_TOKEN for temporary keys), or neither, or complete the profile"),
    (_bx.SSOError, "the SSO session has expired or is missing: run `aws sso login` with the "
     "same AWS_PROFILE, then retry"),
    (_bx.TokenRetrievalError, "the SSO token could not be refreshed: run `aws sso login` with "
     "the same AWS_PROFILE, then retry"),
    (_bx.LoginError, "the console login session has expired: run `aws login` with the same "
     "AWS_PROFILE, then retry"),
    (_bx.RefreshWithMFAUnsupportedError, "the profile's role needs an MFA code on every "
     "refresh: use credentials that need no prompt (a pipeline cannot answer one)"),
    (_bx.CredentialRetrievalError, "the profile's credential source failed (role_arn with "
     "source_profile/credential_source, credential_process, container or instance role): "
     "`aws sts get-caller-identity` with the same AWS_PROFILE shows why"),
    (_bx.MetadataRetrievalError, "the instance or container role could not be read: check "
     "the instance profile / task role, or use a profile"),
    (_bx.NoCredentialsError, "set AWS_PROFILE or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, or "
     "run on a host with an instance role"),
    (_bx.NoAuthTokenError, "log in again (`aws sso login` or `aws login`), then retry"),
    (_bx.NoRegionError, "set the region: /region in the environment document, AWS_REGION, "
     "or region in the profile"),
    (_bx.UnknownRegionError, "check /region in the environment document and AWS_REGION"),
    (_bx.InvalidRegionError, "check /region in the environment document and AWS_REGION"),
    (_bx.ConfigNotFound, "AWS_CONFIG_FILE or AWS_SHARED_CREDENTIALS_FILE names a file that "
     "does not exist: fix or unset it"),
    (_bx.ConfigParseError, _CONFIG_FIX),
    (_bx.InvalidConfigError, _CONFIG_FIX),
    (_bx.UnknownCredentialError, "credential_source in the profile must be Environment, "
     "Ec2InstanceMetadata or EcsContainer"),
    (_bx.InvalidRetryConfigurationError, _CONFIG_FIX + " (retry_mode, max_attempts)"),
    (_bx.InvalidSTSRegionalEndpointsConfigError, _CONFIG_FIX + " (sts_regional_endpoints)"),
    (_bx.InvalidIMDSEndpointError, _CONFIG_FIX + " (ec2_metadata_service_endpoint)"),
    (_bx.InvalidIMDSEndpointModeError, _CONFIG_FIX + " (ec2_metadata_service_endpoint_mode)"),
    (_bx.InvalidDefaultsMode, _CONFIG_FIX + " (defaults_mode)"),
)


# A local sandbox takes any keys; the tool supplies none of its own.
SANDBOX_KEYS = ("the sandbox takes any keys: `export AWS_ACCESS_KEY_ID=release-sandbox-key "
                "AWS_SECRET_ACCESS_KEY=release-sandbox-secret` (`release sandbox up` prints "
                "them)")


def credential_error(exc: BaseException, env: Environment, doing: str) -> Unreachable | None:
    """Exit 5 with the fix for a botocore credential/configuration error, else None."""
    for kind, fix in CREDENTIAL_FIXES:
        if isinstance(exc, kind):
            if kind is _bx.NoCredentialsError and is_local(endpoint_for(env)):
                fix += f"; {SANDBOX_KEYS}"
            return Unreachable(f"AWS credentials: {exc} (while {doing}; credentials: "
                               f"{credential_source(env)})", fix)
    return None


def _refused(exc: botocore.exceptions.ClientError, env: Environment, doing: str) -> Unreachable:
    code = error_code(exc)
    msg = exc.response.get("Error", {}).get("Message", str(exc))
    if exc.operation_name == "AssumeRole":
        with_id = " with /aws/externalId" if env.external_id else ""
        return Unreachable(
            f"AWS refused to let the credentials assume {env.role_arn} while {doing}: "
            f"{code}: {msg} (credentials: {credential_source(env)})",
            f"the role's trust policy must allow these credentials{with_id} (`aws sts "
            f"get-caller-identity` names them); or fix /aws/roleArn in {env.path}")
    return Unreachable(f"AWS refused the credentials while {doing}: {code}: {msg}",
                       "refresh the credentials (expired session token?) and retry")


@contextlib.contextmanager
def aws_errors(env: Environment, doing: str) -> Iterator[None]:
    """Turn boto3's failures into errors that say what to do (exit 5 for reach/auth)."""
    endpoint = endpoint_for(env) or f"AWS {env.region}"
    try:
        yield
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
        if code in AUTH_CODES or exc.operation_name == "AssumeRole":
            raise _refused(exc, env, doing) from None
        if is_throttling(code):
            raise Unreachable(f"AWS kept throttling while {doing}: {msg}",
                              "retry in a minute; lower concurrency if it persists") from None
        raise InvalidInput(f"AWS rejected the request while {doing}: {code}: {msg}",
                           "check the named resource and the request") from None
    except botocore.exceptions.BotoCoreError as exc:
        mapped = credential_error(exc, env, doing)
        if mapped is None:
            raise
        raise mapped from None
