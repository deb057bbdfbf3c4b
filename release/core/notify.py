"""Release notifications as data: which events become a webhook message, and what it says.

A chat channel wants the moments of a release, not its event stream: it
started, it was released, it failed, it was rolled back (or could not be); a
native deployment also when it pauses at a PAUSE hook, and `release continue`
when the deployment it approved ends.
`Notifications` follows the events a release emits (output/events.py) and
returns, for those moments, a payload a Slack incoming webhook accepts (`text`)
carrying the same structured fields as the JSON events, so a bot can read it
too. Everything a payload says goes through `scrub` first: a webhook is a
third party, and neither the webhook's own URL (its path holds the Slack token)
nor a credential the process holds may reach it. Pure: the engine posts.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from release.core import redact
from release.core.deployments import short

STARTED, RELEASED, FAILED, ROLLED_BACK, NOT_RESTORED, INTERRUPTED, PAUSED = (
    "started", "released", "failed", "rolled_back", "not_restored", "interrupted", "paused")
TERMINAL = (RELEASED, ROLLED_BACK, NOT_RESTORED, INTERRUPTED, PAUSED)
ICONS = {STARTED: ":rocket:", RELEASED: ":white_check_mark:", FAILED: ":x:",
         ROLLED_BACK: ":leftwards_arrow_with_hook:", NOT_RESTORED: ":rotating_light:",
         INTERRUPTED: ":warning:", PAUSED: ":double_vertical_bar:"}
# the fields of the events a payload carries on, under the payload's own names
CARRIED = {"cause": "cause", "reason": "reason", "fix": "fix", "previous": "previous",
           "restored": "restored", "resume": "resume"}
# How a verb's final summary names an outcome no event announced (a native deployment that
# ECS could not restore ends with no event of its own).
SUMMARY_OUTCOMES = {"not_restored": NOT_RESTORED, "failed": FAILED}

SECRET_NAMES = redact.SECRET_NAMES  # names whose values are secret (core/redact.py)


def redact_url(url: str) -> str:
    """What may be shown of a webhook URL: scheme and host. Its path and query are the
    token (hooks.slack.com/services/T…/B…/<secret>), and its user-info a password."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or "?"
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return "<webhook>"
    return f"{parts.scheme or 'http'}://{host}{port}/…"


# A path segment no person names a route with: 16+ letters and digits mixed (Slack's
# hooks.slack.com/services/T…/B…/<24 characters>, Discord's /api/webhooks/<id>/<token>).
_TOKEN_SEGMENT = re.compile(
    r"^(?=[A-Za-z0-9_-]*[0-9])(?=[A-Za-z0-9_-]*[A-Za-z])[A-Za-z0-9_-]{16,}$")


def url_secret(url: str) -> str | None:
    """What in a webhook URL is a credential (its user-info, a query, a token-like path
    segment), or None. Such a URL written in git has leaked with every clone."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.username or parts.password:
        return "a user name or password"
    if parts.query:
        return "a query string"
    slack = (parts.hostname or "").endswith("hooks.slack.com") and parts.path.startswith(
        "/services/")  # Slack: "Keep it secret, keep it safe" (incoming webhooks guide)
    if slack or any(_TOKEN_SEGMENT.match(segment) for segment in parts.path.split("/")):
        return "a token in its path"
    return None


def scrub(text: str, secrets: Iterable[str] = ()) -> str:
    """`text` without the known secret values, credential-shaped strings, `token=…`-style
    values, nor URLs' user-info and query strings (core/redact.py)."""
    return redact.scrub(text, secrets)


def scrub_value(value: Any, secrets: Iterable[str]) -> Any:
    """`scrub` over every string in a JSON-shaped value."""
    secrets = list(secrets)
    if isinstance(value, str):
        return scrub(value, secrets)
    if isinstance(value, dict):
        return {k: scrub_value(v, secrets) for k, v in value.items()}
    if isinstance(value, list):
        return [scrub_value(v, secrets) for v in value]
    return value


