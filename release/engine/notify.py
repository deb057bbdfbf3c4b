"""Notifications wired around the Reporter, so that deploy, wait and rollback need not know.

`notifications(reporter, root, url)` wraps the reporter of a releasing verb: every
event still goes to the console or JSON stream first, then to core/notify.py,
whose payloads are POSTed here (adapters/webhook.py) with bounded retries, a
backoff on the release clock and a timeout. A webhook that fails is one warning
event (`notify.failed`), never a failed release: nothing here raises into the
release, and after a delivery fails for good the run stops trying that URL, so
a dead webhook costs a run one timeout budget, not one per event.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from release.core import notify, records
from release.core.clock import default_clock
from release.core.errors import ReleaseError, UsageError

Post = Callable[[str, dict[str, Any], float], int]


class NotifyingReporter:
    """A Reporter (same methods) that also turns a release's moments into webhook posts."""

    def __init__(self, inner: Any, targets: Callable[[str], notify.Target | None],
                 post: Post | None = None) -> None:
        self._inner = inner
        self._targets = targets
        self._post = post
        environ = dict(os.environ)
        self._notes = notify.Notifications(records.ci_values()["BUILD_URL"] or None,
                                           notify.secret_values(environ))
        self._lock = threading.RLock()
        self._dead: set[str] = set()

    def emit(self, kind: str, message: str, level: str = "info", **data: Any) -> Any:
        event = self._inner.emit(kind, message, level, **data)
        if not kind.startswith("notify."):
            try:
                with self._lock:
                    payloads = self._notes.observe(kind, data, default_clock().now(),
                                                   threading.get_ident())
                for payload in payloads:
                    self.deliver(payload)
            except Exception as exc:  # noqa: BLE001 - a notification never fails a release
                self._warn(f"notification not sent: {type(exc).__name__}", None)
        return event

    def abort(self, reason: str, interrupted: bool = False) -> None:
        """The run ends on an error: releases that started and did not end say so."""
        try:
            with self._lock:
                payloads = self._notes.abort(reason, default_clock().now(), interrupted)
            for payload in payloads:
                self.deliver(payload)
        except Exception as exc:  # noqa: BLE001
            self._warn(f"notification not sent: {type(exc).__name__}", None)

    def deliver(self, payload: dict[str, Any]) -> None:
        """POST with retries; a final failure is a warning, and the URL is not tried again."""
        target = self._targets(str(payload.get("environment")))
        if target is None or target.url in self._dead:
            return
        post = self._post or _default_post()
        clock = default_clock()
        attempts = max(1, target.attempts)
        for attempt in range(1, attempts + 1):
            try:
                post(target.url, payload, target.timeout)
                self._inner.emit("notify.sent", f"notified {target.shown}: "
                                 f"{payload['outcome']}", "dim", outcome=payload["outcome"],
                                 webhook=target.shown, attempt=attempt)
                return
            except Exception as exc:  # noqa: BLE001 - WebhookError and anything else alike
                retry = getattr(exc, "retry", None)  # set by WebhookError, whose text is safe
                if not retry or attempt == attempts:
                    self._dead.add(target.url)
                    detail = str(exc) if retry is not None else type(exc).__name__
                    self._warn(f"notification to {target.shown} failed after {attempt} "
                               f"attempt(s): {detail}; the release goes on, and this run "
                               "sends no more to it", target, outcome=payload.get("outcome"))
                    return
                clock.sleep(notify.backoff(attempt))

    def _warn(self, message: str, target: notify.Target | None, **data: Any) -> None:
        self._inner.emit("notify.failed", message, "warn",
                         webhook=target.shown if target else None, **data)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


def _default_post() -> Post:
    from release.adapters.webhook import post_json

    return post_json


def environment_targets(root: Path, explicit: str | None
                        ) -> Callable[[str], notify.Target | None]:
    """env name → its Target, read once per environment from root's environment.json."""
    from release.core import documents

    cache: dict[str, notify.Target | None] = {}

    def target(env: str) -> notify.Target | None:
        if env not in cache:
            doc = None
            try:
                path = documents.discover(root, [env]).environments.get(env)
                doc = documents.read_json(path) if path else None
            except (documents.DocumentError, OSError, ValueError):
                doc = None  # validation reports it; a notification does not
            cache[env] = notify.target_of(doc if isinstance(doc, dict) else None, explicit,
                                          dict(os.environ))
        return cache[env]

    return target


@contextmanager
def notifications(reporter: Any, root: Path, url: str | None,
                  post: Post | None = None) -> Iterator[NotifyingReporter]:
    """The reporter a releasing verb uses; an error ending the run is notified too.

    A --notify or $RELEASE_NOTIFY_URL that is no http(s) URL is a usage error (exit 2)
    before anything is read or changed, not a warning at the first message."""
    given = [("--notify", url), (f"${notify.NOTIFY_VARIABLE}",
                                 os.environ.get(notify.NOTIFY_VARIABLE))]
    for where, value in given:
        problem = notify.url_problem(value) if value else None
        if problem:
            raise UsageError(f"{where} {problem}", "give the webhook's http:// or https:// URL "
                             "(a Slack incoming webhook or any endpoint that takes JSON); "
                             "nothing was done")
        if value:
            break  # --notify wins over the variable, which is then not read
    notifying = NotifyingReporter(reporter, environment_targets(root, url), post)
    try:
        yield notifying
    except ReleaseError as exc:
        notifying.abort(exc.message)
        raise
    except KeyboardInterrupt:
        notifying.abort("interrupted", interrupted=True)
        raise
