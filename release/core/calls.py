"""AWS API calls as data: what a plan shows, what a dry run prints, what apply executes.

A planner emits `ApiCall`s (boto3 client name, operation, parameters, and the
reason it is needed); an executor runs them in order. Keeping the calls as data
is what makes `--dry-run` trustworthy: the same list is shown and applied, and
a dry run simply never reaches the executor.

A call whose parameters depend on an earlier call's response (the VPC id that
`create_vpc` returns, the subnet id that `create_subnet` returns) holds
a `Ref` there; the executor fills it in from the named earlier result.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from release.core import redact


@dataclass(frozen=True)
class Ref:
    """A value taken from the response of an earlier call in the same plan.

    `path` walks the response (keys and list indexes), e.g. the VPC id that
    `create_vpc` returns, for the subnets planned after it.
    """

    key: str
    path: tuple[str | int, ...]

    def resolve(self, results: Mapping[str, Any]) -> Any:
        if self.key not in results:
            raise KeyError(f"call {self.key!r} has not run yet")
        value: Any = results[self.key]
        for step in self.path:
            value = value[step]
        return value

    def describe(self) -> str:
        return "${" + ".".join([self.key, *map(str, self.path)]) + "}"


@dataclass(frozen=True)
class ApiCall:
    """One AWS API call, with the reason a person reads in the plan."""

    service: str  # boto3 client name: iam, elb, ecs, ecr, ec2
    operation: str  # boto3 method name: put_role_policy
    params: dict[str, Any]
    reason: str
    target: str = ""  # the resource it changes, for the table: "role ecsInstanceRole"
    key: str | None = None  # name under which its response is kept for later `Ref`s
    retry_on: tuple[str, ...] = field(default=())  # error codes worth retrying (IAM is eventual)

    def describe(self) -> str:
        """`put_role_policy ecsInstanceRole/firehosePolicy: policy differs (Resource)`."""
        return f"{self.operation} {self.target}: {self.reason}" if self.target else (
            f"{self.operation}: {self.reason}")

    def shown_params(self) -> dict[str, Any]:
        """Parameters with references written as ${key.path}, for display and JSON output;
        credentials masked (an environment value filled in from outside git may be one)."""
        return redact.mask_value(_map_refs(self.params, lambda ref: ref.describe()))

    def resolved_params(self, results: Mapping[str, Any]) -> dict[str, Any]:
        return _map_refs(self.params, lambda ref: ref.resolve(results))

    def as_dict(self) -> dict[str, Any]:
        return {"service": self.service, "operation": self.operation, "target": self.target,
                "reason": self.reason, "params": self.shown_params()}


def _map_refs(value: Any, fn: Callable[[Ref], Any]) -> Any:
    if isinstance(value, Ref):
        return fn(value)
    if isinstance(value, dict):
        return {k: _map_refs(v, fn) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_map_refs(v, fn) for v in value]
    return value
