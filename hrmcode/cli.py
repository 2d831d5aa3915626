"""The command line: one typer app, thin over library functions. Docstrings are the --help."""

from __future__ import annotations

import json
import logging

import typer
from rich.console import Console
from rich.table import Table

app = typer.Typer(
    name="hrmcode",
    help="Hierarchical reasoning models for code: train, generate, evaluate in a sandbox, quantize.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
console = Console(stderr=True)


@app.callback()
def _main(verbose: bool = typer.Option(False, "--verbose", "-v", help="debug logging")) -> None:
    logging.basicConfig(level=logging.DEBUG if verbose else logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")


def fail(message: str, code: int = 2) -> typer.Exit:
    """Print a user-facing error (no traceback) and return the Exit to raise."""
    console.print(f"[bold red]error:[/] {message}", highlight=False)
    return typer.Exit(code)


@app.command()
def doctor(as_json: bool = typer.Option(False, "--json", help="machine-readable output")) -> None:
    """Report what is installed: Python packages, the six toolchains, bubblewrap — and what is missing."""
    from hrmcode.doctor import run_checks

    checks = run_checks()
    if as_json:
        typer.echo(json.dumps([c.__dict__ for c in checks], indent=2))
    else:
        table = Table(title="hrmcode doctor")
        for col in ("group", "name", "version", "note"):
            table.add_column(col)
        for c in checks:
            ver = c.version if c.ok else "[red]missing[/]"
            table.add_row(c.group, c.name, ver, "" if c.ok else c.detail)
        Console().print(table)
    missing = [c.name for c in checks if not c.ok]
    if missing:
        console.print(f"[yellow]missing:[/] {', '.join(missing)}")


# ---- model (issue 2) ----------------------------------------------------------------------------

# ---- data (issue 3) -----------------------------------------------------------------------------

# ---- eval (issue 4, 6, 7, 8) --------------------------------------------------------------------

# ---- train (issue 5) ----------------------------------------------------------------------------

# ---- generate / compare / demo (issue 6) --------------------------------------------------------
