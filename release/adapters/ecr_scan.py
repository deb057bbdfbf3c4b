"""DescribeImageScanFindings for one image, every page: the read behind the scan gate."""

from __future__ import annotations

from typing import Any

from release.core.config import Environment

MAX_PAGES = 50  # 1,000 findings a page: a bound, not a limit anyone meets


def image_id_of(digest: str | None, tag: str | None) -> dict[str, str]:
    return {"imageDigest": digest} if digest else {"imageTag": tag or "latest"}


def scan_pages(ecr: Any, env: Environment, image_id: dict[str, str],
               repository: str | None = None) -> list[dict[str, Any]]:
    """The response pages of the image in `repository` (default the environment's),
    following nextToken; [] when ECR has no scan of the image (ScanNotFoundException).
    ImageNotFound and access errors propagate to the caller's aws_step (a missing image is
    preflight's problem before this, exit 5 for credentials)."""
    pages: list[dict[str, Any]] = []
    params: dict[str, Any] = {"registryId": env.account,
                              "repositoryName": repository or env.ecr_repository,
                              "imageId": image_id, "maxResults": 1000}
    try:
        for _ in range(MAX_PAGES):
            page = ecr.describe_image_scan_findings(**params)
            page.pop("ResponseMetadata", None)
            pages.append(page)
            if not page.get("nextToken"):
                break
            params["nextToken"] = page["nextToken"]
    except ecr.exceptions.ScanNotFoundException:
        return []
    return pages
