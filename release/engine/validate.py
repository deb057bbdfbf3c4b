"""`release validate` as one call: the environments asked for must exist, then the report.

The schema and rule machinery is the core's; this edge adds what only a command
run knows: which environments were asked for, and whether botocore's own
parameter validation joins in (`--strict`).
"""

from __future__ import annotations

from pathlib import Path

from release.core import documents
from release.core.errors import InvalidInput
from release.core.validate import Report, validate_repo


def validate(root: Path, envs: list[str] | None, strict: bool) -> Report:
    """The validation report of the repository at `root` (unknown --env: exit 1)."""
    from release.adapters.apicheck import register_task_definition_problems

    if envs and (root / documents.ENVIRONMENTS_DIR).is_dir():
        known = documents.discover(root).environments
        unknown = [name for name in envs if name not in known]
        if unknown:
            raise InvalidInput(
                f"unknown environment {unknown[0]!r}",
                f"environments in {root}: {', '.join(sorted(known)) or 'none'} "
                "(folders under environments/)",
            )
    return validate_repo(root, envs,
                         api_check=register_task_definition_problems if strict else None)
