"""The scan gate before a release changes anything: read, wait for a scan in progress, judge.

Part of preflight (engine/preflight/scan_gate.py): a release (`deploy`, `apply`) waits
for a scan in progress with `settle` before its first change; `plan` and `release
preflight` take the answer now (`for_plan`). The judgement is core/scan_gate.py, the read
adapters/ecr_scan.py. A refusal is a preflight problem: exit 1, nothing was changed.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from typing import Any

from release.core import scan_gate
from release.core.clock import default_clock
from release.core.config import Environment, ServiceSpec
from release.core.poll import Again, Pace
from release.engine.poll import Contact, poll

POLL_SECONDS = 15  # ECR's own ImageScanComplete waiter polls every 5 s; a scan takes minutes


def _answer(env: Environment, spec: ServiceSpec, aws: Any, gate: scan_gate.Gate,
            mapped: bool = True) -> scan_gate.Answer:
    """The gate's answer for every image the service pins, each read in its own repository
    by its own digest (else tag), combined (core/scan_gate.combined). `mapped=False`: AWS's
    errors raw, for the poll loop's outage policy (engine/poll.py) to retry or map."""
    from release.adapters import ecr_scan
    from release.engine.wait import aws_step

    def step(doing: str) -> Any:
        return aws_step(env, doing) if mapped else contextlib.nullcontext()

    clock = default_clock()
    today = dt.datetime.fromtimestamp(clock.now(), dt.UTC).date()
    answers = []
    for pin in spec.images:
        repository = pin.repository_in(env)
        with step(f"reading the scan findings of {spec.service_name}'s image "
                           f"{repository}"):
            pages = ecr_scan.scan_pages(aws.ecr, env, ecr_scan.image_id_of(pin.digest, pin.tag),
                                        repository)
        image = f"{repository}@{pin.digest or pin.tag}"
        answers.append(scan_gate.judge(gate, scan_gate.scan_of(pages), today, image, env.name,
                                       repository))
    return scan_gate.combined(answers)


def settle(env: Environment, spec: ServiceSpec, aws: Any, reporter: Any
           ) -> scan_gate.Answer | None:
    """The gate's answer once no scan is in progress (waited for up to the gate's
    waitSeconds on the release clock, each wait said), the blocking findings and a pass
    reported as events; None when the environment has no gate. A scan still running at the
    deadline is an answer `wait` whose message says how long was waited."""
    gate = scan_gate.gate_of(env.doc)
    if gate is None:
        return None
    clock = default_clock()
    pace = Pace(POLL_SECONDS, clock.now() + gate.wait_seconds)

    def judge(now: float, answer: scan_gate.Answer) -> scan_gate.Answer | Again:
        if answer.state != "wait":
            return answer
        left = (pace.deadline or now) - now
        if left <= 0:
            return scan_gate.Answer(
                "wait", f"{answer.message} after {gate.wait_seconds} s (ecr.scanGate."
                "waitSeconds)", "wait for the scan to finish (`aws ecr wait "
                "image-scan-complete`) and release again; nothing was changed")
        reporter.emit("scan_gate.waiting", f"{env.name}/{spec.service_name}: {answer.message}; "
                      f"waiting (up to {int(left)} s)", "dim", env=env.name,
                      service=spec.service_name)
        return Again()

    contact = Contact(env, f"reading the scan findings of {spec.service_name}'s images",
                      "nothing was changed; release again", reporter, "scan_gate",
                      f"{env.name}/{spec.service_name}: ",
                      fields={"env": env.name, "service": spec.service_name},
                      deadline_ends_outage=False)
    answer = poll(lambda _now: _answer(env, spec, aws, gate, mapped=False), judge, pace=pace,
                  contact=contact, clock=clock)
    for finding in answer.blocking[:20]:
        reporter.emit("scan_gate.finding", f"  {finding.one_line()}", "error", id=finding.id,
                      severity=finding.severity, package=finding.package)
    if answer.state == "pass":
        reporter.emit("scan_gate.passed", f"{env.name}/{spec.service_name}: {answer.message}",
                      "success", env=env.name, service=spec.service_name,
                      allowed=[f.id for f in answer.waived])
    return answer


def for_plan(env: Environment, spec: ServiceSpec, aws: Any) -> scan_gate.Answer | None:
    """What the gate would answer now (no waiting); None when the environment has no gate."""
    gate = scan_gate.gate_of(env.doc)
    return _answer(env, spec, aws, gate) if gate is not None else None
