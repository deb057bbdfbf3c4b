"""Timing: an explicit release timeout covers the rollout.

Why: timeouts from draining are the most common complaint about ECS deploy
tools; the one budget formula (release/core/rolling.py) says what a rollout
needs at least. (Draining off cuts requests in flight: the classic ELB's
timing-draining, release/core/balancers/classic.py.)
"""

from __future__ import annotations

from collections.abc import Iterator

from release.core import rolling
from release.core.findings import ERROR, Finding
from release.core.rules.base import (
    Context,
    finding,
    rule,
    service_plan,
    with_taskdef,
)


@rule("timing-release-timeout", ERROR, "an explicit release timeout covers the rolling update: "
      "waves × (placement + HealthyThreshold × Interval + draining timeout + stopTimeout)",
      "use \"timeout\": \"auto\" or a larger number of seconds")
def timing_release_timeout(ctx: Context) -> Iterator[Finding]:
    for view, taskdef in with_taskdef(ctx):
        timeout = view.spec.timeout
        if view.env is None or not isinstance(timeout, int) or isinstance(timeout, bool):
            continue
        plan = service_plan(view, taskdef)
        # A stuck update is deploy-placement's finding; here it counts as the one wave it needs.
        waves = plan.waves if plan is not None and not plan.stuck else 1
        wave = rolling.wave_time(view.env, taskdef)
        needed = wave.minimum(waves)
        if timeout < needed:
            hc = view.env.load_balancer.health_check
            yield finding("timing-release-timeout", view.rel, "/release/timeout",
                          f"timeout {timeout} s is shorter than the {needed} s a release needs "
                          f"at least: {wave.describe(waves, hc.healthy_threshold, hc.interval)}",
                          f"use \"auto\" or at least {needed}")


CHECKS = (timing_release_timeout,)
