"""`release preflight`: the checks on their own, for git's version of each service or for a
registered revision (what a rollback to it would run). Reads only; exit 1 on a problem."""

from __future__ import annotations

from release.core import preflight as pf
from release.core.config import ConfigRepo, ServiceSpec
from release.output.events import Reporter


def check_service(repo: ConfigRepo, spec: ServiceSpec, reporter: Reporter, *,
                  revision: str | None = None, probe_health: bool = False) -> pf.Report:
    """Preflight of one service: git's version (as `plan` runs it), or `revision`."""
    from release.adapters import live as live_state
    from release.engine import preflight
    from release.engine.deploy import prepare
    from release.engine.wait import aws_step, connect

    if revision is None:
        prepared = prepare(repo, spec, for_plan=True)
        report = preflight.of_prepared(repo, prepared, preflight.CHECK, reporter,
                                        probe_health)
    else:
        env = repo.environment(spec.env)
        aws = connect(env)
        with aws_step(env, f"reading {spec.service_name} in {env.name}"):
            arn = live_state.resolve_revision(aws.ecs, spec.family, revision)
            taskdef, _ = live_state.describe_revision(aws.ecs, arn)
            live = live_state.fetch_live(aws.ecs, env, spec)
        ctx = preflight.for_revision(env, spec, aws, taskdef, live, preflight.CHECK, reporter)
        ctx.probe_health = probe_health
        report = preflight.run(ctx)
    preflight.show(report, reporter)
    return report
