"""`promote --from ENV`: pin a target environment to the release that is live and completed
in ENV, read from AWS (the live revision, its release record, the ledger), not from git alone.

git says what ENV should run; only ECS and the ledger say what it does run and whether that
release completed. The judgement is pure (`release.core.promotion.judge_source`); this
module reads its inputs and hands the digests (every pinned container's) to `promote_pins`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from release.core.config import ConfigRepo, Environment, ServiceSpec, TaskDefinition
from release.core.errors import InvalidInput
from release.core.pin import ImagePin
from release.core.promotion import SourceRelease, judge_source
from release.core.records import Record
from release.core.render import pinned_container
from release.engine.promote import PromoteResult, promote_pins


def read_source(aws: Any, environment: Environment, spec: ServiceSpec,
                history: Any) -> SourceRelease:
    """Read the live revision of `spec` (DescribeServices, DescribeTaskDefinition with its
    tags) and judge it with the ledger's entries (`history(tag_records)`, newest first)."""
    from release.adapters import live

    current = live.fetch_live(aws.ecs, environment, spec)
    record = None
    if current.revision_arn:
        record = Record.from_tags(current.revision_arn, [
            {"key": k, "value": v} for k, v in current.taskdef_tags.items()])
    tag_records = [record] if record is not None else []
    entries = history(tag_records)
    taskdef = TaskDefinition("", current.taskdef or {})
    others = {str(_filled(spec, pin, taskdef)): (pin.tag, pin.digest)
              for pin in spec.images if pin is not spec.image}
    return judge_source(spec.env, spec.service_name, current.revision_arn,
                        current.taskdef or {}, record, entries,
                        _filled(spec, spec.image, taskdef),
                        (spec.image.tag, spec.image.digest), others)


def _filled(spec: ServiceSpec, pin: ImagePin, taskdef: TaskDefinition) -> str | None:
    """The container a pin fills in the live revision (None: the service runs nothing)."""
    if not taskdef.containers and not pin.container:
        return None
    return pinned_container(spec, pin, taskdef)


def source_release(config_repo: ConfigRepo, spec: ServiceSpec) -> SourceRelease:
    """The release of `spec` live and completed in its environment, or a refusal."""
    from release.adapters import ledger
    from release.engine import values
    from release.engine.wait import aws_step, connect

    environment = config_repo.environment(spec.env)
    aws = connect(environment)
    resolved = values.resolve(config_repo, spec, aws)  # values from outside git
    spec, environment = resolved.spec or spec, resolved.env
    with aws_step(environment, f"reading the live release of {spec.service_name}"):
        return read_source(aws, environment, spec, lambda found: ledger.history(
            environment, spec.service_name, found, aws))


def _pairs(config_repo: ConfigRepo, source_env: str, target_env: str,
           service: str | None) -> list[tuple[ServiceSpec, ServiceSpec]]:
    """(source spec, target spec) by serviceName; a named service must be in both."""
    sources = {s.service_name: s for s in config_repo.services_of(source_env)}
    known = config_repo.services_of(target_env)
    targets = [s for s in known if service is None or service in (s.service_name, s.name)]
    if service is not None and not targets:
        raise InvalidInput(f"unknown service {service!r} in environment {target_env!r}",
                           f"services there: {', '.join(s.name for s in known) or 'none'}")
    missing = [t.service_name for t in targets if t.service_name not in sources]
    if missing and service is not None:
        raise InvalidInput(f"{source_env} has no service {missing[0]!r} to promote from",
                           f"promote it with --image, or add it to {source_env} first")
    return [(sources[t.service_name], t) for t in targets if t.service_name in sources]


def promote_from(repo_root: Path, config_repo: ConfigRepo, source_env: str, target_env: str,
                 service: str | None, commit: bool, message: str | None = None,
                 container: str | None = None) -> list[PromoteResult]:
    """Pin each service of `target_env` to what is live and completed in `source_env`: every
    container the target pins gets the digest that container runs in the source (or only
    `container`).

    Every source is read and judged before the first pin is written: one refusal
    changes nothing.
    """
    if source_env == target_env:
        raise InvalidInput(f"--from {source_env} and --env {target_env} are the same "
                           "environment", "promote from the environment before it (staging "
                           "→ production)")
    sources = [(source_release(config_repo, src), target)
               for src, target in _pairs(config_repo, source_env, target_env, service)]
    refs = [(_target_refs(config_repo, found, target, container), target)
            for found, target in sources]
    return [promote_pins(repo_root, target_env, target.name, wanted, commit=commit,
                         message=message, source=found)
            for (found, _), (wanted, target) in zip(sources, refs, strict=True)]


def _target_refs(config_repo: ConfigRepo, found: SourceRelease, target: ServiceSpec,
                 container: str | None) -> dict[str | None, str]:
    """{target container: source reference}: the target's pins, each from the source's
    container of the same name; a container the source does not run is a refusal."""
    refs = found.image_refs
    if list(refs) == [None] or (len(refs) == 1 and len(target.images) == 1):
        only = next(iter(refs.values()))
        return {container: only}
    taskdef = config_repo.taskdef_for(target)
    wanted = [pinned_container(target, pin, taskdef) for pin in target.images]
    if container is not None:
        wanted = [container]
    missing = [name for name in wanted if name not in refs]
    if missing:
        raise InvalidInput(f"{found.env}/{found.service} pins no container {missing[0]!r}, "
                           f"which {target.env} pins", f"containers {found.env} promotes: "
                           f"{', '.join(str(c) for c in refs)}; promote that one with --image; "
                           "nothing was changed")
    return {name: refs[name] for name in wanted}
