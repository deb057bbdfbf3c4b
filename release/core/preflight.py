"""Preflight: what must hold in AWS before a release changes anything, as data.

A release used to find out that the execution role is missing, a secret unreadable, a log
group absent or the cluster full only when ECS failed to start the new tasks — after the
revision was registered, the service updated and (behind a classic ELB) old tasks drained.
Preflight asks first, reading only, and reports every problem at once. Each check
(engine/preflight/<check>.py) answers `Result`s of one shape: the check, a status, the
resource, the document and JSON pointer that name it, what is wrong and the fix. This
module is the shape, the table `plan` and `release preflight` show, and the refusal.
Pure.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import Any

OK = "ok"
PROBLEM = "problem"  # the release would fail: refused, exit 1, nothing changed
WARNING = "warning"  # worth knowing, does not stop a release
NOT_CHECKED = "not checked"  # the answer could not be read (permission, offline, unknown)
STATUSES = (PROBLEM, WARNING, NOT_CHECKED, OK)

# The checks in the order they run and show; `when` says which releases need them:
# "always" also on a release that changes nothing, "change" only when new tasks start.
CHECKS: tuple[tuple[str, str, str], ...] = (
    ("account", "the credentials' account and the role assumed", "always"),
    ("roles", "task, execution and service roles exist and trust ECS", "change"),
    ("secrets", "secrets and parameters exist; the execution role may read them", "change"),
    ("images", "every image of the revision exists in its registry", "change"),
    ("logs", "each awslogs group exists (or the driver creates it)", "change"),
    ("load-balancer", "the classic ELB or target group exists and fits the mapping", "change"),
    ("capacity", "the instances place the first wave; capacity providers are active",
     "change"),
    ("alarms", "every alarm the release watches exists", "change"),
    ("scan-gate", "the image's scan findings pass ecr.scanGate", "change"),
)
CHECK_NAMES = tuple(name for name, _, _ in CHECKS)


def needed_when_unchanged(check: str) -> bool:
    """A release that changes nothing starts no task: only the checks marked "always" run."""
    return next(when for name, _, when in CHECKS if name == check) == "always"


@dataclass(frozen=True)
class Result:
    """One answer of one check about one resource."""

    check: str
    status: str
    resource: str
    message: str
    fix: str = ""
    document: str | None = None
    pointer: str | None = None

    @property
    def where(self) -> str:
        if not self.document:
            return ""
        return f"{self.document}#{self.pointer}" if self.pointer else self.document

    def one_line(self) -> str:
        where = f" ({self.where})" if self.where else ""
        return f"{self.check}: {self.message}{where}"

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "where": self.where}


def placed(check: str, status: str, resource: str, message: str, fix: str = "",
           at: tuple[str, str] | None = None) -> Result:
    """A Result at (document, pointer)."""
    document, pointer = at if at else (None, None)
    return Result(check, status, resource, message, fix, document, pointer)


COLUMNS = ["check", "status", "resource", "where", "detail"]


@dataclass(frozen=True)
class Report:
    """Every answer of one preflight: of one service's git version, or a rollback target."""

    env: str
    service: str
    subject: str  # "git" | "akka-demo:3"
    results: tuple[Result, ...]
    skipped: tuple[str, ...] = ()  # checks a release that changes nothing does not need
    calls: dict[str, int] = field(default_factory=dict)  # AWS calls made, by operation

    def of(self, status: str) -> list[Result]:
        return [r for r in self.results if r.status == status]

    @property
    def problems(self) -> list[Result]:
        return self.of(PROBLEM)

    @property
    def passed(self) -> bool:
        return not self.problems

    def counts(self) -> dict[str, int]:
        return {status: len(self.of(status)) for status in STATUSES}

    def headline(self) -> str:
        counts = self.counts()
        parts = [f"{counts[s]} {s if counts[s] == 1 or s != PROBLEM else 'problems'}"
                 for s in STATUSES if counts[s]]
        skipped = f"; {len(self.skipped)} check(s) not needed (nothing changes)" \
            if self.skipped else ""
        what = "git" if self.subject == "git" else self.subject
        verdict = "passed" if self.passed else "refuses the release"
        return (f"{self.env}/{self.service}: preflight of {what} {verdict}: "
                f"{', '.join(parts) or 'nothing to check'}{skipped}")

    def rows(self, everything: bool = True) -> list[list[Any]]:
        """The table as data: problems first, then warnings, not checked, ok; check order.
        Without `everything`, the rows that are not ok (what a release shows)."""
        order = {s: i for i, s in enumerate(STATUSES)}
        checks = {name: i for i, name in enumerate(CHECK_NAMES)}
        ranked = sorted((r for r in self.results if everything or r.status != OK),
                        key=lambda r: (order.get(r.status, 9), checks.get(r.check, 99)))
        return [[r.check, r.status, r.resource, r.where,
                 r.message + (f" — fix: {r.fix}" if r.fix and r.status != OK else "")]
                for r in ranked]

    def refusal(self) -> tuple[str, str]:
        """(message, hint) of the error that refuses a release: every problem, each with its
        place, and every fix."""
        problems = self.problems
        where = f"{self.env}/{self.service}"
        if len(problems) == 1:
            only = problems[0]
            return (f"{where}: preflight: {only.one_line()}; nothing was changed",
                    only.fix)
        lines = "\n".join(f"  {i}. {p.one_line()}" for i, p in enumerate(problems, 1))
        fixes = "; ".join(f"{i}. {p.fix}" for i, p in enumerate(problems, 1) if p.fix)
        return (f"{where}: preflight found {len(problems)} problems; nothing was changed:\n"
                f"{lines}", fixes)

    def as_dict(self) -> dict[str, Any]:
        return {"env": self.env, "service": self.service, "subject": self.subject,
                "passed": self.passed, "counts": self.counts(), "skipped": list(self.skipped),
                "calls": dict(self.calls), "results": [r.as_dict() for r in self.results]}


def report(env: str, service: str, subject: str, results: Iterable[Result],
           skipped: Iterable[str] = (), calls: dict[str, int] | None = None) -> Report:
    return Report(env, service, subject, tuple(results), tuple(skipped), dict(calls or {}))
