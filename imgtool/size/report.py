"""The ``imgtool size`` pipeline: ELF -> report text, the tables of failed checks, and
what failed.

:func:`size_report` reads and analyses the ELF (:mod:`.engine`), maps it onto the memory
regions (:mod:`.regions`), checks the budget (:mod:`.budget`), compares with a diff base
and renders the chosen format (:mod:`.render`, :mod:`.html`); :func:`why_report` does
the same for ``imgtool size why ELF PKG`` (:mod:`.why`). The CLI prints the result and exits 1 when
:attr:`SizeOutput.failures` is not empty.
"""

from __future__ import annotations

import functools
import gc
import json
import os
from typing import TYPE_CHECKING, NamedTuple, Sequence

from imgtool.size import render

if TYPE_CHECKING:
    from imgtool.boards import Board, RamRegion

FORMATS = ("text", "json", "csv", "html")
"""Report formats."""
SORTS = ("flash", "ram", "mem", "file", "text", "rodata", "pclntab", "data", "bss")
"""Columns a table can be ordered by."""
DIFF_KINDS = ("packages", "modules", "sections", "symbols")
"""The tables a diff compares."""
DIFF_SCHEMA = "imgtool-size-diff/1"


def _without_cycle_collector(fn):
    """Run ``fn`` with Python's cyclic garbage collector paused (and restored after).

    An analysis allocates a few hundred thousand small acyclic objects (pieces, rows,
    names); each allocation burst triggers collector passes that traverse every live
    object and free nothing (reference counting frees them). On the GOARCH=arm cmd/go
    that is about a fifth of the command's time (bench/bench_size.py).
    """

    @functools.wraps(fn)
    def run(*args, **kwargs):
        was = gc.isenabled()
        gc.disable()
        try:
            return fn(*args, **kwargs)
        finally:
            if was:
                gc.enable()

    return run


class SizeOutput(NamedTuple):
    """What :func:`size_report` made: ``text`` (the report, for stdout or ``-o``),
    ``stderr`` (the tables of the checks that failed: sections outside the memory
    regions, the budget) and ``failures`` (one clause per failed check; empty when all
    passed)."""

    text: str
    stderr: str = ""
    failures: tuple[str, ...] = ()


@_without_cycle_collector
def size_report(
    path: str | os.PathLike[str],
    *,
    fmt: str = "text",
    by: str = "package",
    sort: str = "flash",
    top: int = 20,
    exact: bool = False,
    base: str | os.PathLike[str] | None = None,
    budget: Sequence[tuple] = (),
    board: Board | None = None,
    regions: Sequence[RamRegion] = (),
) -> SizeOutput:
    """Analyse the ELF at ``path`` and render the report.

    Args:
        fmt: one of :data:`FORMATS`; ``by`` one of :data:`imgtool.size.views.BY`;
            ``sort`` one of :data:`SORTS` (``file`` and ``pclntab`` tables sort by size).
        top: rows of the text table; ``exact``: byte counts instead of K/M.
        base: a diff base (an ELF or an ``imgtool-size/1`` JSON file): the report is
            then the diff (text or JSON).
        budget: ``(key, limit)`` pairs (:mod:`imgtool.size.budget`).
        board, regions: the memory map (:func:`imgtool.size.regions.memory_map`).

    Raises:
        InputError: unreadable input, a diff base of another schema, overlapping regions,
            a budget key naming no region (``field="budget"``).
        FormatError: not a valid ELF.
    """
    from imgtool.size import analyze_file, document, load_base, views
    from imgtool.size.regions import memory_map

    elf, rep = analyze_file(path)
    usage = memory_map(elf, board, regions, rep.function_packages())
    sizes = _image_sizes(elf)
    del elf  # the report holds what the renderers need; free the file's bytes and symbols
    # each table is computed only when it is shown: the JSON document (all tables) for
    # JSON, a diff or a budget; the one table of --by otherwise
    doc = document(rep, usage) if fmt == "json" or base is not None or budget else None
    if doc is not None:
        doc["image_sizes"] = sizes
    budget_rows = []
    if budget:
        from imgtool.size.budget import check_budget

        budget_rows = check_budget(doc, list(budget))
    if base is not None:
        text = _diff_text(doc, load_base(base), f"{path} vs {base}", fmt, top)
    elif fmt == "json":
        text = views.dumps(doc)
    elif fmt == "html":
        from imgtool.size.html import render_html

        text = render_html(rep, usage)
    else:
        rows = views.table(rep, by, sort if by not in ("file", "pclntab") else "mem")
        if fmt == "csv":
            text = render.csv_table(rows)
        else:
            text = _text(path, rep, doc["totals"] if doc else views.totals(rep), sizes, rows, usage, top=top,
                         by=by, exact=exact)
    return _checks(text, usage, budget_rows)


