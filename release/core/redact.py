"""Secrets kept out of what the tool writes: credentials by their shape, URLs' user-info and query.

One place for what a credential looks like and how it is hidden, shared by every writer:
validation (rules/secrets.py: a credential in a document is an error; schema messages
never echo one), the plan's and the executor's display of values (`mask_value`), the
release record and the ledger (`BUILD_URL` and the other CI values, `ci_value`),
`apply --summary`, `verify --base-url`, webhook payloads (core/notify.py) and the
internal-error log (`scrub`, `scrub_argv`). Pure: strings in, strings out.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import urlsplit

MASK = "***"

# Values that are credentials whatever they are called. Each is a token format its issuer
# documents (a fixed prefix, a length) or a shape no setting takes (a key block, a password
# in a URL): found anywhere in a document, they are an error; found in output, masked.
SECRET_VALUES: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"\b(AKIA|ASIA)[0-9A-Z]{16}\b"), "an AWS access key id"),
    (re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----"), "a private key"),
    (re.compile(r"\bgh[pousr]_[A-Za-z0-9]{36,}\b"), "a GitHub token"),
    (re.compile(r"\bgithub_pat_[A-Za-z0-9_]{22,}"), "a GitHub token"),
    (re.compile(r"\bglpat-[A-Za-z0-9_-]{20,}"), "a GitLab token"),
    (re.compile(r"\bxox[abprs]-[A-Za-z0-9-]{10,}"), "a Slack token"),
    (re.compile(r"\bxapp-[0-9]+-[A-Za-z0-9-]{10,}"), "a Slack token"),
    (re.compile(r"\bhooks\.slack\.com/(?:services|workflows|triggers)/[A-Za-z0-9][^\s\"'<>]*"),
     "a Slack webhook URL (its path is the token)"),
    (re.compile(r"\bdiscord(?:app)?\.com/api/webhooks/[0-9]+/[A-Za-z0-9_-]+"),
     "a Discord webhook URL (its path is the token)"),
    (re.compile(r"\b[rs]k_(?:live|test)_[A-Za-z0-9]{16,}"), "a Stripe secret key"),
    (re.compile(r"\bAIza[0-9A-Za-z_-]{35}"), "a Google API key"),
    (re.compile(r"\bnpm_[A-Za-z0-9]{36}\b"), "an npm token"),
    (re.compile(r"\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]+"), "a JWT"),
    (re.compile(r"[a-z][a-z0-9+.-]*://[^/\s:@]+:[^/\s@]+@"), "a URL with a password"),
]
# Any of them: one search that almost every value fails, before asking which one matched.
ANY_SECRET_VALUE = re.compile("|".join(f"(?:{pattern.pattern})" for pattern, _ in SECRET_VALUES))
# A fixed piece of text each pattern above needs (a password in a URL needs both "://" and "@"):
# plain substring tests, far cheaper than the patterns on a whole document, that a clean one fails.
MARKERS = ("AKIA", "ASIA", "PRIVATE KEY", "ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_",
           "glpat-", "xox", "xapp-", "hooks.slack.com", "discord", "k_live_", "k_test_", "AIza",
           "npm_", "eyJ")
_PASSWORD_IN_URL = re.compile(r"([a-z][a-z0-9+.-]*://[^/\s:@]+:)[^/\s@]+@")

# Names that say their value is secret (an option, a variable, a document key), for masking:
# hiding a value that was not one costs a line of output, showing one costs a rotation.
SECRET_NAMES = re.compile(r"(?i)(secret|token|password|passwd|passphrase|api[_-]?key|private|"
                          r"access[_-]?key|credential|webhook|notify[_-]?url|authorization|"
                          r"cookie)")
# ... unless the name is about the secret, not the secret (JWT_TOKEN_TTL, DB_SECRET_ARN).
ABOUT_A_SECRET = re.compile(
    r"(?i)[_.-](arn|file|path|dir|name|id|param|parameter|region|ttl|timeout|expiry|expiration"
    r"|expires|expires_in|lifetime|duration|max_age|interval|length|size|enabled|disabled|header"
    r"|prefix|format|type|version|required)$")
# Command-line options whose value is a secret as a whole (a webhook URL's path is its token).
SECRET_OPTIONS = ("--notify",)

_URL = re.compile(r"[a-z][a-z0-9+.-]*://[^\s\"'<>]+", re.IGNORECASE)
_ASSIGNED = re.compile(r"(?i)(?<![A-Za-z0-9])(token|secret|password|passwd|api[_-]?key|"
                       r"authorization|signature|credential|access[_-]?key)s?(\s*[=:]\s*)([^\s,;&\"']+)")


def credential_kind(text: str) -> str | None:
    """What `text` holds that is a credential by its shape ("a Slack token"), or None."""
    if not maybe_credential(text):
        return None
    for pattern, what in SECRET_VALUES:
        if pattern.search(text):
            return what
    return None


def maybe_credential(text: str) -> bool:
    """Could `text` hold a credential? False is sure (no marker of any pattern is in it)."""
    return any(marker in text for marker in MARKERS) or ("@" in text and "://" in text)


def mask(text: str) -> str:
    """`text` with every credential-shaped part replaced by ***: a URL keeps its scheme and
    user, a webhook URL its host."""
    if not text or credential_kind(text) is None:
        return text
    text = _PASSWORD_IN_URL.sub(lambda m: f"{m.group(1)}{MASK}@", text)
    for pattern, _ in SECRET_VALUES:
        text = pattern.sub(_masked, text)
    return text


def _masked(match: re.Match[str]) -> str:
    found = match.group(0)
    if "/" in found and "://" not in found:  # a webhook URL: keep the host, hide the path
        return found.split("/", 1)[0] + "/" + MASK
    return found if found.endswith(f":{MASK}@") else MASK


def secret_name(name: str) -> bool:
    """Does a name (variable, key, option) say its value is a secret?"""
    return bool(SECRET_NAMES.search(name)) and not ABOUT_A_SECRET.search(name)


def _plain(value: str) -> bool:
    """A value no secret takes: a switch, a small number, an ARN or a reference."""
    return (value.lower() in ("", "true", "false", "yes", "no", "on", "off", "0", "1")
            or value.startswith(("arn:", "{{")))


def mask_value(value: Any, name: str = "") -> Any:
    """A JSON-shaped value for display: credential-shaped strings masked, and the value of
    anything named like a secret (`{"name": "DB_PASSWORD", "value": …}`, a key
    `"apiToken"`, a `tags` entry) masked as a whole."""
    if isinstance(value, str):
        if name and secret_name(name) and not _plain(value):
            return MASK
        return mask(value)
    if isinstance(value, Mapping):
        label = value.get("name", value.get("key"))
        if isinstance(label, str) and isinstance(value.get("value"), str):
            return {k: mask_value(v, label if k == "value" else "") for k, v in value.items()}
        return {k: mask_value(v, str(k)) for k, v in value.items()}
    if isinstance(value, (list, tuple)):  # a list's words are not named by its key
        return [mask_value(v) for v in value]
    return value


# ------------------------------------------------------------------------------- URLs


def url(text: str) -> str:
    """A URL as it may be written down: scheme, host, port and path; no user-info, no query,
    no fragment (where passwords and tokens go). Not a URL: `mask(text)`."""
    if "://" not in text:
        return mask(text)
    try:
        parts = urlsplit(text.strip())
        host = parts.hostname or ""
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return "<url>"
    return mask(f"{parts.scheme}://{host}{port}{parts.path}")


def _shown_url(match: re.Match[str]) -> str:
    """A URL inside text: user-info gone, a query said to exist but not shown."""
    found = match.group(0)
    try:
        query = "?…" if urlsplit(found).query else ""
    except ValueError:
        return "<url>"
    return url(found) + query


def scrub(text: str, secrets: Iterable[str] = ()) -> str:
    """`text` without the known secret values, credential-shaped strings, `token=…`-style
    values, nor URLs' user-info and query strings."""
    for secret in sorted((s for s in secrets if s and len(s) >= 6), key=len, reverse=True):
        text = text.replace(secret, MASK)
    text = mask(text)
    text = _URL.sub(_shown_url, text)
    return _ASSIGNED.sub(lambda m: f"{m.group(1)}{m.group(2)}{MASK}", text)


