"""`release plan|deploy|rollback|status|history` (stub)."""
import typer


def plan() -> None:
    """Show what a release would change."""
    raise typer.Exit(2)

def deploy() -> None:
    """Release the services of an environment."""
    raise typer.Exit(2)

def rollback() -> None:
    """Roll a service back to the previous release."""
    raise typer.Exit(2)

def status() -> None:
    """Show the live state of a service."""
    raise typer.Exit(2)

def history() -> None:
    """List release records."""
    raise typer.Exit(2)
