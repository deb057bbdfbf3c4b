"""Push a small image to the real sandbox registry over its HTTP API (as `docker push` does)."""

from __future__ import annotations

import base64
import hashlib
import json
import urllib.parse
import urllib.request

MANIFEST_V2 = "application/vnd.docker.distribution.manifest.v2+json"
IMAGE_CONFIG = "application/vnd.docker.container.image.v1+json"


def _request(url: str, password: str, method: str = "GET", data: bytes | None = None,
             content_type: str | None = None) -> tuple[int, dict[str, str], bytes]:
    headers = {"Authorization": "Basic " + base64.b64encode(f"AWS:{password}".encode()).decode()}
    if content_type:
        headers["Content-Type"] = content_type
    request = urllib.request.Request(url, data=data, method=method, headers=headers)
    with urllib.request.urlopen(request, timeout=10) as answer:
        return answer.status, dict(answer.headers), answer.read()


def push_image(registry_url: str, password: str, repository: str, tag: str) -> str:
    """Upload a config blob and a schema-2 manifest under `tag`; returns the registry's digest."""
    config = json.dumps({"architecture": "amd64", "os": "linux", "config": {},
                         "rootfs": {"type": "layers", "diff_ids": []}, "tag": tag}).encode()
    config_digest = "sha256:" + hashlib.sha256(config).hexdigest()
    _, headers, _ = _request(f"{registry_url}/v2/{repository}/blobs/uploads/", password, "POST",
                             b"")
    upload = urllib.parse.urljoin(registry_url, headers["Location"])
    separator = "&" if "?" in upload else "?"
    _request(f"{upload}{separator}digest={config_digest}", password, "PUT", config,
             "application/octet-stream")
    manifest = json.dumps({"schemaVersion": 2, "mediaType": MANIFEST_V2,
                           "config": {"mediaType": IMAGE_CONFIG, "size": len(config),
                                      "digest": config_digest},
                           "layers": []}).encode()
    status, headers, _ = _request(f"{registry_url}/v2/{repository}/manifests/{tag}", password,
                                  "PUT", manifest, MANIFEST_V2)
    assert status == 201
    return headers["Docker-Content-Digest"]
