"""`release changed|apply|promote` (stub)."""
import typer


def changed() -> None:
    """List services a commit range changes."""
    raise typer.Exit(2)

def apply() -> None:
    """Release what a commit range changed."""
    raise typer.Exit(2)

def promote() -> None:
    """Rewrite an image pin."""
    raise typer.Exit(2)
