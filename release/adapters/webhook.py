"""One JSON POST to a webhook (Slack incoming webhooks and anything that takes JSON).

Errors say what happened without the URL: its path and query are the token.
"""

from __future__ import annotations

import base64
import http.client
import json
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

USER_AGENT = "release-notify/1"


class WebhookError(Exception):
    """A delivery that did not succeed; `retry` when trying again may help (5xx, 429,
    a timeout, a refused or broken connection), not for other 4xx (a revoked token)."""

    def __init__(self, message: str, retry: bool) -> None:
        super().__init__(message)
        self.retry = retry


def post_json(url: str, payload: dict[str, Any], timeout: float) -> int:
    """POST `payload`; the HTTP status when 2xx, else WebhookError."""
    if not url.lower().startswith(("http://", "https://")):
        raise WebhookError("the webhook URL is not http(s)", retry=False)
    url, auth = _without_user_info(url)
    body = json.dumps(payload, default=str).encode()
    headers = {"Content-Type": "application/json", "User-Agent": USER_AGENT}
    if auth:
        headers["Authorization"] = auth
    request = urllib.request.Request(url, data=body, method="POST", headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as answer:  # noqa: S310
            answer.read(65536)
            return int(answer.status)
    except urllib.error.HTTPError as exc:
        raise WebhookError(f"HTTP {exc.code}", retry=exc.code >= 500 or exc.code == 429) \
            from None
    except TimeoutError:
        raise WebhookError(f"no answer within {timeout:g} s", retry=True) from None
    except urllib.error.URLError as exc:
        reason = exc.reason
        if isinstance(reason, TimeoutError):
            raise WebhookError(f"no answer within {timeout:g} s", retry=True) from None
        what = type(reason).__name__ if isinstance(reason, OSError) else "unreachable"
        raise WebhookError(f"cannot connect ({what})", retry=True) from None
    except (OSError, ValueError, http.client.HTTPException) as exc:
        raise WebhookError(f"connection failed ({type(exc).__name__})", retry=True) from None


def _without_user_info(url: str) -> tuple[str, str | None]:
    """A URL's `user:password@` as HTTP Basic credentials (RFC 7617), and the URL without
    them: urllib takes user-info for part of the host and never sends it."""
    parts = urllib.parse.urlsplit(url)
    if parts.username is None and parts.password is None:
        return url, None
    host = parts.netloc.rpartition("@")[2]
    pair = f"{urllib.parse.unquote(parts.username or '')}:" \
           f"{urllib.parse.unquote(parts.password or '')}"
    return (urllib.parse.urlunsplit(parts._replace(netloc=host)),
            "Basic " + base64.b64encode(pair.encode()).decode())
