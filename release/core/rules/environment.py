"""environment.json's own values that no schema can judge: dates and where secrets go.

Why: the scan gate's allow-list is read as calendar dates when a release is judged;
"2026-02-30" fits the schema's YYYY-MM-DD pattern but is no day, and would end a
release in an error instead of validation naming it. A notify URL is a credential
(a Slack webhook's path is its token): written in git it has leaked with every clone.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

from release.core import notify
from release.core.findings import ERROR, WARNING, Finding
from release.core.rules.base import Context, finding, rule
from release.core.template_checks import is_opaque


@rule("scan-gate-date", ERROR, "each ecr.scanGate.allow entry's `until` is a day that exists "
      "(YYYY-MM-DD)", "write a real date, e.g. 2026-02-28 (the last day the finding is "
      "accepted)")
def scan_gate_date(ctx: Context) -> Iterator[Finding]:
    for rel, env in ctx.environments.values():
        gate = (env.doc.get("ecr") or {}).get("scanGate")
        allow = gate.get("allow") if isinstance(gate, dict) else None
        for index, entry in enumerate(allow if isinstance(allow, list) else []):
            until = entry.get("until") if isinstance(entry, dict) else None
            if not isinstance(until, str) or is_opaque(until):
                continue
            try:
                dt.date.fromisoformat(until)
            except ValueError as exc:
                yield finding("scan-gate-date", rel, f"/ecr/scanGate/allow/{index}/until",
                              f"{until!r} is not a date ({exc})")


@rule("notify-url-secret", WARNING, "environment.json's /notify/url holds no credential (a "
      "user name or password, a query string, a token in the path such as a Slack webhook's)",
      "keep the URL in the CI's credentials and name its variable: \"notify\": "
      "{\"urlFromEnv\": \"SLACK_WEBHOOK_URL\"} (or set $RELEASE_NOTIFY_URL)")
def notify_url_secret(ctx: Context) -> Iterator[Finding]:
    for rel, env in ctx.environments.values():
        block = env.doc.get("notify")
        url = block.get("url") if isinstance(block, dict) else None
        if not isinstance(url, str) or is_opaque(url):
            continue
        secret = notify.url_secret(url)
        if secret:
            yield finding("notify-url-secret", rel, "/notify/url",
                          f"the notify URL holds {secret}, which is a credential: in git, "
                          "everyone with a clone can post to the channel")


CHECKS = (scan_gate_date, notify_url_secret)
