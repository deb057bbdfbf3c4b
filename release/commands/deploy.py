"""`release plan|deploy|rollback|status|history`: thin verbs over release/deploy.py.

Only typer is imported at load time; boto3 comes in with release.deploy when a
verb runs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from release.commands.common import (
    EnvOption,
    FormatOption,
    RepoOption,
    ServiceOption,
    find_repo,
    handles_errors,
    load_environment_repo,
    load_valid_repo,
)
from release.commands.lock import releases_locks
from release.output.events import OutputFormat

MAX_TIMEOUT = 86_400  # a day: longer is a typo, not a rollout


def _valid_timeout(value: str | None) -> str | None:
    """`auto` or a whole number of seconds above zero (a usage error, exit 2, otherwise)."""
    if value is None or value.strip().lower() == "auto":
        return value
    try:
        seconds = int(value.strip())
    except ValueError:
        raise typer.BadParameter(f"{value!r} is neither `auto` nor a number of seconds "
                                 "(e.g. --timeout 900)") from None
    if not 0 < seconds <= MAX_TIMEOUT:
        raise typer.BadParameter(f"{seconds} s is not a time budget: give 1 to {MAX_TIMEOUT} "
                                 "seconds, or `auto`")
    return str(seconds)


TimeoutOption = Annotated[
    str | None,
    typer.Option("--timeout", callback=_valid_timeout, show_default=False,
                 help="Time budget: `auto` (from desiredCount, min/max percent, health checks "
                 "and draining) or seconds (1 to 86400). Default: the spec's release.timeout."),
]
NoRollbackOption = Annotated[
    bool, typer.Option("--no-rollback", help="On failure leave the service as it is instead of "
                       "rolling back (exit 4).")]
ToOption = Annotated[
    str | None,
    typer.Option("--to", help="Revision to roll back to: N, family:N or an ARN. Default: the "
                 "revision that was live before the current release (release records).",
                 show_default=False),
]
YesOption = Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")]
CommitOption = Annotated[
    bool, typer.Option("--commit", help="After a successful rollback, pin the restored image in "
                       "git and commit it, so the next release does not undo the rollback.")]
LimitOption = Annotated[int, typer.Option("--limit", "-n", min=1, max=1000,
                                          help="Newest N revisions to read.")]


def _reporter(fmt: OutputFormat) -> Any:
    from release.output.events import Reporter

    return Reporter(fmt if fmt in (OutputFormat.text, OutputFormat.json) else OutputFormat.text)


def _specs(config_repo: Any, env: str, service: str | None) -> list[Any]:
    """The services to act on; an unknown name is an input error (exit 1), not a crash."""
    from release.core.config import UnknownName
    from release.core.errors import InvalidInput

    try:
        return config_repo.services_of(env, service)
    except UnknownName as exc:
        raise InvalidInput(exc.message, exc.hint) from None


def _short(arn: str | None) -> str:
    return str(arn or "none").rsplit("/", 1)[-1]


# ------------------------------------------------------------------------------- plan


@handles_errors
def plan(
    env: EnvOption,
    service: ServiceOption = None,
    timeout: TimeoutOption = None,
    repo: RepoOption = None,
    format: FormatOption = OutputFormat.text,
) -> None:
    """Show what a release would change: the diff, the API calls in order, the time budget."""
    from release.core.errors import InvalidInput, ReleaseError
    from release.engine import deploy

    reporter = _reporter(format)
    config_repo = load_valid_repo(find_repo(repo), [env], reporter)
    blocked = False
    for spec in _specs(config_repo, env, service):
        prepared = deploy.prepare(config_repo, spec, timeout=timeout, check_image=False,
                                  for_plan=True)
        the_plan = prepared.plan
        where = f"{env}/{spec.service_name}"
        missing_image = None
        try:
            from release.adapters import live
            from release.adapters.aws import aws_errors

            with aws_errors(prepared.env, "checking the image"):
                live.check_image(prepared.aws.ecr, prepared.env, spec)
        except ReleaseError as exc:
            missing_image = exc.message
        busy = deploy.in_progress(prepared.live.service)
        lines = [c.one_line() for c in the_plan.taskdef_changes + the_plan.setting_changes
                 + the_plan.recreate_changes]
        headline = (f"{where}: no change (live revision {_short(the_plan.live_revision)} "
                    "matches git)" if the_plan.unchanged else
                    f"{where}: {len(lines)} change(s) against live revision "
                    f"{_short(the_plan.live_revision)}")
        reporter.emit("plan", headline, "success" if the_plan.unchanged else "info",
                      **the_plan.as_dict(), missing_image=missing_image,
                      deployment_in_progress=(busy or {}).get("id"))
        if format is OutputFormat.json:
            continue
        for line in lines:
            reporter.emit("plan.change", f"  {line}")
        for number, call in enumerate(the_plan.calls, 1):
            reporter.emit("plan.call", f"  {number}. {call.describe()}")
        if not the_plan.unchanged:
            reporter.emit("plan.budget", f"  time budget: {the_plan.budget.explanation}")
        for blocker in the_plan.blockers:
            reporter.emit("plan.blocker", f"  cannot release: {blocker}", "error")
        if missing_image:
            reporter.emit("plan.warning", f"  {missing_image}: `release deploy` would refuse",
                          "warn")
        if busy:
            reporter.emit("plan.warning", f"  deployment {busy.get('id')} is still in progress: "
                          "`release deploy` would wait for it or refuse", "warn")
        blocked = blocked or bool(the_plan.blockers)
    if blocked:
        raise InvalidInput("the plan has changes that a release cannot make",
                           "see `cannot release` above; nothing was changed")


# ----------------------------------------------------------------------------- deploy


@handles_errors
def deploy(
    env: EnvOption,
    service: ServiceOption = None,
    timeout: TimeoutOption = None,
    no_rollback: NoRollbackOption = False,
    repo: RepoOption = None,
    format: FormatOption = OutputFormat.text,
) -> None:
    """Release the services of an environment: register, update, wait until stable, roll back
    on failure."""
    from release.core.errors import EXIT_OK
    from release.engine import deploy as engine

    reporter = _reporter(format)
    config_repo = load_valid_repo(find_repo(repo), [env], reporter)
    outcomes = []
    for spec in _specs(config_repo, env, service):
        outcome = engine.release_service(config_repo, spec, reporter, timeout=timeout,
                                         rollback=not no_rollback)
        outcomes.append(outcome)
        if outcome.exit_code != EXIT_OK:
            break  # do not release more services on top of a failed one
    _finish(reporter, "deploy", outcomes)


def _finish(reporter: Any, verb: str, outcomes: list[Any]) -> None:
    """Report the failure (if any) with its hint, then one final summary event; exit with it."""
    from release.core.errors import EXIT_OK
    from release.engine.deploy import first_failure

    failed = first_failure(outcomes)
    code = failed.exit_code if failed else EXIT_OK
    if failed is not None:
        reporter.error(failed.message, failed.hint, exit_code=failed.exit_code,
                       cause=failed.cause)
    reporter.emit(f"{verb}.summary", "; ".join(f"{o.service}: {o.status}" for o in outcomes)
                  or "nothing to do", "success" if code == EXIT_OK else "error",
                  exit_code=code, outcomes=[o.as_dict() for o in outcomes])
    if code != EXIT_OK:
        raise typer.Exit(code)


# --------------------------------------------------------------------------- rollback


@handles_errors
@releases_locks
def rollback(
    env: EnvOption,
    service: ServiceOption = None,
    to: ToOption = None,
    yes: YesOption = False,
    commit: CommitOption = False,
    timeout: TimeoutOption = None,
    repo: RepoOption = None,
    format: FormatOption = OutputFormat.text,
) -> None:
    """Roll a service back to the revision live before the current release (or --to)."""
    from release.adapters import ledger, live
    from release.core import plan, records, stability
    from release.core.errors import EXIT_NOT_RESTORED, EXIT_OK, InvalidInput, UsageError
    from release.engine import deploy as engine

    reporter = _reporter(format)
    root = find_repo(repo)
    config_repo = load_environment_repo(root, env, service, reporter)
    specs = _specs(config_repo, env, service)
    if to and len(specs) > 1:
        raise InvalidInput("--to names one revision: pick the service with --service",
                           f"services: {', '.join(s.name for s in specs)}")
    if not yes and not _stdin_is_terminal():  # refused before AWS is even read
        raise UsageError("rollback needs a confirmation and there is no terminal to ask on",
                         "re-run with --yes (as Jenkins does); nothing was changed")
    outcomes = []
    for spec in specs:
        environment = config_repo.environment(env)
        aws = engine.connect(environment)
        where = f"{env}/{spec.service_name}"
        ledger.take(environment, spec.service_name, reporter, "rollback", aws)
        with engine.aws_step(environment, f"reading {spec.service_name}"):
            current = live.fetch_live(aws.ecs, environment, spec)
            if current.service is None:
                raise InvalidInput(f"{where} does not exist", "nothing to roll back")
            history = live.records_of(aws.ecs, spec.family, limit=50)
            entries = ledger.history(environment, spec.service_name, history, aws)
            if to:
                _check_revision_arn(environment, spec.family, to)
            target = (live.resolve_revision(aws.ecs, spec.family, to) if to
                      else records.rollback_target_of(current.revision_arn, entries))
            if target is not None and target != current.revision_arn:
                live.check_revision_images(aws.ecr, environment,
                                           live.describe_revision(aws.ecs, target)[0])
        if target is None:
            raise InvalidInput(f"{where}: no earlier release is recorded to roll back to",
                               "name one with --to REVISION (see `release history`)")
        busy = engine.in_progress(current.service)
        if target == current.revision_arn and busy is None:
            message = f"{where}: already on {_short(target)}; nothing to do"
            reporter.emit("rollback.unchanged", message, "success", revision=target)
            outcomes.append(engine.ReleaseOutcome(env, spec.service_name, engine.UNCHANGED,
                                                  target, target, message, EXIT_OK))
            continue
        caution = records.caution_about(target, entries)
        if caution:
            reporter.emit("rollback.warning", f"{where}: {_short(target)}: {caution}; rolling "
                          "back to it anyway, as asked", "warn", revision=target)
        the_plan = plan.rollback_plan(environment, spec, current, target, timeout)
        reporter.emit("rollback.plan", f"{where}: roll back from {_short(current.revision_arn)} "
                      f"to {_short(target)} (budget {the_plan.budget.seconds} s)",
                      **the_plan.as_dict())
        for change in the_plan.taskdef_changes:
            reporter.emit("plan.change", f"  {change.one_line()}")
        if not yes and not typer.confirm(f"Roll {where} back to {_short(target)}?",
                                         default=False, err=True):
            raise InvalidInput("rollback cancelled", "nothing was changed")
        waiter = engine.Waiter(environment, spec, aws, reporter)
        resume = busy is not None and busy.get("taskDefinition") == target
        try:
            verdict = engine.roll_back(environment, spec, aws, waiter, reporter, target,
                                       busy.get("id") if resume and busy else None,
                                       "operator rollback", timeout)
        except KeyboardInterrupt:
            resume, _ = engine.resume_commands(environment, spec, target)
            reporter.emit("release.interrupted", f"{where}: interrupted; the service was left "
                          f"as it is; to resume waiting run `{resume}`, or watch `release "
                          f"status --env {env} --service {spec.name}`", "warn",
                          revision=target, resume=resume)
            raise
        if verdict.state != stability.STABLE:
            outcomes.append(engine.ReleaseOutcome(
                env, spec.service_name, engine.NOT_RESTORED, target, current.revision_arn,
                f"{where}: rollback to {_short(target)} did not settle: {verdict.reason}",
                EXIT_NOT_RESTORED, verdict.cause,
                f"{verdict.fix}; check `release status --env {env} --service {spec.name}`, "
                "try another revision with --to (see `release history`), and page the owner"))
            break
        message = f"{where}: rolled back to {_short(target)}, which is serving"
        reporter.emit("rollback.done", message, "success", revision=target,
                      previous=current.revision_arn)
        outcomes.append(engine.ReleaseOutcome(env, spec.service_name, "rolled_back", target,
                                              current.revision_arn, message, EXIT_OK))
        if commit:
            _commit_pin(root, environment, spec, aws, target, reporter)
    _finish(reporter, "rollback", outcomes)


def _stdin_is_terminal() -> bool:
    """A person can answer the prompt: the question is read from stdin, whatever stdout is."""
    import sys

    return bool(getattr(sys.stdin, "isatty", lambda: False)())


def _check_revision_arn(environment: Any, family: str, given: str) -> None:
    """An ARN given to --to must name this environment's account, region and family.

    ECS resolves a task definition ARN by family:revision in the caller's own account
    and region, so an ARN copied from another account would silently name the local
    revision of the same name.
    """
    from release.core.errors import InvalidInput

    if not given.startswith("arn:"):
        return
    parts = given.split(":", 5)
    resource = parts[5] if len(parts) == 6 else ""
    named_family = resource.removeprefix("task-definition/").rsplit(":", 1)[0]
    expected = (f"arn:aws:ecs:{environment.region}:{environment.account}:"
                f"task-definition/{family}:N")
    if (len(parts) != 6 or parts[2] != "ecs" or parts[3] != environment.region
            or parts[4] != environment.account or not resource.startswith("task-definition/")
            or named_family != family):
        raise InvalidInput(f"--to {given} is not a revision of this service in "
                           f"{environment.name} (account {environment.account}, region "
                           f"{environment.region}, family {family})",
                           f"name a revision as N, {family}:N or {expected}; nothing was "
                           "changed")


def _commit_pin(root: Path, environment: Any, spec: Any, aws: Any, revision: str,
                reporter: Any) -> None:
    """Pin the restored image in git so that the next `release deploy` does not undo it."""
    from release.adapters import live
    from release.core.errors import InvalidInput
    from release.core.records import Record
    from release.core.render import image_container
    from release.engine.promote import promote_pin

    taskdef, tags = live.describe_revision(aws.ecs, revision)
    name = spec.image.container or image_container(spec, _TaskdefView(taskdef))
    image = next((c.get("image") for c in taskdef.get("containerDefinitions", [])
                  if c.get("name") == name), None)
    record = Record.from_tags(revision, tags)
    if image and record and record.image_tag and "@sha256:" in image:
        location, _, digest = image.partition("@")
        image = f"{location}:{record.image_tag}@{digest}"
    if not image:
        raise InvalidInput(f"{_short(revision)} has no image for container {name}",
                           "pin the image by hand with `release promote`")
    result = promote_pin(root, environment.name, spec.name, image, commit=True,
                         message=f"rollback {spec.service_name} in {environment.name} to "
                                 f"{_short(revision)}")
    reporter.emit("rollback.committed", f"pinned {image} in {result.path}"
                  + (f" (commit {result.commit[:12]})" if result.commit else " (already pinned)"),
                  commit=result.commit, image=image)


class _TaskdefView:
    """The little of config.TaskDefinition that render.image_container reads."""

    def __init__(self, doc: dict[str, Any]) -> None:
        self.containers = doc.get("containerDefinitions", [])


# ----------------------------------------------------------------------------- status


@handles_errors
def status(
    env: EnvOption,
    service: ServiceOption = None,
    repo: RepoOption = None,
    format: FormatOption = OutputFormat.text,
) -> None:
    """Show the live state of a service: revision and its release record, deployments, tasks,
    ELB health, and drift from git."""
    from release.adapters import live
    from release.core import plan, records, stability
    from release.core.clock import default_clock
    from release.core.render import render_service
    from release.engine import deploy as engine

    reporter = _reporter(format)
    config_repo = load_environment_repo(find_repo(repo), env, service, reporter)
    for spec in _specs(config_repo, env, service):
        environment = config_repo.environment(env)
        aws = engine.connect(environment)
        where = f"{env}/{spec.service_name}"
        with engine.aws_step(environment, f"reading {spec.service_name}"):
            current = live.fetch_live(aws.ecs, environment, spec)
            if current.service is None:
                reporter.emit("status", f"{where}: does not exist (release deploy creates it)",
                              "warn", env=env, service=spec.service_name, exists=False)
                continue
            reader = live.SnapshotReader(aws, environment.cluster, spec.service_name,
                                         engine._has_load_balancer(spec))
            snap = reader.read(default_clock().now())
        primary = next((d for d in current.service.get("deployments", [])
                        if d.get("status") == "PRIMARY"), {})
        target = engine.make_target(environment, spec, current.revision_arn or "",
                                    primary.get("id"), None, 10**9, None, current.taskdef or {})
        verdict = stability.Watch(target).observe(snap)
        record = records.Record.from_tags(current.revision_arn or "",
                                          [{"key": k, "value": v}
                                           for k, v in current.taskdef_tags.items()])
        try:
            desired = render_service(config_repo, spec)
            drift = [c.one_line() for c in plan.taskdef_changes(current.taskdef, desired)]
            drift += [c.one_line() for c in plan.service_changes(spec, current.service)[0]]
        except (KeyError, TypeError, ValueError) as exc:
            drift = [f"cannot render git's version: {exc}"]
        state = "stable" if verdict.state == stability.STABLE else "in progress" \
            if verdict.state == stability.PROGRESSING else "not stable"
        reporter.emit("status", f"{where}: {_short(current.revision_arn)}, {state}: "
                      f"{verdict.summary}", "success" if state == "stable" else "warn",
                      env=env, service=spec.service_name, exists=True,
                      revision=current.revision_arn, state=verdict.state,
                      summary=verdict.summary, record=record.as_dict() if record else None,
                      drift=drift, deployments=_deployment_rows(current.service),
                      tasks=_task_rows(snap), elb=list(snap.instance_health or []))
        if format is OutputFormat.json:
            continue
        if record is not None:
            reporter.emit("status.record", f"  released {record.at} by {record.by}: commit "
                          f"{record.commit[:12]}, image {record.image[:19]}, outcome "
                          f"{record.outcome or '?'}"
                          + (f", restored {record.restored_at}" if record.restored_at else ""))
        else:
            reporter.emit("status.record", "  no release record on this revision "
                          "(registered outside `release`)")
        reporter.table("deployments", ["id", "status", "revision", "desired", "running",
                                       "pending", "rollout"],
                       [list(r.values()) for r in _deployment_rows(current.service)])
        reporter.table("tasks", ["task", "revision", "last", "desired", "instance", "elb"],
                       [list(r.values()) for r in _task_rows(snap)])
        reporter.emit("status.drift", "  in sync with git" if not drift else
                      "  drift from git (`release plan` shows it, `release deploy` fixes it):",
                      "success" if not drift else "warn")
        for line in drift:
            reporter.emit("status.drift", f"    {line}")


def _deployment_rows(service: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"id": d.get("id"), "status": d.get("status"),
             "revision": _short(d.get("taskDefinition")), "desired": d.get("desiredCount"),
             "running": d.get("runningCount"), "pending": d.get("pendingCount"),
             "rollout": d.get("rolloutState")} for d in service.get("deployments", [])]


def _task_rows(snap: Any) -> list[dict[str, Any]]:
    health = {h.get("InstanceId"): h for h in snap.instance_health or []}
    rows = []
    for t in snap.tasks:
        if t.get("lastStatus") == "STOPPED":
            continue
        instance = snap.instance_ids.get(t.get("containerInstanceArn", ""), "")
        h = health.get(instance, {})
        state = h.get("State", "")
        if "deregistration" in str(h.get("Description", "")).lower():
            state = "draining"
        rows.append({"task": str(t.get("taskArn", "")).rsplit("/", 1)[-1][:12],
                     "revision": _short(t.get("taskDefinitionArn")),
                     "last": t.get("lastStatus"), "desired": t.get("desiredStatus"),
                     "instance": instance, "elb": state})
    return rows


# ---------------------------------------------------------------------------- history


@handles_errors
def history(
    env: EnvOption,
    service: ServiceOption = None,
    limit: LimitOption = 20,
    repo: RepoOption = None,
    format: FormatOption = OutputFormat.text,
) -> None:
    """List the release ledger: every release, restore and rollback with its outcome, newest
    first."""
    from release.adapters import ledger, live
    from release.engine import deploy as engine

    reporter = _reporter(format)
    config_repo = load_environment_repo(find_repo(repo), env, service, reporter)
    for spec in _specs(config_repo, env, service):
        environment = config_repo.environment(env)
        aws = engine.connect(environment)
        with engine.aws_step(environment, f"reading the records of {spec.family}"):
            found = [r for r in live.records_of(aws.ecs, spec.family, limit)
                     if r.service in ("", spec.service_name) and r.env in ("", env)]
            live_revision = (live.describe_service(aws.ecs, environment.cluster,
                                                   spec.service_name) or {}).get("taskDefinition")
        entries = ledger.history(environment, spec.service_name, found, aws, limit)
        rows = [e.history_row() for e in entries]
        for row in rows:
            row["live"] = row["revision"] == live_revision
        if format is OutputFormat.json:
            reporter.emit("history", f"{env}/{spec.service_name}: {len(rows)} entries",
                          env=env, service=spec.service_name, live_revision=live_revision,
                          entries=rows)
            continue
        reporter.table(f"{env}/{spec.service_name}: releases, newest first",
                       ["when", "what", "revision", "outcome", "image", "commit", "by",
                        "build"],
                       [[r["when"], r["kind"] + (" (live)" if r["live"] else ""),
                         _short(r["revision"]), r["outcome"], _digest(r.get("image")),
                         str(r.get("commit") or "")[:12], r.get("by"),
                         r.get("build_tag") or r.get("build_url") or ""] for r in rows])


def _digest(image: str | None) -> str:
    text = str(image or "")
    return text[:19] if text.startswith("sha256:") else text[-24:]
