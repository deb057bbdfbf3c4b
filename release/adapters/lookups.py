"""Read the values templates ask for (core/templates.py), each source once per run.

Given the references the core found, this reads exactly what they need with
the environment's credentials: SSM GetParameters, up to 10 names a call (the
API's limit, "ParameterNameList ... max 10"); one DescribeStacks per stack;
one ListExports pagination; one read of the Terraform state (a file of the
repository's working tree, or an S3 object). What was read is kept for the
run, keyed by the environment's `Aws` (one per environment and run, shared by
every release of `deploy` and `apply`), so a hundred services that name the
same parameter cost one call.

A name AWS does not have is a `Missing` with the fix, never an exception: the
engine reports every missing value at once (exit 1, nothing changed). A
refused or unreachable call is left to `aws_errors` (exit 5).
"""

from __future__ import annotations

import json
import threading
import weakref
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import botocore.exceptions

from release.core import tfstate
from release.core.missing import Missing
from release.core.templates import Parameter, Reference, Sources

SSM_BATCH = 10  # GetParameters: "Names ... max 10" (botocore's ssm model, ParameterNameList)
MAX_STATE_BYTES = 256 * 1024 * 1024  # a state this large is not a state file


class Lookups:
    """One run's reads for one account and Region; safe to share between threads."""

    def __init__(self, client: Callable[[str], Any], root: Path) -> None:
        self._client = client
        self._clients: dict[str, Any] = {}
        self.root = Path(root)
        self._lock = threading.Lock()
        self.parameters: dict[str, Parameter | Missing] = {}
        self.stacks: dict[str, dict[str, str] | Missing] = {}
        self.exports: dict[str, str] | Missing | None = None
        self.states: dict[str, dict[str, Any] | Missing] = {}

    def client(self, name: str) -> Any:
        if name not in self._clients:
            self._clients[name] = self._client(name)
        return self._clients[name]

    def fetch(self, refs: Iterable[Reference], state_at: str | None = None) -> Sources:
        """Read what `refs` need and is not read yet; what every reference needs, after."""
        refs = set(refs)
        with self._lock:
            names = sorted({str(r.args[0]) for r in refs if r.function == "ssm"}
                           - set(self.parameters))
            for start in range(0, len(names), SSM_BATCH):
                self.parameters.update(self._parameters(names[start:start + SSM_BATCH]))
            for stack in sorted({str(r.args[0]) for r in refs if r.function == "cfn_output"}
                                - set(self.stacks)):
                self.stacks[stack] = self._outputs(stack)
            if self.exports is None and any(r.function == "cfn_export" for r in refs):
                self.exports = self._exports()
            state: dict[str, Any] | Missing | None = None
            if state_at and any(r.function == "tfstate" for r in refs):
                if state_at not in self.states:
                    self.states[state_at] = self._state(state_at)
                state = self.states[state_at]
        return Sources(dict(self.parameters), dict(self.stacks), self.exports, state,
                       state_at or "")

    # ------------------------------------------------------------------------- the sources

    def _parameters(self, names: list[str]) -> dict[str, Parameter | Missing]:
        """One GetParameters call. WithDecryption is left off: a SecureString's value is not
        wanted (templates refuse it), only its type."""
        ssm = self.client("ssm")
        try:
            answer = ssm.get_parameters(Names=names)
        except botocore.exceptions.ClientError as exc:
            if _code(exc) != "ValidationException":
                raise
            why = exc.response.get("Error", {}).get("Message", str(exc))
            return {n: Missing(f"SSM refused the parameter name(s) {', '.join(names)}: {why}",
                               "fix the name: a path such as /team/app/name, without spaces")
                    for n in names}
        found: dict[str, Parameter | Missing] = {}
        for item in answer.get("Parameters", []):
            parameter = Parameter(str(item["Name"]), str(item.get("Type", "String")),
                                  str(item.get("Value", "")))
            # asked by name, name:version, name:label or ARN: the answer says which
            for asked in (item["Name"], f"{item['Name']}{item.get('Selector', '')}",
                          item.get("ARN")):
                if asked in names:
                    found[asked] = parameter
        region = ssm.meta.region_name
        for name in names:
            found.setdefault(name, Missing(
                f"no SSM parameter {name} in {region} (GetParameters lists it as invalid)",
                f"create it (`aws ssm put-parameter --name {name} --type String --value …`) "
                "or fix the name: names are case-sensitive"))
        return found

    def _outputs(self, stack: str) -> dict[str, str] | Missing:
        cloudformation = self.client("cloudformation")
        try:
            stacks = cloudformation.describe_stacks(StackName=stack).get("Stacks", [])
        except botocore.exceptions.ClientError as exc:
            if _code(exc) != "ValidationError":  # "Stack with id X does not exist"
                raise
            message = exc.response.get("Error", {}).get("Message", str(exc))
            return Missing(f"CloudFormation: {message} in {cloudformation.meta.region_name}",
                           "check the stack's name (`aws cloudformation list-stacks`) and "
                           "the environment's Region")
        if not stacks:
            return Missing(f"CloudFormation has no stack {stack}", "check the stack's name")
        return {str(o["OutputKey"]): str(o.get("OutputValue", ""))
                for o in stacks[0].get("Outputs", []) if "OutputKey" in o}

    def _exports(self) -> dict[str, str]:
        cloudformation = self.client("cloudformation")
        exports: dict[str, str] = {}
        token: str | None = None
        while True:
            page = cloudformation.list_exports(**({"NextToken": token} if token else {}))
            exports.update({str(e["Name"]): str(e.get("Value", ""))
                            for e in page.get("Exports", []) if "Name" in e})
            token = page.get("NextToken")
            if not token:
                return exports

    def _state(self, location: str) -> dict[str, Any] | Missing:
        """A Terraform state: `s3://bucket/key`, else a path relative to the repository."""
        if location.startswith("s3://"):
            bucket, _, key = location[len("s3://"):].partition("/")
            try:
                body = self.client("s3").get_object(Bucket=bucket, Key=key)["Body"]
                raw = body.read(MAX_STATE_BYTES + 1)
            except botocore.exceptions.ClientError as exc:
                # Without s3:ListBucket a missing key answers 403 AccessDenied, not
                # NoSuchKey (S3 API reference, GetObject): that one stays exit 5.
                if _code(exc) not in ("NoSuchKey", "NoSuchBucket"):
                    raise
                return Missing(f"the Terraform state {location} does not exist "
                               f"({_code(exc)})", "fix /values/tfstate in environment.json, "
                               "or run `terraform apply` so the state is written")
        else:
            path = self.root / location
            if not path.is_file():
                return Missing(f"the Terraform state {location} is not a file in the "
                               "repository", "fix /values/tfstate in environment.json (a "
                               "path relative to the repository, or s3://bucket/key)")
            with path.open("rb") as handle:
                raw = handle.read(MAX_STATE_BYTES + 1)
        if len(raw) > MAX_STATE_BYTES:
            return Missing(f"the Terraform state {location} is larger than "
                           f"{MAX_STATE_BYTES // 2**20} MiB", "point at the right state file")
        try:
            doc = json.loads(raw.decode("utf-8-sig"))
        except (UnicodeDecodeError, ValueError) as exc:
            return Missing(f"the Terraform state {location} is not JSON: {exc}",
                           "point /values/tfstate at a terraform.tfstate file")
        return tfstate.index(doc, location)


def _code(exc: botocore.exceptions.ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


_runs: weakref.WeakKeyDictionary[Any, Lookups] = weakref.WeakKeyDictionary()
_runs_lock = threading.Lock()


def for_run(aws: Any, root: Path) -> Lookups:
    """The reads of this run for the environment's `Aws` (made on first use)."""
    with _runs_lock:
        found = _runs.get(aws)
        if found is None:
            found = _runs[aws] = Lookups(aws.client, root)
        return found
