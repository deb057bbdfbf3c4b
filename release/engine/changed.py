"""`changed`: which (environment, service) pairs a commit range changes in effect.

The documents of both ends are read from git (`release.adapters.git`), their
effective states compared (`release.core.changes`); the end of the range must
validate before anything counts as a release request.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from release.adapters import git
from release.adapters.apicheck import register_task_definition_problems
from release.core.changes import ChangeSet, compare_states, effective_state, write_documents
from release.core.errors import InvalidInput
from release.output.events import Reporter


class InvalidAtRevision(InvalidInput):
    """The documents at the end of the range do not validate; carries the findings."""

    def __init__(self, message: str, hint: str, findings: list[Any]) -> None:
        super().__init__(message, hint)
        self.findings = findings


def validate_documents(root: Path, rev_label: str) -> None:
    """The documents at `root` must validate (schemas + rules) before anything is released."""
    from release.core import validate

    report = validate.validate_repo(root, None, api_check=register_task_definition_problems)
    if report.errors:
        raise InvalidAtRevision(
            f"the documents at {rev_label} have {len(report.errors)} validation error(s)",
            f"fix them in a new commit (run `release validate` on a checkout of {rev_label}); "
            "nothing was released",
            list(report.errors),
        )


def changed_between(repo_path: Path, since: str, until: str = "HEAD",
                    validate: bool = True) -> ChangeSet:
    """Which (env, service) pairs the range since..until changes in effect.

    An empty `since` (Jenkins' GIT_PREVIOUS_SUCCESSFUL_COMMIT on a first build)
    means nothing was released before: every service counts as added.

    Only the two endpoint trees are compared, so merge commits, reverts and
    rebases in between count for what they leave behind, not for their steps.
    """
    repo = git.open_repo(repo_path)
    prefix = git.config_prefix(repo, repo_path)
    new_commit = git.resolve(repo, until)
    new_files = git.tree_documents(new_commit, prefix)
    if since.strip():
        old_commit = git.resolve(repo, since)
        git.require_forward(repo, old_commit, new_commit, since, until)
        old_sha, old_files = old_commit.hexsha, git.tree_documents(old_commit, prefix)
    else:  # nothing released yet (a pipeline's first build): everything is new
        old_sha, old_files = "", {}
    if validate:
        with tempfile.TemporaryDirectory(prefix="release-rev-") as tmp:
            validate_documents(write_documents(new_files, Path(tmp)),
                               f"{until} ({new_commit.hexsha[:12]})")
    changes = compare_states(effective_state(old_files), effective_state(new_files))
    return ChangeSet(old_sha, new_commit.hexsha, changes)


def changes_in_range(root: Path, since: str, until: str, reporter: Reporter) -> ChangeSet:
    """changed_between, with the findings shown when the end of the range does not validate."""
    try:
        return changed_between(root, since, until)
    except InvalidAtRevision as exc:
        for finding in exc.findings[:20]:
            fields = {k: v for k, v in finding.as_dict().items() if k != "message"}
            reporter.emit("validate.finding", finding.one_line(), "error", **fields)
        raise


def span(change_set: ChangeSet) -> str:
    """How a range is shown: short shas, `(start)` when nothing was released before."""
    return f"{change_set.since[:12] or '(start)'}..{change_set.until[:12]}"
