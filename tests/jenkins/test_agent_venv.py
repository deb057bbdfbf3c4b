"""The Setup stage's script: a workspace venv made with Python 3.11 and `pip install .`,
reused while pyproject.toml's hash matches its stamp, made anew when it does not.

It runs for real (python3.11 -m venv, pip) on a one-module project standing in for the
checkout, so the test measures the script, not the project's dependency tree; whether a
venv is made anew is asked with `--check` (making one is what the first run shows).
"""

from __future__ import annotations

import hashlib
import subprocess
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[2]
SCRIPT = PROJECT / "scripts" / "agent-venv.sh"
PYPROJECT = """[build-system]
requires = ["setuptools>=68"]
build-backend = "setuptools.build_meta"

[project]
name = "release-setup-probe"
version = "{version}"

[project.scripts]
release = "probe:main"

[tool.setuptools]
py-modules = ["probe"]
"""


def checkout(root: Path, version: str, says: str) -> None:
    root.mkdir(exist_ok=True)
    (root / "pyproject.toml").write_text(PYPROJECT.format(version=version), encoding="utf-8")
    (root / "probe.py").write_text(f"def main():\n    print({says!r})\n", encoding="utf-8")


def setup(root: Path, *args: str) -> str:
    done = subprocess.run([str(SCRIPT), *args, ".release-venv"], cwd=root,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def release(root: Path) -> str:
    return subprocess.run([str(root / ".release-venv/bin/release")], capture_output=True,
                          text=True, check=True).stdout.strip()


def test_the_venv_is_made_reused_while_pyproject_is_unchanged_and_made_anew_after(tmp_path):
    root = tmp_path / "workspace"
    checkout(root, "1", "first")
    assert "creating .release-venv with python3.11" in setup(root)
    stamp = root / ".release-venv/.pyproject.sha256"
    assert stamp.read_text().strip() == hashlib.sha256(
        (root / "pyproject.toml").read_bytes()).hexdigest()
    assert release(root) == "first"
    kept = root / ".release-venv/kept-between-builds"
    kept.touch()

    checkout(root, "1", "second commit")  # the code changed, the dependencies did not
    assert "is current" in setup(root)
    assert kept.exists() and release(root) == "second commit"

    checkout(root, "2", "third")  # pyproject.toml changed: a new venv would be made
    assert setup(root, "--check") == "stale\n"
    stamp.write_text("unreadable\n")
    checkout(root, "1", "fourth")
    assert setup(root, "--check") == "stale\n"  # a stamp that does not match: anew too
