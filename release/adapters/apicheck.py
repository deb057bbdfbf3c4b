"""Offline check of rendered API input against botocore's ECS service model.

Why: the schemas describe the fields people write; botocore's ParamValidator
is what boto3 itself would refuse before sending anything, so running it on
the rendered register-task-definition input catches what slipped between the
two (e.g. 2.0 where the API wants an integer) without a network call. Only
botocore's loader, model and validator are imported (not boto3), and only
when a repository has a service to check.

This is the edge's half of the `api-register-task-definition` rule: the pure
core knows only the `RequestCheck` type (release/core/findings.py) and the
commands pass `register_task_definition_problems` in.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any


@lru_cache(maxsize=4)
def _input_shape(operation: str):
    from botocore.loaders import Loader
    from botocore.model import ServiceModel

    model = Loader().load_service_model("ecs", "service-2")
    return ServiceModel(model, "ecs").operation_model(operation).input_shape


@lru_cache(maxsize=1)
def _validator():
    from botocore.validate import ParamValidator

    return ParamValidator()


def api_problems(operation: str, params: dict[str, Any]) -> list[str]:
    """botocore's report for `params`, one line per problem (empty when valid)."""
    report = _validator().validate(params, _input_shape(operation))
    if not report.has_errors():
        return []
    return [line.strip() for line in report.generate_report().splitlines() if line.strip()]


def register_task_definition_problems(params: dict[str, Any]) -> list[str]:
    """botocore's RequestCheck for RegisterTaskDefinition (see release.core.findings)."""
    return api_problems("RegisterTaskDefinition", params)
