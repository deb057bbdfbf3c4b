"""Two facts about ECS services that every part of the tool reads the same way."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def short(arn: Any, missing: str = "none") -> str:
    """`akka-demo:7` out of a task-definition ARN (a task id out of a task ARN), for messages."""
    return str(arn).rsplit("/", 1)[-1] if arn else missing


def primary(service: Mapping[str, Any] | None) -> Mapping[str, Any] | None:
    """The service's PRIMARY deployment: the one ECS is rolling out (or has rolled out)."""
    deployments = (service or {}).get("deployments", [])
    return next((d for d in deployments if d.get("status") == "PRIMARY"), None)