def secret_values(environ: Mapping[str, str]) -> list[str]:
    """Values of the process's variables whose names say they are secret
    (AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN, *_TOKEN, *PASSWORD*, the webhook URL)."""
    return [v for k, v in environ.items()
            if SECRET_NAMES.search(k) and len(v) >= 6 and not _plain(v)]


def scrub_argv(argv: Iterable[str], secrets: Iterable[str] = ()) -> list[str]:
    """A command line as it may be logged: the value of a secret option (`--notify URL`,
    `--notify=URL`, `--api-token x`) masked whole, every other word `scrub`bed."""
    secrets = list(secrets)
    out: list[str] = []
    hide_next = False
    for word in argv:
        if hide_next:
            out.append(MASK)
            hide_next = False
            continue
        option, eq, _ = word.partition("=")
        if option.startswith("--") and (option in SECRET_OPTIONS or secret_name(option[2:])):
            if eq:
                out.append(f"{option}={MASK}")
            else:
                out.append(word)
                hide_next = True
            continue
        out.append(scrub(word, secrets))
    return out


def ci_value(text: str | None) -> str:
    """A CI variable (BUILD_URL, BUILD_TAG, JOB_NAME) as a record may keep it: a URL without
    user-info and query, anything credential-shaped or `token=…` masked (also what an older
    record kept: its tag turned `?token=…` into `_token=…`)."""
    return scrub(url(text)) if text else ""
