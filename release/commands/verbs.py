"""Every verb of `release` once: its name, the module that runs it, its help.

cli.py builds the typer app from this table (`release.commands.<module>.<function>`,
`help=`), and prints `release --help` from it without importing typer or any verb
(`overview`, formatted as click formats a command list). A verb's function carries no
help of its own: the words are written here, once. A new verb is one line here and its
module under release/commands/.
"""

from __future__ import annotations

from typing import NamedTuple

SUMMARY = ("Validate, build, register and release Amazon ECS services from a git config "
           "repository.")


class Verb(NamedTuple):
    """One verb: `release <name>` runs release.commands.<module>.<function>.

    A NamedTuple, not a dataclass: `release --help` reads this table, and importing
    dataclasses (and inspect with it) would cost that command more than the rest of it."""

    name: str
    module: str
    help: str
    function: str = ""  # default: the name (`app` for a group of its own)
    group: bool = False  # a typer app with verbs of its own (`release sandbox up|down|…`)
    interspersed: bool = True  # False: the words after the first argument are the verb's own

    @property
    def attribute(self) -> str:
        return self.function or ("app" if self.group else self.name)


VERBS: tuple[Verb, ...] = (
    Verb("validate", "validate",
         "Validate the documents against the schemas and cross-document rules."),
    Verb("build", "build", """\
Build the service's images (tag = git commit of each context) and push them to ECR.

Every pinned container with a build context is built (or the one --container
names). When a tag is already in its repository nothing is built or pushed for
it: the existing digest is returned. The JSON result lists every container's
image (`images`); its top-level fields are the primary container's. Exit 1 for a
failing Dockerfile step or a dirty tree, 5 when the engine, ECR or the registry
cannot be reached or refuse the login."""),
    Verb("plan", "plan", """\
Show what a release would change: the diff, the API calls in order, the time budget,
and the preflight (exit 1 when a check finds a problem)."""),
    Verb("preflight", "preflight", """\
Check before any change that a release can succeed: roles, secrets, images, logs,
load balancer, capacity, alarms, scan gate."""),
    Verb("deploy", "deploy", """\
Release the services of an environment: register, update, wait until stable, roll back
on failure."""),
    Verb("rollback", "rollback",
         "Roll a service back to the revision live before the current release (or --to)."),
    Verb("status", "status", """\
Show the live state of a service: revision and its release record, deployments, tasks,
ELB health, and drift from git."""),
    Verb("history", "history", """\
List the release ledger: every release, restore and rollback with its outcome, newest
first."""),
    Verb("unlock", "lock",
         "Remove the lock of a service that deploy, rollback or apply left behind."),
    Verb("changed", "changed", "List the (env, service) pairs a commit range changes in "
         "effect, in promotion order."),
    Verb("apply", "apply",
         "Release what a commit range changed, in promotion order; stop at the first failure."),
    Verb("promote", "promote", """\
Pin a service to an image by rewriting only the pin in its spec (commit, push it).

A service that builds several images pins one container (--container, default the
load balancer's) or, from a build report (@FILE) or --from, every one it pins."""),
    Verb("verify", "verify",
         "Run the smoke checks of an environment's services (GET /api/healthcheck, ...)."),
    Verb("bootstrap", "bootstrap", """\
Create or repair the platform an environment runs on: IAM roles and policies, the
classic ELB, the ECS cluster, every ECR repository its services pin (and with
--instances, EC2 instances).

Reads what exists, plans only the missing or drifted calls with a reason each, shows
the plan, asks, then applies in order. Running it again plans 0 changes."""),
    Verb("init", "init", """\
Write taskdefs/, the service spec and (when missing) environment.json from a live
service, normalised so that `release plan` on them reports no change."""),
    Verb("logs", "logs", """\
Show a service's container log lines (awslogs driver): its tasks' last lines, every
line since a moment, or new lines as they come."""),
    Verb("continue", "continue_", "Continue (or with --rollback, roll back) a deployment "
         "paused at a lifecycle hook.", function="continue_"),
    Verb("run", "run",
         "Run one task with a command (a migration), wait for it, exit with its exit code.",
         interspersed=False),
    Verb("sandbox", "sandbox", "Local AWS sandbox (moto + ECS emulator + registry).",
         group=True),
)


# typer's own options of the app, as it prints them (completion, help)
APP_OPTIONS = """\
Options:
  --install-completion  Install completion for the current shell.
  --show-completion     Show completion for the current shell, to copy it or
                        customize the installation.
  --help                Show this message and exit.
"""
WIDTH = 78  # click's help width on an 80-column terminal (80 - 2)


def short_help(text: str, limit: int) -> str:
    """A verb's line in the command list, shortened as click shortens it: the first
    paragraph up to its first sentence, then whole words that fit with "..."."""
    words = text.partition("\n\n")[0].split()
    for i, word in enumerate(words):
        if word.endswith(".") and (i == len(words) - 1 or not words[i + 1][0].islower()):
            words = words[:i + 1]
            break
    line = " ".join(words)
    if len(line) <= limit:
        return line
    kept: list[str] = []
    for word in words:
        if len(" ".join([*kept, word])) + len("...") > limit:
            break
        kept.append(word)
    return " ".join(kept) + "..."


def overview() -> str:
    """`release --help`: what typer prints for the app, made from VERBS without typer."""
    width = max(len(verb.name) for verb in VERBS)
    summary = "\n".join(_wrapped(SUMMARY, WIDTH, "  "))
    rows = "".join(f"  {verb.name:<{width}}  {short_help(verb.help, WIDTH - 6 - width)}\n"
                   for verb in VERBS)
    return (f"Usage: release [OPTIONS] COMMAND [ARGS]...\n\n{summary}\n\n{APP_OPTIONS}\n"
            f"Commands:\n{rows}")


def _wrapped(text: str, width: int, indent: str) -> list[str]:
    """Greedy word wrap, as click's (textwrap's) for plain words, without importing it."""
    lines: list[str] = []
    line = ""
    for word in text.split():
        if line and len(indent) + len(line) + 1 + len(word) > width:
            lines.append(indent + line)
            line = word
        else:
            line = f"{line} {word}" if line else word
    return [*lines, indent + line] if line else lines
