"""`release sandbox …` without the sandbox package: exit 2 and the command that installs it.

The sandbox is its own distribution (release-sandbox), so a tool installed from its
wheel alone has no `release_sandbox`; a subprocess whose importer refuses that
package stands for such an install.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from release.commands.sandbox import INSTALL_COMMAND

REPO_ROOT = Path(__file__).resolve().parents[2]

WITHOUT_SANDBOX = """
import sys


class NoSandbox:
    \"\"\"An importer that finds no release_sandbox, as where only the tool is installed.\"\"\"

    def find_spec(self, name, path=None, target=None):
        if name == "release_sandbox" or name.startswith("release_sandbox."):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None


sys.meta_path.insert(0, NoSandbox())
from release.cli import main

sys.argv = ["release", *sys.argv[1:]]
main()
"""


def without_sandbox(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", WITHOUT_SANDBOX, *args],
                          capture_output=True, text=True, timeout=60, cwd=REPO_ROOT,
                          env={**os.environ, "NO_COLOR": "1", "COLUMNS": "200"})


@pytest.mark.parametrize("verb", [["up"], ["down"], ["status"], ["fault", "throttle", "1"]])
def test_a_sandbox_verb_without_the_package_exits_2_with_the_install_command(
        verb: list[str]) -> None:
    done = without_sandbox("sandbox", *verb, "--repo", str(REPO_ROOT))
    output = done.stdout + done.stderr
    assert done.returncode == 2, output
    assert "the sandbox is not installed" in output
    assert INSTALL_COMMAND in output
    assert "Traceback" not in output


def test_the_install_command_names_the_sandbox_folder_of_the_repository() -> None:
    # The command is run from a checkout: ./sandbox must be the package it installs.
    assert INSTALL_COMMAND == "pip install -e ./sandbox"
    pyproject = (REPO_ROOT / "sandbox" / "pyproject.toml").read_text()
    assert 'name = "release-sandbox"' in pyproject


def test_the_simulated_absence_is_real() -> None:
    # Without the hook the same command would find the package: the hook is what removes it.
    done = subprocess.run([sys.executable, "-c", WITHOUT_SANDBOX.replace(
        "main()", "import release_sandbox"), "x"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 1 and "No module named 'release_sandbox'" in done.stderr
    assert subprocess.run([sys.executable, "-c", "import release_sandbox"],
                          timeout=60).returncode == 0
