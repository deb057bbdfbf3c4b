"""What a newcomer reads first is true: the package description and the README's account of
the sandbox name what the tool and the emulator do (each claim checked against the code's
own record of it: the emulator's conformance table, the load-balancer kinds)."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# what the emulator models, each with the words of its row in docs/sandbox.md's conformance
# table: a README that lists one of them as "not emulated" is wrong
EMULATED = {"Fargate": "Fargate", "awsvpc": "awsvpc", "ALB/NLB target groups": "Target groups",
            "target groups": "Target groups", "capacity providers": "FARGATE capacity provider",
            "BLUE_GREEN": "Native strategies"}


def _paragraph(text: str, start: str) -> str:
    begin = text.index(start)
    end = text.find("\n\n", begin)
    return " ".join(text[begin:end].split())


def test_the_readme_does_not_call_what_the_sandbox_emulates_not_emulated() -> None:
    readme = (ROOT / "README.md").read_text()
    sandbox = (ROOT / "docs" / "sandbox.md").read_text()
    missing = _paragraph(readme, "It does not emulate:").removeprefix("It does not emulate:")
    items = [i.strip(" .") for i in re.split(r",|\(|\)", missing)]
    for name, row in EMULATED.items():
        assert row in sandbox, f"docs/sandbox.md no longer covers {name}"
        assert name not in items, f"README says the sandbox does not emulate {name}"
    assert "load-balancer emulator" in readme


def test_the_package_description_names_every_kind_of_service_the_tool_releases() -> None:
    description = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["description"]
    from release.core.balancers import KINDS

    assert {kind.service_key for kind in KINDS} == {"loadBalancerName", "targetGroupArn"}
    for kind in ("classic ELB", "target groups", "Fargate", "several"):
        assert kind in description, description
