"""`release verify` (stub)."""
import typer


def verify() -> None:
    """Run smoke checks."""
    raise typer.Exit(2)
