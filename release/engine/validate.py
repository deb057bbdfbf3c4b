"""Documents before anything else: `release validate`'s report, and the one "validate, then
load" every verb that acts on AWS runs first.

The schema and rule machinery is the core's; this edge adds what only a command run
knows: which environments were asked for, and whether botocore's own parameter
validation joins in (`--strict`, and always before a release). A verb that reads the
documents to change something calls `load_valid`; documents that do not validate raise
`InvalidDocuments` (core/errors.py), one message shape for every verb, and the verb's
error handler lists the findings.
"""

from __future__ import annotations

from pathlib import Path

from release.core import config, documents
from release.core.errors import InvalidDocuments, InvalidInput
from release.core.validate import Report, validate_repo
from release.output.events import OutputFormat, Reporter


def require_environments(root: Path, envs: list[str] | None) -> None:
    """Exit 1 with the known names when an environment asked for is not a folder under
    environments/ (or is a link that leads outside the repository, which is never read)."""
    if not envs:
        return
    docs = documents.discover(root)
    for env in envs:
        if env in docs.environments:
            continue
        links = [rel for rel in docs.outside
                 if rel in (documents.ENVIRONMENTS_DIR, f"{documents.ENVIRONMENTS_DIR}/{env}",
                            f"{documents.ENVIRONMENTS_DIR}/{env}/environment.json")]
        if links:
            raise InvalidInput(f"{links[0]} is a symbolic link that leads outside the "
                               f"repository (to {docs.outside[links[0]]}); release does not "
                               "read it", documents.LINK_FIX)
        raise InvalidInput(
            f"unknown environment {env!r}",
            f"environments in {root}: {', '.join(sorted(docs.environments)) or 'none'} "
            "(folders under environments/)",
        )


def validate(root: Path, envs: list[str] | None, strict: bool) -> Report:
    """The validation report of the repository at `root` (unknown --env: exit 1)."""
    from release.adapters.apicheck import register_task_definition_problems

    if (root / documents.ENVIRONMENTS_DIR).is_dir():  # no folder at all: a layout finding
        require_environments(root, envs)
    return validate_repo(root, envs,
                         api_check=register_task_definition_problems if strict else None)


def require_valid(root: Path, envs: list[str] | None, subject: str, fix: str = "") -> Report:
    """The documents at `root` (of `envs`) must validate, schemas, rules and botocore's
    parameter validation, before anything is changed: else `InvalidDocuments`."""
    from release.adapters.apicheck import register_task_definition_problems

    report = validate_repo(root, envs, api_check=register_task_definition_problems)
    if report.errors:
        raise InvalidDocuments(subject, report.errors, fix)
    return report


def load_valid(root: Path, envs: list[str] | None,
               subject: str = "the config repository") -> config.ConfigRepo:
    """Validate, then load: the one way a verb that acts on AWS reads the documents."""
    require_environments(root, envs)
    require_valid(root, envs, subject)
    try:
        return config.load_repo(root, envs)
    except config.UnknownName as exc:
        raise InvalidInput(exc.message, exc.hint) from None
    except documents.DocumentError as exc:  # changed since it was validated
        raise InvalidInput(str(exc), "fix the document (`release validate`) and retry; "
                           "nothing was changed") from None


def load_environment(root: Path, env: str, service: str | None = None,
                     reporter: Reporter | None = None) -> config.ConfigRepo:
    """One environment's documents, for operations that must work at 3 a.m. (rollback,
    status, history, logs, run, continue, unlock) even when someone broke an unrelated
    document.

    Refuses (`InvalidDocuments`) only when a document the command reads is broken: the
    environment's environment.json or the chosen service's spec (every spec of the
    environment when no service is named). Anything else validation finds (another
    service, a task definition, a rule that guards the next deploy) is shown as a
    warning: a rollback goes back to a revision ECS already has.
    """
    require_environments(root, [env])
    reporter = reporter or Reporter(OutputFormat.text)
    report = validate_repo(root, [env])
    docs = documents.discover(root, [env])
    rel = documents.relative
    specs = {rel(docs.root, path): path for (_, stem), path in docs.services.items()
             if service is None or service in (stem, _service_name_of(path))}
    if service is not None and not specs:  # perhaps the one asked for is too broken to name
        specs = {rel(docs.root, path): path for path in docs.services.values()
                 if rel(docs.root, path) in report.broken}
    own = {rel(docs.root, docs.environments[env]), *specs}
    blocking = [f for f in report.errors if f.file in own and f.file in report.broken]
    if blocking:
        raise InvalidDocuments(
            f"the documents of {env}/{service}" if service else f"the documents of {env}",
            blocking, f"fix them (`release validate --env {env}`) and retry"
            + ("" if service else "; --service acts on one service whose documents are fine"))
    others = [f for f in report.errors if f not in blocking]
    for finding in others[:5]:
        reporter.emit("validate.finding", finding.one_line(), "warn", **{
            k: v for k, v in finding.as_dict().items() if k != "message"})
    if others:
        reporter.emit("validate.summary", f"{len(others)} validation error(s) in git's "
                      "documents do not stop this command (a deploy would refuse them); "
                      "`release validate` lists them", "warn", errors=len(others))
    try:
        return config.load_repo(root, [env], leave_out=report.broken)
    except documents.DocumentError as exc:  # changed since it was validated
        raise InvalidInput(str(exc), "fix the document (`release validate`)") from None
    except (KeyError, TypeError, ValueError) as exc:
        raise InvalidInput(f"the documents of {env} are incomplete ({exc})",
                           "run `release validate` and fix them first") from None


def _service_name_of(path: Path) -> str | None:
    """The serviceName a spec declares, if it can be read at all."""
    try:
        doc = documents.read_json(path)
    except documents.DocumentError:
        return None
    block = doc.get("service") if isinstance(doc, dict) else None
    name = block.get("serviceName") if isinstance(block, dict) else None
    return name if isinstance(name, str) else None
