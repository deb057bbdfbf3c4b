"""`changed`: which (environment, service) pairs a commit range changes in effect.

The documents of both ends are read from git (`release.adapters.git`), their
effective states compared (`release.core.changes`); the end of the range must
validate before anything counts as a release request.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from release.adapters import git
from release.core.changes import ChangeSet, compare_states, effective_state, write_documents
from release.engine.validate import require_valid


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
            label = f"{until} ({new_commit.hexsha[:12]})"
            require_valid(write_documents(new_files, Path(tmp)), None,
                          f"the documents at {label}", f"fix them in a new commit (run "
                          f"`release validate` on a checkout of {label})")
    changes = compare_states(effective_state(old_files), effective_state(new_files))
    return ChangeSet(old_sha, new_commit.hexsha, changes)


def span(change_set: ChangeSet) -> str:
    """How a range is shown: short shas, `(start)` when nothing was released before."""
    return f"{change_set.since[:12] or '(start)'}..{change_set.until[:12]}"