def secret_values(environ: dict[str, str]) -> list[str]:
    """Values of the process's variables whose names say they are secret
    (AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN, *_TOKEN, *PASSWORD*, the webhook URL)."""
    return redact.secret_values(environ)


def digest_of(image: str | None) -> str | None:
    """sha256:… of an image reference (or the digest itself), None when it is a tag only."""
    if not image:
        return None
    if image.startswith("sha256:"):
        return image
    return image.partition("@")[2] or None


@dataclass
class _Release:
    """What is known of one service's release between its start and its end."""

    env: str
    service: str
    started_at: float
    action: str = "release"  # release | rollback (an operator's `release rollback`)
    commit: str | None = None
    image: str | None = None
    images: dict[str, str] | None = None  # {container: digest} of a several-image service
    revision: str | None = None
    phase: str = "releasing"  # releasing | failed | rolling_back
    last: str = STARTED


@dataclass
class Notifications:
    """Follows the events of a run; `observe` returns the payloads to post (often none).

    `lane` tells concurrent releases apart (apply releases services in threads): an
    event without env/service (release.registered, rollback.done) belongs to the
    release its lane last named."""

    build_url: str | None = None
    secrets: list[str] = field(default_factory=list)
    _releases: dict[tuple[str, str], _Release] = field(default_factory=dict)
    _lanes: dict[Any, tuple[str, str]] = field(default_factory=dict)

    def observe(self, kind: str, data: dict[str, Any], now: float, lane: Any = None
                ) -> list[dict[str, Any]]:
        if kind.endswith(".summary") and isinstance(data.get("outcomes"), list):
            return self._summary(data["outcomes"], now)
        key = self._key(data, lane)
        handler = _HANDLERS.get(kind)
        if handler is None or key is None:
            return []
        return [p for p in [handler(self, key, data, now)] if p is not None]

    def abort(self, reason: str, now: float, interrupted: bool = False) -> list[dict[str, Any]]:
        """The run ended on an error (or Ctrl-C): every release not yet ended says so."""
        outcome = INTERRUPTED if interrupted else FAILED
        payloads = [self._payload(r, outcome, now, {"reason": reason})
                    for r in self._releases.values() if r.last not in TERMINAL]
        self._releases.clear()
        return payloads

    def _key(self, data: dict[str, Any], lane: Any) -> tuple[str, str] | None:
        env, service = data.get("env"), data.get("service")
        if isinstance(env, str) and isinstance(service, str):
            self._lanes[lane] = (env, service)
            return env, service
        return self._lanes.get(lane)

    # ------------------------------------------------------------------ the moments

    def _start(self, key: tuple[str, str], data: dict[str, Any], now: float
               ) -> dict[str, Any]:
        images = data.get("images")
        release = _Release(key[0], key[1], now, commit=data.get("commit"),
                           image=data.get("image"), revision=data.get("revision"),
                           images=dict(images) if isinstance(images, dict)
                           and len(images) > 1 else None)
        self._releases[key] = release
        return self._payload(release, STARTED, now, {})

    def _registered(self, key: tuple[str, str], data: dict[str, Any], now: float) -> None:
        if key in self._releases:
            self._releases[key].revision = data.get("revision")

    def _released(self, key: tuple[str, str], data: dict[str, Any], now: float
                  ) -> dict[str, Any] | None:
        return self._end(key, RELEASED, data, now)

    def _wait_failed(self, key: tuple[str, str], data: dict[str, Any], now: float
                     ) -> dict[str, Any] | None:
        release = self._releases.get(key)
        if release is None:
            return None
        if release.phase == "rolling_back":
            return self._end(key, NOT_RESTORED, data, now)
        release.phase = "failed"
        return self._update(release, FAILED, data, now)

    def _rollback(self, key: tuple[str, str], data: dict[str, Any], now: float
                  ) -> dict[str, Any] | None:
        release = self._releases.get(key)
        if release is not None:  # a failed release rolling back: its failure was the news
            release.phase = "rolling_back"
            return None
        release = _Release(key[0], key[1], now, action="rollback",
                           revision=data.get("revision"), phase="rolling_back")
        self._releases[key] = release
        return self._payload(release, STARTED, now, {})

    def _rolled_back(self, key: tuple[str, str], data: dict[str, Any], now: float
                     ) -> dict[str, Any] | None:
        return self._end(key, ROLLED_BACK, data, now)

    def _interrupted(self, key: tuple[str, str], data: dict[str, Any], now: float
                     ) -> dict[str, Any] | None:
        return self._end(key, INTERRUPTED, data, now)

    def _paused(self, key: tuple[str, str], data: dict[str, Any], now: float
                ) -> dict[str, Any] | None:
        """A native deployment waits at a PAUSE hook: the channel hears it, with the command
        that approves it; `release continue` then reports how it ended."""
        return self._end(key, PAUSED, data, now)

    def _continued(self, key: tuple[str, str], data: dict[str, Any], now: float) -> None:
        """`release continue` took up a paused deployment: its end is the news, not this."""
        self._releases[key] = _Release(key[0], key[1], now, action="continue",
                                       commit=data.get("commit"), image=data.get("image"),
                                       revision=data.get("revision"))

    def _summary(self, outcomes: list[Any], now: float) -> list[dict[str, Any]]:
        """Releases the verb ended without an event saying how: their outcome, once."""
        payloads = []
        for outcome in outcomes:
            if not isinstance(outcome, dict):
                continue
            key = (str(outcome.get("env")), str(outcome.get("service")))
            release = self._releases.get(key)
            ended = SUMMARY_OUTCOMES.get(str(outcome.get("status")))
            if release is not None and release.last == STARTED and ended is not None:
                payload = self._end(key, ended, {"reason": outcome.get("message"),
                                                 "revision": outcome.get("revision"),
                                                 "fix": outcome.get("hint")}, now)
                payloads += [payload] if payload is not None else []
        return payloads

    def _service_error(self, key: tuple[str, str], data: dict[str, Any], now: float
                       ) -> dict[str, Any] | None:
        return self._end(key, FAILED, {"reason": data.get("message", "")}, now)

    def _update(self, release: _Release, outcome: str, data: dict[str, Any], now: float
                ) -> dict[str, Any]:
        release.last = outcome
        return self._payload(release, outcome, now, data)

    def _end(self, key: tuple[str, str], outcome: str, data: dict[str, Any], now: float
             ) -> dict[str, Any] | None:
        release = self._releases.pop(key, None)
        if release is None:
            return None
        release.revision = (data.get("revision") if release.action == "release" else
                            None) or release.revision
        return self._payload(release, outcome, now, data)

    # ------------------------------------------------------------------ the payload

    def _payload(self, release: _Release, outcome: str, now: float, data: dict[str, Any]
                 ) -> dict[str, Any]:
        fields: dict[str, Any] = {
            "outcome": outcome, "action": release.action, "environment": release.env,
            "service": release.service, "revision": release.revision,
            "digest": digest_of(release.image), "image": release.image,
            "commit": release.commit, "build_url": self.build_url,
            "duration_seconds": round(max(now - release.started_at, 0.0), 1)}
        if release.images:  # every built container's digest, when the service has several
            fields["images"] = release.images
        fields.update({name: data[key] for key, name in CARRIED.items() if data.get(key)})
        fields["text"] = text_of(fields)
        return scrub_value(fields, self.secrets)


