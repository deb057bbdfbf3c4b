"""The import direction is one way: the pure core imports only itself, the stdlib and jsonschema.

Every Import/ImportFrom node counts, at any depth: inside functions, under
`if TYPE_CHECKING`, in try blocks. A lazy import still couples the core to
what it imports, so hiding one inside a function is no way round this test.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

RELEASE = Path(__file__).resolve().parents[2] / "release"
FORBIDDEN_LIBRARIES = ("boto3", "botocore", "docker", "git", "requests", "urllib3", "rich")
OUTSIDE_THE_CORE = ("release.engine", "release.adapters", "release.commands",
                    "release_sandbox", "release.output")


def imported_names(path: Path, top: Path) -> list[tuple[int, str]]:
    """(line, absolute module name) of every import in a file, relative ones resolved."""
    package = ".".join(path.relative_to(top).with_suffix("").parts)
    if path.name != "__init__.py":
        package = package.rsplit(".", 1)[0]
    names: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*parent, base] if base else parent)
            names.append((node.lineno, base))
            names += [(node.lineno, f"{base}.{alias.name}") for alias in node.names]
    return names


def offences(folder: str, forbidden: tuple[str, ...], package: Path = RELEASE) -> list[str]:
    """`file:line imports name` for every import of a forbidden module under package/folder."""
    found = []
    for path in sorted((package / folder).rglob("*.py")):
        for line, name in imported_names(path, package.parent):
            if any(name == bad or name.startswith(bad + ".") for bad in forbidden):
                found.append(f"{path.relative_to(package.parent).as_posix()}:{line} "
                             f"imports {name}")
    return found


def test_the_core_imports_no_aws_docker_git_or_terminal_library() -> None:
    assert offences("core", FORBIDDEN_LIBRARIES) == []


def test_the_core_imports_nothing_outside_the_core() -> None:
    assert offences("core", OUTSIDE_THE_CORE) == []


def test_the_core_imports_only_the_core_the_standard_library_and_jsonschema() -> None:
    allowed = {*sys.stdlib_module_names, "__future__", "jsonschema", "release"}
    strays = []
    for path in sorted((RELEASE / "core").rglob("*.py")):
        for line, name in imported_names(path, RELEASE.parent):
            top = name.split(".")[0]
            if top not in allowed or (top == "release" and not (
                    name == "release" or name.startswith("release.core"))):
                strays.append(f"{path.relative_to(RELEASE.parent).as_posix()}:{line} {name}")
    assert strays == []


@pytest.mark.parametrize(("folder", "forbidden"), [
    ("engine", ("release.commands",)),
    ("adapters", ("release.engine", "release.commands")),
])
def test_imports_point_one_way(folder: str, forbidden: tuple[str, ...]) -> None:
    assert offences(folder, forbidden) == []


def test_the_walk_sees_imports_hidden_in_functions_and_type_checking(tmp_path: Path) -> None:
    # The tests above would pass vacuously if the walk missed nested imports: show it finds them.
    probe = tmp_path / "release" / "core" / "probe.py"
    probe.parent.mkdir(parents=True)
    probe.write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import rich\n"
                     "def f():\n    from botocore import loaders\n    from ..engine import x\n")
    package = tmp_path / "release"
    assert offences("core", FORBIDDEN_LIBRARIES, package) == [
        "release/core/probe.py:3 imports rich",
        "release/core/probe.py:5 imports botocore",
        "release/core/probe.py:5 imports botocore.loaders"]
    assert offences("core", OUTSIDE_THE_CORE, package) == [
        "release/core/probe.py:6 imports release.engine",
        "release/core/probe.py:6 imports release.engine.x"]


def import_graph(package: Path = RELEASE) -> dict[str, set[str]]:
    """module -> the package's modules it imports (at any depth, lazy imports included)."""
    modules = {}
    for path in package.rglob("*.py"):
        name = ".".join(path.relative_to(package.parent).with_suffix("").parts)
        modules[name.removesuffix(".__init__")] = path
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        found = set()
        for _, imported in imported_names(path, package.parent):
            while imported and imported not in modules:  # `from m import f`: the module m
                imported = imported.rpartition(".")[0]
            if imported and imported != name and imported != package.name:
                found.add(imported)
        graph[name] = found
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected groups of more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for other in sorted(graph[node]):
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            group = [stack.pop()]
            while group[-1] != node:
                group.append(stack.pop())
            if len(group) > 1:
                found.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return sorted(found)


def test_no_two_modules_of_the_release_package_import_each_other() -> None:
    # A circle is two modules that cannot be understood (or moved) apart: a lazy import
    # that hides one from Python's import machinery still counts.
    assert cycles(import_graph()) == []


def test_the_cycle_search_finds_a_circle_through_a_lazy_import(tmp_path: Path) -> None:
    package = tmp_path / "release"
    (package / "core").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "core" / "__init__.py").write_text("")
    (package / "core" / "a.py").write_text("from release.core.b import x\n")
    (package / "core" / "b.py").write_text("def f():\n    from release.core import c\n")
    (package / "core" / "c.py").write_text("from . import a\n")
    (package / "core" / "d.py").write_text("from release.core import a\n")
    assert cycles(import_graph(package)) == [
        ["release.core.a", "release.core.b", "release.core.c"]]
