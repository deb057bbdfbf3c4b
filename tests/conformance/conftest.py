"""The replay "world": the project's documents and AWS clients that reach nothing.

Every replay test starts the same way: credentials that reach nothing, the staging
documents loaded, one `Aws` whose clients the test answers with botocore's Stubber
(`stubbed`, shapes_taskdef.py), optionally STS saying whose credentials these are, an
empty ledger table, and the engine's `connect` answering with that same `Aws`. The
`replay_world` fixture builds that world once, in one place; each test module asks for
the parts it needs.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import pytest
from shapes_ledger import quiet_ledger
from shapes_taskdef import JENKINS, offline_credentials, stubbed

from release.adapters.aws import Aws
from release.core.config import load_repo
from release.core.render import render_service

ROOT = Path(__file__).resolve().parents[2]
STAGING = "staging"

World = dict[str, Any]


@pytest.fixture
def replay_world(monkeypatch: pytest.MonkeyPatch) -> Callable[..., World]:
    """Build a replay world: `replay_world(caller=..., ledger=..., connect=[...])`.

    root/env: the config repository and environment (default: the project's staging);
    only_envs: read only these environments of `root` (load_repo's only_envs);
    caller: the UserId STS answers GetCallerIdentity with (None: STS is not asked);
    ledger: answer DynamoDB as an empty ledger table would;
    connect: modules whose `connect(env)` should return this world's `Aws`.
    Returns {"repo", "env", "spec", "aws", "desired"}; a module adds what it needs.
    """

    def build(root: Path = ROOT, env: str = STAGING, *, only_envs: list[str] | None = None,
              caller: str | None = None, ledger: bool = False,
              connect: Iterable[Any] = ()) -> World:
        offline_credentials(monkeypatch)
        repo = load_repo(root, only_envs)
        environment = repo.environment(env)
        spec = repo.services_of(env)[0]
        aws = Aws(environment)
        if caller is not None:  # whoever asks STS hears the environment's own account
            stubbed(aws.sts, [("get_caller_identity", {
                "UserId": caller, "Account": environment.account, "Arn": JENKINS}, None)])
        if ledger:
            quiet_ledger(aws)
        for module in connect:
            monkeypatch.setattr(module, "connect", lambda _env: aws)
        return {"repo": repo, "env": environment, "spec": spec, "aws": aws,
                "desired": render_service(repo, spec)}

    return build
