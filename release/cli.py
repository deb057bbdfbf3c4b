"""The `release` command line: one thin function per verb, in release/commands/.

The verbs, their modules and their help are one table, release/commands/verbs.py: the
typer app is built from it (`app`, made on first use), and `release --help`, the
command run most often, is printed from it without importing typer, the verbs or
anything they need (what typer prints, kept equal by tests/core/test_cli_help.py).
`release validate` with plain options (run on every commit) skips typer's parsing too
(release/commands/validate.py, `direct_arguments`). Verb modules import only typer at
load time; boto3 and docker are imported inside the verbs that need them.
"""

from __future__ import annotations

import importlib
import os
import sys
from typing import Any

from release.commands.verbs import SUMMARY, VERBS, overview


def build_app() -> Any:
    """The typer app with every verb of the table, in its order."""
    import typer

    app = typer.Typer(
        name="release",
        help=SUMMARY,
        no_args_is_help=True,
        add_completion=True,
        pretty_exceptions_enable=False,
        rich_markup_mode=None,
    )
    for verb in VERBS:
        found = getattr(importlib.import_module(f"release.commands.{verb.module}"),
                        verb.attribute)
        if verb.group:
            app.add_typer(found, name=verb.name, help=verb.help)
        else:
            settings = None if verb.interspersed else {"allow_interspersed_args": False}
            app.command(verb.name, help=verb.help, context_settings=settings)(found)
    return app


def __getattr__(name: str) -> Any:
    """`release.cli.app`, built on first use (PEP 562)."""
    if name == "app":
        built = globals()["app"] = build_app()
        return built
    raise AttributeError(name)


def main() -> None:
    if sys.argv[1:] == ["--help"]:
        sys.stdout.write(overview())
        return
    if sys.argv[1:2] == ["validate"] and not any(k.endswith("_COMPLETE") for k in os.environ):
        from release.commands import validate  # plain options: read without typer's parsing

        arguments = validate.direct_arguments(sys.argv[2:])
        if arguments is not None:
            sys.exit(validate.run_direct(arguments))
    __getattr__("app")()


if __name__ == "__main__":
    main()