def _diff_text(doc: dict, base: dict, title: str, fmt: str, top: int) -> str:
    from imgtool.size import views

    parts = {k: views.diff(doc, base, k) for k in DIFF_KINDS}
    if fmt == "json":
        return json.dumps({"schema": DIFF_SCHEMA, "base": base.get("file"), "new": doc["file"],
                           "totals": {k: doc["totals"][k] - base["totals"].get(k, 0) for k in doc["totals"]},
                           **parts}, indent=2) + "\n"
    d = {k: doc["totals"][k] - base["totals"].get(k, 0) for k in ("flash", "ram", "file")}
    return (f"{title}: flash {d['flash']:+d}, ram {d['ram']:+d}, file {d['file']:+d} bytes\n\n"
            + render.diff_table(parts, top))


def _text(path, rep, t: dict, sizes: dict, rows: list[dict], usage: dict | None, *, top: int, by: str,
          exact: bool) -> str:
    from imgtool.size import views

    head = (f"{path}: {rep.arch}, {rep.go_version or 'Go version unknown'}, pclntab {rep.pclntab_version or 'none'}; "
            f"file {t['file']}, flash image {t['flash_image']}, memory {t['memory']}, "
            f"flash {t['flash']}, ram {t['ram']}, unknown {t['unknown']} bytes")
    big = views.ram_hog(rep, t)
    if big is not None:
        head += f"; {100.0 * big['size'] / t['ram']:.1f}% of the RAM is {big['symbol']} ({big['size']} bytes)"
    if rep.estimated:
        head += f"; ~ {t['estimate']} bytes labelled by estimate (stripped: code references, runtime tables)"
    text = render.text_table(rows, t, top=top, by=by, header=head, exact=exact)
    text += _image_sizes_line(sizes, rep.arch) + "\n"
    for e in rep.errors:
        text += f"error: {e}\n"
    if usage is not None:
        text += "\n" + render.region_table(usage, exact=exact)
        if usage["violations"] and not usage["enforced"]:
            text += "warning: sections outside the board's memory regions:\n" + render.violation_table(usage)
    return text


def _image_sizes(elf) -> dict:
    from imgtool.compact import image_sizes

    return image_sizes(elf)


def _image_sizes_line(z: dict, arch: str) -> str:
    """The summary line of the flat image stored both ways (:func:`imgtool.compact.image_sizes`)."""
    if z["compact"] is None:
        return (f"image: stored {z['stored']} bytes, {z['bss_zeroed']} of them BSS zeros "
                f"(no compact form for {arch}: the BSS-zeroing stub is A32 code)")
    return (f"image: stored {z['stored']}, compact {z['compact']} bytes (--compact: {z['bss_zeroed']} bytes of BSS "
            f"zeroed at boot by a {z['stub']}-byte stub)")


def _checks(text: str, usage: dict | None, budget_rows: list[dict]) -> SizeOutput:
    """The failed checks: sections outside enforced regions, budget rows over limit."""
    stderr, failures = "", []
    if usage is not None and usage["enforced"] and usage["violations"]:
        stderr += render.violation_table(usage)
        vs = usage["violations"]
        failures.append("sections outside the memory regions: " + ", ".join(
            f"{v['section']} ({v['kind']} 0x{v['start']:x}-0x{v['end'] - 1:x}: {v['problem']})" for v in vs[:3])
            + (f" and {len(vs) - 3} more" if len(vs) > 3 else ""))
    bad = [r for r in budget_rows if not r["ok"]]
    if bad:
        stderr += render.budget_table(budget_rows)
        failures.append("size budget exceeded: " + ", ".join(f"{r['key']} by {r['over']} bytes" for r in bad))
    return SizeOutput(text, stderr, tuple(failures))


@_without_cycle_collector
def why_report(path: str | os.PathLike[str], package: str, fmt: str = "text") -> str:
    """``imgtool size why ELF PKG``: a shortest chain of direct calls to ``package``, as text or JSON
    (:mod:`imgtool.size.why`).

    Raises:
        InputError: unreadable file, no function in the package (``field="why"``), an
            architecture without a call decoder. FormatError: not a valid ELF.
    """
    from imgtool.size import why

    rep = why.why_file(path, package)
    if fmt == "json":
        return json.dumps(why.to_json(rep, str(path)), indent=1) + "\n"
    return why.render_text(rep, str(path))
