"""Schema findings read as sentences: a too-long list says its length and the limit, never
the Python repr of the whole array."""

from __future__ import annotations

from pathlib import Path

from validate_helpers import STAGING_ENV, TASKDEF, edit

from release.core.validate import validate_repo


def _sidecars(count: int):
    def add(doc) -> None:
        doc["containerDefinitions"] += [
            {"name": f"side{i}", "image": "nginx@sha256:" + "0f" * 32, "memory": 32,
             "essential": False} for i in range(count)]
    return add


def test_more_than_ten_containers_says_how_many_and_the_limit(repo: Path) -> None:
    edit(repo, TASKDEF, _sidecars(10))
    [found] = [f for f in validate_repo(repo, ["staging"]).findings
               if f.rule == "schema-length"]
    assert found.pointer == "/containerDefinitions"
    assert found.message == "11 items: at most 10 are allowed here"
    assert "{" not in found.message and "'name'" not in found.fix
    assert found.fix.startswith("remove 1 item")


def test_a_list_too_short_and_a_string_too_long_say_their_lengths(repo: Path) -> None:
    edit(repo, STAGING_ENV, lambda d: d["ecr"].update(repository="r" * 300))
    edit(repo, TASKDEF, lambda d: d.update(containerDefinitions=[]))
    messages = {f.pointer: f.message for f in validate_repo(repo, ["staging"]).findings
                if f.rule == "schema-length"}
    assert messages["/containerDefinitions"] == "no items: at least 1 is needed here"
    assert messages["/ecr/repository"] == "300 characters: at most 256 are allowed here"
