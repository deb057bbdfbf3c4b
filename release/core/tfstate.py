"""Terraform state (format version 4) as the `tfstate` template function reads it.

The state is JSON: `outputs` (name → {"value", "type"}) and `resources`, each
with `mode` (managed or data), `type`, `name`, an optional `module`
(`module.a` or `module.a.module.b`, with `[0]` or `["k"]` for a module's
instances) and `instances`, each with `attributes` and, for a resource made
with `count` or `for_each`, an `index_key` (a number or a string).

An address names one of those and, optionally, a path into it, as the
tfstate-lookup library that ecspresso uses reads it:

    aws_lb_target_group.app.arn             a resource's attribute
    data.aws_subnet.a.id                    a data source's
    module.net.aws_security_group.web.id    a resource inside a module
    aws_subnet.private[0].id                one instance of a `count` resource
    aws_subnet.private["az-a"].id           one of a `for_each` resource (or ['az-a'])
    output.vpc_id                           an output's value
    output.subnet_ids[1]                    an element of an output's list

The longest known name that begins the address wins; the rest is a path of
`.attr`, `[n]` and `["key"]` steps. A string is used as it is; anything else
(a number, a list) as its compact JSON text. Pure: the adapter reads the file.
"""

from __future__ import annotations

import json
import re
from typing import Any

from release.core.missing import Missing

STATE_VERSION = 4
_STEP = re.compile(r'\.([^.\[\]]+)|\[(-?[0-9]+)\]|\[("(?:[^"\\]|\\.)*")\]')


def index(state: Any, where: str = "the state") -> dict[str, Any] | Missing:
    """Every addressable name of a state → its value (an instance's attributes, an output's
    value, or all instances of a `count`/`for_each` resource as a list or an object)."""
    if not isinstance(state, dict):
        return Missing(f"{where} is not a Terraform state (not a JSON object)",
                       "point /values/tfstate at a terraform.tfstate file")
    version = state.get("version")
    if version != STATE_VERSION:
        return Missing(f"{where} is Terraform state version {version}; release reads version "
                       f"{STATE_VERSION} (Terraform 0.12 and later)",
                       "refresh the state with a current Terraform (`terraform apply` or "
                       "`terraform state pull`)")
    names: dict[str, Any] = {}
    for key, output in (state.get("outputs") or {}).items():
        is_wrapped = isinstance(output, dict) and "value" in output
        names[f"output.{key}"] = output["value"] if is_wrapped else output
    for resource in state.get("resources") or []:
        if not isinstance(resource, dict) or resource.get("mode") not in ("managed", "data"):
            continue
        base = "".join([f"{resource['module']}." if resource.get("module") else "",
                        "data." if resource["mode"] == "data" else "",
                        f"{resource.get('type')}.{resource.get('name')}"])
        _instances(names, base, resource.get("instances") or [])
    return names


def _instances(names: dict[str, Any], base: str, instances: list[Any]) -> None:
    if len(instances) == 1 and "index_key" not in instances[0]:
        names[base] = instances[0].get("attributes")
        return
    by_number: dict[int, Any] = {}
    by_key: dict[str, Any] = {}
    for instance in instances:
        key = instance.get("index_key")
        attributes = instance.get("attributes")
        names[f"{base}[{json.dumps(key, ensure_ascii=False)}]"] = attributes
        if isinstance(key, str):
            by_key[key] = attributes
        elif isinstance(key, int):
            by_number[key] = attributes
    if by_key:
        names.setdefault(base, by_key)
    elif by_number:
        names.setdefault(base, [by_number.get(i) for i in range(max(by_number) + 1)])


def lookup(names: dict[str, Any], address: str, where: str = "the state") -> str | Missing:
    """The value an address names, as text; Missing when the state has nothing there."""
    wanted = address.replace("'", '"')  # tfstate-lookup accepts ['key'] for ["key"]
    found, rest = _longest(names, wanted)
    if found is None:
        return Missing(f"{address} is not in {where}",
                       "check the address (`terraform state list` shows the resources, "
                       "`terraform output` the outputs; an output is output.NAME)")
    value = names[found]
    position = 0
    while position < len(rest):
        step = _STEP.match(rest, position)
        if step is None:
            return Missing(f"cannot read {rest[position:]!r} of the address {address}",
                           "write the path as .attribute, [0] or [\"key\"]")
        position = step.end()
        attr, number, quoted = step.groups()
        key: Any = attr if attr is not None else int(number) if number is not None \
            else json.loads(quoted)
        value = _step(value, key)
        if value is _ABSENT:
            return Missing(f"{address}: {found} has no {rest[:position]!r} in {where}",
                           f"check the attribute name (`terraform state show {found}` "
                           "lists them)")
    if value is None:
        return Missing(f"{address} is null in {where}", "set the attribute in Terraform, or "
                       "name another one")
    return value if isinstance(value, str) else json.dumps(value, separators=(",", ":"),
                                                          ensure_ascii=False)


_ABSENT = object()


def _step(value: Any, key: Any) -> Any:
    if isinstance(value, dict) and isinstance(key, str):
        return value.get(key, _ABSENT)
    if isinstance(value, list) and isinstance(key, int) and -len(value) <= key < len(value):
        return value[key]
    return _ABSENT


def _longest(names: dict[str, Any], address: str) -> tuple[str | None, str]:
    """The longest name that begins the address at a step boundary, and the rest."""
    if address in names:
        return address, ""
    best: str | None = None
    for name in names:
        if (address.startswith(name) and address[len(name):len(name) + 1] in (".", "[")
                and (best is None or len(name) > len(best))):
            best = name
    return best, address[len(best):] if best else address
