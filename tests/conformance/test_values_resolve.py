"""engine/values.resolve on answers in AWS's shapes: the one place documents are filled in.

A value that does not fit the schema names its source; a value that itself holds "{{" is
never read as a template (resolving again changes nothing); every missing value is listed
at once with file, pointer and source; an environment and a spec share one read.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.stub import Stubber
from stub_clients import stubbed_client

from release.core import config
from release.core.errors import InvalidInput
from release.engine import values

PROJECT = Path(__file__).resolve().parents[2]
SPEC = "environments/staging/services/akka-firehose.json"
CREATED = "2024-05-01T10:00:00Z"


class FakeAws:
    """What `resolve` needs of an `Aws`: its clients."""

    def __init__(self, **clients: Any) -> None:
        self.clients = clients

    def client(self, name: str) -> Any:
        return self.clients[name]


@pytest.fixture
def ssm() -> Iterator[tuple[Any, Stubber]]:
    yield from stubbed_client("ssm")


def repo_with(spec_change: Any, env_change: Any = None) -> config.ConfigRepo:
    repo = config.load_repo(PROJECT, ["staging"])
    spec = repo.services[("staging", "akka-firehose")]
    doc = copy.deepcopy(spec.doc)
    spec_change(doc)
    services = {**repo.services, ("staging", "akka-firehose"):
                config.ServiceSpec.from_doc("staging", spec.path, doc)}
    environments = dict(repo.environments)
    if env_change is not None:
        env = repo.environments["staging"]
        env_doc = copy.deepcopy(env.doc)
        env_change(env_doc)
        environments["staging"] = config.Environment.from_doc(env.path, env_doc, "staging")
    return config.ConfigRepo(repo.root, environments, services, repo.taskdefs)


def parameters(stub: Stubber, names: list[str], found: dict[str, str]) -> None:
    answer: dict[str, Any] = {"Parameters": [
        {"Name": n, "Type": "String", "Value": v, "Version": 1, "LastModifiedDate": CREATED,
         "ARN": f"arn:aws:ssm:us-east-1:123456789012:parameter{n}", "DataType": "text"}
        for n, v in sorted(found.items())]}
    if set(names) - set(found):
        answer["InvalidParameters"] = sorted(set(names) - set(found))
    stub.add_response("get_parameters", answer, {"Names": names})


def environment_var(name: str, value: str) -> Any:
    return lambda d: d["overrides"]["containers"]["akka-firehose"]["environment"].update(
        {name: value})


def test_a_value_that_breaks_the_schema_names_its_source(ssm) -> None:
    client, stub = ssm
    parameters(stub, ["/akka/platform"], {"/akka/platform": "newest"})
    repo = repo_with(lambda d: d["service"].update(platformVersion="{{ ssm `/akka/platform` }}"))
    with pytest.raises(InvalidInput) as caught:
        values.resolve(repo, repo.services[("staging", "akka-firehose")], FakeAws(ssm=client))
    assert f"{SPEC}#/service/platformVersion: the value from ssm /akka/platform" in \
        caught.value.message
    assert "fix the value at its source (ssm /akka/platform)" in caught.value.hint


def test_a_value_with_braces_is_never_read_as_a_template(ssm) -> None:
    client, stub = ssm
    parameters(stub, ["/akka/format"], {"/akka/format": "{{.Name}} {{ ssm `/x` }}"})
    repo = repo_with(environment_var("FORMAT", "{{ ssm `/akka/format` }}"))
    spec = repo.services[("staging", "akka-firehose")]
    first = values.resolve(repo, spec, FakeAws(ssm=client))
    filled = first.spec.overrides["containers"]["akka-firehose"]["environment"]  # type: ignore[union-attr]
    assert filled["FORMAT"] == "{{.Name}} {{ ssm `/x` }}"
    again = values.resolve(first.repo, spec, FakeAws())  # no client: nothing is read again
    assert again.spec is first.spec and again.values == first.values
    assert [v.one_line() for v in again.values] == [
        "/overrides/containers/akka-firehose/environment/FORMAT = {{.Name}} {{ ssm `/x` }} "
        "(ssm /akka/format)"]


def test_every_missing_value_is_listed_with_file_pointer_and_source(ssm) -> None:
    client, stub = ssm
    parameters(stub, ["/akka/a", "/akka/b"], {})

    def spec(doc: dict) -> None:
        environment_var("A", "{{ ssm `/akka/a` }}")(doc)
        environment_var("B", "x-{{ ssm `/akka/b` }}-{{ must_env `RELEASE_TEST_UNSET` }}")(doc)

    repo = repo_with(spec, lambda d: d["iam"].update(serviceRole="{{ ssm `/akka/a` }}"))
    with pytest.raises(InvalidInput) as caught:
        values.resolve(repo, repo.services[("staging", "akka-firehose")],
                       FakeAws(ssm=client), environ={})
    message = caught.value.message
    assert message.startswith("4 value(s) from outside git cannot be used")
    assert "environments/staging/environment.json#/iam/serviceRole: ssm /akka/a: no SSM " \
        "parameter /akka/a" in message
    assert f"{SPEC}#/overrides/containers/akka-firehose/environment/B: must_env " \
        "RELEASE_TEST_UNSET: environment variable RELEASE_TEST_UNSET is not set" in message
    assert caught.value.hint.endswith("nothing was changed")


def test_a_repository_without_templates_reads_nothing() -> None:
    repo = config.load_repo(PROJECT, ["staging"])
    spec = repo.services[("staging", "akka-firehose")]
    resolved = values.resolve(repo, spec, FakeAws())
    assert resolved.repo is repo and resolved.spec is spec and resolved.values == ()
