"""Read and remove a service's lock by hand: the ledger calls behind `release unlock`.

The lock frees itself when its holder ends, when its lease expires, or when its
holder's process is gone on the same host; removing it by hand is for the rest
(a Jenkins agent that vanished with a fresh lease), so the removal is
conditional on the lease the operator was shown.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from release.core.config import ConfigRepo, Environment, UnknownName
from release.core.errors import InvalidInput


@dataclass
class LockView:
    """The lock of one service as read, with what removing it needs."""

    environment: Environment
    service: str
    table: Any
    current: Any  # the lease, or None when the service is not locked

    @property
    def where(self) -> str:
        return f"{self.environment.name}/{self.service}"


def read_lock(config_repo: ConfigRepo, env: str, service: str) -> LockView:
    from release.adapters import ledger

    try:
        specs = config_repo.services_of(env, service)
    except UnknownName as exc:
        raise InvalidInput(exc.message, exc.hint) from None
    environment = config_repo.environment(env)
    name = specs[0].service_name
    table = ledger.connect(environment)
    with ledger.table_errors(environment, f"reading the lock of {env}/{name}"):
        current = table.read_lease(name)
    return LockView(environment, name, table, current)


def remove_lock(view: LockView) -> None:
    """Drop exactly the lease that was read; refuse when it changed meanwhile."""
    from release.adapters import ledger

    with ledger.table_errors(view.environment, f"removing the lock of {view.where}"):
        removed = view.table.drop_lease(view.service, view.current.owner)
    if not removed:
        raise InvalidInput(f"the lock of {view.where} changed while asking (released or taken "
                           "again)", "run `release unlock` again to see who holds it now")
