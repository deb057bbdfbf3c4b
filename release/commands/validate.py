"""`release validate` (stub until issue 2 lands)."""
import typer


def validate() -> None:
    """Validate the documents against the schemas and cross-document rules."""
    raise typer.Exit(2)
