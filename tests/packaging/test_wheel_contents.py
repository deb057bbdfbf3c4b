"""The tool's wheel ships the tool: no emulator, no pytest harness, no moto.

The sandbox (moto's server, the ECS emulator, the registry, `release_sandbox.testing`)
is the distribution release-sandbox in ./sandbox. The wheel is built here from a
copy of the checkout, offline (no build isolation: the venv's setuptools builds it),
and its file list and every module's imports are read.
"""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# The one module that may name the sandbox package: `release sandbox …` imports it when
# it is installed and says how to install it when not (tests/sandbox/test_sandbox_not_installed).
SANDBOX_SEAM = "release/commands/sandbox.py"


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> zipfile.ZipFile:
    source = tmp_path_factory.mktemp("checkout")
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    ignore = shutil.ignore_patterns("__pycache__", "*.egg-info", "build")
    for folder in ("release", "sandbox"):  # the tree as it is, the sandbox package beside
        shutil.copytree(ROOT / folder, source / folder, ignore=ignore)
    out = tmp_path_factory.mktemp("dist")
    done = subprocess.run([sys.executable, "-m", "pip", "wheel", str(source), "--no-deps",
                           "--no-build-isolation", "--no-index", "-q", "-w", str(out)],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    [built] = out.glob("release-*.whl")
    return zipfile.ZipFile(built)


def imports(source: str, module: str) -> set[str]:
    """Every absolute module name a module imports, at any depth (relative ones resolved)."""
    names: set[str] = set()
    package = module.rsplit(".", 1)[0]
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*parent, base] if base else parent)
            names.add(base)
    return names


def test_the_wheel_holds_the_tool_and_nothing_of_the_sandbox(wheel: zipfile.ZipFile) -> None:
    files = wheel.namelist()
    tops = {name.split("/")[0] for name in files}
    assert tops == {"release", "release-0.1.0.dist-info"}, tops
    assert "release/cli.py" in files and "release/core/ecs_model.json" in files
    assert [f for f in files if "sandbox" in f] == [SANDBOX_SEAM]
    assert not [f for f in files if f.endswith(("/testing.py", "/server.py", "/emulator.py",
                                                "/moto_hooks.py", "/scheduler.py"))]


def test_no_module_in_the_wheel_imports_moto_or_the_sandbox(wheel: zipfile.ZipFile) -> None:
    modules = [f for f in wheel.namelist() if f.endswith(".py")]
    assert len(modules) > 100  # the walk reads the tool, not an empty wheel
    offenders = {}
    for path in modules:
        module = path[:-3].replace("/", ".")
        found = {name for name in imports(wheel.read(path).decode(), module)
                 if name.split(".")[0] in ("moto", "release_sandbox")}
        if found:
            offenders[path] = found
    assert offenders == {SANDBOX_SEAM: {"release_sandbox"}}


def test_the_sandbox_seam_imports_the_package_only_inside_its_guard(
        wheel: zipfile.ZipFile) -> None:
    # At module level the import would break every `release` command where the sandbox is absent.
    tree = ast.parse(wheel.read(SANDBOX_SEAM).decode())
    top = [node for node in tree.body if isinstance(node, ast.Import | ast.ImportFrom)]
    assert all("release_sandbox" not in (getattr(node, "module", None) or "") and
               all("release_sandbox" not in a.name for a in node.names) for node in top)


def test_the_wheel_names_no_sandbox_dependency(wheel: zipfile.ZipFile) -> None:
    metadata = wheel.read("release-0.1.0.dist-info/METADATA").decode()
    requires = [line for line in metadata.splitlines() if line.startswith("Requires-Dist:")]
    assert requires and not [r for r in requires if "moto" in r or "bcrypt" in r]
