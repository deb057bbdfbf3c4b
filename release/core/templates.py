"""Values from outside git: ecspresso's template syntax in the strings of a document.

Target group ARNs, subnets, security groups and role ARNs are usually made by
Terraform or CloudFormation; pasting them into the documents means keeping
them in step by hand. A string of a service spec (its overrides included) or
of environment.json may instead say where the value lives, in ecspresso's
syntax and function names, so documents written for ecspresso carry over:

    {{ ssm `/name` }}               an SSM parameter (String; `{{ ssm `/name` 1 }}`: a
                                    StringList's element)
    {{ cfn_output `Stack` `Key` }}  a CloudFormation stack's output
    {{ cfn_export `Name` }}         a CloudFormation export
    {{ tfstate `aws_lb_target_group.app.arn` }}   Terraform state (environment.json
                                    /values/tfstate says where the state is)
    {{ env `NAME` `default` }}      an environment variable, else the last argument
    {{ must_env `NAME` }}           an environment variable that must be set

Arguments are backquoted or double-quoted (a double quote inside a JSON string
is written \\"), or integers; `{{-` and `-}}` trim the whitespace beside the
action as in Go's text/template; `{{/* a comment */}}` is nothing; `{{ "{{" }}`
writes a literal `{{`; a trailing `| json_escape` is accepted and changes
nothing (a value is put inside an already parsed JSON string, so it needs no
escaping).

ecspresso renders the text and then parses it as JSON; here the documents are
JSON first, so templates are found in strings and substituted inside them.
The result is always a string: a member the schema types as a number or a
boolean cannot hold a template (validation says so). Keeping numbers in git
keeps every offline rule about them (capacity, ports, waves, budgets) true.

This module is pure: it parses, lists the references a document wants, and
substitutes values it is given. Fetching them is adapters/lookups.py.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from release.core import tfstate
from release.core.missing import Missing

OPEN, CLOSE = "{{", "}}"

# name → (fewest, most arguments (None: any), what each argument is); "s" string, "i" int
FUNCTIONS: dict[str, tuple[int, int | None, str]] = {
    "ssm": (1, 2, "si"),
    "cfn_output": (2, 2, "ss"),
    "cfn_export": (1, 1, "s"),
    "tfstate": (1, 1, "s"),
    "env": (1, None, "s"),
    "must_env": (1, 1, "s"),
}
LOCAL = frozenset({"env", "must_env"})  # read from the process environment, not AWS
USAGE = {
    "ssm": "{{ ssm `/parameter/name` }} (a StringList: {{ ssm `/name` 0 }})",
    "cfn_output": "{{ cfn_output `StackName` `OutputKey` }}",
    "cfn_export": "{{ cfn_export `ExportName` }}",
    "tfstate": "{{ tfstate `aws_lb_target_group.app.arn` }}",
    "env": "{{ env `NAME` `default` }}",
    "must_env": "{{ must_env `NAME` }}",
}
FILTERS = frozenset({"json_escape"})  # pipeline filters that leave a value as it is here
LITERAL_FIX = 'to write "{{" itself, write {{ "{{" }}'

class TemplateError(ValueError):
    """A template that cannot be read: what is wrong and how to write it."""

    def __init__(self, message: str, fix: str) -> None:
        super().__init__(message)
        self.message = message
        self.fix = fix


@dataclass(frozen=True)
class Reference:
    """One value wanted from outside git: a function and its arguments."""

    function: str
    args: tuple[str | int, ...]

    @property
    def source(self) -> str:
        """How `plan` names where a value came from: `cfn_output app-stack TargetGroupArn`."""
        return " ".join([self.function, *map(str, self.args)])

    @property
    def local(self) -> bool:
        return self.function in LOCAL


@dataclass(frozen=True)
class Template:
    """A string with templates: literal text and references, in order."""

    text: str
    parts: tuple[str | Reference, ...]

    @property
    def references(self) -> tuple[Reference, ...]:
        return tuple(p for p in self.parts if isinstance(p, Reference))


@dataclass(frozen=True)
class Parameter:
    """An SSM parameter as GetParameters returned it."""

    name: str
    type: str  # String | StringList | SecureString
    value: str


@dataclass
class Sources:
    """What was read from outside git in one run: each source once, whatever asks for it."""

    parameters: dict[str, Parameter | Missing] = field(default_factory=dict)
    stacks: dict[str, dict[str, str] | Missing] = field(default_factory=dict)
    exports: dict[str, str] | Missing | None = None
    tfstate: dict[str, Any] | Missing | None = None  # tfstate.index() of the state
    tfstate_where: str = ""  # the state's location, for messages


@dataclass(frozen=True)
class Substitution:
    """A value put into a document: where, from which reference, what it was."""

    file: str
    pointer: str
    reference: Reference
    value: str

    def one_line(self) -> str:
        return f"{self.pointer} = {self.value} ({self.reference.source})"


# ----------------------------------------------------------------------------- reading

_SPACE = " \t\r\n"
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_INT = re.compile(r"[+-]?[0-9]+")


def parse(text: str) -> Template:
    """A string's literal text and references; TemplateError when a template is malformed."""
    parts: list[str | Reference] = []
    literal: list[str] = []
    i = 0
    while True:
        start = text.find(OPEN, i)
        if start < 0:
            literal.append(text[i:])
            break
        literal.append(text[i:start])
        j = start + len(OPEN)
        if text.startswith("-", j) and text[j + 1:j + 2] in tuple(_SPACE):
            literal[-1] = literal[-1].rstrip(_SPACE)
            j += 1
        tokens, end, trim_right = _tokens(text, j)
        i = end
        if trim_right:
            i = len(text) - len(text[i:].lstrip(_SPACE))
        value = _action(tokens, text[start:end])
        if isinstance(value, Reference):
            if any(literal):
                parts.append("".join(literal))
            literal = []
            parts.append(value)
        else:
            literal.append(value)
    if any(literal):
        parts.append("".join(literal))
    return Template(text, tuple(parts))


