"""`release bootstrap` (stub)."""
import typer


def bootstrap() -> None:
    """Create the platform infrastructure."""
    raise typer.Exit(2)
