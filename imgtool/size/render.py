"""Renderers for size tables: text, CSV, and the diff and budget tables.

Text output is a fixed-width table of the top N rows plus a ``(other N rows)`` line, a
``<unknown>`` line when the unknown row fell outside the top N (it is always shown), and
a ``total`` line whose columns equal the totals of the whole image. Names longer than
a column are shortened in the middle (:func:`short_names`: never so that two rows look
alike); CSV, JSON and HTML keep them whole.
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


ELLIPSIS = "\u2026"


def shorten(name: str, width: int) -> str:
    """``name`` in at most ``width`` characters, shortened in the middle: whole path
    elements are dropped after the first (``github.com/…/f4-discovery/board/leds``), else
    characters (``crypto/internal/fips…/nistec.p256Table``)."""
    if len(name) <= width:
        return name
    parts = name.split("/")
    if len(parts) > 2:
        head = parts[0] + "/" + ELLIPSIS
        tail = ""
        for p in reversed(parts[1:]):
            cand = "/" + p + tail
            if len(head) + len(cand) > width:
                break
            tail = cand
        if tail:
            return head + tail
    return _cut(name, width, (width - 1) // 2)


def _cut(name: str, width: int, keep_head: int) -> str:
    return name[:keep_head] + ELLIPSIS + name[len(name) - (width - 1 - keep_head):]


def short_names(names, width: int) -> dict[str, str]:
    """Each of ``names`` (distinct) shortened to ``width`` characters so that no two of
    them look alike: a group that :func:`shorten` makes equal is cut elsewhere, at a
    split that keeps them apart (a window around their first difference if none does)."""
    out = {n: shorten(n, width) for n in names}
    by_short: dict[str, list[str]] = {}
    for n, sh in out.items():
        by_short.setdefault(sh, []).append(n)
    taken = set(out.values())
    for sh, group in by_short.items():
        if len(group) < 2:
            continue
        for k in range(width - 2, 0, -1):  # keep more and more of the tail
            cand = {n: _cut(n, width, k) if len(n) > width else n for n in group}
            vals = set(cand.values())
            if len(vals) == len(group) and not (vals - {sh}) & (taken - {sh}):
                break
        else:
            cand = {}
            for n in group:
                d = next((i for i, c in enumerate(n) if any(i >= len(m) or m[i] != c for m in group if m != n)), 0)
                start = max(0, min(d - width // 3, len(n) - (width - 2)))
                cand[n] = ELLIPSIS + n[start:start + width - 2] + ELLIPSIS
        out.update(cand)
        taken |= set(cand.values())
    return out


def text_table(rows: list[dict], totals: dict, *, top: int, by: str, header: str = "", exact: bool = False) -> str:
    fmt = str if exact else human
    out = [header] if header else []
    if by in ("file", "pclntab"):
        col = "file" if by == "file" else "pclntab"
        out.append(f"{'#':>4}  {by:<48} {'bytes':>10} {'%':>6}")
        names = short_names([r["name"] for r in rows[:top]], 48)
        for i, r in enumerate(rows[:top], 1):
            out.append(f"{i:>4}  {names[r['name']]:<48} {fmt(r[col]):>10} {r['percent']:>5.1f}%")
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
    names = short_names([_mark(r) for r in shown], w)
    for i, r in enumerate(shown, 1):
        out.append(f"{i:>4}  {names[_mark(r)]:<{w}} " + " ".join(f"{fmt(r[c]):>9}" for c in COLUMNS)
                   + f" {r['percent']:>5.1f}%")
    ids = {id(r) for r in shown}
    rest = [r for r in rows if id(r) not in ids]
    if rest:
        out.append(f"{'':>4}  {f'({len(rest)} more rows)':<{w}} "
                   + " ".join(f"{fmt(sum(r[c] for r in rest)):>9}" for c in COLUMNS))
    out.append(f"{'':>4}  {'total':<{w}} " + " ".join(f"{fmt(totals[c]):>9}" for c in COLUMNS))
    return "\n".join(out) + "\n"


def _mark(row: dict) -> str:
    """A row's name, with ``~`` in front when some of its bytes are labelled by estimate."""
    return ("~" if row.get("estimate") else "") + row["name"]


def csv_table(rows: list[dict]) -> str:
    """All rows as CSV with a header line; sizes in bytes; ``estimate`` (bytes labelled
    by estimate, stripped ELFs) is empty when the report has no estimates."""
    cols = ["name", "kind", "class", "flash", "ram", "text", "rodata", "pclntab", "data", "bss", "mem", "file", "percent",
            "estimate"]
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
        names = short_names([r["name"] for r in rows[:top]], 56)
        for r in rows[:top]:
            out.append(f"  {names[r['name']]:<56} {r['base']:>10} {r['new']:>10} {r['delta']:>+10}")
        if len(rows) > top:
            out.append(f"  ({len(rows) - top} more changed)")
        out.append("")
    return "\n".join(out)


def budget_table(rows: list[dict]) -> str:
    """The ``--budget`` result (rows of :func:`imgtool.size.budget.check_budget`), bytes."""
    out = [f"{'budget':<32} {'limit':>10} {'used':>10} {'over':>10}  status"]
    for r in rows:
        key = r["key"] + (f" ({r['percent']:g}%)" if "percent" in r else "")
        out.append(f"{key[:32]:<32} {r['limit']:>10} {r['used']:>10} {r['over']:>+10}  {'ok' if r['ok'] else 'EXCEEDED'}")
    return "\n".join(out) + "\n"


def region_table(usage: dict, *, exact: bool = False) -> str:
    """Memory-region usage (a :func:`imgtool.size.regions.region_usage` result) in the
    shape of GNU ld ``--print-memory-usage``, plus the memory (VMA) and load (LMA) parts."""
    fmt = str if exact else human
    out = [f"memory regions ({usage['origin']}):",
           f"{'Memory region':<24} {'Start':>18} {'Used Size':>11} {'Region Size':>12} {'%age Used':>10}"
           f" {'mem':>10} {'load':>10}"]
    for r in usage["rows"]:
        out.append(f"{r['name'][:24]:<24} {'0x%08x' % r['start']:>18} {fmt(r['used']):>11} {fmt(r['size']):>12}"
                   f" {r['percent']:>9.2f}% {fmt(r['mem']):>10} {fmt(r['load']):>10}")
    return "\n".join(out) + "\n"


def violation_table(usage: dict) -> str:
    """Sections outside the memory regions: section, VMA/LMA, address range, region."""
    rngs = [f"0x{v['start']:08x}-0x{v['end'] - 1:08x}" for v in usage["violations"]]
    w = max(map(len, rngs), default=5)
    out = [f"{'section':<24} {'vma/lma':<7} {'range':<{w}} problem"]
    for v, rng in zip(usage["violations"], rngs):
        out.append(f"{v['section'][:24]:<24} {v['kind']:<7} {rng:<{w}} {v['problem']}")
    return "\n".join(out) + "\n"
