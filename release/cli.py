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
    deploy,
    lock,
    promote,
    sandbox,
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
app.command("plan")(deploy.plan)
app.command("deploy")(deploy.deploy)
app.command("rollback")(deploy.rollback)
app.command("status")(deploy.status)
app.command("history")(deploy.history)
app.command("unlock")(lock.unlock)
app.command("changed")(changed.changed)
app.command("apply")(apply.apply)
app.command("promote")(promote.promote)
app.command("verify")(verify.verify)
app.command("bootstrap")(bootstrap.bootstrap)
app.add_typer(sandbox.app, name="sandbox")


def main() -> None:
    app()


if __name__ == "__main__":
    main()
