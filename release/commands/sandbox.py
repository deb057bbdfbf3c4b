"""`release sandbox up|down|status` (stub)."""
import typer

app = typer.Typer(help="Local AWS sandbox.", no_args_is_help=True)

@app.command()
def status() -> None:
    """Show sandbox state."""
    raise typer.Exit(2)
