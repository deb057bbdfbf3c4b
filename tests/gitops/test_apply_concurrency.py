"""How `apply` schedules releases: bounded concurrency inside an environment, order across them.

The deploy engine is replaced by a recorder here (it has its own tests on the
sandbox; test_apply.py runs the real one): what is checked is apply's scheduling.
"""

from __future__ import annotations

import io
import threading
from dataclasses import dataclass, replace
from pathlib import Path

import pytest

from release.core import config
from release.core.changes import CHANGED, Change
from release.engine import deploy
from release.engine.apply import LockedReporter, release_environment, worst_exit_code
from release.output.events import OutputFormat, Reporter

PROJECT = Path(__file__).resolve().parents[2]


@dataclass
class Outcome:
    status: str
    exit_code: int


def many_services(count: int) -> config.ConfigRepo:
    repo = config.load_repo(PROJECT)
    base = repo.services[("staging", "akka-firehose")]
    services = {}
    for i in range(count):
        name = f"svc-{i}"
        spec = replace(base, name=name, service={**base.service, "serviceName": name})
        services[("staging", name)] = spec
    return replace(repo, services=services)


def test_services_of_one_environment_run_concurrently_but_never_above_the_bound(monkeypatch):
    running, peak, lock = 0, 0, threading.Lock()
    all_started = threading.Event()

    def recorder(repo, spec, reporter, timeout=None, rollback=True, command="deploy"):
        nonlocal running, peak
        with lock:
            running += 1
            peak = max(peak, running)
            if peak == 3:
                all_started.set()
        all_started.wait(5)  # hold every worker until the bound is reached
        with lock:
            running -= 1
        return Outcome("released", 0)

    monkeypatch.setattr(deploy, "release_service", recorder)
    repo = many_services(8)
    changes = [Change("staging", f"svc-{i}", "", CHANGED, ["image pin"]) for i in range(8)]
    reporter = LockedReporter(Reporter(OutputFormat.json, stream=io.StringIO()))
    results = release_environment(repo, "staging", changes, reporter, max_parallel=3)
    assert peak == 3
    assert [r.status for r in results] == ["released"] * 8
    assert [r.service for r in results] == [f"svc-{i}" for i in range(8)]


def test_an_engine_error_becomes_that_services_result_not_a_crash(monkeypatch):
    from release.core.errors import Unreachable

    def engine(repo, spec, reporter, timeout=None, rollback=True, command="deploy"):
        if spec.service_name == "svc-1":
            raise Unreachable("cannot reach AWS", "check the network")
        return Outcome("released", 0)

    monkeypatch.setattr(deploy, "release_service", engine)
    changes = [Change("staging", f"svc-{i}", "", CHANGED, []) for i in range(3)]
    reporter = LockedReporter(Reporter(OutputFormat.json, stream=io.StringIO()))
    results = release_environment(many_services(3), "staging", changes, reporter, 2)
    assert [(r.status, r.exit_code) for r in results] == [("released", 0), ("failed", 5),
                                                          ("released", 0)]


@pytest.mark.parametrize(("codes", "worst"), [([0, 0], 0), ([0, 3, 0], 3), ([3, 4, 5], 4),
                                              ([5, 3], 3), ([1, 5], 5)])
def test_the_exit_code_is_the_worst_outcome(codes, worst):
    assert worst_exit_code(codes) == worst
