"""`release build` (stub)."""
import typer


def build() -> None:
    """Build the service image and push it to ECR."""
    raise typer.Exit(2)
