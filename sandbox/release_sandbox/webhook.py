"""A local webhook receiver: what a Slack incoming webhook is to `release --notify`.

It listens on 127.0.0.1, records every request (path, headers, JSON body) and
answers 200 "ok" as Slack does, unless told to answer an error status or to hang
(hold the request without answering) so that the tool's retries, timeout and
"a failing webhook never fails the release" can be shown. Tests use it
in-process; `python -m release_sandbox.webhook [--port N]` runs it for a demo
and prints each message's text.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

# the shape of a Slack incoming-webhook URL; the last part is the secret
TOKEN_PATH = "/services/T0SANDBOX/B0SANDBOX/sandboxWebhookToken0123"


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: Any  # the JSON payload, or the raw text when it was not JSON
    raw: str


class WebhookReceiver:
    """Start with `with WebhookReceiver() as hook:`; `hook.url` is where to POST."""

    def __init__(self, port: int = 0, echo: bool = False) -> None:
        self.requests: list[Received] = []
        self._status = 200
        self._failures: int | None = None  # answer `_status` this many times (None: always)
        self._hang = threading.Event()
        self._release = threading.Event()
        self._lock = threading.Lock()
        self.echo = echo
        self._server = ThreadingHTTPServer(("127.0.0.1", port), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,),
                                        daemon=True, name="sandbox-webhook")

    # ------------------------------------------------------------------ control

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}{TOKEN_PATH}"

    def answer(self, status: int, times: int | None = None) -> None:
        """Answer `status` (e.g. 500) to the next `times` requests, or to all of them."""
        with self._lock:
            self._status, self._failures = status, times

    def hang(self, on: bool = True) -> None:
        """Hold every request without an answer until `hang(False)` or `stop()`."""
        if on:
            self._release.clear()
            self._hang.set()
        else:
            self._hang.clear()
            self._release.set()

    def bodies(self) -> list[Any]:
        with self._lock:
            return [r.body for r in self.requests]

    # ------------------------------------------------------------------ serving

    def _next_status(self) -> int:
        with self._lock:
            if self._status == 200:
                return 200
            if self._failures is None:
                return self._status
            if self._failures > 0:
                self._failures -= 1
                return self._status
            return 200

    def _record(self, handler: BaseHTTPRequestHandler, raw: str) -> None:
        try:
            body: Any = json.loads(raw)
        except ValueError:
            body = raw
        with self._lock:
            self.requests.append(Received(handler.path, dict(handler.headers), body, raw))
        if self.echo:
            text = body.get("text") if isinstance(body, dict) else raw
            print(f"webhook: {text}", flush=True)

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                return None

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length).decode("utf-8", "replace")
                receiver._record(self, raw)
                if receiver._hang.is_set():
                    receiver._release.wait(60)
                    return  # no answer: the client's timeout is what ends it
                status = receiver._next_status()
                body = b"ok" if status == 200 else b"internal_error"
                self.send_response(status)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        return Handler

    def start(self) -> WebhookReceiver:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._release.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> WebhookReceiver:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="A local webhook receiver for the sandbox.")
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args(argv)
    receiver = WebhookReceiver(args.port, echo=True).start()
    print(f"webhook: listening at {receiver.url}", flush=True)
    with contextlib.suppress(KeyboardInterrupt):
        threading.Event().wait()
    receiver.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
