"""Which commit of the config repository a release comes from (gitpython, at the edge)."""

from __future__ import annotations

from pathlib import Path


def repo_commit(root: Path, known: str | None = None) -> tuple[str, str]:
    """(commit, base): `known` when the caller knows it (`release apply` renders from --until,
    not from the checkout's HEAD); else HEAD's sha when the checkout is clean, and
    "uncommitted" with HEAD as the base when it is not."""
    if known:
        return known, ""
    try:
        import git

        repo = git.Repo(root, search_parent_directories=True)
        sha = repo.head.commit.hexsha if repo.head.is_valid() else ""
        if repo.is_dirty(untracked_files=False, path=None):
            return "uncommitted", sha
        return sha or "uncommitted", ""
    except Exception:  # not a git checkout (a copied tree): say so instead of guessing
        return "unknown", ""
