"""Application Auto Scaling: the service's scalable target, read once per release.

DescribeScalableTargets with namespace `ecs`, the service's ResourceId and the
`ecs:service:DesiredCount` dimension answers at most one target. A role that may
not read it (AccessDeniedException) is a warning, not a failure: the release
then uses the spec's count as before, and its plan says so (core/autoscaling.py).
Any other error is the call's own (exit 5 unreachable, exit 1 refused).
"""

from __future__ import annotations

from typing import Any

from release.core import autoscaling
from release.core.config import Environment, ServiceSpec

# the codes AWS answers when the caller's policy does not allow the action
DENIED_CODES = frozenset({"AccessDeniedException", "AccessDenied", "UnauthorizedOperation",
                          "UnauthorizedException"})


def read(aws: Any, env: Environment, spec: ServiceSpec) -> autoscaling.Scaling:
    """The scalable target of the service (Scaling(None) when it has none)."""
    import botocore.exceptions

    from release.adapters.aws import error_code

    rid = autoscaling.resource_id(env.cluster, spec.service_name)
    try:
        response = aws.application_autoscaling.describe_scalable_targets(
            ServiceNamespace=autoscaling.NAMESPACE, ResourceIds=[rid],
            ScalableDimension=autoscaling.DIMENSION)
    except botocore.exceptions.ClientError as exc:
        code = error_code(exc)
        if code not in DENIED_CODES:
            raise
        message = exc.response.get("Error", {}).get("Message", "")
        return autoscaling.Scaling(None, f"{code}: {message}".rstrip(": "))
    for target in response.get("ScalableTargets", []):
        if (target.get("ResourceId") == rid
                and target.get("ScalableDimension") == autoscaling.DIMENSION):
            return autoscaling.Scaling(autoscaling.ScalableTarget.from_api(target))
    return autoscaling.Scaling(None)
