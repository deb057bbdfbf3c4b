"""Secrets: none in plain text, every valueFrom resolvable, an execution role to fetch them.

Why: a task definition is readable by anyone with DescribeTaskDefinition and
lives in git; a secret written there has leaked. A valueFrom ECS cannot
resolve, or no executionRoleArn, stops every task at start.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from release.core import redact
from release.core.findings import ERROR, Finding, pointer_of
from release.core.rolling import containers
from release.core.rules.base import (
    Context,
    finding,
    rule,
)
from release.core.template_checks import is_opaque

# Plain-text secrets: names that say "secret", values that look like credentials.
SECRET_NAME = re.compile(
    r"(PASSWORD|PASSWD|PASSPHRASE|SECRET|TOKEN|API[_.-]?KEY|ACCESS[_.-]?KEY|PRIVATE[_.-]?KEY"
    r"|CREDENTIAL|(^|[_.-])PASS([_.-]|$))", re.IGNORECASE)
# A name that ends in one of these is *about* a secret (where it is, what it is called, how
# long it lives, whether it is on), not the secret: JWT_ACCESS_TOKEN_EXPIRATION, KMS_KEY_ID.
NOT_A_SECRET_NAME = re.compile(
    r"[_.-](ARN|FILE|PATH|DIR|NAME|ID|PARAM|PARAMETER|URL|URI|ENDPOINT|HOST|PORT|REGION"
    r"|LOCATION|PROVIDER|ISSUER|AUDIENCE|ALGORITHM|TYPE|HEADER|PREFIX|FORMAT|MODE|POLICY|VERSION"
    r"|TTL|TIMEOUT|MS|SECONDS|MINUTES|HOURS|DAYS|EXPIRY|EXPIRATION|EXPIRATION_TIME|EXPIRES"
    r"|EXPIRES_IN|EXPIRE|LIFETIME|DURATION|MAX_AGE|INTERVAL|LENGTH|SIZE|COUNT|ROUNDS|LIMIT"
    r"|ENABLED|DISABLED|ENABLE|DISABLE|REQUIRED)$", re.IGNORECASE)
# The last word names the secret itself: DB_PASSWORD, JWT_SECRET, GITHUB_TOKEN, API_KEY.
SECRET_HEAD = re.compile(r"(PASSWORD|PASSWD|PASSPHRASE|SECRET|TOKEN|KEY|CREDENTIALS?"
                         r"|(^|[_.-])PASS)$", re.IGNORECASE)
# Values no credential takes: a switch, a number, a duration (15m, 1h30m, PT15M), a URL
# without a password (caught before), an absolute path.
BOOLEAN = re.compile(r"^(true|false|yes|no|on|off|enabled|disabled|0|1)$", re.IGNORECASE)
SETTING_VALUE = re.compile(
    r"^(-?[0-9]+(\.[0-9]+)?"
    r"|([0-9]+(\.[0-9]+)?(ns|us|µs|ms|s|sec|m|min|h|d|w|y))+"
    r"|P(?=[0-9]|T[0-9])([0-9]+[YMWD])*(T([0-9]+(\.[0-9]+)?[HMS])+)?"
    r"|[a-z][a-z0-9+.-]*://\S*|/\S*)$", re.IGNORECASE)
# Credentials by their shape (AWS keys, tokens, webhook URLs, ...): one list, core/redact.py.
SECRET_VALUES = redact.SECRET_VALUES
ANY_SECRET_VALUE = redact.ANY_SECRET_VALUE  # any of them (redact.maybe_credential is cheaper)


@rule("secret-in-environment", ERROR, "no plain-text secrets in `environment`: values that look "
      "like credentials (AWS access keys, private keys, tokens, URLs with a password), or names "
      "that say password, secret, token or key with a value that is one (settings about a "
      "secret, e.g. JWT_ACCESS_TOKEN_EXPIRATION=15m, TOKEN_AUTH_ENABLED=true, KMS_KEY_ID, are not)",
      "move the value to Secrets Manager or SSM and reference it under `secrets` "
      "(valueFrom: the ARN)")
def secret_in_environment(ctx: Context) -> Iterator[Finding]:
    for rel, taskdef in ctx.taskdef_items():
        for ci, container in enumerate(containers(taskdef)):
            for ei, item in enumerate(container.get("environment", [])):
                problem = _secret_problem(item["name"], item["value"])
                if problem:
                    yield finding("secret-in-environment", rel,
                                  f"/containerDefinitions/{ci}/environment/{ei}", problem)
    for view in ctx.services:
        for name, extra in view.spec.overrides.get("containers", {}).items():
            for key, value in extra.get("environment", {}).items():
                problem = _secret_problem(key, value)
                if problem:
                    yield finding("secret-in-environment", view.rel,
                                  pointer_of(["overrides", "containers", name, "environment", key]),
                                  problem)


def _secret_problem(name: str, value: str) -> str | None:
    """Why `name=value` is a plain-text secret, or None.

    A credential-shaped value always is. Otherwise the name must say "secret"
    (password, token, key, ...) and not be a setting about one (a suffix such as
    _EXPIRATION, _ENABLED, _ID, _URL), and the value must not be a switch; a number,
    duration, URL or path counts only when the name's last word is the secret itself
    (DB_PASSWORD=12345678 is one, JWT_ACCESS_TOKEN_EXPIRATION=15m is not).
    """
    if redact.maybe_credential(value):
        for pattern, what in SECRET_VALUES:
            if pattern.search(value):
                return f"environment variable {name!r} holds what looks like {what} in plain text"
    if (not value or value.startswith("arn:") or not SECRET_NAME.search(name)
            or NOT_A_SECRET_NAME.search(name) or BOOLEAN.match(value)):
        return None
    if not SECRET_HEAD.search(name) and SETTING_VALUE.match(value):
        return None
    return f"environment variable {name!r} looks like a secret kept in plain text"


# `--password=x`, `PASSWORD=x`, `-Dapp.token=x` inside a command line or a label.
SECRET_ASSIGNMENT = re.compile(r"^-*(?:D)?([A-Za-z_][A-Za-z0-9_.-]*)[=:](.+)$")


@rule("secret-in-container", ERROR, "no plain-text secrets in any other container field a value "
      "can leak through (command, entryPoint, dockerLabels, health check, log options, ...): "
      "credential-looking values, or NAME=value with a secret-looking name",
      "pass the value as a secret (`secrets`, valueFrom: the ARN) and read it from the "
      "environment in the command")
def secret_in_container(ctx: Context) -> Iterator[Finding]:
    for rel, taskdef in ctx.taskdef_items():
        for ci, container in enumerate(containers(taskdef)):
            for key, value in container.items():
                if key in ("environment", "secrets", "name"):
                    continue
                for path, text in _strings(value, (key,)):
                    problem = _leak(path, text)
                    if problem:
                        yield finding("secret-in-container", rel,
                                      pointer_of(["containerDefinitions", ci, *path]), problem)


def _strings(value: Any, path: tuple) -> Iterator[tuple[tuple, str]]:
    """Every string in a value (label keys too, as `key=value`) with its path."""
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, dict):
        for key, item in value.items():
            if isinstance(item, str):
                yield (*path, key), f"{key}={item}"
            else:
                yield from _strings(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _strings(item, (*path, index))


def _leak(path: tuple, text: str) -> str | None:
    if redact.maybe_credential(text):
        where = "/".join(map(str, path))
        for pattern, what in SECRET_VALUES:
            if pattern.search(text):
                return f"{where} holds what looks like {what} in plain text"
    if "=" not in text and ":" not in text:  # no NAME=value or NAME:value in it
        return None
    # str.split() splits on exactly the whitespace r"\s+" does, minus empty words (never a match)
    for word in text.split() if path[0] != "dockerLabels" else [text]:
        match = SECRET_ASSIGNMENT.match(word)
        if match and _secret_problem(match.group(1), match.group(2).strip("'\"")):
            where = "/".join(map(str, path))
            return f"{where} sets {match.group(1)!r} to what looks like a secret in plain text"
    return None


SECRET_ARN = re.compile(r"^arn:aws[a-z-]*:(secretsmanager:[a-z0-9-]+:[0-9]{12}:secret:.+"
                        r"|ssm:[a-z0-9-]+:[0-9]{12}:parameter/.+)$")
SECRET_SERVICE_ARN = re.compile(r"^arn:[^:]*:(secretsmanager|ssm):")
SSM_PARAMETER_NAME = re.compile(r"^/?(?!(?:aws|ssm))[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+){0,14}$",
                                re.IGNORECASE)


@rule("secret-value-from", ERROR, "every secret's valueFrom is a Secrets Manager secret ARN, an "
      "SSM parameter ARN, or an SSM parameter name (letters, digits, _ . - and / levels; not "
      "starting with aws or ssm), never a credential itself (a token, a key, a webhook URL)",
      "use the secret's full ARN (Secrets Manager) or the parameter's "
      "name or ARN (SSM Parameter Store); never the secret itself")
def secret_value_from(ctx: Context) -> Iterator[Finding]:
    def check(rel: str, path: list, value: str) -> Iterator[Finding]:
        what = redact.credential_kind(value)
        if what:  # a Slack token is a valid parameter name: the shape is checked first
            yield finding("secret-value-from", rel, pointer_of(path),
                          f"valueFrom holds what looks like {what}: it names where the secret "
                          "is kept (an ARN or a parameter name), and the secret itself is now "
                          "in git; rotate it")
            return
        if not (SECRET_ARN.match(value) or SSM_PARAMETER_NAME.match(value) or is_opaque(value)):
            if SECRET_SERVICE_ARN.match(value):
                kind = ("a Secrets Manager or SSM ARN without a real region, 12-digit account "
                        "and secret or parameter (a placeholder left in?)")
            elif value.startswith("arn:"):
                kind = "an ARN of another service"
            else:
                kind = "neither an ARN nor a parameter name"
            yield finding("secret-value-from", rel, pointer_of(path),
                          f"valueFrom is {kind}; ECS cannot resolve it and the task fails to start "
                          "(ResourceInitializationError)")

    for rel, taskdef in ctx.taskdef_items():
        for ci, container in enumerate(containers(taskdef)):
            for si, item in enumerate(container.get("secrets", [])):
                yield from check(rel, ["containerDefinitions", ci, "secrets", si, "valueFrom"],
                                 item["valueFrom"])
            options = container.get("logConfiguration", {}).get("secretOptions", [])
            for si, item in enumerate(options):
                yield from check(rel, ["containerDefinitions", ci, "logConfiguration",
                                       "secretOptions", si, "valueFrom"], item["valueFrom"])
    for view in ctx.services:
        for name, extra in view.spec.overrides.get("containers", {}).items():
            for key, value in extra.get("secrets", {}).items():
                yield from check(view.rel, ["overrides", "containers", name, "secrets", key],
                                 value)


@rule("secret-execution-role", ERROR, "a task that reads secrets or private-registry "
      "credentials has an executionRoleArn (the agent fetches them with that role)",
      "set executionRoleArn to a role allowed to read the secrets (ecsTaskExecutionRole)")
def secret_execution_role(ctx: Context) -> Iterator[Finding]:
    for rel, taskdef in ctx.taskdef_items():
        if taskdef.get("executionRoleArn"):
            continue
        for ci, container in enumerate(containers(taskdef)):
            uses = [key for key in ("secrets", "repositoryCredentials") if container.get(key)]
            if container.get("logConfiguration", {}).get("secretOptions"):
                uses.append("logConfiguration/secretOptions")
            if uses:
                yield finding("secret-execution-role", rel, f"/containerDefinitions/{ci}/{uses[0]}",
                              f"container {container['name']!r} uses {uses[0]} but the task has no "
                              "executionRoleArn: its tasks stop with ResourceInitializationError "
                              "(unable to pull secrets or registry auth)")
                break
    for view in ctx.services:
        if view.taskdef is None or view.taskdef.get("executionRoleArn"):
            continue
        for name, extra in view.spec.overrides.get("containers", {}).items():
            if extra.get("secrets"):
                yield finding(
                    "secret-execution-role", view.rel,
                    pointer_of(["overrides", "containers", name, "secrets"]),
                    f"this service adds secrets to {name!r} but {view.taskdef_rel} has no "
                    "executionRoleArn: its tasks stop with ResourceInitializationError")


# What other rules already look at, by document kind: the container definitions of a task
# definition, a service's container overrides (environment and secrets), environment.json's
# notify URL (rules/environment.py, notify-url-secret).
_COVERED = {"taskdef": (("containerDefinitions",),),
            "service": (("overrides", "containers"),),
            "environment": (("notify", "url"),)}


@rule("secret-in-document", ERROR, "no credential anywhere else in a document: a value shaped "
      "like one (AWS access key, private key, GitHub/GitLab/Slack/Stripe/Google/npm token, "
      "Slack or Discord webhook URL, JWT, URL with a password) in any string of environment.json "
      "(its notify URL: notify-url-secret), a service spec (tags, beforeDeploy command, smoke "
      "checks, ...) or a task definition (tags, ...), or a tag whose key says secret with a "
      "value that is one",
      "keep the secret in Secrets Manager or SSM (a task reads it through `secrets`), the "
      "webhook URL in the CI's credentials (notify.urlFromEnv); rotate what reached git")
def secret_in_document(ctx: Context) -> Iterator[Finding]:
    documents = [("environment", rel, env.doc) for rel, env in ctx.environments.values()]
    documents += [("service", view.rel, view.doc) for view in ctx.services]
    documents += [("taskdef", rel, doc) for rel, doc in ctx.taskdef_items()]
    suspect = ctx.loaded.suspect  # validation read each file's text: most hold no marker
    for kind, rel, doc in documents:
        if suspect is not None and rel not in suspect:
            continue
        for path, key, text in _document_strings(doc, (), _COVERED.get(kind, ())):
            what = redact.credential_kind(text)
            if what:
                yield finding("secret-in-document", rel, pointer_of(path),
                              f"{'/'.join(map(str, path))} holds what looks like {what} in "
                              "plain text")
            elif key is not None and _secret_problem(key, text):
                yield finding("secret-in-document", rel, pointer_of(path),
                              f"tag {key!r} looks like a secret kept in plain text")


def _document_strings(value: Any, path: tuple, covered: tuple[tuple, ...]
                      ) -> Iterator[tuple[tuple, str | None, str]]:
    """Every string of a document with its path (and, for the value of a `{"key", "value"}`
    pair, an ECS or ELB tag, its key), except under the `covered` paths and `$schema`.
    Templates are walked too: a default written in one is in git as much as any value."""
    if isinstance(value, str):
        yield path, None, value
    elif isinstance(value, dict):
        tag = isinstance(value.get("key"), str) and isinstance(value.get("value"), str)
        for key, item in value.items():
            inner = (*path, key)
            if (not path and key == "$schema") or any(inner[:len(c)] == c for c in covered):
                continue
            if tag and key == "value":
                yield inner, value["key"], item
            else:
                yield from _document_strings(item, inner, covered)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _document_strings(item, (*path, index), covered)


CHECKS = (secret_in_environment, secret_in_container, secret_value_from, secret_execution_role,
          secret_in_document)
