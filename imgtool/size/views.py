"""Views of a :class:`SizeReport`: the three reconciling byte views, grouped tables,
the versioned JSON document and diffs (budgets: :mod:`imgtool.size.budget`).

A table row is a dict: ``name``, ``kind`` (package, module, section, segment, symbol,
file, pclntab), ``class`` (module class, when known), and byte counts ``flash``, ``ram``,
``text``, ``rodata``, ``pclntab``, ``data``, ``bss``, ``mem`` (bytes of the loaded
memory image: the sum of the five categories), ``file`` (bytes of the ELF file) and
``percent`` (of the memory image; of the file for ``--by file``); for a stripped ELF
whose data was attributed by estimate (:mod:`imgtool.size.stripped`) also ``estimate``
(bytes of the memory image in the row labelled by estimate).
"""

from __future__ import annotations

from itertools import groupby
from operator import itemgetter

from formats.loadimage import loaded_sections
from imgtool.size.engine import CATEGORIES, UNKNOWN, Piece, SizeReport

SCHEMA = "imgtool-size/1"
BY = ("package", "module", "section", "segment", "symbol", "file", "pclntab")
_COLS = ("flash", "ram", *CATEGORIES, "mem", "file")
_KEY_FIELD = {"package": 2, "symbol": 1}  # Piece fields
_PACKAGE, _SIZE = itemgetter(2), itemgetter(3)


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
    if by == "file":  # a section's pieces sum to its size: one row update per section
        for key, n in [(p.symbol, p.size) for p in r.extra_file] + \
                [(si.section.name, si.section.size) for si in r.sections.values() if si.section.file_size]:
            row = rows.get(key)
            if row is None:
                row = rows[key] = _blank(key, "file")
            row["file"] += n
        tot = r.file_size or 1
        for row in rows.values():
            row["percent"] = 100.0 * row["file"] / tot
        return sorted(rows.values(), key=lambda x: -x["file"])
    if by == "module":  # the package rows summed per module (a module's class is its packages')
        for prow in _group(r, "package").values():
            key = r.modules.module(prow["name"]).path
            row = rows.get(key)
            if row is None:
                row = rows[key] = dict(_blank(key, "module"), **{"class": prow["class"]})
                if r.estimated:
                    row["estimate"] = 0
            for c in _COLS + (("estimate",) if r.estimated else ()):
                row[c] += prow[c]
    else:
        rows = _group(r, by)
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


def _group(r: SizeReport, by: str) -> dict[str, dict]:
    """Unsorted rows of :func:`table` by package, symbol, section or segment (no percent;
    fresh dicts, the package grouping computed once per report)."""
    if by == "package":
        rows = r.memo.get("package")
        if rows is None:
            rows = r.memo["package"] = _group_pieces(r, by)
        return {k: dict(v) for k, v in rows.items()}
    return _group_pieces(r, by)


def _group_pieces(r: SizeReport, by: str) -> dict[str, dict]:
    rows: dict[str, dict] = {}
    ki = _KEY_FIELD.get(by)
    for si in r.sections.values():
        cat = si.category
        # sum the section's pieces per key first (first piece's package kept), then add
        # the sums to the rows: one row update per key and section; a section or segment
        # row takes the section's size (its pieces sum to it)
        sums: dict[str, list] = {}
        if ki is None:
            if si.pieces:
                key = si.section.name if by == "section" else \
                    f"LOAD#{si.segment}" if si.segment is not None else "[not loaded]"
                est = sum(p.size for p in si.pieces if p.estimate) if r.estimated else 0
                sums[key] = [si.section.size, si.pieces[0].package, est]
        elif ki == 2 and not r.estimated:
            # by package: a section's functions and symbols come in runs of one package;
            # sum each run in one C loop
            for key, run in groupby(si.pieces, _PACKAGE):
                n = sum(map(_SIZE, run))
                e = sums.get(key)
                if e is None:
                    sums[key] = [n, key, 0]
                else:
                    e[0] += n
        else:
            for p in si.pieces:
                key = p[ki]
                e = sums.get(key)
                if e is None:
                    e = sums[key] = [p.size, p.package, 0]
                else:
                    e[0] += p.size
                if p.estimate:
                    e[2] += p.size
        in_file, counted = bool(si.section.file_size), cat in CATEGORIES
        for key, (n, pkg, est) in sums.items():
            row = rows.get(key)
            if row is None:
                row = rows[key] = _blank(key, by)
                if by in ("package", "symbol"):
                    row["class"] = r.modules.module(pkg).cls
                    if by == "symbol":
                        row["package"] = pkg
                if r.estimated:
                    row["estimate"] = 0
            if est and counted:
                row["estimate"] += est
            if in_file:
                row["file"] += n
            if counted:
                row[cat] += n
                row["mem"] += n
                if si.flash:
                    row["flash"] += n
                if si.ram:
                    row["ram"] += n
    return rows


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
    t["estimate"] = sum(p.size for si in r.sections.values() if si.category in CATEGORIES and r.estimated
                        for p in si.pieces if p.estimate)
    return t


