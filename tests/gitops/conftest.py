"""Temporary config repositories made with gitpython from the project's own documents."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import git
import pytest

PROJECT = Path(__file__).resolve().parents[2]
DOCUMENT_DIRS = ("environments", "taskdefs", "schemas")


class ConfigGit:
    """A throwaway git repository holding a copy of the project's documents."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.git = git.Repo.init(root, initial_branch="main")
        with self.git.config_writer() as cfg:
            cfg.set_value("user", "name", "Release Tests")
            cfg.set_value("user", "email", "tests@example.invalid")
            cfg.set_value("commit", "gpgsign", "false")

    def path(self, rel: str) -> Path:
        return self.root / rel

    def read(self, rel: str) -> str:
        return self.path(rel).read_text(encoding="utf-8")

    def write(self, rel: str, text: str) -> None:
        target = self.path(rel)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")

    def edit_json(self, rel: str, change: Callable[[dict[str, Any]], None],
                  indent: int | None = 2) -> None:
        doc = json.loads(self.read(rel))
        change(doc)
        self.write(rel, json.dumps(doc, indent=indent) + "\n")

    def commit(self, message: str) -> str:
        self.git.git.add("-A")
        self.git.git.commit("-q", "--allow-empty", "-m", message)
        return self.git.head.commit.hexsha

    @property
    def head(self) -> str:
        return self.git.head.commit.hexsha


def make_config_git(root: Path) -> ConfigGit:
    root.mkdir(parents=True, exist_ok=True)
    for name in DOCUMENT_DIRS:
        if (PROJECT / name).is_dir():
            shutil.copytree(PROJECT / name, root / name)
    (root / "README.md").write_text("# config\n", encoding="utf-8")
    repo = ConfigGit(root)
    repo.commit("initial documents")
    return repo


@pytest.fixture()
def config_git(tmp_path: Path) -> ConfigGit:
    return make_config_git(tmp_path / "config")
