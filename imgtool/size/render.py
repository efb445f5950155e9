"""Renderers for size tables: text, CSV, and the diff and budget tables.

Text output is a fixed-width table of the top N rows plus a ``(other N rows)`` line, a
``<unknown>`` line when the unknown row fell outside the top N (it is always shown), and
a ``total`` line whose columns equal the totals of the whole image.
"""

from __future__ import annotations

import csv
import io

COLUMNS = ("flash", "ram", "text", "rodata", "pclntab", "data", "bss")


def human(n: int) -> str:
    """Bytes as a short human string: ``812``, ``12.3K``, ``4.50M`` (powers of 1024)."""
    a = abs(n)
    if a < 1024:
        return str(n)
    if a < 1 << 20:
        return f"{n / 1024:.1f}K"
    return f"{n / (1 << 20):.2f}M"


def text_table(rows: list[dict], totals: dict, *, top: int, by: str, header: str = "", exact: bool = False) -> str:
    fmt = str if exact else human
    out = [header] if header else []
    if by in ("file", "pclntab"):
        col = "file" if by == "file" else "pclntab"
        out.append(f"{'#':>4}  {by:<48} {'bytes':>10} {'%':>6}")
        for i, r in enumerate(rows[:top], 1):
            out.append(f"{i:>4}  {r['name'][:48]:<48} {fmt(r[col]):>10} {r['percent']:>5.1f}%")
        rest = rows[top:]
        if rest:
            out.append(f"{'':>4}  {f'({len(rest)} more rows)':<48} {fmt(sum(r[col] for r in rest)):>10}")
        out.append(f"{'':>4}  {'total':<48} {fmt(sum(r[col] for r in rows)):>10}")
        return "\n".join(out) + "\n"
    w = 44
    out.append(f"{'#':>4}  {by:<{w}} " + " ".join(f"{c:>9}" for c in COLUMNS) + f" {'%':>6}")
    shown = rows[:top]
    if by == "package" and not any(r["name"] == "<unknown>" for r in shown):
        shown += [r for r in rows if r["name"] == "<unknown>"]
    for i, r in enumerate(shown, 1):
        out.append(f"{i:>4}  {r['name'][:w]:<{w}} " + " ".join(f"{fmt(r[c]):>9}" for c in COLUMNS)
                   + f" {r['percent']:>5.1f}%")
    rest = [r for r in rows if r not in shown]
    if rest:
        out.append(f"{'':>4}  {f'({len(rest)} more rows)':<{w}} "
                   + " ".join(f"{fmt(sum(r[c] for r in rest)):>9}" for c in COLUMNS))
    out.append(f"{'':>4}  {'total':<{w}} " + " ".join(f"{fmt(totals[c]):>9}" for c in COLUMNS))
    return "\n".join(out) + "\n"


def csv_table(rows: list[dict]) -> str:
    """All rows as CSV with a header line; sizes in bytes."""
    cols = ["name", "kind", "class", "flash", "ram", "text", "rodata", "pclntab", "data", "bss", "mem", "file", "percent"]
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=cols, extrasaction="ignore", lineterminator="\n")
    w.writeheader()
    for r in rows:
        w.writerow({**r, "percent": f"{r['percent']:.3f}"})
    return buf.getvalue()


def diff_table(sections: dict[str, list[dict]], top: int) -> str:
    out = []
    for kind, rows in sections.items():
        grow = sum(r["delta"] for r in rows)
        out.append(f"{kind}: {'+' if grow >= 0 else ''}{grow} bytes")
        out.append(f"  {'name':<56} {'base':>10} {'new':>10} {'delta':>10}")
        for r in rows[:top]:
            out.append(f"  {r['name'][:56]:<56} {r['base']:>10} {r['new']:>10} {r['delta']:>+10}")
        if len(rows) > top:
            out.append(f"  ({len(rows) - top} more changed)")
        out.append("")
    return "\n".join(out)


def budget_table(rows: list[dict]) -> str:
    out = [f"{'budget':<32} {'limit':>10} {'used':>10} {'over':>10}  status"]
    for r in rows:
        out.append(f"{r['key'][:32]:<32} {r['limit']:>10} {r['used']:>10} {r['over']:>+10}  {'ok' if r['ok'] else 'EXCEEDED'}")
    return "\n".join(out) + "\n"
