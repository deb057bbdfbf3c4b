"""`release continue`: approve a native deployment paused at a PAUSE lifecycle hook.

ContinueServiceDeployment API reference: "When a service deployment reaches a
lifecycle stage that has a PAUSE hook configured, the deployment pauses and waits
for an explicit action. Use this API to either continue the deployment to the
next stage or roll back to the previous service revision." The hookId comes from
DescribeServiceDeployments' lifecycleHookDetails. After the call the deployment
is followed to its end (or to the next pause) exactly as `release deploy` does,
under the service's lock, with a release entry of its own in the ledger. The
revision it names is the paused deployment's target (DescribeServiceRevisions),
not git's nor DescribeServices' primary: that is what the approval releases.
"""

from __future__ import annotations

from typing import Any

from release.core import records
from release.core import service_deployments as native
from release.core.clock import default_clock
from release.core.config import ConfigRepo, ServiceSpec
from release.core.deployments import short
from release.core.errors import InvalidInput
from release.engine import finish
from release.engine.executor import Release
from release.engine.native_wait import GoingOn, follow, going_on
from release.engine.outcome import ReleaseOutcome
from release.engine.wait import aws_step, connect
from release.output.events import Reporter

CONTINUE_BUDGET_SECONDS = 1800  # the wait after an approval, beyond the strategy's bakes


def continue_service(repo: ConfigRepo, spec: ServiceSpec, reporter: Reporter,
                     action: str = "CONTINUE") -> ReleaseOutcome:
    """Act on the paused hook of the service's deployment, then follow it to the end.

    Whether a deployment is paused is asked once, before the lock: with nothing to
    approve the command answers at once, takes no lock and touches no ledger entry (taking
    the lock closes entries other runs left in progress). Under the lock it is asked again,
    as the deployment may have moved on meanwhile."""
    from release.adapters import service_deployments as api
    from release.engine import values
    from release.engine.hold import hold

    env = repo.environment(spec.env)
    aws = connect(env)
    resolved = values.resolve(repo, spec, aws)  # values from outside git
    spec, env = resolved.spec or spec, resolved.env
    where = f"{env.name}/{spec.service_name}"
    _paused(env, spec, aws)
    with hold(env, spec.service_name, reporter, "continue", aws) as held:
        paused = _paused(env, spec, aws)
        deployment, hook, arn = paused.deployment, paused.hook or {}, paused.arn
        with aws_step(env, f"reading the revision of {spec.service_name}"):
            revision, previous, record = _revisions(aws, env.cluster, spec, paused)
        held.ledger.begin_release(record, revision)
        reporter.emit("continue.start", f"{where}: {action.lower()} deployment {short(arn)} "
                      f"of {short(revision)} paused at {deployment.get('lifecycleStage')} "
                      f"(hook {hook['hookId']})", env=env.name, service=spec.service_name,
                      deployment=arn, hook=hook["hookId"], action=action, revision=revision,
                      commit=record.commit or None, image=record.image or None)
        with aws_step(env, f"continuing the deployment of {spec.service_name}"):
            api.continue_hook(aws.ecs, arn, str(hook["hookId"]), action)
        extra = native.native_seconds(deployment.get("deploymentConfiguration") or {})
        followed = follow(env, spec, aws, reporter, arn,
                          default_clock().now() + CONTINUE_BUDGET_SECONDS + extra,
                          lease=held.lease)
        outcome = finish.native_outcome(finish.Ending(  # the one finisher, as a release's
            Release(env, spec, aws, None, {}, None, previous, revision, held=held), reporter,
            revision, previous, True, True), followed)
        from release.engine.deploy import LEDGER_OUTCOMES

        if outcome.status in LEDGER_OUTCOMES:
            held.ledger.finish_release(LEDGER_OUTCOMES[outcome.status], outcome.message)
        return outcome


def _paused(env: Any, spec: ServiceSpec, aws: Any) -> GoingOn:
    """The newest deployment paused at a hook, asked once (no waiting for one to be listed:
    `continue` follows a pause that exists); none is exit 1, nothing changed."""
    paused = next((g for g in going_on(env, spec, aws) if g.hook is not None), None)
    if paused is None:
        raise InvalidInput(f"{env.name}/{spec.service_name}: no deployment is paused at a "
                           "lifecycle hook; nothing was changed",
                           f"see `release status --env {env.name} --service {spec.name}`")
    return paused


def _revisions(aws: Any, cluster: str, spec: ServiceSpec, paused: GoingOn
               ) -> tuple[str, str | None, records.Record]:
    """The revision the paused deployment deploys (its target's task definition), the one it
    replaces (the release record's `previous`, else the deployment's source) and that record.
    Only when ECS does not describe the target revision is the PRIMARY deployment's taken."""
    from release.adapters import live
    from release.core.deployments import primary

    revision = paused.revision
    if not revision:
        service = (aws.ecs.describe_services(cluster=cluster, services=[spec.service_name])
                   .get("services") or [{}])[0]
        revision = str((primary(service) or {}).get("taskDefinition") or
                       service.get("taskDefinition") or "")
    _taskdef, tags = live.describe_revision(aws.ecs, revision)
    record = records.Record.from_tags(revision, tags)
    if record is None:
        record = records.new_record(spec.env, spec.service_name, ("", ""), "",
                                    paused.previous or None, default_clock().now())
    return revision, record.previous or paused.previous or None, record
