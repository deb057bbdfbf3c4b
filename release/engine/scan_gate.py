"""The scan gate before a release changes anything: read, wait for a scan in progress, judge.

Called once by the deploy engine (shared by `deploy` and `apply`) after the plan
and before the first call that changes AWS; `plan` shows the gate's answer
without waiting. The judgement is core/scan_gate.py, the read
adapters/ecr_scan.py. A refusal is exit 1 (InvalidInput): nothing was changed.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from release.core import scan_gate
from release.core.clock import default_clock
from release.core.config import Environment, ServiceSpec
from release.core.errors import InvalidInput

POLL_SECONDS = 15  # ECR's own ImageScanComplete waiter polls every 5 s; a scan takes minutes


def _answer(env: Environment, spec: ServiceSpec, aws: Any, gate: scan_gate.Gate
            ) -> scan_gate.Answer:
    """The gate's answer for every image the service pins, each read in its own repository
    by its own digest (else tag), combined (core/scan_gate.combined)."""
    from release.adapters import ecr_scan
    from release.engine.wait import aws_step

    clock = default_clock()
    today = dt.datetime.fromtimestamp(clock.now(), dt.UTC).date()
    answers = []
    for pin in spec.images:
        repository = pin.repository_in(env)
        with aws_step(env, f"reading the scan findings of {spec.service_name}'s image "
                           f"{repository}"):
            pages = ecr_scan.scan_pages(aws.ecr, env, ecr_scan.image_id_of(pin.digest, pin.tag),
                                        repository)
        image = f"{repository}@{pin.digest or pin.tag}"
        answers.append(scan_gate.judge(gate, scan_gate.scan_of(pages), today, image, env.name,
                                       repository))
    return scan_gate.combined(answers)


def enforce(env: Environment, spec: ServiceSpec, aws: Any, reporter: Any) -> None:
    """Pass, or raise InvalidInput naming the findings; a scan in progress is waited for
    up to the gate's waitSeconds on the release clock."""
    gate = scan_gate.gate_of(env.doc)
    if gate is None:
        return
    clock = default_clock()
    deadline = clock.now() + gate.wait_seconds
    answer = _answer(env, spec, aws, gate)
    while answer.state == "wait":
        left = deadline - clock.now()
        if left <= 0:
            raise InvalidInput(f"{answer.message} after {gate.wait_seconds} s (ecr.scanGate."
                               "waitSeconds)", "wait for the scan to finish (`aws ecr wait "
                               "image-scan-complete`) and release again; nothing was changed")
        reporter.emit("scan_gate.waiting", f"{env.name}/{spec.service_name}: {answer.message}; "
                      f"waiting (up to {int(left)} s)", "dim", env=env.name,
                      service=spec.service_name)
        clock.sleep(min(POLL_SECONDS, left))
        answer = _answer(env, spec, aws, gate)
    for finding in answer.blocking[:20]:
        reporter.emit("scan_gate.finding", f"  {finding.one_line()}", "error", id=finding.id,
                      severity=finding.severity, package=finding.package)
    if answer.state == "refuse":
        raise InvalidInput(f"{env.name}/{spec.service_name}: {answer.message}", answer.fix)
    reporter.emit("scan_gate.passed", f"{env.name}/{spec.service_name}: {answer.message}",
                  "success", env=env.name, service=spec.service_name,
                  allowed=[f.id for f in answer.waived])


def for_plan(env: Environment, spec: ServiceSpec, aws: Any) -> scan_gate.Answer | None:
    """What the gate would answer now (no waiting); None when the environment has no gate."""
    gate = scan_gate.gate_of(env.doc)
    return _answer(env, spec, aws, gate) if gate is not None else None


def show(answer: scan_gate.Answer, reporter: Any) -> None:
    """`release plan`'s line for the gate: what `release deploy` would do about the scan."""
    then = {"pass": "", "wait": ": `release deploy` would wait for it",
            "refuse": ": `release deploy` would refuse"}[answer.state]
    reporter.emit("plan.scan_gate", f"  {answer.message}{then}",
                  "success" if answer.state == "pass" else "warn", state=answer.state,
                  fix=answer.fix or None)
    for finding in answer.blocking[:20]:
        reporter.emit("plan.scan_finding", f"    {finding.one_line()}", "warn", id=finding.id,
                      severity=finding.severity, package=finding.package)
