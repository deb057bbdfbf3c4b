"""The scale fault: Application Auto Scaling moves a service's count as a scaling policy does.

moto stores scalable targets and policies (RegisterScalableTarget, DescribeScalableTargets,
PutScalingPolicy) but no alarm ever fires a policy, so nothing scales. A revision's
container may declare `RELEASE_SANDBOX_FAULT=scale:to=N,after=S` (faults.py): once a task
of that revision has served (InService on its load balancers, or RUNNING without one)
for S seconds, the load asks for N tasks, and the emulator does what a scaling policy
then does to the service's desiredCount (ECS's UpdateService, which is all Application
Auto Scaling calls), following these pages:

- only a service registered as a scalable target (namespace ecs, ResourceId
  `service/<cluster>/<service>`, dimension ecs:service:DesiredCount) is scaled;
- within MinCapacity..MaxCapacity, and "If you set a service's desired count to below its
  minimum capacity value, and an alarm triggers a scale-out activity, Service Auto Scaling
  scales the desired count up to the minimum capacity value ... However, a scale-in
  activity does not adjust the desired count, because it is already below the minimum
  capacity value" (and the mirror sentence for the maximum: ECS developer guide,
  "Automatically scale your Amazon ECS service", Considerations);
- SuspendedState: DynamicScalingOutSuspended / DynamicScalingInSuspended true means no
  scale-out / scale-in "when a scaling policy is triggered" (Application Auto Scaling API
  reference, SuspendedState);
- "Application Auto Scaling turns off scale-in processes while Amazon ECS deployments are
  in progress, and they resume once the deployment has completed. However, scale-out
  processes continue to occur, unless suspended, during a deployment" (ECS developer guide,
  "Troubleshooting service auto scaling").

Cooldowns, CloudWatch metrics and the policy's own arithmetic are not modelled: the
fault names the count the policy arrives at.
"""

from __future__ import annotations

from typing import Any

from release_sandbox.world import LoadBalancers, ServiceRecord, World

DIMENSION = "ecs:service:DesiredCount"


class ScalingFaults:
    """Sets desiredCount as scaling policies would while tasks with a scale fault serve."""

    def __init__(self, world: World, balancers: list[LoadBalancers]) -> None:
        self.world = world
        self.balancers = balancers
        self.serving_since: dict[str, float] = {}  # task arn -> first tick seen serving

    @property
    def backend(self) -> Any:
        from moto.backends import get_backend

        return get_backend("applicationautoscaling")[self.world.account][self.world.region]

    def tick(self, now: float) -> None:
        asked: dict[str, int] = {}  # service key -> the count its load asks for
        for task in list(self.world.tasks.values()):
            wanted = task.fault.scale_to
            if wanted is None:
                continue
            record = self.world.services.get(task.service_key)
            if record is None or not self._serving(record, task):
                self.serving_since.pop(task.arn, None)
                continue
            since = self.serving_since.setdefault(task.arn, now)
            if now - since >= task.fault.scale_after:
                asked[task.service_key] = max(asked.get(task.service_key, 0), wanted)
        for key, wanted in asked.items():
            record = self.world.services.get(key)
            if record is not None:
                self.scale(record, wanted)

    def scale(self, record: ServiceRecord, wanted: int) -> int | None:
        """What a scaling policy asking for `wanted` tasks does: the new count, or None."""
        service = record.service
        target = self.target_of(record)
        if target is None:
            return None
        current = int(service.desired_count)
        suspended = target.suspended_state or {}
        low, high = int(target.min_capacity), int(target.max_capacity)
        if wanted > current:
            if suspended.get("DynamicScalingOutSuspended") or current >= high:
                return None
            new = min(max(wanted, low), high)
        elif wanted < current:
            if (suspended.get("DynamicScalingInSuspended") or self._deploying(record)
                    or current <= low):
                return None
            new = max(min(wanted, high), low)
        else:
            return None
        if new == current:
            return None
        service.desired_count = new
        if service.deployments:
            service.deployments[0]["desiredCount"] = new
        record.steady_reported_at = None
        return new

    def target_of(self, record: ServiceRecord) -> Any:
        cluster = record.service.cluster_name
        resource = f"service/{cluster}/{record.name}"
        return self.backend.targets.get(DIMENSION, {}).get(resource)

    @staticmethod
    def _deploying(record: ServiceRecord) -> bool:
        deployments = record.service.deployments or []
        return len(deployments) > 1 or any(
            d.get("rolloutState") == "IN_PROGRESS" for d in deployments[:1])

    def _serving(self, record: ServiceRecord, task: Any) -> bool:
        if task.status != "RUNNING" or not task.live:
            return False
        return all(b.serving(record, task) for b in self.balancers)