def _tokens(text: str, i: int) -> tuple[list[tuple[str, Any]], int, bool]:
    """The tokens of one action from `i` to its `}}`: (tokens, index after it, trim right)."""
    tokens: list[tuple[str, Any]] = []
    while True:
        while i < len(text) and text[i] in _SPACE:
            i += 1
        if i >= len(text):
            raise TemplateError(f"{OPEN} without its {CLOSE}", f"close the template with "
                                f"{CLOSE}; {LITERAL_FIX}")
        if text.startswith(CLOSE, i):
            return tokens, i + len(CLOSE), False
        if text.startswith("-" + CLOSE, i) and text[i - 1] in _SPACE:
            return tokens, i + 1 + len(CLOSE), True
        if text.startswith("/*", i):
            end = text.find("*/", i + 2)
            if end < 0:
                raise TemplateError("a comment /* without its */", "end the comment with */")
            tokens.append(("comment", None))
            i = end + 2
            continue
        char = text[i]
        if char == "`":
            end = text.find("`", i + 1)
            if end < 0:
                raise TemplateError("a `string` without its closing backquote",
                                    "close the argument with a backquote")
            tokens.append(("string", text[i + 1:end]))
            i = end + 1
        elif char == '"':
            i = _quoted(text, i, tokens)
        elif char == "|":
            tokens.append(("pipe", None))
            i += 1
        elif match := _NAME.match(text, i):
            tokens.append(("name", match.group()))
            i = match.end()
        elif match := _INT.match(text, i):
            tokens.append(("int", int(match.group())))
            i = match.end()
        elif char == "(":
            raise TemplateError("nested calls ( … ) are not supported in a template",
                                "write each argument literally, e.g. " + USAGE["ssm"])
        else:
            raise TemplateError(f"unexpected {text[i:i + 12]!r} in a template (variables, "
                                "fields and Go template keywords are not supported)",
                                "a template is a function and its arguments, e.g. "
                                f"{USAGE['ssm']}; {LITERAL_FIX}")


def _quoted(text: str, i: int, tokens: list[tuple[str, Any]]) -> int:
    j = i + 1
    while j < len(text) and text[j] != '"':
        j += 2 if text[j] == "\\" else 1
    if j >= len(text):
        raise TemplateError('a "string" without its closing quote',
                            'close the argument with " (or use backquotes)')
    try:
        tokens.append(("string", json.loads(text[i:j + 1])))
    except ValueError:
        raise TemplateError(f"cannot read the string {text[i:j + 1]}",
                            "use backquotes for text with backslashes") from None
    return j + 1


