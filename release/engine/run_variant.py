"""The run variant in AWS: the revision of `<family>-run` with the same content, or a new one.

What the variant is and why it has a family of its own: release/core/oneoff.py. Finding it
costs one ListTaskDefinitions and one ListTagsForResource per revision looked at (the
newest `LOOKBACK` of the variant family, newest first); registering it one
RegisterTaskDefinition with its two tags.
"""

from __future__ import annotations

from typing import Any

from release.core.oneoff import TAG_CONTENT, Variant, newest_first

LOOKBACK = 10  # revisions of the variant family compared before a new one is registered


def find(ecs: Any, variant: Variant) -> str | None:
    """The ARN of a revision of the variant family whose content tag equals the variant's."""
    answer = ecs.list_task_definitions(familyPrefix=variant.family, status="ACTIVE",
                                       sort="DESC", maxResults=LOOKBACK)
    for arn in newest_first(answer.get("taskDefinitionArns", []), variant.family)[:LOOKBACK]:
        tags = ecs.list_tags_for_resource(resourceArn=arn).get("tags", [])
        if any(t.get("key") == TAG_CONTENT and t.get("value") == variant.content for t in tags):
            return arn
    return None


def ensure(ecs: Any, variant: Variant) -> tuple[str, bool]:
    """(ARN of the variant, True when this call registered it)."""
    found = find(ecs, variant)
    if found:
        return found, False
    answer = ecs.register_task_definition(**variant.register, tags=variant.tags)
    return answer["taskDefinition"]["taskDefinitionArn"], True
