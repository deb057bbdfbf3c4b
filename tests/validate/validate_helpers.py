"""Helpers for the validation tests: a throw-away copy of the project's own config repository."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

PROJECT = Path(__file__).resolve().parents[2]
CORPUS = Path(__file__).resolve().parent / "corpus"
STAGING_SERVICE = "environments/staging/services/akka-firehose.json"
STAGING_ENV = "environments/staging/environment.json"
TASKDEF = "taskdefs/akka-firehose.json"


def copy_repo(target: Path) -> Path:
    for folder in ("environments", "taskdefs", "schemas"):
        shutil.copytree(PROJECT / folder, target / folder)
    return target


def load(repo: Path, rel: str) -> Any:
    return json.loads((repo / rel).read_text())


def edit(repo: Path, rel: str, change: Callable[[Any], Any]) -> None:
    """Apply `change` (which mutates the parsed document; its return value is ignored)."""
    doc = load(repo, rel)
    change(doc)
    (repo / rel).write_text(json.dumps(doc, indent=2))
