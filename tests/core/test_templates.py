"""Templates in documents (core/templates.py) and Terraform state addresses (core/tfstate.py).

Pure: parsing ecspresso's syntax, filling a document from values given, the functions'
rules (env, must_env, ssm's StringList index and SecureString refusal), and the tfstate
address forms ecspresso users write.
"""

from __future__ import annotations

import pytest

from release.core import tfstate
from release.core.templates import (
    Missing,
    Parameter,
    Reference,
    Sources,
    TemplateError,
    fill,
    parse,
    templates_of,
    value_of,
    wanted,
)


@pytest.mark.parametrize(("text", "parts"), [
    ("{{ ssm `/akka/stream` }}", (Reference("ssm", ("/akka/stream",)),)),
    ('x-{{ssm "/a" 1}}-y', ("x-", Reference("ssm", ("/a", 1)), "-y")),
    ("a  {{- env `A` `d` -}}  b", ("a", Reference("env", ("A", "d")), "b")),
    ("{{ must_env `X` | json_escape }}", (Reference("must_env", ("X",)),)),
    ('{{ "{{" }} literal }}', ("{{ literal }}",)),
    ("{{/* a comment */}}z", ("z",)),
    ("{{ tfstate `aws_subnet.a[\"k\"].id` }}", (Reference("tfstate", ('aws_subnet.a["k"].id',)),)),
    ("{{ cfn_output `app-stack` `TargetGroupArn` }}{{ cfn_export `x` }}",
     (Reference("cfn_output", ("app-stack", "TargetGroupArn")),
      Reference("cfn_export", ("x",)))),
    ("no template }} here", ("no template }} here",)),
])
def test_the_syntax_ecspresso_users_write(text: str, parts: tuple) -> None:
    assert parse(text).parts == parts


@pytest.mark.parametrize(("text", "says"), [
    ("{{ foo `x` }}", "unknown function 'foo'"),
    ("{{ ssm }}", "ssm takes 1 to 2 arguments"),
    ("{{ ssm `/a` `b` }}", "must be an integer"),
    ("{{ cfn_output `only-stack` }}", "cfn_output takes 2 argument(s)"),
    ("{{ ssm `/a`", "{{ without its }}"),
    ("{{ .Name }}", "unexpected '.Name }}'"),
    ("{{ ssm (env `X`) }}", "nested calls"),
    ("{{ ssm `/a` | upper }}", "unsupported filter 'upper'"),
    ("{{ ssm `/a` -1 }}", "cannot be negative"),
    ("{{ }}", "an empty template"),
    ("{{ ssm `` }}", "is empty"),
    ('{{ ssm "/a }}', "without its closing quote"),
])
def test_malformed_templates_say_what_is_wrong(text: str, says: str) -> None:
    with pytest.raises(TemplateError) as caught:
        parse(text)
    assert says in caught.value.message
    assert caught.value.fix


def test_fill_replaces_inside_strings_and_records_each_value() -> None:
    doc = {"service": {"role": "{{ ssm `/role` }}", "desiredCount": 2,
                       "subnets": ["{{ ssm `/a` }}", "subnet-literal"]},
           "name": "prefix-{{ env `STAGE` `dev` }}-{{ ssm `/a` }}"}
    values = {Reference("ssm", ("/role",)): "ecsServiceRole",
              Reference("ssm", ("/a",)): "subnet-0a"}
    filled = fill("spec.json", doc, lambda ref: values.get(ref) or value_of(ref, Sources(), {}))
    assert filled.doc == {"service": {"role": "ecsServiceRole", "desiredCount": 2,
                                      "subnets": ["subnet-0a", "subnet-literal"]},
                          "name": "prefix-dev-subnet-0a"}
    assert doc["service"]["role"] == "{{ ssm `/role` }}"  # the original is left as it was
    assert [s.one_line() for s in filled.substitutions] == [
        "/service/role = ecsServiceRole (ssm /role)",
        "/service/subnets/0 = subnet-0a (ssm /a)",
        "/name = dev (env STAGE dev)", "/name = subnet-0a (ssm /a)"]
    assert filled.missing == []
    assert wanted(templates_of(doc)) == set(values)


def test_fill_collects_every_missing_value() -> None:
    doc = {"a": "{{ must_env `NOPE` }}", "b": ["{{ ssm `/gone` }}"]}
    sources = Sources(parameters={"/gone": Missing("no parameter /gone", "create it")})
    filled = fill("x.json", doc, lambda ref: value_of(ref, sources, {}))
    assert [(p, r.source) for p, r, _ in filled.missing] == [("/a", "must_env NOPE"),
                                                             ("/b/0", "ssm /gone")]
    assert "not set" in filled.missing[0][2].why


def test_env_and_must_env_follow_go_config() -> None:
    def env(*args: str, environ: dict[str, str]) -> str | Missing:
        return value_of(Reference("env", args), Sources(), environ)

    assert env("NAME", "fallback", environ={}) == "fallback"
    assert env("NAME", "fallback", environ={"NAME": ""}) == "fallback"  # empty is unset
    assert env("NAME", "fallback", environ={"NAME": "set"}) == "set"
    assert env("NAME", environ={}) == "NAME"  # go-config: the last argument is the default
    assert env("A", "B", "c", environ={"B": "from-b"}) == "from-b"
    must = Reference("must_env", ("NAME",))
    assert value_of(must, Sources(), {"NAME": ""}) == ""  # set, even empty, is enough
    assert isinstance(value_of(must, Sources(), {}), Missing)


