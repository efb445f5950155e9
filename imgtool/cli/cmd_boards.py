"""``imgtool boards``: the board profiles, every family."""

from __future__ import annotations

import json

import typer

from imgtool.cli.app import app


@app.command("boards")
def boards_cmd(as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """List the board profiles: family, SoC, link address, RAM and the family's keys (i.MX: CSF, HAB engine; Raspberry Pi: GOARM, kernel address, stub)."""
    from imgtool.boards import FAMILY_SUMMARY, list_boards

    boards = list_boards()
    if as_json:
        typer.echo(json.dumps([b.to_dict() for b in boards], indent=2))
        return
    typer.echo(f"{'board':<20} {'family':<6} {'soc':<9} {'TEXT_START':>10} {'RAM':>6}  details / description")
    for b in boards:
        ram = sum(r.size for r in b.ram) >> 20
        summary = FAMILY_SUMMARY.get(b.family)
        typer.echo(f"{b.name:<20} {b.family:<6} {b.soc:<9} {b.text_start:#10x} {ram:>4}M  "
                   + (f"{summary(b)}; " if summary else "") + b.description)
