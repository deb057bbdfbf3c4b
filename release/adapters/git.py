"""Git through gitpython: revisions, the documents of a commit, and the one-file commit.

Documents are read straight from git's object store (no checkout, the working
tree is never touched). Commands import this module inside their functions,
so `release --help` never loads gitpython.
"""

from __future__ import annotations

import dataclasses
import os
import re
from contextlib import suppress
from pathlib import Path

import git

from release.core import config
from release.core.changes import DOCUMENT_DIRS, write_documents
from release.core.config import ConfigRepo
from release.core.errors import InvalidInput, ReleaseError, Unreachable


def open_repo(path: Path) -> git.Repo:
    """The git repository holding `path`; a folder outside git is an input error."""
    try:
        return git.Repo(path, search_parent_directories=True)
    except (git.InvalidGitRepositoryError, git.NoSuchPathError):
        raise InvalidInput(
            f"{path} is not inside a git repository",
            "run from a clone of the config repository or pass --repo PATH",
        ) from None


def resolve(repo: git.Repo, rev: str) -> git.Commit:
    """A revision (sha, branch, tag, HEAD~2 ...) as a commit, or a clear input error."""
    try:
        return repo.commit(rev)
    except (git.BadName, git.BadObject, ValueError):
        raise InvalidInput(
            f"unknown git revision {rev!r}",
            "pass a commit, branch or tag that exists in this clone (`git log --oneline`); "
            "in a shallow clone fetch more history first",
        ) from None


def config_prefix(repo: git.Repo, root: Path) -> str:
    """Where the config repository sits inside the git repository ("" at its top)."""
    top = Path(repo.working_tree_dir or root).resolve()
    try:
        rel = Path(root).resolve().relative_to(top).as_posix()
    except ValueError:
        return ""
    return "" if rel == "." else rel


def tree_documents(commit: git.Commit, prefix: str = "") -> dict[str, bytes]:
    """The document files (environments/, taskdefs/, schemas/) of a commit: path → bytes.

    Paths are relative to the config repository, which may be a folder (`prefix`)
    of a larger git repository.
    """
    files: dict[str, bytes] = {}
    for top in DOCUMENT_DIRS:
        try:
            subtree = commit.tree / (f"{prefix}/{top}" if prefix else top)
        except KeyError:
            continue
        for item in subtree.traverse():
            if item.type == "blob":
                rel = item.path[len(prefix) + 1:] if prefix else item.path
                files[rel] = item.data_stream.read()
    return files


def require_forward(repo: git.Repo, old: git.Commit, new: git.Commit, since: str,
                    until: str) -> None:
    """--until must descend from --since: a range read backwards would plan the older pins
    as changes and release them (a rollback nobody asked for)."""
    if old.hexsha == new.hexsha or repo.is_ancestor(old, new):
        return
    bases = repo.merge_base(old, new)
    base = f" (their common ancestor is {bases[0].hexsha[:12]})" if bases else ""
    raise InvalidInput(
        f"--until {until} ({new.hexsha[:12]}) does not descend from --since {since} "
        f"({old.hexsha[:12]}){base}: the range is backwards or history was rewritten",
        "pass the older commit as --since and the newer as --until; to go back to an older "
        "pin use `release rollback` or `release promote`; in a shallow clone fetch more "
        "history first; nothing was changed")


def load_repo_at(commit: git.Commit, dest: Path, prefix: str = "") -> ConfigRepo:
    """Write a commit's documents to `dest` and load them as a ConfigRepo of that commit."""
    loaded = config.load_repo(write_documents(tree_documents(commit, prefix), dest))
    return dataclasses.replace(loaded, commit=commit.hexsha)


def load_config_at(root: Path, rev: str, dest: Path) -> ConfigRepo:
    """The ConfigRepo as of `rev` (from git objects, not the working tree), rooted at `root`."""
    repo = open_repo(root)
    loaded = load_repo_at(resolve(repo, rev), dest, config_prefix(repo, root))
    return dataclasses.replace(loaded, root=root)


def check_clean(repo: git.Repo) -> None:
    """Refuse to commit when anything but the pin would end up in (or be hidden by) the commit."""
    dirty = {d.a_path for d in repo.index.diff(None)} | {d.b_path for d in repo.index.diff(None)}
    if repo.head.is_valid():
        staged = repo.index.diff("HEAD")
        dirty |= {d.a_path for d in staged} | {d.b_path for d in staged}
    dirty.discard(None)
    if dirty:
        shown = ", ".join(sorted(dirty)[:5]) + (" ..." if len(dirty) > 5 else "")
        raise InvalidInput(
            f"the working tree has uncommitted changes ({shown}); a promotion commit must "
            "contain the pin and nothing else",
            "commit or discard those changes first (`git status`), then promote again; "
            "nothing was changed",
        )


def commit_file(repo: git.Repo, path: Path, message: str, previous_text: str) -> str:
    """Commit exactly one file; restore it if git refuses (bad input changes nothing)."""
    work_rel = path.resolve().relative_to(Path(repo.working_tree_dir).resolve()).as_posix()
    try:
        repo.git.add("--", work_rel)
        repo.git.commit("-m", message, "--", work_rel)
    except git.GitCommandError as exc:
        path.write_text(previous_text, encoding="utf-8")
        with suppress(git.GitCommandError):
            repo.git.reset("-q", "--", work_rel)
        detail = (exc.stderr or "").strip().splitlines()
        raise ReleaseError(
            f"git refused the promotion commit: {detail[-1] if detail else exc}",
            "set user.name/user.email (`git config`), check commit hooks, and retry; "
            "the spec file was restored",
        ) from None
    return repo.head.commit.hexsha


