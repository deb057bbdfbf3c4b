"""What validation says about templates (core/templates.py), before anything is resolved.

Offline, a template is an opaque string: its value is judged at plan time, when
the engine has filled it in and checks the schema again. So the schema's
patterns, enums and lengths do not judge template text (`spurious`), while
what can never work is a finding with the fix: a malformed template or an
unknown function (`template-syntax`), a template where a verb needs the value
before anything is resolved or in a task definition (`template-place`), and a
tfstate value in an environment that does not say where its state is
(`template-source`). A template where the schema wants a number, a boolean,
an object or an array stays a schema finding: substitution only yields text.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from release.core.findings import ERROR, WARNING, Finding
from release.core.templates import LOCAL, OPEN, TemplateError, parse, strings

# Members whose value a verb needs before it can resolve anything (the connection, the
# lock's key, what `build`, `promote` and `changed` read offline): written out in git.
FIXED_MEMBERS: dict[str, tuple[str, ...]] = {
    "environment": ("/name", "/account", "/region", "/aws", "/endpoints", "/values",
                    "/promotion", "/ecr", "/releaseLedger", "/notify", "/loadBalancer/type"),
    "service": ("/taskDefinition", "/image", "/images", "/build", "/service/serviceName"),
}


@dataclass(frozen=True)
class Problem:
    """What keeps a template from being used; `rule` is its validation id."""

    pointer: str
    rule: str
    message: str
    fix: str


def fixed(kind: str, pointer: str) -> str | None:
    """The member a pointer lies in when that member must be written out, else None."""
    for member in FIXED_MEMBERS.get(kind, ()):
        if pointer == member or pointer.startswith(member + "/"):
            return member
    return None


def problems(kind: str, doc: Any, tfstate: bool = True) -> list[Problem]:
    """What keeps a document's templates from being resolved (validation reports these).

    `tfstate`: the environment says where its Terraform state is (/values/tfstate).
    """
    found: list[Problem] = []
    for pointer, text in strings(doc):
        try:
            template = parse(text)
        except TemplateError as exc:
            found.append(Problem(pointer, "template-syntax", exc.message, exc.fix))
            continue
        if not template.references:
            continue
        member = fixed(kind, pointer)
        if member is not None:
            found.append(Problem(
                pointer, "template-place", f"{member} is read before values from outside git "
                "are resolved (to connect, to lock, or offline by build, promote and changed)",
                "write the value itself here"))
        elif not tfstate and any(r.function == "tfstate" for r in template.references):
            found.append(Problem(
                pointer, "template-source", "a tfstate value, but the environment does not "
                "say where its Terraform state is",
                'add "values": {"tfstate": "path/in/repo.tfstate"} (or "s3://bucket/key") to '
                "the environment's environment.json"))
    return found


def findings(kind: str, rel: str, doc: Any,
             environments: Mapping[str, tuple[str, Any]]) -> list[Finding]:
    """Validation's findings for a document's templates (`environments`: the environment
    documents already loaded, by name). Task definitions are not filled in: a call of one of
    these functions there is named, as an error (a warning for `env`, common in commands)."""
    if kind == "taskdef":
        return [Finding(WARNING if function in LOCAL else ERROR, "template-place", rel,
                        pointer, f"a {function} template in a task definition: task "
                        "definitions are shared by environments and are not filled in, so it "
                        "would be registered as written",
                        "move the value into the service spec's /overrides (same shape), "
                        "where values from outside git are filled in per environment")
                for pointer, function in calls_in(doc)]
    if kind == "environment":
        tfstate = _has_tfstate(doc)
    else:  # environments/<env>/services/<name>.json: its environment's /values/tfstate
        parts = rel.split("/")
        env = environments.get(parts[1]) if len(parts) >= 4 else None
        tfstate = env is None or _has_tfstate(env[1])  # a broken one is reported there
    return [Finding(ERROR, p.rule, rel, p.pointer, p.message, p.fix)
            for p in problems(kind, doc, tfstate)]


def _has_tfstate(doc: Any) -> bool:
    values = doc.get("values") if isinstance(doc, dict) else None
    return isinstance(values, dict) and bool(values.get("tfstate"))


def calls_in(doc: Any) -> list[tuple[str, str]]:
    """(pointer, function) of templates a document holds that are calls of our functions
    (for documents nothing resolves, such as task definitions)."""
    out = []
    for pointer, text in strings(doc):
        try:
            template = parse(text)
        except TemplateError:
            continue
        out.extend((pointer, r.function) for r in template.references[:1])
    return out


# ----------------------------------------------------------------------------- validation


def is_opaque(value: Any) -> bool:
    """A string whose templates stand for values not known offline."""
    if not isinstance(value, str) or OPEN not in value:
        return False
    try:
        return bool(parse(value).references)
    except TemplateError:
        return False


# what a template string may stand for without the schema saying otherwise
_STRING_KEYWORDS = frozenset({"pattern", "enum", "const", "minLength", "maxLength", "format"})


def spurious(error: Any) -> bool:
    """Does a jsonschema error only say that an unresolved template is not yet its value?

    A template is an opaque string: patterns, enums and lengths are checked on the
    value at plan time (adapters resolve, then the schema is checked again), not on
    the template text. A template where the schema wants a number, a boolean, an
    object or an array is a real error: substitution only ever yields text.
    """
    validator = error.validator
    if validator in _STRING_KEYWORDS:
        return is_opaque(error.instance)
    if validator in ("anyOf", "oneOf"):
        if not error.context:  # oneOf: more than one branch matched
            return validator == "oneOf" and _holds_template(error.instance)
        branches: dict[Any, list[Any]] = {}
        for sub in error.context:
            branches.setdefault(sub.schema_path[0] if sub.schema_path else None, []).append(sub)
        return any(all(spurious(e) for e in errs) for errs in branches.values())
    return False


def _holds_template(doc: Any) -> bool:
    return any(is_opaque(text) for _, text in strings(doc))
