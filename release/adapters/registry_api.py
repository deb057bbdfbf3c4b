"""Does an image exist in a registry that is not ECR? One HEAD on its manifest.

The Docker Registry HTTP API V2 (the OCI distribution spec): `HEAD /v2/<name>/manifests/
<reference>` answers 200 with `Docker-Content-Digest` when the manifest exists and 404
(MANIFEST_UNKNOWN, NAME_UNKNOWN) when it does not. A registry that wants a token answers
401 with `WWW-Authenticate: Bearer realm=…,service=…,scope=…`; the anonymous token flow
(Docker's "Token Authentication Specification") is a GET on the realm with service and
scope, whose JSON `token` (or `access_token`) goes back as `Authorization: Bearer`. Only
public images can be told apart this way: a 401 or 403 after that means credentials are
needed (Docker Hub answers so for a repository that does not exist, too). Nothing here
raises: every outcome is an `Answer`, and an unreachable registry (no network) is one.
"""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass

FOUND, MISSING, DENIED, UNREACHABLE = "found", "missing", "denied", "unreachable"
TIMEOUT_SECONDS = 3.0
ACCEPT = ", ".join((
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.docker.distribution.manifest.v2+json",
))
# Docker Hub's API lives on another host than its name (`docker.io`).
API_HOSTS = {"docker.io": "registry-1.docker.io"}
LOCAL = ("localhost", "127.0.0.1", "[::1]")
_PARAM = re.compile(r'(\w+)="([^"]*)"')


@dataclass(frozen=True)
class Answer:
    state: str  # found | missing | denied | unreachable
    digest: str | None = None
    detail: str = ""  # what the registry (or the network) said


def manifest_url(registry: str, repository: str, reference: str) -> str:
    """Where the manifest is asked: http for a registry on this machine (Docker treats
    127.0.0.1 and localhost as insecure registries), https anywhere else."""
    host = API_HOSTS.get(registry, registry)
    scheme = "http" if host.split(":")[0] in LOCAL or host.startswith("[::1]") else "https"
    return f"{scheme}://{host}/v2/{repository}/manifests/{reference}"


def _head(url: str, token: str | None, timeout: float) -> tuple[int, dict[str, str]]:
    headers = {"Accept": ACCEPT, "User-Agent": "release-preflight"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(url, method="HEAD", headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as answer:  # noqa: S310
            return answer.status, dict(answer.headers.items())
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers.items()) if exc.headers else {}


def _token(challenge: str, timeout: float) -> str | None:
    """An anonymous pull token for a `Bearer realm=…` challenge, or None."""
    if not challenge.lower().startswith("bearer"):
        return None
    params = dict(_PARAM.findall(challenge))
    realm = params.pop("realm", "")
    if not realm.startswith(("https://", "http://")):
        return None
    url = realm + ("&" if "?" in realm else "?") + urllib.parse.urlencode(params)
    try:
        with urllib.request.urlopen(url, timeout=timeout) as answer:  # noqa: S310
            body = json.loads(answer.read() or b"{}")
    except (urllib.error.URLError, OSError, ValueError):
        return None
    return body.get("token") or body.get("access_token")


def _header(headers: dict[str, str], name: str) -> str:
    return next((v for k, v in headers.items() if k.lower() == name.lower()), "")


def lookup(registry: str, repository: str, reference: str,
           timeout: float = TIMEOUT_SECONDS) -> Answer:
    """Whether `registry` holds `repository` at `reference` (a tag or a digest)."""
    url = manifest_url(registry, repository, reference)
    try:
        status, headers = _head(url, None, timeout)
        if status == 401:
            token = _token(_header(headers, "WWW-Authenticate"), timeout)
            if token is not None:
                status, headers = _head(url, token, timeout)
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        return Answer(UNREACHABLE, detail=f"{registry} cannot be reached from here: {reason}")
    if status == 200:
        return Answer(FOUND, _header(headers, "Docker-Content-Digest") or None,
                      f"HEAD {url} answered 200")
    if status == 404:
        return Answer(MISSING, detail=f"HEAD {url} answered 404")
    if status in (401, 403):
        return Answer(DENIED, detail=f"HEAD {url} answered {status} without credentials")
    return Answer(UNREACHABLE, detail=f"HEAD {url} answered {status}")