def repo_commit(root: Path, known: str | None = None) -> tuple[str, str]:
    """(commit, base): `known` when the caller knows it (`release apply` renders from --until,
    not from the checkout's HEAD); else HEAD's sha when the checkout is clean, and
    "uncommitted" with HEAD as the base when it is not."""
    if known:
        return known, ""
    try:
        repo = git.Repo(root, search_parent_directories=True)
        sha = repo.head.commit.hexsha if repo.head.is_valid() else ""
        if repo.is_dirty(untracked_files=False, path=None):
            return "uncommitted", sha
        return sha or "uncommitted", ""
    except Exception:  # not a git checkout (a copied tree): say so instead of guessing
        return "unknown", ""


_MOVED = ("non-fast-forward", "fetch first", "stale info")  # git's "[rejected] (…)" reasons


def push_head(repo: git.Repo, remote: str, branch: str) -> None:
    """Push HEAD to `remote`'s `branch`, fast-forward only: a branch that moved is refused by
    the remote and reported with its fix, never forced; a push the remote itself refuses (a
    hook, a protected branch, a checked-out branch) is said in the remote's words. Neither
    the remote's URL nor git's own lines are shown (either may carry credentials)."""
    try:
        repo.git.push("--porcelain", remote, f"HEAD:refs/heads/{branch}")
    except git.GitCommandError as exc:
        sha = repo.head.commit.hexsha[:12]
        status, reason = _refusal(str(exc.stdout or ""))
        if status == "[rejected]" and any(word in reason for word in _MOVED):
            raise InvalidInput(
                f"the push of {sha} to {remote}/{branch} was rejected: the branch moved since "
                f"this checkout ({reason})",
                "the branch moved: rebase and rerun (start the job again: it checks out the "
                "new tip and promotes anew); nothing was released and nothing was forced",
            ) from None
        if status:
            said = _remote_lines(str(exc.stderr or ""))
            raise InvalidInput(
                f"the remote refused the push of {sha} to {remote}/{branch}: {reason or status}"
                + (f"; it said: {' / '.join(said)}" if said else ""),
                _refusal_fix(reason, branch) + "; nothing was released and nothing was forced",
            ) from None
        raise Unreachable(
            f"git could not push to {remote}/{branch} (exit {exc.status})",
            "check the job's git credentials (withCredentials/sshagent) and the remote's "
            "name; nothing was released",
        ) from None


def _refusal(porcelain: str) -> tuple[str, str]:
    """`git push --porcelain`'s refused ref ("!<TAB>from:to<TAB>[rejected] (reason)") →
    ("[rejected]" or "[remote rejected]", the reason); ("", "") when no ref was refused."""
    for line in porcelain.splitlines():
        fields = line.split("\t")
        if line.startswith("!") and len(fields) >= 3:
            status, _, reason = fields[2].partition(" (")
            return status.strip(), reason.rstrip(")").strip()
    return "", ""


def _remote_lines(stderr: str, most: int = 6) -> list[str]:
    """What the remote's hooks printed (git's `remote:` lines), without URLs' user-info and
    queries nor token-looking values."""
    from release.core.notify import scrub

    lines = []
    for line in stderr.splitlines():  # GitPython quotes it: "  stderr: 'remote: …"
        said = re.match(r"\s*(?:stderr: ')?remote:(.*)$", line)
        if said and said.group(1).strip():
            lines.append(scrub(said.group(1).strip()))
    return lines[:most]


def _refusal_fix(reason: str, branch: str) -> str:
    if "checked out" in reason:
        return (f"the remote is a repository with a work tree where {branch} is checked out: "
                "push to its bare repository (the one the CI clones from)")
    if "hook declined" in reason or "protected" in reason:
        return (f"the remote's rules refuse this push to {branch} (a hook or a protected "
                "branch, in its words above): let the job's git account push there, or push "
                "the promotion to a branch the rules allow and merge it as they ask")
    return "read the remote's reason above and fix that side"


def push_branch(repo: git.Repo, given: str | None, remote: str) -> str:
    """The branch to push to: `given`, else Jenkins' GIT_BRANCH / BRANCH_NAME, else the
    checked-out branch (Jenkins checks out a detached HEAD, hence the variables first)."""
    for candidate in (given, os.environ.get("GIT_BRANCH"), os.environ.get("BRANCH_NAME")):
        if candidate:
            return candidate.removeprefix(f"{remote}/").removeprefix("refs/heads/")
    if not repo.head.is_detached:
        return repo.active_branch.name
    raise InvalidInput("HEAD is detached and no branch is named to push the promotion to",
                       "pass --branch BRANCH (Jenkins sets GIT_BRANCH); nothing was pushed")


def commits_touching(root: Path, since: str, until: str, paths: list[str],
                     limit: int = 100) -> list[tuple[str, str]]:
    """(sha, title) of the commits in since..until (all of until's history when since is
    empty) that touched `paths` (relative to the config repository), newest first."""
    repo = open_repo(root)
    prefix = config_prefix(repo, root)
    scoped = [f"{prefix}/{p}" if prefix else p for p in paths]
    span = f"{since}..{until}" if since.strip() else until
    out = repo.git.log(f"--max-count={limit}", "--format=%H%x09%s", span, "--", *scoped)
    return [tuple(line.split("\t", 1)) for line in out.splitlines() if "\t" in line]