def test_ssm_types_and_indexes() -> None:
    sources = Sources(parameters={
        "/s": Parameter("/s", "String", "plain"),
        "/l": Parameter("/l", "StringList", "a,b"),
        "/x": Parameter("/x", "SecureString", "ciphertext")})

    def ssm(*args: str | int) -> str | Missing:
        return value_of(Reference("ssm", args), sources, {})

    assert ssm("/s") == "plain"
    assert ssm("/l", 1) == "b"
    assert isinstance(ssm("/l", 2), Missing) and "no index 2" in ssm("/l", 2).why  # type: ignore[union-attr]
    assert isinstance(ssm("/l"), Missing) and "{{ ssm `/l` 0 }}" in ssm("/l").fix  # type: ignore[union-attr]
    assert isinstance(ssm("/s", 0), Missing) and "takes no index" in ssm("/s", 0).why  # type: ignore[union-attr]
    refused = ssm("/x")
    assert isinstance(refused, Missing) and "SecureString" in refused.why
    assert "ciphertext" not in refused.why + refused.fix


STATE = {
    "version": 4,
    "outputs": {"vpc_id": {"value": "vpc-0abc", "type": "string"},
                "subnet_ids": {"value": ["subnet-0a", "subnet-0b"], "type": ["list", "string"]},
                "ports": {"value": {"http": 80}, "type": ["object", {"http": "number"}]}},
    "resources": [
        {"mode": "managed", "type": "aws_lb_target_group", "name": "app",
         "instances": [{"attributes": {"arn": "arn:tg/app", "port": 8080, "tags": None,
                                       "health_check": [{"path": "/health"}]}}]},
        {"mode": "data", "type": "aws_subnet", "name": "a",
         "instances": [{"attributes": {"id": "subnet-data"}}]},
        {"module": "module.x", "mode": "managed", "type": "aws_security_group", "name": "y",
         "instances": [{"attributes": {"id": "sg-0y"}}]},
        {"module": "module.x[\"eu\"].module.inner", "mode": "managed", "type": "aws_iam_role",
         "name": "r", "instances": [{"attributes": {"arn": "arn:role/r"}}]},
        {"mode": "managed", "type": "aws_subnet", "name": "private",
         "instances": [{"index_key": 0, "attributes": {"id": "subnet-p0"}},
                       {"index_key": 1, "attributes": {"id": "subnet-p1"}}]},
        {"mode": "managed", "type": "aws_subnet", "name": "by_az",
         "instances": [{"index_key": "az-a", "attributes": {"id": "subnet-az-a"}}]},
        {"mode": "managed", "type": "aws_subnet", "name": "by_az_longer",
         "instances": [{"attributes": {"id": "subnet-longer"}}]},
    ]}


@pytest.mark.parametrize(("address", "value"), [
    ("aws_lb_target_group.app.arn", "arn:tg/app"),
    ("aws_lb_target_group.app.port", "8080"),
    ("aws_lb_target_group.app.health_check[0].path", "/health"),
    ("data.aws_subnet.a.id", "subnet-data"),
    ("module.x.aws_security_group.y.id", "sg-0y"),
    ('module.x["eu"].module.inner.aws_iam_role.r.arn', "arn:role/r"),
    ("aws_subnet.private[0].id", "subnet-p0"),
    ("aws_subnet.private[1].id", "subnet-p1"),
    ('aws_subnet.by_az["az-a"].id', "subnet-az-a"),
    ("aws_subnet.by_az['az-a'].id", "subnet-az-a"),
    ("aws_subnet.by_az_longer.id", "subnet-longer"),
    ("output.vpc_id", "vpc-0abc"),
    ("output.subnet_ids[1]", "subnet-0b"),
    ("output.subnet_ids", '["subnet-0a","subnet-0b"]'),
    ("output.ports.http", "80"),
    ("aws_subnet.private", '[{"id":"subnet-p0"},{"id":"subnet-p1"}]'),
])
def test_tfstate_addresses(address: str, value: str) -> None:
    names = tfstate.index(STATE)
    assert not isinstance(names, Missing)
    assert tfstate.lookup(names, address) == value


@pytest.mark.parametrize(("address", "says"), [
    ("aws_lb_target_group.gone.arn", "is not in"),
    ("aws_lb_target_group.app.nope", "has no '.nope'"),
    ("aws_subnet.private[5].id", "has no '[5]'"),
    ("aws_lb_target_group.app.tags", "is null"),
    ("aws_lb_target_group.app.arn!", "has no"),
])
def test_tfstate_misses_say_where(address: str, says: str) -> None:
    names = tfstate.index(STATE)
    assert not isinstance(names, Missing)
    found = tfstate.lookup(names, address, "infra/terraform.tfstate")
    assert isinstance(found, Missing) and says in found.why, found
    assert found.fix


def test_only_state_version_4_is_read() -> None:
    old = tfstate.index({"version": 3, "modules": []}, "old.tfstate")
    assert isinstance(old, Missing) and "version 3" in old.why
    assert isinstance(tfstate.index([], "x"), Missing)
