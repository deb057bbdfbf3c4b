"""ECS-native deployment strategies (BLUE_GREEN, LINEAR, CANARY) and the service-deployment API.

moto 5 has neither the strategies nor ListServiceDeployments,
DescribeServiceDeployments, StopServiceDeployment, ContinueServiceDeployment or
DescribeServiceRevisions; the sandbox answers them (moto_hooks adds the five
actions) from the lifecycle kept here. What it follows (ECS API reference and
developer guide):

* ServiceRevision.taskDefinition, "The task definition the service revision
  uses": DescribeServiceRevisions answers the revisions the deployments made
  (blue and green, each with its task definition); another ARN is a failure.

* DeploymentLifecycleHook.lifecycleStages / ServiceDeployment.lifecycleStage:
  "PRE_SCALE_UP The green service revision has not started. The blue service
  revision is handling 100% of the production traffic"; "SCALE_UP The stage when
  the green service revision scales up to 100% and launches new tasks. The green
  service revision is not serving any traffic at this point"; POST_SCALE_UP;
  "TEST_TRAFFIC_SHIFT ... The green service revision is migrating from 0% to 100%
  of test traffic"; POST_TEST_TRAFFIC_SHIFT; "PRE_PRODUCTION_TRAFFIC_SHIFT Occurs
  before production traffic shift. For linear and canary deployments, this stage
  is invoked before every traffic shift step"; "PRODUCTION_TRAFFIC_SHIFT ... For
  linear and canary deployments, this stage is invoked at every traffic shift
  step"; POST_PRODUCTION_TRAFFIC_SHIFT; "BAKE_TIME The stage when both blue and
  green service revisions are running simultaneously after the production
  traffic has shifted"; "CLEAN_UP The stage when the blue service revision has
  completely scaled down to 0 running tasks". "RECONCILE_SERVICE ... only happens
  when you start a new service deployment with more than 1 service revision in
  an ACTIVE state" (the sandbox never has two, so never enters it).
* DeploymentConfiguration.bakeTimeInMinutes; LinearConfiguration ("stepPercent
  ... The default value is 10.0", "stepBakeTimeInMinutes ... The default value is
  6. This bake time is not applied after reaching 100 percent traffic");
  CanaryConfiguration (canaryPercent default 5.0, canaryBakeTimeInMinutes
  default 10, "then shifts the remaining traffic all at once").
* DeploymentLifecycleHook.targetType "PAUSE - Pauses the deployment at the
  specified lifecycle stage until you call ContinueServiceDeployment to continue
  or roll back"; timeoutConfiguration: timeoutInMinutes "Default: 1440",
  action "Default: ROLLBACK".
* DeploymentAlarms / ServiceDeployment.alarms: the CloudWatch alarms "that
  determine when a service deployment fails"; with rollback, the deployment is
  rolled back (ROLLBACK_IN_PROGRESS → ROLLBACK_SUCCESSFUL) to the blue revision,
  which still runs until CLEAN_UP.
* StopServiceDeployment: "ROLLBACK - This option rolls back the service
  deployment to the previous service revision. You can use this option even if
  you didn't configure the service deployment for the rollback option."

Sandbox choices (not from AWS): one stage transition per tick at most;
AWS_LAMBDA hooks succeed at once (no Lambda runs here); the alarm is read from
moto's CloudWatch (SetAlarmState puts it in ALARM) throughout the deployment;
alarms without rollback only report TRIGGERED; ROLLBACK_FAILED only when the
service's first deployment (no blue) is rolled back; a
blue/green strategy behind a classic ELB is not refused as ECS would.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from release.core.service_deployments import NATIVE_STRATEGIES, shift_steps
from release.core.serving import epoch
from release_sandbox.world import ServiceRecord, World, stamp

HOOK_TIMEOUT_MINUTES, HOOK_TIMEOUT_ACTION = 1440, "ROLLBACK"
IN_FLIGHT = ("PENDING", "IN_PROGRESS")
ROLLING_BACK = ("ROLLBACK_REQUESTED", "ROLLBACK_IN_PROGRESS")
NEXT = {"PRE_SCALE_UP": "SCALE_UP", "POST_SCALE_UP": "TEST_TRAFFIC_SHIFT",
        "TEST_TRAFFIC_SHIFT": "POST_TEST_TRAFFIC_SHIFT",
        "POST_PRODUCTION_TRAFFIC_SHIFT": "BAKE_TIME"}


def _ecs_error(code: str, message: str) -> Exception:
    from moto.ecs.exceptions import ECSException

    return ECSException(code, message)


@dataclass
class Lifecycle:
    """One service deployment of a native strategy, as DescribeServiceDeployments shows it."""

    arn: str
    service_key: str
    service_arn: str
    cluster_arn: str
    config: dict[str, Any]
    blue: tuple[str, str, str]  # (service revision arn, deployment id, task definition)
    green: tuple[str, str, str]
    created: float
    status: str = "PENDING"
    stage: str = "PRE_SCALE_UP"
    stage_since: float = 0.0
    step: int = 0
    test_weight: float = 0.0
    production_weight: float = 0.0
    reason: str = ""
    started: float | None = None
    finished: float | None = None
    stopped: float | None = None
    updated: float = 0.0
    rollback: dict[str, Any] | None = None
    triggered: list[str] = field(default_factory=list)
    hooks: dict[str, dict[str, Any]] = field(default_factory=dict)  # key -> hook detail

    @property
    def steps(self) -> list[tuple[float, int]]:
        return shift_steps(self.config)


class NativeDeployments:
    """The lifecycle of native-strategy deployments, ticked with the scheduler."""

    def __init__(self, world: World) -> None:
        self.world = world
        self.deployments: dict[str, Lifecycle] = {}  # arn -> lifecycle
        self.revisions: dict[str, str] = {}  # service key -> its current service revision arn
        self.service_revisions: dict[str, dict[str, Any]] = {}  # arn -> ServiceRevision

    # -- what the scheduler asks --------------------------------------------------------

    def native(self, record: ServiceRecord) -> bool:
        return str(record.config().get("strategy") or "ROLLING") in NATIVE_STRATEGIES

    def current(self, record: ServiceRecord) -> Lifecycle | None:
        mine = [d for d in self.deployments.values() if d.service_key == record.key]
        return max(mine, key=lambda d: d.created) if mine else None

    def holds_launch(self, record: ServiceRecord) -> bool:
        """Green tasks start only at SCALE_UP (PRE_SCALE_UP: "has not started")."""
        lc = self.current(record)
        return lc is not None and lc.status in IN_FLIGHT and lc.stage == "PRE_SCALE_UP"

    def scales_to_double(self, record: ServiceRecord) -> bool:
        """Blue keeps all its tasks while green scales up to 100 %."""
        lc = self.current(record)
        return lc is not None and (lc.status in IN_FLIGHT or lc.status in ROLLING_BACK)

    def holds_blue(self, record: ServiceRecord) -> bool:
        """Blue's tasks run until CLEAN_UP (a rollback shifts traffic back to them)."""
        lc = self.current(record)
        return lc is not None and lc.status in IN_FLIGHT and lc.stage != "CLEAN_UP"

    # -- UpdateService --------------------------------------------------------------------

    def deployment_started(self, record: ServiceRecord, blue: dict[str, Any] | None,
                           green: dict[str, Any], now: float) -> None:
        """A new deployment of a native-strategy service: its service deployment begins."""
        if not self.native(record):
            return
        service = record.service
        base = (f"arn:aws:ecs:{self.world.region}:{self.world.account}:"
                f"{{}}/{service.cluster_name}/{service.name}/")
        blue_revision = self.revisions.get(record.key) or (
            base.format("service-revision") + uuid.uuid4().hex[:19])
        green_revision = base.format("service-revision") + uuid.uuid4().hex[:19]
        self.revisions[record.key] = green_revision
        arn = base.format("service-deployment") + uuid.uuid4().hex[:22]
        for revision, taskdef in ((blue_revision, (blue or {}).get("taskDefinition")),
                                  (green_revision, green["taskDefinition"])):
            if taskdef and revision not in self.service_revisions:
                self.service_revisions[revision] = {
                    "serviceRevisionArn": revision, "serviceArn": service.arn,
                    "clusterArn": service.cluster_arn, "taskDefinition": taskdef,
                    "createdAt": stamp(now)}
        self.deployments[arn] = Lifecycle(
            arn=arn, service_key=record.key, service_arn=service.arn,
            cluster_arn=service.cluster_arn, config=dict(record.config()),
            blue=(blue_revision, (blue or {}).get("id", ""), (blue or {}).get("taskDefinition",
                                                                               "")),
            green=(green_revision, green["id"], green["taskDefinition"]), created=now,
            stage_since=now, updated=now)

    # -- the clock --------------------------------------------------------------------------

    def tick(self, now: float, healthy: Any, start_deployment: Any) -> None:
        for lc in list(self.deployments.values()):
            record = self.world.services.get(lc.service_key)
            if record is None:
                continue
            if lc.status in ROLLING_BACK:
                self._rolling_back(lc, record, now, start_deployment)
            elif lc.status in IN_FLIGHT:
                self._advance(lc, record, now, healthy, start_deployment)

    def _advance(self, lc: Lifecycle, record: ServiceRecord, now: float, healthy: Any,
                 start_deployment: Any) -> None:
        if lc.status == "PENDING":
            lc.status, lc.started, lc.updated = "IN_PROGRESS", now, now
            self._enter(lc, "PRE_SCALE_UP", now)
        if self._alarmed(lc, record, now, start_deployment):
            return
        if not self._hooks_done(lc, lc.stage, now, record, start_deployment):
            return
        stage = lc.stage
        if stage in NEXT:
            if stage == "POST_SCALE_UP":
                lc.test_weight = 100.0
            self._enter(lc, NEXT[stage], now)
        elif stage == "SCALE_UP":
            green = [t for t in self.world.service_tasks(record) if t.deployment_id == lc.green[1]]
            if sum(1 for t in green if healthy(record, t)) >= int(record.service.desired_count):
                self._enter(lc, "POST_SCALE_UP", now)
        elif stage == "POST_TEST_TRAFFIC_SHIFT":
            self._shift(lc, record, 0, now, start_deployment)
        elif stage == "PRODUCTION_TRAFFIC_SHIFT":
            _percent, bake = lc.steps[lc.step]
            if now - lc.stage_since < bake * 60:
                return
            if lc.step + 1 < len(lc.steps):
                self._shift(lc, record, lc.step + 1, now, start_deployment)
            else:
                self._enter(lc, "POST_PRODUCTION_TRAFFIC_SHIFT", now)
        elif stage == "BAKE_TIME":
            if now - lc.stage_since >= int(lc.config.get("bakeTimeInMinutes") or 0) * 60:
                self._enter(lc, "CLEAN_UP", now)
        elif stage == "CLEAN_UP" and not any(t.deployment_id == lc.blue[1]
                                             and t.holds_resources
                                             for t in self.world.service_tasks(record)):
                lc.status, lc.finished, lc.updated = "SUCCESSFUL", now, now
                self.world.event(record, f"(service-deployment {lc.arn.rsplit('/', 1)[-1]}) "
                                 "service deployment completed.", now)

    def _shift(self, lc: Lifecycle, record: ServiceRecord, step: int, now: float,
               start_deployment: Any) -> None:
        """One production traffic step, after its PRE_PRODUCTION_TRAFFIC_SHIFT hooks."""
        if not self._hooks_done(lc, f"PRE_PRODUCTION_TRAFFIC_SHIFT#{step}", now, record,
                                start_deployment):
            return
        lc.step, lc.production_weight = step, lc.steps[step][0]
        self._enter(lc, "PRODUCTION_TRAFFIC_SHIFT", now)
        self.world.event(record, f"shifted {lc.production_weight:g}% of production traffic "
                         "to the new service revision.", now)

    def _enter(self, lc: Lifecycle, stage: str, now: float) -> None:
        lc.stage, lc.stage_since, lc.updated = stage, now, now

    # -- hooks --------------------------------------------------------------------------------

    def _hooks_done(self, lc: Lifecycle, stage: str, now: float, record: ServiceRecord,
                    start_deployment: Any) -> bool:
        """Every hook at `stage` has run (a PAUSE hook: continued); False while one waits."""
        name = stage.split("#", 1)[0]
        for n, hook in enumerate(lc.config.get("lifecycleHooks") or []):
            if name not in (hook.get("lifecycleStages") or []):
                continue
            key = f"{stage}:{n}"
            detail = lc.hooks.get(key)
            if detail is None:
                timeout = hook.get("timeoutConfiguration") or {}
                kind = hook.get("targetType") or "AWS_LAMBDA"
                detail = lc.hooks[key] = {
                    "hookId": uuid.uuid4().hex, "targetType": kind,
                    "status": "AWAITING_ACTION" if kind == "PAUSE" else "SUCCEEDED",
                    "expiresAt": stamp(now + 60 * int(timeout.get("timeoutInMinutes",
                                                                  HOOK_TIMEOUT_MINUTES))),
                    "timeoutAction": timeout.get("action", HOOK_TIMEOUT_ACTION)}
                if kind != "PAUSE":
                    detail["targetArn"] = hook.get("hookTargetArn", "")
                lc.updated = now
            if detail["status"] != "AWAITING_ACTION":
                continue
            if now >= detail["expiresAt"].timestamp():
                detail["status"] = "TIMED_OUT"
                if detail["timeoutAction"] == "ROLLBACK":
                    self._start_rollback(lc, record, "lifecycle hook timed out", now,
                                         start_deployment)
                    return False
                continue
            return False
        return True

    def continue_hook(self, arn: str, hook_id: str, action: str, now: float,
                      start_deployment: Any) -> None:
        lc = self._get(arn)
        detail = next((d for d in lc.hooks.values() if d["hookId"] == hook_id), None)
        if detail is None or detail["status"] != "AWAITING_ACTION" or lc.status not in IN_FLIGHT:
            raise _ecs_error("InvalidParameterException",
                             f"Lifecycle hook {hook_id} is not awaiting action.")
        detail["status"] = "SUCCEEDED"
        lc.updated = now
        if action == "ROLLBACK":
            record = self.world.services[lc.service_key]
            self._start_rollback(lc, record, "rolled back by ContinueServiceDeployment", now,
                                 start_deployment)

    # -- alarms and rollback ------------------------------------------------------------------

    def _alarmed(self, lc: Lifecycle, record: ServiceRecord, now: float,
                 start_deployment: Any) -> bool:
        alarms = lc.config.get("alarms") or {}
        if not alarms.get("enable") or not alarms.get("alarmNames"):
            return False
        from moto.backends import get_backend

        known = get_backend("cloudwatch")[self.world.account][self.world.region].alarms
        firing = [n for n in alarms["alarmNames"]
                  if getattr(known.get(n), "state_value", "") == "ALARM"]
        if not firing or firing == lc.triggered:
            return False
        lc.triggered, lc.updated = firing, now
        if alarms.get("rollback"):
            self._start_rollback(lc, record, f"CloudWatch alarm(s) {', '.join(firing)} in "
                                 "ALARM state", now, start_deployment)
            return True
        return False

    def stop(self, arn: str, stop_type: str, now: float, start_deployment: Any) -> None:
        lc = self._get(arn)
        if lc.status not in IN_FLIGHT:
            raise _ecs_error("ConflictException",
                             f"The service deployment is {lc.status} and cannot be stopped.")
        record = self.world.services[lc.service_key]
        if stop_type == "ABORT":
            lc.status, lc.stopped, lc.updated = "STOPPED", now, now
            lc.reason = "stopped by StopServiceDeployment (ABORT)"
            return
        lc.status = "ROLLBACK_REQUESTED"
        self._start_rollback(lc, record, "rolled back by StopServiceDeployment", now,
                             start_deployment)

    def _start_rollback(self, lc: Lifecycle, record: ServiceRecord, reason: str, now: float,
                        start_deployment: Any) -> None:
        """Production and test traffic back on blue; blue PRIMARY again; green scaled in."""
        lc.status, lc.reason, lc.updated = "ROLLBACK_IN_PROGRESS", reason, now
        lc.rollback = {"reason": reason, "startedAt": stamp(now), "serviceRevisionArn": lc.blue[0]}
        lc.production_weight = lc.test_weight = 0.0
        self.revisions[lc.service_key] = lc.blue[0]
        service = record.service
        blue = next((d for d in service.deployments if d["id"] == lc.blue[1]), None)
        for deployment in service.deployments:
            if deployment["status"] == "PRIMARY":
                deployment.update(status="ACTIVE", updatedAt=stamp(now))
        if blue is None and not lc.blue[2]:  # the service's first deployment: no blue
            lc.status, lc.finished = "ROLLBACK_FAILED", now
            lc.reason = f"{reason}; there is no previous service revision to roll back to"
            return
        if blue is None:  # blue already gone: deploy its task definition again
            start_deployment(record, lc.blue[2], now, reason)
            return
        service.deployments.remove(blue)
        blue.update(status="PRIMARY", updatedAt=stamp(now))
        service.deployments.insert(0, blue)
        service.task_definition = blue["taskDefinition"]
        self.world.event(record, f"rolling back to service revision {lc.blue[0]}: {reason}.",
                         now)

    def _rolling_back(self, lc: Lifecycle, record: ServiceRecord, now: float,
                      start_deployment: Any) -> None:
        if lc.status == "ROLLBACK_REQUESTED":
            self._start_rollback(lc, record, lc.reason, now, start_deployment)
        if any(t.deployment_id == lc.green[1] and t.holds_resources
               for t in self.world.service_tasks(record)):
            return
        lc.status, lc.finished, lc.updated = "ROLLBACK_SUCCESSFUL", now, now

    # -- the API ------------------------------------------------------------------------------

    def _get(self, arn: str) -> Lifecycle:
        lc = self.deployments.get(arn)
        if lc is None:
            raise _ecs_error("ServiceDeploymentNotFoundException",
                             f"Service deployment {arn} not found.")
        return lc

    def list(self, params: dict[str, Any]) -> dict[str, Any]:
        service = str(params.get("service", "")).rsplit("/", 1)[-1]
        cluster = str(params.get("cluster") or "default").rsplit("/", 1)[-1]
        key = f"{cluster}:{service}"
        if key not in self.world.services:
            from moto.ecs.exceptions import ServiceNotFoundException

            raise ServiceNotFoundException()
        statuses = params.get("status") or []
        window = params.get("createdAt") or {}
        found = [lc for lc in self.deployments.values() if lc.service_key == key
                 and (not statuses or lc.status in statuses)
                 and lc.created >= (epoch(window.get("after")) or 0.0)
                 and lc.created <= (epoch(window.get("before")) or 1e12)]
        found.sort(key=lambda lc: lc.created, reverse=True)
        return {"serviceDeployments": [self._brief(lc) for lc in found]}

    def describe(self, arns: list[str]) -> dict[str, Any]:
        known = [self.deployments[a] for a in arns if a in self.deployments]
        return {"serviceDeployments": [self._full(lc) for lc in known],
                "failures": [{"arn": a, "reason": "MISSING"} for a in arns
                             if a not in self.deployments]}

    def _brief(self, lc: Lifecycle) -> dict[str, Any]:
        brief = {"serviceDeploymentArn": lc.arn, "serviceArn": lc.service_arn,
                 "clusterArn": lc.cluster_arn, "createdAt": stamp(lc.created),
                 "targetServiceRevisionArn": lc.green[0], "status": lc.status}
        if lc.started is not None:
            brief["startedAt"] = stamp(lc.started)
        if lc.finished is not None:
            brief["finishedAt"] = stamp(lc.finished)
        if lc.reason:
            brief["statusReason"] = lc.reason
        return brief

    def _revision(self, lc: Lifecycle, which: tuple[str, str, str], production: float,
                  test: float) -> dict[str, Any]:
        record = self.world.services.get(lc.service_key)
        own = [t for t in self.world.service_tasks(record) if t.deployment_id == which[1]] \
            if record is not None else []
        live = [t for t in own if t.live]
        return {"arn": which[0], "requestedTaskCount": len(live) if which is lc.blue else
                int(record.service.desired_count) if record is not None else 0,
                "runningTaskCount": sum(1 for t in own if t.status == "RUNNING"),
                "pendingTaskCount": sum(1 for t in own if t.status in ("PROVISIONING",
                                                                       "PENDING")),
                "requestedTestTrafficWeight": test,
                "requestedProductionTrafficWeight": production}

    def _full(self, lc: Lifecycle) -> dict[str, Any]:
        full = self._brief(lc)
        full.pop("targetServiceRevisionArn")
        full.update(
            updatedAt=stamp(lc.updated), lifecycleStage=lc.stage,
            sourceServiceRevisions=[self._revision(lc, lc.blue, 100.0 - lc.production_weight,
                                                   100.0 - lc.test_weight)],
            targetServiceRevision=self._revision(lc, lc.green, lc.production_weight,
                                                 lc.test_weight),
            deploymentConfiguration=lc.config,
            lifecycleHookDetails=list(lc.hooks.values()))
        if lc.stopped is not None:
            full["stoppedAt"] = stamp(lc.stopped)
        if lc.rollback is not None:
            full["rollback"] = lc.rollback
        alarms = lc.config.get("alarms") or {}
        if alarms.get("alarmNames"):
            full["alarms"] = {"status": "TRIGGERED" if lc.triggered else
                              "MONITORING" if lc.status in IN_FLIGHT else "MONITORING_COMPLETE",
                              "alarmNames": list(alarms["alarmNames"]),
                              "triggeredAlarmNames": list(lc.triggered)}
        return full

    def call(self, action: str, params: dict[str, Any], now: float, start_deployment: Any
             ) -> dict[str, Any]:
        """One of the four service-deployment actions, answered as ECS's API reference says."""
        if action == "list_service_deployments":
            return self.list(params)
        if action == "describe_service_deployments":
            return self.describe(list(params.get("serviceDeploymentArns") or []))
        if action == "describe_service_revisions":
            arns = list(params.get("serviceRevisionArns") or [])
            return {"serviceRevisions": [self.service_revisions[a] for a in arns
                                         if a in self.service_revisions],
                    "failures": [{"arn": a, "reason": "MISSING"} for a in arns
                                 if a not in self.service_revisions]}
        arn = str(params.get("serviceDeploymentArn", ""))
        if action == "stop_service_deployment":
            self.stop(arn, str(params.get("stopType") or "ROLLBACK"), now, start_deployment)
        else:  # continue_service_deployment
            self.continue_hook(arn, str(params.get("hookId", "")),
                               str(params.get("action") or "CONTINUE"), now, start_deployment)
        return {"serviceDeploymentArn": arn}
