"""``imgtool size``: where every byte of a Go ELF goes (flash, RAM, per package)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import List, Optional

import typer

from imgtool.cli.app import app


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
    from imgtool.errors import CheckFailed, InputError
    from imgtool.output import write_atomic
    from imgtool.size import analyze_file, document, load_base
    from imgtool.size import render, views
    from imgtool.size.regions import memory_map

    if by not in views.BY:
        raise InputError(f"--by {by!r}: expected one of {', '.join(views.BY)}")
    if fmt not in ("text", "json", "csv", "html"):
        raise InputError(f"--format {fmt!r}: expected text, json, csv or html")
    if sort not in ("flash", "ram", "mem", "file", "text", "rodata", "pclntab", "data", "bss"):
        raise InputError(f"--sort {sort!r}: expected flash, ram, mem, file or a category")
    if why_pkg is not None:
        from imgtool.size import why

        if fmt not in ("text", "json") or diff is not None or budget is not None or region or board is not None:
            raise InputError("--why goes with --format text or json, without --diff, --budget, --region or --board")
        rep = why.why_file(elf, why_pkg)
        text = json.dumps(why.to_json(rep, str(elf)), indent=1) + "\n" if fmt == "json" else why.render_text(rep, str(elf))
        if output is not None:
            write_atomic(output, text.encode())
        else:
            typer.echo(text, nl=False)
        return
    limits = None
    if budget:
        try:
            limits = views.parse_budget(budget)
        except ValueError as exc:
            raise InputError(f"--budget: {exc}") from None
    parsed, rep = analyze_file(elf)
    usage = memory_map(parsed, board, region or (), {p.package for si in rep.sections.values() for p in si.pieces})
    doc = document(rep, usage)
    budget_rows = None
    if limits:
        try:
            budget_rows = views.check_budget(doc, limits)
        except ValueError as exc:
            raise InputError(f"--budget: {exc}") from None
    if diff is not None:
        base = load_base(diff)
        parts = {k: views.diff(doc, base, k) for k in ("packages", "modules", "sections", "symbols")}
        if fmt == "json":
            text = json.dumps({"schema": "imgtool-size-diff/1", "base": base.get("file"), "new": doc["file"],
                               "totals": {k: doc["totals"][k] - base["totals"].get(k, 0) for k in doc["totals"]},
                               **parts}, indent=2) + "\n"
        else:
            d = {k: doc["totals"][k] - base["totals"].get(k, 0) for k in ("flash", "ram", "file")}
            text = (f"{elf} vs {diff}: flash {d['flash']:+d}, ram {d['ram']:+d}, file {d['file']:+d} bytes\n\n"
                    + render.diff_table(parts, top))
    elif fmt == "json":
        text = json.dumps(doc, indent=1) + "\n"
    elif fmt == "html":
        from imgtool.size.html import render_html

        text = render_html(rep, usage)
    else:
        rows = views.table(rep, by, sort if by not in ("file", "pclntab") else "mem")
        if fmt == "csv":
            text = render.csv_table(rows)
        else:
            t = doc["totals"]
            head = (f"{elf}: {rep.arch}, {rep.go_version or 'Go version unknown'}, pclntab {rep.pclntab_version or 'none'}; "
                    f"file {t['file']}, flash image {t['flash_image']}, memory {t['memory']}, "
                    f"flash {t['flash']}, ram {t['ram']}, unknown {t['unknown']} bytes")
            text = render.text_table(rows, t, top=top, by=by, header=head, exact=exact)
            for e in rep.errors:
                text += f"error: {e}\n"
            if usage is not None:
                text += "\n" + render.region_table(usage, exact=exact)
                if usage["violations"] and not usage["enforced"]:
                    text += "warning: sections outside the board's memory regions:\n" + render.violation_table(usage)
    if output is not None:
        write_atomic(output, text.encode())
    else:
        typer.echo(text, nl=False)
    failures = []
    if usage is not None and usage["enforced"] and usage["violations"]:
        typer.echo(render.violation_table(usage), err=True, nl=False)
        vs = usage["violations"]
        failures.append("sections outside the memory regions: " + ", ".join(
            f"{v['section']} ({v['kind']} 0x{v['start']:x}-0x{v['end'] - 1:x}: {v['problem']})" for v in vs[:3])
            + (f" and {len(vs) - 3} more" if len(vs) > 3 else ""))
    bad = [r for r in budget_rows or () if not r["ok"]]
    if bad:
        typer.echo(render.budget_table(budget_rows), err=True, nl=False)
        failures.append("size budget exceeded: " + ", ".join(f"{r['key']} by {r['over']} bytes" for r in bad))
    if failures:
        raise CheckFailed("; ".join(failures))
