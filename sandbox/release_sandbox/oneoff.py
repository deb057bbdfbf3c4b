"""One-off tasks (RunTask, not in a service) in the sandbox: they start, run and stop.

What moto does on its own: RunTask places the task on a container instance and
answers; its status then moves one step per DescribeTasks call up to RUNNING and
stays there forever, every container reports exitCode 0, and nothing is logged.
The emulator's scheduler only moves tasks of services. So `release run` would wait
for ever. This module moves one-off tasks the way the "Amazon ECS task lifecycle"
page describes: PROVISIONING → PENDING → RUNNING → (DEACTIVATING, STOPPING) → STOPPED,
with stopCode `EssentialContainerExited` and stoppedReason "Essential container in
task exited" when its essential container ends, each container's exitCode set.

The sandbox cannot run the image, so the command override is the test hook (the
documented one, docs/sandbox.md "One-off tasks"), read from the command's words:

* `exit N` anywhere in it (e.g. `sh -c "migrate && exit 3"`): the container exits N;
  otherwise 0 — or the container's `RELEASE_SANDBOX_FAULT=crash:exit=N` (faults.py);
* `sleep N`: it runs N seconds (sandbox time) before it exits; otherwise 2 s;
* `echo WORDS`: WORDS is one log line, written to the container's awslogs stream
  (`<awslogs-stream-prefix>/<container>/<task id>`, as the awslogs driver names it)
  when its log group exists — the driver does not create groups unless told to
  (awslogs.py, the driver's stand-in, stamps it with the sandbox's clock).

A task the agent cannot start (startup.py: a secret, the image or the log group missing)
stops after PENDING with stopCode TaskFailedToStart and ECS's reason, no exit code.

StopTask on a one-off task is moto's own (STOPPED at once); this module then leaves it.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from release_sandbox import awslogs
from release_sandbox.faults import fault_of_container_definitions
from release_sandbox.startup import StartChecks

PROVISIONING_SECONDS = 1.0
PENDING_SECONDS = 2.0
DEFAULT_RUN_SECONDS = 2.0
_EXIT = re.compile(r"\bexit\s+(\d{1,3})\b")
_SLEEP = re.compile(r"\bsleep\s+(\d+(?:\.\d+)?)\b")
_ECHO = re.compile(r"\becho\s+([^;&|]*)")


@dataclass
class OneOff:
    task: Any  # moto's Task, its status moved only from here
    exit_code: int
    run_seconds: float
    log_lines: list[str]
    since: float
    definitions: list[dict[str, Any]] = field(default_factory=list)


def _stamp(now: float) -> datetime:
    return datetime.fromtimestamp(now, UTC)


def _command_of(task: Any, definition: dict[str, Any]) -> list[str]:
    for override in (task.overrides or {}).get("containerOverrides") or []:
        if override.get("name") == definition.get("name") and override.get("command"):
            return [str(w) for w in override["command"]]
    return [str(w) for w in definition.get("command") or []]


def read_command(words: list[str], crash_exit: int | None) -> tuple[int, float, list[str]]:
    """(exit code, seconds it runs, log lines) that a command asks the sandbox for."""
    text = " ".join(words)
    found = _EXIT.findall(text)
    code = int(found[-1]) if found else (crash_exit if crash_exit is not None else 0)
    sleep = _SLEEP.search(text)
    seconds = float(sleep.group(1)) if sleep else DEFAULT_RUN_SECONDS
    lines = [m.strip().strip("'\"") for m in _ECHO.findall(text)]
    return code, seconds, lines


class OneOffTasks:
    """The one-off tasks of one emulator; `tick` is called from the emulator's tick."""

    def __init__(self, task_class: Callable[[], type], account: str, region: str,
                 startup: StartChecks | None = None) -> None:
        self.task_class = task_class
        self.account = account
        self.region = region
        self.startup = startup or StartChecks(account, region)
        self.tasks: dict[str, OneOff] = {}

    def started(self, tasks: list[Any], now: float) -> None:
        """RunTask placed `tasks`: from now on their status is moved here."""
        from moto.backends import get_backend

        ecs = get_backend("ecs")[self.account][self.region]
        for task in tasks:
            definitions = ecs.describe_task_definition(task.task_definition_arn
                                                       ).container_definitions
            task.__class__ = self.task_class()  # a moto Task whose status only we move
            task.last_status = "PROVISIONING"
            task.created_at = _stamp(now)
            _, fault = fault_of_container_definitions(definitions)
            essential = next((d for d in definitions if d.get("essential", True)),
                             definitions[0])
            code, seconds, lines = read_command(_command_of(task, essential),
                                                fault.crash_exit_code)
            for container in task.containers:
                container.last_status = "PENDING"
                container.exitCode = None
            self.tasks[task.task_arn] = OneOff(task, code, seconds, lines, now, definitions)

    def tick(self, now: float) -> None:
        for arn, one in list(self.tasks.items()):
            task = one.task
            elapsed = now - one.since
            if task.last_status == "STOPPED":  # StopTask (moto's own), or done
                del self.tasks[arn]
            elif task.last_status == "PROVISIONING" and elapsed >= PROVISIONING_SECONDS:
                self._phase(one, "PENDING", now)
            elif task.last_status == "PENDING" and elapsed >= PENDING_SECONDS:
                failure = self.startup.failure(one.definitions, task.launch_type == "FARGATE")
                if failure is not None:
                    self._stop(one, now, failure.stop_code, failure.stopped_reason, None)
                    for container in task.containers:
                        if container.name == failure.container:
                            container.reason = failure.container_reason
                    continue
                self._phase(one, "RUNNING", now)
                task.started_at = _stamp(now)
                for container in task.containers:
                    container.last_status = "RUNNING"
                self._log(one, now)
            elif task.last_status == "RUNNING" and elapsed >= one.run_seconds:
                self._stop(one, now, "EssentialContainerExited",
                           "Essential container in task exited", one.exit_code)

    def _stop(self, one: OneOff, now: float, code: str, reason: str,
              exit_code: int | None) -> None:
        task = one.task
        self._phase(one, "STOPPED", now)
        task.desired_status = "STOPPED"
        task.stop_code = code
        task.stopped_reason = reason
        task.stopping_at = task.stopped_at = _stamp(now)
        task.execution_stopped_at = _stamp(now)
        for container in task.containers:
            container.last_status = "STOPPED"
            container.exitCode = exit_code

    @staticmethod
    def _phase(one: OneOff, status: str, now: float) -> None:
        one.task.last_status = status
        one.task.version = getattr(one.task, "version", 1) + 1
        one.since = now

    def _log(self, one: OneOff, now: float) -> None:
        """The command's `echo` lines, through the awslogs driver's stand-in (awslogs.py)."""
        awslogs.write(self.account, self.region, one.definitions, one.task.id, one.log_lines,
                      now)
