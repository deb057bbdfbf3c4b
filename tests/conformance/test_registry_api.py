"""A third-party image is looked up by its registry's manifest API, as Docker Hub answers it.

A small HTTP registry on 127.0.0.1 speaks the Registry API V2 and Docker's token
authentication: `HEAD /v2/<name>/manifests/<ref>` answers 401 with `WWW-Authenticate:
Bearer realm=…,service=…,scope=repository:<name>:pull` until a token from the realm comes
with it, then 200 with `Docker-Content-Digest`, or 404. A private repository's anonymous
token is not enough (401 again). A closed port is a registry that cannot be reached: "not
checked", never an error (this machine has no internet, so Docker Hub itself is that).
"""

from __future__ import annotations

import http.server
import json
import socket
import threading
import urllib.parse
from collections.abc import Iterator
from typing import Any

import pytest
from preflight_support import PROJECT, Clients, context

from release.adapters import registry_api
from release.core.config import load_repo
from release.engine.preflight import images

DIGEST = "sha256:" + "4e" * 32
MANIFESTS = {("library/nginx", "1.27"): DIGEST, ("library/nginx", DIGEST): DIGEST}


class FakeRegistry(http.server.BaseHTTPRequestHandler):
    """Registry API V2 with anonymous bearer tokens; every request is recorded."""

    seen: list[tuple[str, str, str]] = []

    def log_message(self, *args: Any) -> None:
        return None

    def _realm(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/token"

    def do_GET(self) -> None:  # the token endpoint
        url = urllib.parse.urlparse(self.path)
        query = urllib.parse.parse_qs(url.query)
        self.seen.append(("GET", url.path, query.get("scope", [""])[0]))
        scope = query.get("scope", [""])[0]
        token = "weak" if ":private/" in scope else "pull-" + scope.split(":")[1]
        body = json.dumps({"token": token, "expires_in": 300}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_HEAD(self) -> None:
        _, _, rest = self.path.partition("/v2/")
        name, _, reference = rest.partition("/manifests/")
        self.seen.append(("HEAD", name, reference))
        if self.headers.get("Authorization") != f"Bearer pull-{name}":
            self.send_response(401)
            self.send_header("WWW-Authenticate", f'Bearer realm="{self._realm()}",'
                             f'service="registry.test",scope="repository:{name}:pull"')
            self.end_headers()
            return
        digest = MANIFESTS.get((name, reference))
        if digest is None:
            self.send_response(404)
            self.end_headers()
            return
        self.send_response(200)
        self.send_header("Docker-Content-Digest", digest)
        self.send_header("Content-Type", "application/vnd.oci.image.index.v1+json")
        self.end_headers()


@pytest.fixture
def registry() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), FakeRegistry)
    FakeRegistry.seen = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def closed_port() -> str:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return f"127.0.0.1:{probe.getsockname()[1]}"


def test_found_after_the_anonymous_token_flow_with_its_digest(registry) -> None:
    answer = registry_api.lookup(registry, "library/nginx", "1.27")
    assert (answer.state, answer.digest) == ("found", DIGEST)
    assert [s[0] for s in FakeRegistry.seen] == ["HEAD", "GET", "HEAD"]
    assert FakeRegistry.seen[1][2] == "repository:library/nginx:pull"


def test_missing_private_and_unreachable(registry) -> None:
    assert registry_api.lookup(registry, "library/nginx", "0.0").state == "missing"
    assert registry_api.lookup(registry, "private/agent", "1").state == "denied"
    offline = registry_api.lookup(closed_port(), "library/nginx", "1.27", timeout=1)
    assert offline.state == "unreachable" and "cannot be reached" in offline.detail


def test_a_sidecar_from_another_registry_is_checked_where_it_is_written(registry) -> None:
    repo = load_repo(PROJECT)
    env, spec = repo.environment("staging"), repo.services_of("staging")[0]
    offline = closed_port()
    ctx = context(env, spec, Clients(), repo=repo)
    ctx.taskdef["containerDefinitions"] = [
        {"name": "proxy", "image": f"{registry}/library/nginx:1.27"},
        {"name": "agent", "image": f"{registry}/library/nginx:0.0"},
        {"name": "router", "image": f"{offline}/fluent-bit:3"},
        {"name": "router-2", "image": f"{offline}/fluent-bit:4"}]
    results = images.check(ctx)
    assert [r.status for r in results] == ["ok", "problem", "not checked", "not checked"]
    assert DIGEST in results[0].message
    assert results[1].message.startswith("missing image: library/nginx:0.0 is not in ")
    assert results[1].where == "taskdefs/akka-firehose.json#/containerDefinitions/1/image"
    assert "cannot be reached" in results[2].message
    # an unreachable registry is asked once a preflight
    assert results[3].message == results[2].message