_HANDLERS = {
    "release.plan": Notifications._start,
    "release.resume": Notifications._start,
    "release.finish": Notifications._start,  # a release an earlier run left unfinished
    "release.registered": Notifications._registered,
    "release.released": Notifications._released,
    "wait.failed": Notifications._wait_failed,
    "release.rollback": Notifications._rollback,
    "release.rolled_back": Notifications._rolled_back,
    "rollback.done": Notifications._rolled_back,
    "release.interrupted": Notifications._interrupted,
    "apply.service_error": Notifications._service_error,
    "release.paused": Notifications._paused,
    "continue.start": Notifications._continued,
}


def text_of(fields: dict[str, Any]) -> str:
    """The one line a person reads in the channel (Slack mrkdwn)."""
    where = f"{fields['environment']}/{fields['service']}"
    revision = short(fields.get("revision"), "?")
    verb = {STARTED: f"{fields['action']} started", RELEASED: f"released {revision}",
            FAILED: f"release of {revision} failed", ROLLED_BACK: "rolled back",
            NOT_RESTORED: "rollback did not settle: not restored, page the owner",
            INTERRUPTED: "interrupted",
            PAUSED: f"{revision} paused at a lifecycle hook"}[fields["outcome"]]
    parts = [f"{ICONS[fields['outcome']]} *{where}*: {verb}"]
    if fields.get("restored"):
        parts.append(f"to {str(fields['restored']).rsplit('/', 1)[-1]}")
    if fields.get("reason"):
        parts.append(f"— {fields['reason']}")
    if fields["outcome"] == PAUSED and fields.get("resume"):
        parts.append(f"— approve with `{fields['resume']}`")
    extras = [f"digest {str(fields['digest'])[:19]}" if fields.get("digest") else "",
              f"commit {str(fields['commit'])[:12]}" if fields.get("commit") else "",
              f"{fields['duration_seconds']:g} s" if fields["outcome"] != STARTED else "",
              f"<{fields['build_url']}|build>" if fields.get("build_url") else ""]
    extras = [e for e in extras if e]
    return " ".join(parts) + (f" ({', '.join(extras)})" if extras else "")