def ram_hog(r: SizeReport, t: dict | None = None) -> dict | None:
    """The one piece (``symbol``, ``package``, ``size`` in bytes) that holds more than
    half of the RAM (``ram`` of :func:`totals`), or None: a Go 1.26 program's
    ``crypto/internal/fips140/drbg.memory`` is 32 MiB of its 32.4 MiB."""
    ram = (t or totals(r))["ram"]
    best = None
    for si in r.sections.values():
        if si.ram and si.category in CATEGORIES and si.section.size * 2 > ram:
            for p in si.pieces:
                if best is None or p.size > best.size:
                    best = p
    if best is None or best.size * 2 <= ram:
        return None
    return {"symbol": best.symbol, "package": best.package, "size": best.size}


def symbol_rows(r: SizeReport) -> list[dict]:
    """The JSON ``symbols`` list: per symbol of the memory image ``name``, ``package`` (of
    its first piece), ``mem``, ``flash``, ``ram``, ``text``, ``pclntab`` (bytes), in the
    order of :func:`table` ``(r, "symbol")``; built without the full rows (memory)."""
    acc: dict[str, list] = {}  # name -> [flash, mem, file, ram, text, pclntab, package]
    for si in r.sections.values():
        cat, counted = si.category, si.category in CATEGORIES
        in_file = bool(si.section.file_size)
        flash, ram = counted and si.flash, counted and si.ram
        for p in si.pieces:
            a = acc.get(p.symbol)
            if a is None:
                a = acc[p.symbol] = [0, 0, 0, 0, 0, 0, p.package]
            n = p.size
            if in_file:
                a[2] += n
            if counted:
                a[1] += n
                if flash:
                    a[0] += n
                if ram:
                    a[3] += n
                if cat == "text":
                    a[4] += n
                elif cat == "pclntab":
                    a[5] += n
    # order: flash, mem, file (largest first), then name. One int key per symbol, the three
    # counts side by side in fields of w bits (every count is at most the sum of all
    # sections and the file, which fits in w), after a sort by name: the second sort is
    # stable, so equal counts stay in name order. Half the time of sorting tuples.
    w = max(sum(si.section.size for si in r.sections.values()), r.file_size).bit_length()
    keys = {name: -((a[0] << 2 * w) | (a[1] << w) | a[2]) for name, a in acc.items() if a[1]}
    names = sorted(keys)
    names.sort(key=keys.__getitem__)
    return [{"name": name, "package": a[6], "mem": a[1], "flash": a[0], "ram": a[3], "text": a[4],
             "pclntab": a[5]} for name, a in zip(names, map(acc.__getitem__, names))]


def dumps(doc) -> str:
    """``doc`` as the JSON text ``imgtool size --format json`` prints: exactly
    ``json.dumps(doc, indent=1) + "\\n"``, but each flat dict (scalar values only, as every
    table row is) is encoded by the C encoder in one call, with the newline and indent as
    its item separator, instead of the pure-Python indenting encoder value by value."""
    import json

    out: list[str] = []
    _dump(doc, 0, out, {}, json.JSONEncoder().encode)
    out.append("\n")
    return "".join(out)


_SCALARS = frozenset((str, int, float, bool, type(None)))


def _flat_encoder(item_separator: str):
    """``json.JSONEncoder(separators=(item_separator, ": ")).encode``, with the C encoder
    made once (``JSONEncoder.encode`` makes it again on every call)."""
    from json import encoder as je

    if je.c_make_encoder is None:  # pragma: no cover - CPython always has _json
        return je.JSONEncoder(separators=(item_separator, ": ")).encode
    c = je.c_make_encoder(None, je.JSONEncoder().default, je.encode_basestring_ascii, None, ": ", item_separator,
                          False, False, True)
    return lambda o: "".join(c(o, 0))


def _dump(o, depth: int, out: list[str], flat: dict, enc) -> None:
    if isinstance(o, dict):
        if not o:
            out.append("{}")
            return
        inner = "\n" + " " * (depth + 1)
        if _SCALARS.issuperset(map(type, o.values())):
            e = flat.get(depth)
            if e is None:
                e = flat[depth] = _flat_encoder("," + inner)
            s = e(o)
            out.append("{" + inner + s[1:-1] + "\n" + " " * depth + "}")
            return
        out.append("{")
        first = True
        for k, v in o.items():
            out.append(inner if first else "," + inner)
            first = False
            out.append((enc(k) if isinstance(k, str) else enc({k: 0})[1:-4]) + ": ")  # keys as json writes them
            _dump(v, depth + 1, out, flat, enc)
        out.append("\n" + " " * depth + "}")
    elif isinstance(o, (list, tuple)):
        if not o:
            out.append("[]")
            return
        inner = "\n" + " " * (depth + 1)
        out.append("[")
        if all(type(v) is dict and v and _SCALARS.issuperset(map(type, v.values())) for v in o):
            # a table: every row a flat dict, each encoded in one call
            e = flat.get(depth + 1)
            if e is None:
                e = flat[depth + 1] = _flat_encoder(",\n" + " " * (depth + 2))
            row_end = "\n" + " " * (depth + 1) + "}"
            head = inner + "{\n" + " " * (depth + 2)
            out.append(head + ("," + head).join([e(v)[1:-1] + row_end for v in o]))
        else:
            for i, v in enumerate(o):
                out.append(inner if i == 0 else "," + inner)
                _dump(v, depth + 1, out, flat, enc)
        out.append("\n" + " " * depth + "]")
    else:
        out.append(enc(o))


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
        "symbols": symbol_rows(r),
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
