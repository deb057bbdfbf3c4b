"""Bootstrap's log-group step: the awslogs groups the environment's containers write to.

The awslogs driver does not create a group unless `awslogs-create-group` is true (ECS
developer guide, "Using the awslogs log driver": "If this option isn't specified, it
defaults to false"), and without its group a container fails to start. So bootstrap
creates each group the rendered task definitions name, in the environment's region,
when it is missing; an existing group (its retention, its tags) is the operator's.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from release.core.calls import ApiCall
from release.core.config import Environment


def plan_log_groups(logs: Any, env: Environment, groups: Iterable[tuple[str, str | None]]
                    ) -> tuple[list[ApiCall], list[str]]:
    """(CreateLogGroup calls for the missing groups, notes on groups left alone)."""
    calls: list[ApiCall] = []
    notes: list[str] = []
    for group, region in groups:
        if region and region != env.region:
            notes.append(f"log group {group} is in {region}, not {env.region}: not created "
                         "(see the logs-region validation rule)")
            continue
        if not _exists(logs, group):
            calls.append(ApiCall("logs", "create_log_group", {"logGroupName": group},
                                 "log group the awslogs driver writes to does not exist",
                                 f"log group {group}"))
    return calls, notes


def _exists(logs: Any, group: str) -> bool:
    """DescribeLogGroups by prefix, then the exact name (the prefix also matches others)."""
    for page in logs.get_paginator("describe_log_groups").paginate(logGroupNamePrefix=group):
        if any(g.get("logGroupName") == group for g in page.get("logGroups", [])):
            return True
    return False
