"""`release.autoscaling.suspendScaleIn`: dynamic scale-in suspended for one release, then
restored on every way out (released, rolled back, failed, an error, Ctrl-C or SIGTERM).

The calls are the plan's (core/autoscaling.Suspension): RegisterScalableTarget with
SuspendedState DynamicScalingInSuspended true, the other two as they were; then the
state as it was. "Setting the value of an attribute to true suspends the specified
scaling activities. Setting it to false resumes the specified scaling activities"
(Application Auto Scaling API reference, RegisterScalableTarget, SuspendedState). Each
is said as an event and written on the release's ledger entry (`autoscaling`).

A suspension that cannot be made stops the release before its first change (nothing
changed: the spec asked for it); a restore that fails is a warning with the command
that restores it by hand, never a change of the release's outcome.
"""

from __future__ import annotations

from types import TracebackType
from typing import Any

from release.core import autoscaling
from release.core.errors import ReleaseError
from release.engine.executor import Executor
from release.output.events import Reporter


class ScaleIn:
    """Holds the suspension of one release; `with` restores it however the block ends."""

    def __init__(self, reporter: Reporter) -> None:
        self.reporter = reporter
        self._held: tuple[Any, autoscaling.Suspension] | None = None

    def __enter__(self) -> ScaleIn:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.restore()

    def suspend(self, prepared: Any) -> None:
        """Suspend scale-in when the plan says so (a no-op otherwise, or when already held)."""
        plan = prepared.plan
        suspension = plan.suspension
        if suspension is None or self._held is not None:
            return
        env, service = prepared.env, prepared.spec.service_name
        where = f"{env.name}/{service}"
        if suspension.suspend is None:
            level = "warn" if "cannot" in suspension.note else "info"
            self.reporter.emit("autoscaling.note", f"{where}: {suspension.note}", level,
                               env=env.name, service=service,
                               resource_id=suspension.resource_id)
            return
        try:
            Executor(prepared.aws, self.reporter, env, kind="autoscaling").execute(
                [suspension.suspend])
        except ReleaseError as exc:
            raise type(exc)(
                f"{where}: could not suspend dynamic scale-in of {suspension.resource_id}: "
                f"{exc.message}",
                "allow application-autoscaling:RegisterScalableTarget to the release's role "
                "(docs/gitops.md), or set release.autoscaling.suspendScaleIn to false; "
                "nothing was changed") from None
        self._held = (prepared, suspension)
        self.reporter.emit("autoscaling.suspended", f"{where}: dynamic scale-in of "
                           f"{suspension.resource_id} suspended for the release", "info",
                           env=env.name, service=service, resource_id=suspension.resource_id)
        _note(prepared, "scale-in suspended during the release")

    def restore(self) -> None:
        """Put the scalable target's suspended state back as it was; said, never raised."""
        if self._held is None:
            return
        prepared, suspension = self._held
        self._held = None
        env, service = prepared.env, prepared.spec.service_name
        where = f"{env.name}/{service}"
        call = suspension.restore
        if call is None:  # a suspension that acts has both calls
            return
        try:
            Executor(prepared.aws, self.reporter, env, kind="autoscaling").execute([call])
        except BaseException as exc:  # the release's outcome stands; a second Ctrl-C too
            command = autoscaling.restore_command(call)
            self.reporter.emit("autoscaling.not_restored", f"{where}: could not restore the "
                               f"suspended state of {suspension.resource_id} ({exc}); scale-in "
                               f"stays suspended until `{command}`", "error", env=env.name,
                               service=service, resource_id=suspension.resource_id,
                               command=command)
            _note(prepared, f"scale-in suspended during the release; NOT restored: {exc}")
            if not isinstance(exc, Exception):
                raise
            return
        self.reporter.emit("autoscaling.restored", f"{where}: the suspended state of "
                           f"{suspension.resource_id} restored", "info", env=env.name,
                           service=service, resource_id=suspension.resource_id,
                           state=call.params["SuspendedState"])
        _note(prepared, "scale-in suspended during the release, then restored")


def _note(prepared: Any, text: str) -> None:
    prepared.held.ledger.note_release(autoscaling=text)
