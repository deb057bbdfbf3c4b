"""Which service settings an UpdateService changes in place, and which need a new service.

From the ECS API model (tests/conformance/test_service_settings_model.py holds these lists
to the installed model): a member of both the CreateService and the UpdateService request
is changed in place; one CreateService takes and UpdateService does not (`launchType`,
`role`, `schedulingStrategy`) is fixed when the service is created. Two of the in-place
members have limits the UpdateService reference states:

- loadBalancers: "For services that use rolling updates, you can add, update, or remove
  Elastic Load Balancing target groups"; a classic ELB (`loadBalancerName`) is fixed with
  the service's `role` at creation, so a change that involves one needs a new service.
- capacityProviderStrategy: "Update the Fargate launch type to an Auto Scaling group
  capacity provider. Update the Amazon EC2 launch type to a Fargate capacity provider. [...]
  Update the Auto Scaling group or Fargate capacity provider back to the launch type. Pass
  an empty list in the capacityProviderStrategy parameter." So launchType → strategy and
  strategy → launchType are in place, launchType → another launchType is not.

DescribeServices reports most settings on the service, but `serviceConnectConfiguration`,
`volumeConfigurations` and `vpcLatticeConfigurations` only on its deployments (the
Deployment shape); `live_settings` reads them from the PRIMARY deployment so a spec that
states them plans no change against what ECS keeps.
"""

from __future__ import annotations

from typing import Any

# CreateService ∩ UpdateService, less the cluster and the revision the release supplies.
IN_PLACE = ("desiredCount", "capacityProviderStrategy", "deploymentConfiguration",
            "availabilityZoneRebalancing", "networkConfiguration", "placementConstraints",
            "placementStrategy", "platformVersion", "healthCheckGracePeriodSeconds",
            "deploymentController", "enableExecuteCommand", "enableECSManagedTags",
            "loadBalancers", "propagateTags", "serviceRegistries", "serviceConnectConfiguration",
            "volumeConfigurations", "vpcLatticeConfigurations", "gatewayConnectors", "monitoring")
# CreateService only: fixed when the service is created.
CREATE_ONLY = ("launchType", "role", "schedulingStrategy")
# Not settings of a running service: its name (the key), one call's token, and its tags
# (TagResource, not UpdateService).
NOT_SETTINGS = ("serviceName", "clientToken", "tags")
# Members DescribeServices reports on the deployment rather than on the service.
ON_DEPLOYMENT = ("serviceConnectConfiguration", "volumeConfigurations",
                 "vpcLatticeConfigurations")
# Members DescribeServices does not report at all (DescribeServiceRevisions does).
ON_REVISION = ("gatewayConnectors", "monitoring")
SERVICE_LINKED = "/aws-service-role/"


def live_settings(service: dict[str, Any]) -> dict[str, Any]:
    """The service as a spec would state it: its members, plus the PRIMARY deployment's."""
    merged = dict(service)
    primary = next((d for d in service.get("deployments") or []
                    if d.get("status") == "PRIMARY"), None)
    for key in ON_DEPLOYMENT:
        if primary is not None and primary.get(key) is not None and key not in merged:
            merged[key] = primary[key]
    return merged


def is_service_linked(role_arn: str | None) -> bool:
    """The ECS service-linked role (AWSServiceRoleForECS): ECS uses it by itself, and a spec
    must not name it in `role` ("in which case you don't specify a role here")."""
    return bool(role_arn) and SERVICE_LINKED in str(role_arn)


def load_balancers_in_place(live: list[dict[str, Any]] | None,
                            wanted: list[dict[str, Any]] | None) -> bool:
    """Target groups change in place; a classic ELB on either side needs a new service
    (each kind's `updatable_in_place`)."""
    from release.core import balancers  # here: see rules/strategies._kind_of

    return all(kind.updatable_in_place
               for kind in balancers.of_entries([*(live or []), *(wanted or [])]))


def launch_change_in_place(live: dict[str, Any], wanted: dict[str, Any]) -> bool:
    """launchType ↔ capacityProviderStrategy is in place; one launch type to another is not."""
    live_type, wanted_type = live.get("launchType"), wanted.get("launchType")
    return wanted_type is None or live_type in (None, wanted_type)
