"""Views of a :class:`SizeReport`: the three reconciling byte views, grouped tables,
the versioned JSON document and diffs (budgets: :mod:`imgtool.size.budget`).

A table row is a dict: ``name``, ``kind`` (package, module, section, segment, symbol,
file, pclntab), ``class`` (module class, when known), and byte counts ``flash``, ``ram``,
``text``, ``rodata``, ``pclntab``, ``data``, ``bss``, ``mem`` (bytes of the loaded
memory image: the sum of the five categories), ``file`` (bytes of the ELF file) and
``percent`` (of the memory image; of the file for ``--by file``).
"""

from __future__ import annotations

from formats.loadimage import loaded_sections
from imgtool.size.engine import CATEGORIES, UNKNOWN, Piece, SizeReport

SCHEMA = "imgtool-size/1"
BY = ("package", "module", "section", "segment", "symbol", "file", "pclntab")
_COLS = ("flash", "ram", *CATEGORIES, "mem", "file")


def file_view(r: SizeReport) -> list[Piece]:
    """Pieces covering the ELF file exactly (sum == ``r.file_size``)."""
    out = list(r.extra_file)
    for si in r.sections.values():
        if si.section.file_size:
            out += si.pieces
    return out


def memory_view(r: SizeReport) -> list[Piece]:
    """Pieces covering the PT_LOAD memory images exactly (sum == ``r.memory_size``)."""
    out = list(r.memory_extra)
    for si in r.sections.values():
        if si.segment is not None and not si.section.is_tls:
            out += si.pieces
    return out


def flash_view(r: SizeReport, elf) -> list[Piece]:
    """Pieces covering the flat image exactly (sum == ``r.flash_image_size``)."""
    out = list(r.flash_extra)
    for s in loaded_sections(elf):
        out += r.sections[s.index].pieces
    return out


def _blank(name: str, kind: str) -> dict:
    return {"name": name, "kind": kind, **{c: 0 for c in _COLS}}


def table(r: SizeReport, by: str = "package", sort: str = "flash") -> list[dict]:
    """Rows grouped ``by`` one of :data:`BY`, largest ``sort`` column first (flash, ram,
    mem, file, or a category); ``percent`` is the share of that column's total. The
    ``<unknown>`` package row is always present in the package view."""
    rows: dict[str, dict] = {}
    if by == "pclntab":
        tot = sum(r.pclntab_parts.values()) or 1
        out = [dict(_blank(k, "pclntab"), pclntab=v, mem=v, flash=v, file=v, percent=100.0 * v / tot)
               for k, v in r.pclntab_parts.items()]
        return sorted(out, key=lambda x: -x["mem"])
    if by == "file":
        for p in file_view(r):
            key = p.section
            if p.section in ("[file]",):
                key = p.symbol
            row = rows.setdefault(key, _blank(key, "file"))
            row["file"] += p.size
        tot = r.file_size or 1
        for row in rows.values():
            row["percent"] = 100.0 * row["file"] / tot
        return sorted(rows.values(), key=lambda x: -x["file"])
    for si in r.sections.values():
        cat = si.category
        seg = f"LOAD#{si.segment}" if si.segment is not None else "[not loaded]"
        for p in si.pieces:
            if by == "package":
                key = p.package
            elif by == "module":
                key = r.modules.module(p.package).path
            elif by == "section":
                key = p.section
            elif by == "segment":
                key = seg
            else:
                key = p.symbol
            row = rows.get(key)
            if row is None:
                row = rows[key] = _blank(key, by)
                if by in ("package", "module", "symbol"):
                    row["class"] = r.modules.module(p.package).cls
                    if by == "symbol":
                        row["package"] = p.package
            n = p.size
            row["file"] += n if si.section.file_size else 0
            if cat in CATEGORIES:
                row[cat] += n
                row["mem"] += n
                row["flash"] += n if si.flash else 0
                row["ram"] += n if si.ram else 0
    if by == "segment":
        for p in r.memory_extra:
            row = rows.setdefault(p.section.strip("[]"), _blank(p.section.strip("[]"), "segment"))
            row["mem"] += p.size
    if by == "package" and UNKNOWN not in rows:
        rows[UNKNOWN] = dict(_blank(UNKNOWN, "package"), **{"class": "generated"})
    tot = sum(row[sort] for row in rows.values()) or 1
    for row in rows.values():
        row["percent"] = 100.0 * row[sort] / tot
    return sorted(rows.values(), key=lambda x: (-x[sort], -x["mem"], -x["file"], x["name"]))


