"""Views of a :class:`SizeReport`: the three reconciling byte views, grouped tables,
the versioned JSON document, diffs and budgets.

A table row is a dict: ``name``, ``kind`` (package, module, section, segment, symbol,
file, pclntab), ``class`` (module class, when known), and byte counts ``flash``, ``ram``,
``text``, ``rodata``, ``pclntab``, ``data``, ``bss``, ``mem`` (bytes of the loaded
memory image: the sum of the five categories), ``file`` (bytes of the ELF file) and
``percent`` (of the memory image; of the file for ``--by file``).
"""

from __future__ import annotations

import re
from fractions import Fraction

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


# ------------------------------------------------------------------------------ budgets
_UNITS = {"": 1, "B": 1, "K": 1024, "KB": 1024, "KIB": 1024, "M": 1 << 20, "MB": 1 << 20, "MIB": 1 << 20,
          "G": 1 << 30, "GB": 1 << 30, "GIB": 1 << 30}


def parse_size(text: str) -> int:
    """``"40K"``, ``"1M"``, ``"0x1000"``, ``"1.5M"`` -> bytes.

    Raises:
        ValueError: not a size.
    """
    m = re.fullmatch(r"\s*(?:0[xX]([0-9a-fA-F]+)|([0-9]+)(?:\.([0-9]+))?\s*([kKmMgG]?(?:[iI]?[bB])?))\s*", text)
    if not m:
        raise ValueError(f"bad size {text!r} (expected e.g. 40K, 1M, 1.5M, 262144, 0x40000)")
    if m.group(1) is not None:
        return int(m.group(1), 16)
    unit = _UNITS.get(m.group(4).upper())
    if unit is None:
        raise ValueError(f"bad size {text!r} (expected e.g. 40K, 1M, 1.5M, 262144, 0x40000)")
    value = Fraction(int(m.group(2) + (m.group(3) or "")), 10 ** len(m.group(3) or "")) * unit
    if value.denominator != 1:
        raise ValueError(f"bad size {text!r}: not a whole number of bytes")
    return int(value)


class Percent(Fraction):
    """A budget limit in percent of a region's size (``region:ddr=90%``), exact."""


def parse_budget(spec: str) -> list[tuple[str, int | Percent]]:
    """``flash=1M,ram=256K,pkg:fmt=40K,mod:std=2M,region:ddr=90%,text=...`` -> [(key, limit)].

    Limits are bytes (int), or a :class:`Percent` for ``region:NAME=P%``.

    Raises:
        ValueError: a malformed entry, or a percentage on a key that is not a region.
    """
    out: list[tuple[str, int | Percent]] = []
    for part in filter(None, (p.strip() for p in spec.split(","))):
        if "=" not in part:
            raise ValueError(f"budget entry {part!r} is not KEY=SIZE")
        k, v = part.rsplit("=", 1)
        k = k.strip()
        if not (k in ("flash", "ram", "file", "flash_image", "memory", *CATEGORIES)
                or (k.startswith(("pkg:", "mod:", "region:")) and k.split(":", 1)[1])):
            raise ValueError(f"budget key {k!r}: expected flash, ram, text, rodata, pclntab, data, bss, file, "
                             "pkg:PATH, mod:PATH or region:NAME")
        if v.strip().endswith("%"):
            if not k.startswith("region:"):
                raise ValueError(f"budget {part!r}: a percentage needs a region:NAME key")
            if not re.fullmatch(r"\s*[0-9]+(\.[0-9]+)?\s*", v.strip()[:-1]):
                raise ValueError(f"budget {part!r}: bad percentage (expected e.g. 90% or 99.5%)")
            pct = Fraction(v.strip()[:-1].strip())
            if not 0 <= pct <= 100:
                raise ValueError(f"budget {part!r}: percentage outside 0..100")
            out.append((k, Percent(pct)))
        else:
            out.append((k, parse_size(v)))
    return out


def check_budget(doc: dict, budget: list[tuple[str, int | Percent]]) -> list[dict]:
    """Rows ``key``, ``limit``, ``used``, ``over`` (bytes; negative = headroom), ``ok``;
    a ``region:`` row with a percentage limit also has ``percent`` (the limit in bytes is
    that share of the region size, rounded down). ``region:NAME`` is the ``used`` bytes of
    the region in ``doc["regions"]`` (see :mod:`imgtool.size.regions`).

    Raises:
        ValueError: a ``region:`` key names no region of the document (or it has none).
    """
    from imgtool.size.regions import find_region

    pk = {x["name"]: x for x in doc["packages"]}
    md = {x["name"]: x for x in doc["modules"]}
    out = []
    for key, limit in budget:
        extra = {}
        if key.startswith("pkg:"):
            used = pk.get(key[4:], {}).get("mem", 0)
        elif key.startswith("mod:"):
            used = md.get(key[4:], {}).get("mem", 0)
        elif key.startswith("region:"):
            row = find_region(doc.get("regions"), key[7:])
            if row is None:
                known = ", ".join(r["name"] for r in (doc.get("regions") or {}).get("rows", [])) or "none"
                raise ValueError(f"budget key {key!r}: no such memory region (regions: {known}; "
                                 "give --board or --region)")
            used = row["used"]
            if isinstance(limit, Percent):
                extra["percent"] = float(limit)
                limit = int(row["size"] * Fraction(limit) / 100)  # exact, rounded down
        else:
            used = doc["totals"][key]
        out.append({"key": key, "limit": limit, "used": used, "over": used - limit, "ok": used <= limit, **extra})
    return out
