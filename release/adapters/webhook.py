"""One JSON POST to a webhook (Slack incoming webhooks and anything that takes JSON).

Errors say what happened without the URL: its path and query are the token.
"""

from __future__ import annotations

import json
import urllib.error
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
    body = json.dumps(payload, default=str).encode()
    request = urllib.request.Request(url, data=body, method="POST", headers={
        "Content-Type": "application/json", "User-Agent": USER_AGENT})
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
    except (OSError, ValueError) as exc:
        raise WebhookError(f"connection failed ({type(exc).__name__})", retry=True) from None
