"""``imgtool size``: where every byte of a Go ELF goes (flash, RAM, per package)."""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer

from imgtool.cli.app import app, option_names


@app.command("size")
def size_cmd(
    elf: Path = typer.Argument(..., help="The linked Go ELF (stripped or not)."),
    top: int = typer.Option(20, "--top", "-n", help="Rows to show (text output)."),
    by: str = typer.Option("package", "--by", help="package, module, section, segment, symbol, file or pclntab."),
    fmt: str = typer.Option("text", "--format", "-f", help="text, json, csv or html."),
    output: Optional[Path] = typer.Option(None, "-o", "--output", help="Write to this file instead of stdout."),
    sort: str = typer.Option("flash", "--sort", help="Order rows by flash, ram, mem, file, text, rodata, pclntab, data or bss."),
    exact: bool = typer.Option(False, "--bytes", help="Exact byte counts instead of K/M."),
    diff: Optional[Path] = typer.Option(None, "--diff", help="Compare with BASE.elf or BASE.json (from --format json)."),
    budget: Optional[str] = typer.Option(None, "--budget", help="Limits, e.g. flash=1M,ram=256K,pkg:fmt=40K,region:DDR=90%; exit 1 when exceeded."),
    region: Optional[List[str]] = typer.Option(None, "--region", help="A memory region NAME=START:SIZE (repeatable), e.g. ocram=0x00900000:128K; exit 1 when a section does not fit."),
    board: Optional[str] = typer.Option(None, "--board", help="Take the memory regions from this board profile (default: detected from the ELF, report only)."),
    why_pkg: Optional[str] = typer.Option(None, "--why", metavar="PKG", help="Print a shortest chain of direct calls from main.main or an init function to package PKG (PKG/... for the packages below it)."),
) -> None:
    """Explain the size of ELF: every byte labelled by section, package, module and symbol."""
    from imgtool.cli.params import option_value, parse_budget, parse_region
    from imgtool.errors import CheckFailed, InputError
    from imgtool.output import write_atomic
    from imgtool.size import report, views

    if by not in views.BY:
        raise InputError(f"--by {by!r}: expected one of {', '.join(views.BY)}")
    if fmt not in report.FORMATS:
        raise InputError(f"--format {fmt!r}: expected text, json, csv or html")
    if sort not in report.SORTS:
        raise InputError(f"--sort {sort!r}: expected flash, ram, mem, file or a category")
    if why_pkg is not None:
        if fmt not in ("text", "json") or diff is not None or budget is not None or region or board is not None:
            raise InputError("--why goes with --format text or json, without --diff, --budget, --region or --board")
        with option_names(why="--why"):
            out = report.SizeOutput(report.why_report(elf, why_pkg, fmt))
    else:
        limits = option_value("--budget", parse_budget, budget) if budget else ()
        regions = [option_value("--region", parse_region, spec) for spec in region or ()]
        profile = None
        if board is not None:
            from imgtool.boards import get_board

            profile = option_value("--board", get_board, board)
        with option_names(budget="--budget"):
            out = report.size_report(elf, fmt=fmt, by=by, sort=sort, top=top, exact=exact, base=diff,
                                     budget=limits, board=profile, regions=regions)
    if output is not None:
        write_atomic(output, out.text.encode())
    else:
        typer.echo(out.text, nl=False)
    if out.stderr:
        typer.echo(out.stderr, err=True, nl=False)
    if out.failures:
        raise CheckFailed("; ".join(out.failures))
