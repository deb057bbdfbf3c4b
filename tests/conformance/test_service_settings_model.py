"""core/service_settings's lists of service members are the installed ECS model's.

A botocore upgrade that lets UpdateService change another member (or takes one away)
fails here, not in a release that refuses a change ECS could make in place.
"""

from __future__ import annotations

import botocore.session

from release.core import service_settings


def _members(operation: str) -> set[str]:
    model = botocore.session.get_session().get_service_model("ecs")
    return set(model.operation_model(operation).input_shape.members)


def test_in_place_members_are_those_both_create_and_update_service_take() -> None:
    both = _members("CreateService") & _members("UpdateService")
    assert set(service_settings.IN_PLACE) == both - {"cluster", "taskDefinition"}


def test_create_only_members_are_those_update_service_does_not_take() -> None:
    only = _members("CreateService") - _members("UpdateService")
    assert set(service_settings.CREATE_ONLY) == only - set(service_settings.NOT_SETTINGS)


def test_members_read_from_the_deployment_are_on_the_deployment_shape_only() -> None:
    model = botocore.session.get_session().get_service_model("ecs")
    service, deployment = (set(model.shape_for(n).members) for n in ("Service", "Deployment"))
    for key in service_settings.ON_DEPLOYMENT:
        assert key in deployment and key not in service
    revision = set(model.shape_for("ServiceRevision").members)
    for key in service_settings.ON_REVISION:
        assert key in revision and key not in service and key not in deployment
