"""``imgtool boards``: the board profiles."""

from __future__ import annotations

import json

import typer

from imgtool.cli.app import app


@app.command("boards")
def boards_cmd(as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """List the board profiles (link address, DCD, CSF size, HAB engine)."""
    from imgtool.boards import list_boards

    boards = list_boards()
    if as_json:
        typer.echo(json.dumps([b.to_dict() for b in boards], indent=2))
        return
    typer.echo(f"{'board':<20} {'soc':<10} {'TEXT_START':>10} {'CSF':>7} {'engine':<7} description")
    for b in boards:
        typer.echo(f"{b.name:<20} {b.soc:<10} {b.text_start:#10x} {b.csf_size:#7x} {b.hab_engine:<7} {b.description}")
