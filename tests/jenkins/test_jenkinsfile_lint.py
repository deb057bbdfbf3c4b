"""CI's Groovy linter (scripts/lint-jenkinsfile.sh, run by `make test` before pytest): a
Jenkinsfile that does not parse fails it, naming the line; style warnings do not.

The project's own Jenkinsfile is linted by `make test` itself; here the script is shown to
fail on an error, so that the step cannot pass for a file it did not lint."""

from __future__ import annotations

import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "lint-jenkinsfile.sh"


def _lint(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(SCRIPT), str(path)], capture_output=True, text=True,
                          timeout=600, check=False)


def test_a_jenkinsfile_that_does_not_parse_fails_the_lint_with_its_line(tmp_path: Path) -> None:
    broken = tmp_path / "Jenkinsfile"
    source = (ROOT / "Jenkinsfile").read_text()
    broken.write_text(source.replace("stages {", "stages {{", 1))
    done = _lint(broken)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "NglParseError" in done.stdout and "results in 1 linted file" in done.stdout
    assert "has errors" in done.stderr
    assert str(tmp_path) not in done.stdout  # the scratch folder's path is not shown


def test_a_missing_file_is_a_failure_not_a_pass(tmp_path: Path) -> None:
    done = _lint(tmp_path / "nope")
    assert done.returncode == 1 and "no such file" in done.stderr