# ------------------------------------------------------------------------ where to

NOTIFY_VARIABLE = "RELEASE_NOTIFY_URL"
DEFAULT_TIMEOUT, DEFAULT_ATTEMPTS = 5.0, 3


@dataclass(frozen=True)
class Target:
    """Where one environment's notifications go, and how patiently."""

    url: str
    timeout: float = DEFAULT_TIMEOUT
    attempts: int = DEFAULT_ATTEMPTS

    @property
    def shown(self) -> str:
        return redact_url(self.url)


def target_of(env_doc: dict[str, Any] | None, explicit: str | None,
              environ: dict[str, str]) -> Target | None:
    """--notify, else $RELEASE_NOTIFY_URL, else environment.json /notify (its `url`, or the
    variable its `urlFromEnv` names: a Slack webhook URL is a secret and belongs in the CI's
    credentials, not in git). Timeout and attempts come from /notify when it sets them."""
    block = (env_doc or {}).get("notify")
    block = block if isinstance(block, dict) else {}
    url = explicit or environ.get(NOTIFY_VARIABLE) or block.get("url") or (
        environ.get(str(block["urlFromEnv"])) if block.get("urlFromEnv") else None)
    if not url:
        return None
    return Target(str(url), float(block.get("timeoutSeconds", DEFAULT_TIMEOUT)),
                  int(block.get("attempts", DEFAULT_ATTEMPTS)))


def url_problem(url: str) -> str | None:
    """Why `url` cannot be a webhook (None when it can): an http(s) URL with a host. Said
    without the URL (its path is a token); the scheme is named."""
    try:
        parts = urlsplit(url.strip())
        parts.port  # noqa: B018 - a port that is no number raises here
    except ValueError:
        return "is not an http(s) URL (it cannot be read as a URL)"
    if parts.scheme.lower() not in ("http", "https"):
        scheme = f"scheme {parts.scheme}:" if parts.scheme else "no scheme"
        return f"is not an http(s) URL ({scheme})"
    if not parts.hostname:
        return "is not an http(s) URL (no host)"
    return None


def backoff(attempt: int) -> float:
    """Seconds before attempt `attempt + 1` (1, 2, 4, … at most 8)."""
    return float(min(2 ** (attempt - 1), 8))
