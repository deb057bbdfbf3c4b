"""Read and remove a service's lock by hand: the lease calls behind `release unlock`.

The lock frees itself when its holder ends, when its lease expires, or when its
holder's process is gone on the same host; removing it by hand is for the rest
(a Jenkins agent that vanished with a fresh lease), so the removal is
conditional on the lease the operator was shown. A holder that still runs on this
host is not gone: removing its lock would let a second run change the service
beside it, so that needs its pid named back (`confirm_live`).
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
    alive: bool | None = None  # the holder's process runs on this host (None: another host)

    @property
    def where(self) -> str:
        return f"{self.environment.name}/{self.service}"


def read_lock(config_repo: ConfigRepo, env: str, service: str) -> LockView:
    from release.adapters import lease, ledger

    try:
        specs = config_repo.services_of(env, service)
    except UnknownName as exc:
        raise InvalidInput(exc.message, exc.hint) from None
    environment = config_repo.environment(env)
    name = specs[0].service_name
    table = lease.connect(environment)
    with ledger.table_errors(environment, f"reading the lock of {env}/{name}"):
        current = table.read_lease(name)
    alive = lease.holder_alive(current) if current is not None else None
    return LockView(environment, name, table, current, alive)


def confirm_live(view: LockView, named_pid: int | None, service: str) -> None:
    """Refuse to remove the lock of a holder that runs on this host unless its pid was named
    back (`--live-pid`): its run is still changing the service, and a lock removed under it
    lets a second run start beside it."""
    lease = view.current
    if not view.alive or lease is None or named_pid == lease.pid:
        return
    again = (f"release unlock --env {view.environment.name} --service {service} --yes "
             f"--live-pid {lease.pid}")
    wrong = f" (--live-pid {named_pid} is not its pid)" if named_pid is not None else ""
    raise InvalidInput(
        f"{view.where} is locked by a run that is still alive: pid {lease.pid} "
        f"({lease.command}) runs on this host{wrong}; the lock was not removed",
        f"wait for it to end (it frees the lock itself) or stop it (`kill {lease.pid}`: it "
        f"records itself interrupted and frees the lock); only if pid {lease.pid} is no longer "
        f"that run, remove the lock with `{again}`")


def remove_lock(view: LockView) -> None:
    """Drop exactly the lease that was read; refuse when it changed meanwhile."""
    from release.adapters import ledger

    with ledger.table_errors(view.environment, f"removing the lock of {view.where}"):
        removed = view.table.drop_lease(view.service, view.current.owner)
    if not removed:
        raise InvalidInput(f"the lock of {view.where} changed while asking (released or taken "
                           "again)", "run `release unlock` again to see who holds it now")