def _action(tokens: list[tuple[str, Any]], written: str) -> str | Reference:
    """One action's meaning: literal text (a comment, a string) or a reference."""
    if all(kind == "comment" for kind, _ in tokens):
        if tokens:
            return ""
        raise TemplateError(f"an empty template {written}", "write a function, e.g. "
                            + USAGE["ssm"] + f"; {LITERAL_FIX}")
    tokens = [t for t in tokens if t[0] != "comment"]
    while len(tokens) >= 2 and tokens[-2][0] == "pipe":  # `| json_escape`
        kind, name = tokens[-1]
        if kind != "name" or name not in FILTERS:
            raise TemplateError(f"unsupported filter {name!r} in {written}",
                                "only `| json_escape` is accepted (it changes nothing here)")
        tokens = tokens[:-2]
    if len(tokens) == 1 and tokens[0][0] == "string":
        return str(tokens[0][1])
    if not tokens:
        raise TemplateError(f"no function in {written}", "write a function, e.g. "
                            + USAGE["ssm"])
    kind, name = tokens[0]
    if kind != "name":
        raise TemplateError(f"{written} does not start with a function name",
                            "write a function and its arguments, e.g. " + USAGE["ssm"])
    if name not in FUNCTIONS:
        known = ", ".join(FUNCTIONS)
        raise TemplateError(f"unknown function {name!r} in {written}",
                            f"use one of {known} (release resolves these; ecspresso's "
                            "plugins' func_prefix names and other Go template forms are not "
                            f"supported); {LITERAL_FIX}")
    return Reference(name, _arguments(name, tokens[1:], written))


def _arguments(name: str, tokens: list[tuple[str, Any]], written: str) -> tuple[str | int, ...]:
    fewest, most, kinds = FUNCTIONS[name]
    if len(tokens) < fewest or (most is not None and len(tokens) > most):
        raise TemplateError(f"{name} takes {_count(fewest, most)} in {written}",
                            f"write {USAGE[name]}")
    args: list[str | int] = []
    for index, (kind, value) in enumerate(tokens):
        want = kinds[min(index, len(kinds) - 1)]
        if kind == "pipe" or kind == "name":
            raise TemplateError(f"{name}'s argument {index + 1} in {written} is not a value "
                                "(nested calls and variables are not supported)",
                                f"write {USAGE[name]} with literal arguments")
        if (want == "i") != (kind == "int"):
            what = "an integer" if want == "i" else "a `string`"
            raise TemplateError(f"{name}'s argument {index + 1} in {written} must be {what}",
                                f"write {USAGE[name]}")
        if want == "i" and value < 0:
            raise TemplateError(f"a StringList index cannot be negative in {written}",
                                "count from 0")
        if want == "s" and not value:
            raise TemplateError(f"{name}'s argument {index + 1} in {written} is empty",
                                f"write {USAGE[name]}")
        args.append(value)
    return tuple(args)


def _count(fewest: int, most: int | None) -> str:
    if most is None:
        return f"at least {fewest} argument(s)"
    if fewest == most:
        return f"{fewest} argument(s)"
    return f"{fewest} to {most} arguments"


# ----------------------------------------------------------------------------- documents


def escape(key: str | int) -> str:
    return str(key).replace("~", "~0").replace("/", "~1")


def strings(doc: Any, pointer: str = "") -> Iterator[tuple[str, str]]:
    """(pointer, text) of every string value holding `{{` in a document."""
    if isinstance(doc, str):
        if OPEN in doc:
            yield pointer, doc
    elif isinstance(doc, dict):
        for key, value in doc.items():
            yield from strings(value, f"{pointer}/{escape(key)}")
    elif isinstance(doc, list):
        for index, value in enumerate(doc):
            yield from strings(value, f"{pointer}/{index}")


def templates_of(doc: Any) -> list[tuple[str, Template]]:
    """(pointer, template) of every string with references (call after validation)."""
    out = []
    for pointer, text in strings(doc):
        try:
            template = parse(text)
        except TemplateError as exc:  # validation reports these; say where all the same
            raise TemplateError(f"{pointer}: {exc.message}", exc.fix) from None
        if template.references:
            out.append((pointer, template))
    return out


def wanted(found: list[tuple[str, Template]]) -> set[Reference]:
    """The references that need AWS (local ones are read from the environment)."""
    return {r for _, t in found for r in t.references if not r.local}


# ----------------------------------------------------------------------------- values


