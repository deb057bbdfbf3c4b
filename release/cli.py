"""The `release` command line: one thin function per verb, in release/commands/.

`release --help` is the command run most often and it needs no verb: `main` prints
HELP (what typer prints for it, kept equal by tests/core/test_cli_help.py) without
importing typer, the verbs or anything they need. `release validate` with plain options
(run on every commit) skips typer's parsing too (release/commands/validate.py,
`direct_arguments`); everything else builds the typer app (`app`, made on first use).
Verb modules import only typer at load time; boto3 and docker are imported inside the
verbs that need them.
"""

from __future__ import annotations

import os
import sys
from typing import Any

HELP = """\
Usage: release [OPTIONS] COMMAND [ARGS]...

  Validate, build, register and release Amazon ECS services from a git config
  repository.

Options:
  --install-completion  Install completion for the current shell.
  --show-completion     Show completion for the current shell, to copy it or
                        customize the installation.
  --help                Show this message and exit.

Commands:
  validate   Validate the documents against the schemas and...
  build      Build the service's images (tag = git commit of each...
  plan       Show what a release would change: the diff, the API calls in...
  deploy     Release the services of an environment: register, update,...
  rollback   Roll a service back to the revision live before the current...
  status     Show the live state of a service: revision and its release...
  history    List the release ledger: every release, restore and rollback...
  unlock     Remove the lock of a service that deploy, rollback or apply...
  changed    List the (env, service) pairs a commit range changes in...
  apply      Release what a commit range changed, in promotion order;...
  promote    Pin a service to an image by rewriting only the pin in its...
  verify     Run the smoke checks of an environment's services (GET...
  bootstrap  Create or repair the platform an environment runs on: IAM...
  init       Write taskdefs/, the service spec and (when missing)...
  logs       Show a service's container log lines (awslogs driver): its...
  continue   Continue (or with --rollback, roll back) a deployment paused...
  run        Run one task with a command (a migration), wait for it, exit...
  sandbox    Local AWS sandbox (moto + ECS emulator + registry).
"""


def build_app() -> Any:
    """The typer app with every verb (one line each)."""
    import typer

    from release.commands import (
        apply,
        bootstrap,
        build,
        changed,
        continue_,
        deploy,
        history,
        init,
        lock,
        logs,
        plan,
        promote,
        rollback,
        run,
        sandbox,
        status,
        validate,
        verify,
    )

    app = typer.Typer(
        name="release",
        help="Validate, build, register and release Amazon ECS services from a git config "
        "repository.",
        no_args_is_help=True,
        add_completion=True,
        pretty_exceptions_enable=False,
        rich_markup_mode=None,
    )

    app.command("validate")(validate.validate)
    app.command("build")(build.build)
    app.command("plan")(plan.plan)
    app.command("deploy")(deploy.deploy)
    app.command("rollback")(rollback.rollback)
    app.command("status")(status.status)
    app.command("history")(history.history)
    app.command("unlock")(lock.unlock)
    app.command("changed")(changed.changed)
    app.command("apply")(apply.apply)
    app.command("promote")(promote.promote)
    app.command("verify")(verify.verify)
    app.command("bootstrap")(bootstrap.bootstrap)
    app.command("init")(init.init)
    app.command("logs")(logs.logs)
    app.command("continue")(continue_.continue_)
    app.command("run", context_settings={"allow_interspersed_args": False})(run.run)
    app.add_typer(sandbox.app, name="sandbox")
    return app


def __getattr__(name: str) -> Any:
    """`release.cli.app`, built on first use (PEP 562)."""
    if name == "app":
        built = globals()["app"] = build_app()
        return built
    raise AttributeError(name)


def main() -> None:
    if sys.argv[1:] == ["--help"]:
        sys.stdout.write(HELP)
        return
    if sys.argv[1:2] == ["validate"] and not any(k.endswith("_COMPLETE") for k in os.environ):
        from release.commands import validate  # plain options: read without typer's parsing

        arguments = validate.direct_arguments(sys.argv[2:])
        if arguments is not None:
            sys.exit(validate.run_direct(arguments))
    __getattr__("app")()


if __name__ == "__main__":
    main()
