"""``imgtool size``: where every byte of a Go ELF goes; ``imgtool size why``: why a package is linked."""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer
from typer.core import TyperGroup

from imgtool.cli.app import app, option_names, warn


class _SizeGroup(TyperGroup):
    """``size ELF ...`` runs the report; ``size why ELF PKG`` the subcommand (a first
    argument that names no subcommand is the ELF; ``./why`` for a file called ``why``)."""

    def parse_args(self, ctx, args):
        if args and args[0] not in self.commands:
            args = ["report", *args]
        return super().parse_args(ctx, args)

    def resolve_command(self, ctx, args):
        name, cmd, rest = super().resolve_command(ctx, args)
        return (None if name == "report" else name), cmd, rest


size_app = typer.Typer(cls=_SizeGroup, no_args_is_help=True, add_completion=False)
app.add_typer(size_app, name="size", help="Explain the size of ELF (imgtool size ELF --help); 'imgtool size why ELF PKG'.")


def _emit(out, output: Optional[Path]) -> None:
    from imgtool.errors import CheckFailed
    from imgtool.output import write_atomic

    if output is not None:
        write_atomic(output, out.text.encode())
    else:
        typer.echo(out.text, nl=False)
    if out.stderr:
        typer.echo(out.stderr, err=True, nl=False)
    if out.failures:
        raise CheckFailed("; ".join(out.failures))


@size_app.command("report", hidden=True)
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
    why_pkg: Optional[str] = typer.Option(None, "--why", metavar="PKG", help="Deprecated: use 'imgtool size why ELF PKG'."),
) -> None:
    """Explain the size of ELF: every byte labelled by section, package, module and symbol.
    'imgtool size why ELF PKG' tells why a package is linked in."""
    from imgtool.cli.params import option_value, parse_budget, parse_region
    from imgtool.errors import InputError
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
        warn("--why is deprecated and will be removed in the next release: use 'imgtool size why ELF PKG'")
        return why_cmd(elf, why_pkg, fmt, output)
    limits = option_value("--budget", parse_budget, budget) if budget else ()
    regions = [option_value("--region", parse_region, spec) for spec in region or ()]
    profile = None
    if board is not None:
        from imgtool.boards import get_board

        profile = option_value("--board", get_board, board)
    with option_names(budget="--budget"):
        _emit(report.size_report(elf, fmt=fmt, by=by, sort=sort, top=top, exact=exact, base=diff, budget=limits,
                                 board=profile, regions=regions), output)


@size_app.command("why")
def why_cmd(
    elf: Path = typer.Argument(..., help="The linked Go ELF (stripped or not)."),
    package: str = typer.Argument(..., metavar="PKG", help="A package path; PKG/... for it and the packages below it."),
    fmt: str = typer.Option("text", "--format", "-f", help="text or json."),
    output: Optional[Path] = typer.Option(None, "-o", "--output", help="Write to this file instead of stdout."),
) -> None:
    """Print a shortest chain of direct calls from main.main or an init function to PKG."""
    from imgtool.errors import InputError
    from imgtool.size import report

    if fmt not in ("text", "json"):
        raise InputError(f"--format {fmt!r}: expected text or json")
    with option_names(why="PKG"):
        _emit(report.SizeOutput(report.why_report(elf, package, fmt)), output)