def value_of(ref: Reference, sources: Sources, environ: Mapping[str, str]) -> str | Missing:
    """What one reference stands for, from what was read (or the process environment)."""
    args = ref.args
    if ref.function == "env":
        for name in args:  # go-config's rule: the first set, non-empty variable, else the last
            if environ.get(str(name)):
                return environ[str(name)]
        return str(args[-1])
    if ref.function == "must_env":
        if str(args[0]) in environ:
            return environ[str(args[0])]
        return Missing(f"environment variable {args[0]} is not set",
                       f"set {args[0]} in the environment that runs release (the Jenkins "
                       "stage, or your shell)")
    if ref.function == "ssm":
        return _ssm(sources.parameters.get(str(args[0])), args)
    if ref.function == "cfn_output":
        outputs = sources.stacks.get(str(args[0]))
        if outputs is None or isinstance(outputs, Missing):
            return outputs or Missing("stack not read", "report this")
        if args[1] in outputs:
            return outputs[str(args[1])]
        keys = ", ".join(sorted(outputs)) or "none"
        return Missing(f"stack {args[0]} has no output {args[1]} (its outputs: {keys})",
                       "use one of its OutputKeys, or add the output to the stack")
    if ref.function == "cfn_export":
        exports = sources.exports
        if exports is None or isinstance(exports, Missing):
            return exports or Missing("exports not read", "report this")
        if args[0] in exports:
            return exports[str(args[0])]
        return Missing(f"no CloudFormation export named {args[0]} in this account and region",
                       "check the name (ListExports), or the stack that should export it")
    state = sources.tfstate
    if state is None or isinstance(state, Missing):
        return state or Missing("state not read", "report this")
    return tfstate.lookup(state, str(args[0]), sources.tfstate_where)


def _ssm(found: Parameter | Missing | None, args: tuple[str | int, ...]) -> str | Missing:
    name = args[0]
    if found is None or isinstance(found, Missing):
        return found or Missing(f"parameter {name} was not read", "report this")
    if found.type == "SecureString":
        return Missing(f"parameter {name} is a SecureString: its value would be written in "
                       "plain text into the task definition",
                       "keep secrets out of the documents: name the parameter in the "
                       "container's secrets[].valueFrom (its ARN, or its name in the same "
                       "Region); ECS reads it when the task starts")
    if found.type == "StringList":
        items = found.value.split(",")  # "a comma-separated string with no spaces"
        if len(args) < 2:
            return Missing(f"parameter {name} is a StringList of {len(items)} item(s)",
                           f"pick one: {{{{ ssm `{name}` 0 }}}}")
        index = int(args[1])
        if index >= len(items):
            return Missing(f"parameter {name} has {len(items)} item(s); there is no "
                           f"index {index}", f"use an index from 0 to {len(items) - 1}")
        return items[index]
    if len(args) > 1:
        return Missing(f"parameter {name} is a {found.type}, not a StringList: it takes no "
                       "index", f"write {{{{ ssm `{name}` }}}}")
    return found.value


@dataclass
class Filled:
    """A document with its templates filled in, what was put where, and what was missing."""

    doc: Any
    substitutions: list[Substitution]
    missing: list[tuple[str, Reference, Missing]]  # (pointer, reference, why)


def fill(file: str, doc: Any, value: Callable[[Reference], str | Missing]) -> Filled:
    """A copy of `doc` whose template strings are replaced by their values."""
    substitutions: list[Substitution] = []
    missing: list[tuple[str, Reference, Missing]] = []

    def one(pointer: str, text: str) -> str:
        out: list[str] = []
        for part in parse(text).parts:
            if isinstance(part, str):
                out.append(part)
                continue
            found = value(part)
            if isinstance(found, Missing):
                missing.append((pointer, part, found))
                continue
            substitutions.append(Substitution(file, pointer, part, found))
            out.append(found)
        return "".join(out)

    def walk(node: Any, pointer: str) -> Any:
        if isinstance(node, str):
            return one(pointer, node) if OPEN in node else node
        if isinstance(node, dict):
            return {k: walk(v, f"{pointer}/{escape(k)}") for k, v in node.items()}
        if isinstance(node, list):
            return [walk(v, f"{pointer}/{i}") for i, v in enumerate(node)]
        return node

    return Filled(walk(doc, ""), substitutions, missing)
