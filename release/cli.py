"""The `release` command line: one thin function per verb, in release/commands/.

Verb modules import only typer at load time so `release --help` stays fast;
boto3 and docker are imported inside the verbs that need them.
"""

from __future__ import annotations

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
    help="Validate, build, register and release Amazon ECS services from a git config repository.",
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


def main() -> None:
    app()


if __name__ == "__main__":
    main()
