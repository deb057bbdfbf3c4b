"""What every preflight check shares: the modes, the context it reads through, "not checked".

Its own module so that the checks (each a module of this package) and the package's
`run`, which calls them, do not import each other.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from release.core import preflight as pf
from release.core.config import Environment, ServiceSpec
from release.core.plan import Live
from release.core.references import Origin
from release.output.events import Reporter

PLAN, DEPLOY, ROLLBACK, CHECK = "plan", "deploy", "rollback", "check"
# AWS's words for "these credentials may not make this call" (IAM, ECS, EC2, SNS, …)
DENIED_CODES = {"AccessDenied", "AccessDeniedException", "UnauthorizedOperation",
                "UnauthorizedException", "AuthorizationError", "AuthorizationErrorException"}
# a client's signing name → the IAM action prefix, where they differ
ACTION_PREFIX = {"monitoring": "cloudwatch"}


class Denied(Exception):
    """A read the credentials may not make: the check says "not checked" and why."""

    def __init__(self, action: str, message: str) -> None:
        super().__init__(f"{action}: {message}")
        self.action = action


@dataclass
class Context:
    """What a check reads and where it reports: one service, one revision to run."""

    env: Environment
    spec: ServiceSpec  # names resolved (engine/desired.git_version)
    aws: Any
    taskdef: dict[str, Any]  # the revision that would run: git's, or a rollback target
    origin: Origin
    live: Live
    mode: str = PLAN
    reporter: Reporter | None = None
    probe_health: bool = False
    problems: int = 0  # problems found by the checks before this one
    desired: int | None = None  # the desiredCount the release waits for (None: the spec's)
    calls: Counter[str] = field(default_factory=Counter)
    _roles: dict[str, Any] = field(default_factory=dict)
    _clients: dict[tuple[str, str], Any] = field(default_factory=dict)

    @property
    def subject(self) -> str:
        if self.origin.from_git:
            return "git"
        return self.origin.document.split(" ", 1)[0]

    def client(self, name: str, region: str | None = None) -> Any:
        """The environment's client of `name`, or one in another Region of its account."""
        region = region or self.env.region
        key = (name, region)
        if key not in self._clients:
            self._clients[key] = (getattr(self.aws, name) if region == self.env.region
                                  else self.aws.client_in(name, region))
        return self._clients[key]

    def call(self, client: Any, operation: str, **params: Any) -> Any:
        """One read, counted; AccessDenied and its kin become `Denied`."""
        import botocore.exceptions

        model = client.meta.service_model
        action = model.operation_model(_camel(operation)).name
        self.calls[action] += 1
        try:
            return getattr(client, operation)(**params)
        except botocore.exceptions.ClientError as exc:
            error = exc.response.get("Error", {})
            if error.get("Code") in DENIED_CODES:
                prefix = ACTION_PREFIX.get(model.signing_name, model.signing_name)
                raise Denied(f"{prefix}:{action}", str(error.get("Message", ""))) from None
            raise

    def role(self, name: str) -> dict[str, Any] | None:
        """GetRole, once per role and preflight: the role, None when it does not exist."""
        if name not in self._roles:
            iam = self.client("iam")
            try:
                self._roles[name] = self.call(iam, "get_role", RoleName=name)["Role"]
            except iam.exceptions.NoSuchEntityException:
                self._roles[name] = None
            except Denied as exc:
                self._roles[name] = exc
        found = self._roles[name]
        if isinstance(found, Denied):
            raise found
        return found


def _camel(operation: str) -> str:
    return "".join(part.capitalize() for part in operation.split("_"))


def not_checked(check: str, resource: str, denied: Denied, at: tuple[str, str] | None = None
                ) -> pf.Result:
    """The one "not checked" for a read the credentials may not make."""
    return pf.placed(check, pf.NOT_CHECKED, resource,
                     f"not checked: the credentials may not {denied.action}",
                     f"allow {denied.action} to the release's credentials (docs/gitops.md, "
                     "the Jenkins policy's Preflight statement) to have it checked", at)