def totals(r: SizeReport) -> dict:
    """Whole-image totals: ``file``, ``flash_image``, ``memory`` plus the category,
    flash and ram sums over loaded sections."""
    t = {c: 0 for c in ("flash", "ram", *CATEGORIES)}
    for si in r.sections.values():
        if si.category in CATEGORIES:
            n = si.section.size
            t[si.category] += n
            t["flash"] += n if si.flash else 0
            t["ram"] += n if si.ram else 0
    t.update(file=r.file_size, flash_image=r.flash_image_size, memory=r.memory_size)
    t["unknown"] = sum(p.size for si in r.sections.values() for p in si.pieces if p.package == UNKNOWN)
    return t


def to_json(r: SizeReport, regions: dict | None = None) -> dict:
    """The ``imgtool-size/1`` document (all sizes in bytes). ``regions`` (a
    :func:`imgtool.size.regions.region_usage` result) adds the optional ``regions`` key."""
    doc = {
        "schema": SCHEMA,
        "file": r.source,
        "arch": r.arch,
        "go_version": r.go_version,
        "pclntab_version": r.pclntab_version,
        "totals": totals(r),
        "errors": list(r.errors),
        "sections": [
            {"name": si.section.name, "category": si.category, "addr": si.section.addr, "size": si.section.size,
             "flash": si.flash, "ram": si.ram, "segment": si.segment,
             "labelled": sum(p.size for p in si.pieces)}
            for si in r.sections.values()
        ],
        "packages": table(r, "package"),
        "modules": table(r, "module"),
        "segments": table(r, "segment"),
        "pclntab": table(r, "pclntab"),
        "file_layout": table(r, "file"),
        "symbols": [{"name": x["name"], "package": x.get("package"), "mem": x["mem"], "flash": x["flash"],
                     "ram": x["ram"], "text": x["text"], "pclntab": x["pclntab"]}
                    for x in table(r, "symbol") if x["mem"]],
    }
    if regions is not None:
        doc["regions"] = regions
    return doc


# ------------------------------------------------------------------------------ diff
#: What :func:`diff` and the diff renderers read from a base document: per kind, the
#: row key holding its size.
DIFF_KEYS = {"packages": "mem", "modules": "mem", "sections": "size", "symbols": "mem"}


def check_document(doc: dict) -> None:
    """Check that an ``imgtool-size/1`` document read from a file has the shape a diff
    reads: ``file`` a string or null, ``totals`` an object of integers (required), and each of
    ``packages``, ``modules``, ``sections``, ``symbols`` (when present) a list of objects
    with a string ``name`` and an integer size (``mem``; ``size`` for sections).

    Raises:
        InputError: the first value of another shape, its JSON path as ``field``
            (``"packages[3].mem"``).
    """
    from imgtool.errors import InputError

    def need(ok: bool, where: str, expected: str) -> None:
        if not ok:
            raise InputError(f"expected {expected}", field=where)

    def is_int(v) -> bool:
        return isinstance(v, int) and not isinstance(v, bool)

    need(doc.get("file") is None or isinstance(doc.get("file"), str), "file", "a string")
    totals = doc.get("totals")
    need(isinstance(totals, dict), "totals", "an object of integers (bytes)")
    for k, v in totals.items():
        need(is_int(v), f"totals.{k}", "an integer (bytes)")
    for kind, key in DIFF_KEYS.items():
        rows = doc.get(kind, [])
        need(isinstance(rows, list), kind, "a list")
        for i, row in enumerate(rows):
            need(isinstance(row, dict), f"{kind}[{i}]", "an object")
            need(isinstance(row.get("name"), str), f"{kind}[{i}].name", "a string")
            need(is_int(row.get(key)), f"{kind}[{i}].{key}", "an integer (bytes)")


def diff(new: dict, base: dict, kind: str) -> list[dict]:
    """Growth per ``kind`` (packages, modules, sections, symbols) between two
    ``imgtool-size/1`` documents: rows ``name``, ``base``, ``new``, ``delta`` (bytes of
    the memory image; sections: size), sorted by largest change; unchanged rows dropped."""
    key = "size" if kind == "sections" else "mem"
    a = {x["name"]: x[key] for x in base.get(kind, [])}
    b = {x["name"]: x[key] for x in new.get(kind, [])}
    out = []
    for name in a.keys() | b.keys():
        d = b.get(name, 0) - a.get(name, 0)
        if d:
            out.append({"name": name, "base": a.get(name, 0), "new": b.get(name, 0), "delta": d})
    return sorted(out, key=lambda x: (-abs(x["delta"]), x["name"]))
