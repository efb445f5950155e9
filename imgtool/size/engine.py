"""The attribution engine: every byte of a Go ELF gets exactly one label.

``analyze(elf)`` labels the bytes of every section (``Piece`` rows: section, symbol,
package, size) so that each section's pieces sum to its size, and adds the bytes that
belong to no section: ELF header, program and section header tables, file padding.
From those, three views reconcile exactly (bloaty's invariant):

* ``file``: the ELF file, summing to the file size;
* ``memory``: the PT_LOAD segments' memory images, summing to the sum of ``p_memsz``
  (bytes of a segment outside every section are headers or ``[padding]``);
* ``flash``: the flat image ``objcopy -O binary`` (and :func:`formats.loadimage.flatten`)
  makes: loaded sections at their load addresses plus ``[gap]`` rows.

Where labels come from, per section class:

* text (SHF_EXECINSTR): pclntab function ranges (entry to next entry), split into the
  symbol's size and ``[padding]`` when the symbol table has a smaller size;
* ``.gopclntab``: per function its own bytes (name, pc tables only it uses, functab
  slots, ``_func`` record, 1.26+ funcdata objects only it uses); shared rows otherwise;
* other sections: sized symbols; bytes after a zero-size container symbol (``type:*``,
  ``go:string.*``) up to the next symbol go to that container; pre-1.26 funcdata objects
  in ``.rodata`` go to their functions; the rest is ``[padding]`` (short zero runs) or
  ``<unknown>``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple

from formats.elf import PF_W, ElfFile, Section
from formats.errors import FormatError
from formats.go.buildinfo import parse_buildinfo
from imgtool.size.packages import ModuleMap, function_packages, symbol_package, symbol_packages

PAD, UNKNOWN, PCLN = "<padding>", "<unknown>", "<pclntab>"
#: zero-size section markers that are not containers
_MARKERS = {"runtime.text", "runtime.etext", "runtime.rodata", "runtime.erodata", "runtime.noptrdata",
            "runtime.enoptrdata", "runtime.data", "runtime.edata", "runtime.bss", "runtime.ebss",
            "runtime.noptrbss", "runtime.enoptrbss", "runtime.end", "runtime.pclntab", "runtime.epclntab",
            "runtime.typelink", "runtime.itablink", "runtime.etypes", "runtime.covctrs", "runtime.ecovctrs",
            "runtime.egcbss", "runtime.egcdata", "go:textfipsstart", "go:textfipsend"}
#: label of a section without symbols: section name -> package
_SECTION_PKG = {".typelink": "<types>", ".itablink": "<itabs>", ".go.buildinfo": "<buildinfo>",
                ".go.module": "runtime", ".go.type": "<types>", ".go.func": "<funcdata>",
                ".go.fipsinfo": "<generated>", ".symtab": "<symtab>", ".strtab": "<symtab>",
                ".shstrtab": "<elf>"}
CATEGORIES = ("text", "rodata", "pclntab", "data", "bss")
#: ``_new(Piece, (section, symbol, package, size, estimate))`` makes a Piece in one C call
#: (the NamedTuple's own ``__new__`` is a Python function: twice the time, per piece)
_new = tuple.__new__


class Piece(NamedTuple):
    """``size`` bytes of ``section`` labelled ``symbol`` in ``package``; ``estimate`` is
    True when the label was inferred (a stripped ELF's data, from code references and the
    runtime's tables) rather than read from a symbol or the pclntab."""

    section: str
    symbol: str
    package: str
    size: int
    estimate: bool = False


@dataclass
class SectionInfo:
    """One section's class: ``category`` (text, rodata, pclntab, data, bss, or other for
    non-loaded sections), whether its bytes cost ``flash`` (file-backed in a PT_LOAD) and
    ``ram`` (in a writable PT_LOAD), its ``segment`` index (or None)."""

    section: Section
    category: str
    flash: bool
    ram: bool
    segment: int | None
    pieces: list[Piece] = field(default_factory=list)


@dataclass
class SizeReport:
    """The result of :func:`analyze`. ``sections`` maps section index to
    :class:`SectionInfo` (NULL section excluded); ``extra_file`` are file bytes outside
    every section (headers, padding); ``memory_extra`` and ``flash_extra`` the segment
    padding and flat-image gaps; ``pclntab_parts`` the ``--by pclntab`` rows (name ->
    bytes, summing to ``.gopclntab``); ``function_pkgs`` the package of each pclntab function; ``estimated``
    whether some pieces are estimates (:attr:`Piece.estimate`); ``errors`` problems
    reported instead of raised (a malformed pclntab)."""

    source: str | None
    file_size: int
    arch: str
    go_version: str | None
    sections: dict[int, SectionInfo]
    extra_file: list[Piece]
    memory_extra: list[Piece]
    flash_extra: list[Piece]
    flash_image_size: int
    memory_size: int
    pclntab_parts: dict[str, int]
    modules: ModuleMap
    errors: list[str]
    pclntab_version: str | None = None
    function_pkgs: list[str] = field(default_factory=list)
    estimated: bool = False
    memo: dict = field(default_factory=dict, repr=False, compare=False)  # views' per-report cache

    def function_packages(self) -> set[str]:
        """The packages of the pclntab's functions (pseudo packages included)."""
        return set(self.function_pkgs)


def _category(sec: Section, pcln_index: int | None) -> str:
    if not sec.is_alloc:
        return "other"
    if sec.flags & 4:
        return "text"
    if sec.index == pcln_index:
        return "pclntab"
    if sec.is_nobits:
        return "bss"
    if sec.flags & 1:
        return "data"
    return "rodata"


def analyze(elf: ElfFile) -> SizeReport:
    """Label every byte of ``elf``. A malformed or missing pclntab is reported in
    ``errors`` (the text is then labelled from symbols only), never raised.

    Raises:
        FormatError: only for a malformed build information section.
    """
    errors: list[str] = []
    tables = tab = cols = None
    try:
        info = parse_buildinfo(elf)
    except FormatError as exc:
        errors.append(str(exc))
        info = None
    try:
        from formats.go.moduledata import locate

        tables = locate(elf, build_info=info)
        tab = tables.pclntab
        tab.extents()
        cols = tab.columns()
        if cols is not None:
            tab.charges()
        else:
            tab.funcs
    except FormatError as exc:
        errors.append(str(exc))
        tables = tab = cols = None
    mods = ModuleMap(info)
    pcln_index = tables.section.index if tables and tables.section else None
    sections: dict[int, SectionInfo] = {}
    for sec in elf.sections:
        if sec.index == 0:
            continue
        seg = elf.segment_of(sec) if sec.is_alloc else None
        cat = _category(sec, pcln_index)
        sections[sec.index] = SectionInfo(sec, cat, bool(seg) and not sec.is_nobits, bool(seg and seg.flags & PF_W),
                                          seg.index if seg else None)

    syms = [s for s in elf.symbols if s.type not in ("FILE", "SECTION") and 0 < s.shndx < len(elf.sections)]
    by_sec: dict[int, list] = {}
    for s in syms:
        by_sec.setdefault(s.shndx, []).append(s)
    sym_at = {s.value: s for s in syms if s.type == "FUNC"}

    fl = _FuncList(tab, cols) if tab is not None else None
    if fl is not None:
        fl.label(sym_at)
    funcdata_ranges = []
    pclntab_parts: dict[str, int] = {}
    for idx, si in sections.items():
        sec = si.section
        if si.category == "text" and fl is not None and fl.entries:
            si.pieces = _text_pieces(elf, sec, fl, sym_at)
        elif si.category == "pclntab" and tab is not None:
            si.pieces, pclntab_parts = _pclntab_pieces(sec.name, tab, fl)
    if tab is not None and not tab.go126 and tables.gofunc is not None:
        funcdata_ranges = _old_funcdata(elf, tab, tab.funcs, fl.labels, tables.gofunc, syms)
    if not syms and fl is not None:  # stripped: the runtime's tables and code references
        from imgtool.size.stripped import estimate_ranges

        funcdata_ranges = funcdata_ranges + estimate_ranges(elf, tables, fl.entries, fl.pkgs, fl.fnames,
                                                            info.go_release if info else None)
    for idx, si in sections.items():
        if si.pieces or si.section.size == 0:
            continue
        si.pieces = _symbol_pieces(elf, si.section, by_sec.get(idx, []), funcdata_ranges)

    for si in sections.values():
        total = sum(p.size for p in si.pieces)
        if total != si.section.size:
            errors.append(f"internal: section {si.section.name} labels sum to {total}, not {si.section.size}")
            si.pieces.append(Piece(si.section.name, "[unlabelled]", UNKNOWN, si.section.size - total))

    extra_file = _file_extra(elf)
    memory_extra, memory_size = _memory_extra(elf, sections)
    flash_extra, flash_size = _flash_extra(elf)
    return SizeReport(elf.source, len(elf.data), elf.arch, info.go_version if info else None, sections, extra_file,
                      memory_extra, flash_extra, flash_size, memory_size, pclntab_parts, mods, errors,
                      tab.version if tab else None, fl.pkgs if fl is not None else [],
                      any(r[4] for r in funcdata_ranges if len(r) > 4))


def _pad_or_unknown(data, section: str, size: int, label: str | None = None) -> Piece:
    if label:
        return Piece(section, label, symbol_package(label) or "<asm>", size)
    if size < 64 and bytes(data) == bytes(len(data)):  # as bytes: memoryview == compares item by item
        return Piece(section, "[padding]", PAD, size)
    return Piece(section, f"[{section}]", _SECTION_PKG.get(section, UNKNOWN), size)


class _FuncList:
    """The pclntab's functions as parallel lists in table order: ``entries``, ``ends``,
    ``own`` (pclntab bytes, 1.16+) and, after :meth:`label`, ``fnames`` and ``pkgs``; from
    the one-pass walk's columns (1.16+) or the ``Func`` objects (1.2)."""

    def __init__(self, tab, cols) -> None:
        self.tab = tab
        if cols is not None:
            from formats.go import pclnwalk as w

            self.entries = cols[w.ENTRY::w.NCOL].tolist()
            self.ends = cols[w.END::w.NCOL].tolist()
            self.own = cols[w.OWN::w.NCOL].tolist()
        else:
            funcs = tab.funcs
            self.entries = [f.entry for f in funcs]
            self.ends = [f.end for f in funcs]
            self.own = None
        self.fnames: list[str] = []
        self.pkgs: list[str] = []

    def label(self, sym_at) -> None:
        """Name (the symbol's, when one starts at the entry; else the pclntab's) and
        package of every function."""
        tab = self.tab
        names = None
        fnames = self.fnames = []
        for i, entry in enumerate(self.entries):
            s = sym_at.get(entry)
            if s is None:
                if names is None:
                    names = tab.names()
                fnames.append(names[i])
            else:
                fnames.append(s.name)
        self.pkgs = function_packages(tab, fnames)

    @property
    def labels(self) -> dict[int, tuple[str, str]]:
        """entry -> (name, package)."""
        return {e: (n, p) for e, n, p in zip(self.entries, self.fnames, self.pkgs)}


def _text_pieces(elf, sec, fl: _FuncList, sym_at) -> list[Piece]:
    lo, hi = sec.addr, sec.addr + sec.size
    data = elf.section_data(sec)
    out: list[Piece] = []
    append = out.append
    pos = lo
    name_sec = sec.name
    for entry, end, name, pkg in zip(fl.entries, fl.ends, fl.fnames, fl.pkgs):
        a = entry if entry > pos else pos  # max() and min() as comparisons: 20,000 calls fewer each
        b = end if end < hi else hi
        if b <= a:
            continue
        if a > pos:
            append(_pad_or_unknown(data[pos - lo:a - lo], name_sec, a - pos))
        s = sym_at.get(entry)
        own = b - a
        if s is not None and 0 < s.size < own and a == entry:
            append(_new(Piece, (name_sec, name, pkg, s.size, False)))
            append(_new(Piece, (name_sec, "[padding]", PAD, own - s.size, False)))
        else:
            append(_new(Piece, (name_sec, name, pkg, own, False)))
        pos = b
    if pos < hi:
        append(_pad_or_unknown(data[pos - lo:], name_sec, hi - pos))
    return out


def _pclntab_pieces(secname, tab, fl: _FuncList):
    """Per-function own pclntab bytes and shared rows; part totals for ``--by pclntab``."""
    parts: dict[str, int] = {}
    for x in tab.extents():
        parts[x.name] = parts.get(x.name, 0) + x.size
    pieces = []
    if fl.own is not None:  # 1.16+: the walk charged every function (formats.go.pclnwalk)
        charged = tab.charges()
        for part in ("funcnametab", "pctab", "functab", "_func", "funcdata"):
            n = charged[part]
            if n and part in parts:
                parts[part + " (own)"] = n
                parts[part] -= n
        pieces = [_new(Piece, (secname, name, pkg, n, False)) for n, name, pkg in zip(fl.own, fl.fnames, fl.pkgs) if n]
    else:  # 1.2: one blob; functab slots and records only
        iw = tab._idx_width
        own: dict[int, int] = {}
        for f in tab.funcs:
            own[f.entry] = own.get(f.entry, 0) + 2 * iw + f.record_size
        tot_f = len(tab.funcs) * 2 * iw
        tot_r = sum(f.record_size for f in tab.funcs)
        parts["functab (own)"], parts["functab"] = tot_f, parts["functab"] - tot_f
        parts["funcs (own)"], parts["funcs"] = tot_r, parts["funcs"] - tot_r
        labels = fl.labels
        for f in tab.funcs:
            n = own.get(f.entry)
            if n:
                name, pkg = labels[f.entry]
                pieces.append(Piece(secname, name, pkg, n))
    for part, n in parts.items():
        if n and not part.endswith("(own)"):
            label = {"padding": "[padding]"}.get(part, f"[pclntab {part}]")
            pieces.append(Piece(secname, label, PAD if part == "padding" else PCLN, n))
    return pieces, {k: v for k, v in parts.items() if v}


def _old_funcdata(elf, tab, funcs, fnames, gofunc, syms):
    """Pre-1.26 funcdata objects in ``.rodata``: ranges (start, end, symbol, package)."""
    users: dict[int, set] = {}
    for f in funcs:
        for o in f.funcdata:
            if o is not None:
                users.setdefault(o if tab.version in ("1.18", "1.20") else o - gofunc, set()).add(f.entry)
    if not users:
        return []
    later = [s.value for s in syms if s.value > gofunc]
    limit = (min(later) - gofunc) if later else max(users)
    lens = tab.table_ranges([o for o in users if 0 <= o < limit], limit)
    out = []
    for o, n in lens.items():
        us = users[o]
        if len(us) == 1:
            name, pkg = fnames[next(iter(us))]
            out.append((gofunc + o, gofunc + o + n, name, pkg))
        else:
            out.append((gofunc + o, gofunc + o + n, "[funcdata shared]", "<funcdata>"))
    return out


def _symbol_pieces(elf, sec, secsyms, extra_ranges) -> list[Piece]:
    lo, hi = sec.addr, sec.addr + sec.size
    name = sec.name
    ranges = [(r[0], r[1], r[2], r[3], r[4] if len(r) > 4 else False) for r in extra_ranges if lo <= r[0] < hi]
    sized = [s for s in secsyms if s.size > 0]
    for s, pkg in zip(sized, symbol_packages([s.name for s in sized])):
        ranges.append((s.value, s.value + s.size, s.name, pkg or "<asm>", False))
    markers = [(s.value, s.name) for s in secsyms if s.size <= 0 and s.name not in _MARKERS and lo <= s.value < hi]
    if not ranges and not markers:
        pkg = _SECTION_PKG.get(name)
        if pkg is None:
            if name.startswith((".debug", ".zdebug")):  # .zdebug_*: zlib DWARF, Go <= 1.17
                pkg = "<debug>"
            elif sec.type == 7:
                pkg = "<notes>"
            else:
                pkg = UNKNOWN
        return [Piece(name, f"[{name}]", pkg, sec.size)]
    ranges.sort(key=lambda r: (r[0], -r[1]))
    markers.sort()
    data = elf.section_data(sec) if not sec.is_nobits else None
    out: list[Piece] = []
    pos, current, mi = lo, None, 0

    def gap(a: int, b: int) -> None:
        nonlocal mi, current
        while a < b:
            while mi < len(markers) and markers[mi][0] <= a:
                current = markers[mi][1]
                mi += 1
            nxt = markers[mi][0] if mi < len(markers) and markers[mi][0] < b else b
            chunk = data[a - lo:nxt - lo] if data is not None else b""
            out.append(_pad_or_unknown(chunk, name, nxt - a, current))
            a = nxt

    for a, b, sym, pkg, est in ranges:
        b = min(b, hi)
        if b <= pos or a >= hi:
            continue
        if a > pos:
            gap(pos, a)
        a = max(a, pos)
        out.append(_new(Piece, (name, sym, pkg or symbol_package(sym) or "<asm>", b - a, est)))
        pos = b
        current = None
        while mi < len(markers) and markers[mi][0] < pos:
            mi += 1
    if pos < hi:
        gap(pos, hi)
    return out


def _file_extra(elf: ElfFile) -> list[Piece]:
    """File bytes outside sections: headers and padding, in file order."""
    e32 = elf.elfclass == 32
    ehsize = 52 if e32 else 64
    ranges = [(0, ehsize, "[ELF header]")]
    phoff = int.from_bytes(elf.data[28:32] if e32 else elf.data[32:40], "little" if elf.little_endian else "big")
    shoff = int.from_bytes(elf.data[32:36] if e32 else elf.data[40:48], "little" if elf.little_endian else "big")
    if elf.segments:
        ranges.append((phoff, phoff + len(elf.segments) * (32 if e32 else 56), "[program headers]"))
    if elf.sections:
        ranges.append((shoff, shoff + len(elf.sections) * (40 if e32 else 64), "[section headers]"))
    for s in elf.sections:
        if s.index and s.file_size:
            ranges.append((s.offset, s.offset + s.size, None))
    ranges.sort(key=lambda r: (r[0], -r[1]))
    out, pos = [], 0
    for a, b, label in ranges:
        if a > pos:
            out.append(Piece("[file]", "[file padding]", PAD, a - pos))
        if label and b > max(a, pos):
            out.append(Piece("[file]", label, "<elf>", b - max(a, pos)))
        pos = max(pos, b)
    if pos < len(elf.data):
        out.append(Piece("[file]", "[file padding]", PAD, len(elf.data) - pos))
    return out


def _memory_extra(elf: ElfFile, sections) -> tuple[list[Piece], int]:
    """Bytes of each PT_LOAD's memory image outside its sections (headers mapped into
    the first segment, alignment padding); and the total of ``p_memsz``."""
    out, total = [], 0
    for seg in elf.loads:
        total += seg.memsz
        covered = sorted((s.section.addr, s.section.addr + s.section.size) for s in sections.values()
                         if s.segment == seg.index and s.section.size and not s.section.is_tls)
        pos, hi = seg.vaddr, seg.vaddr + seg.memsz
        holes = []
        for a, b in covered:
            if a > pos:
                holes.append((pos, a))
            pos = max(pos, b)
        if pos < hi:
            holes.append((pos, hi))
        for a, b in holes:
            off = seg.offset + (a - seg.vaddr)
            label = "[ELF headers]" if a - seg.vaddr < seg.filesz and off < 4096 and seg.offset == 0 else "[padding]"
            out.append(Piece(f"[LOAD#{seg.index}]", label, "<elf>" if label != "[padding]" else PAD, b - a))
    return out, total


def _flash_extra(elf: ElfFile) -> tuple[list[Piece], int]:
    """Gaps of the flat image (``objcopy -O binary``; :func:`formats.loadimage.flatten`
    with BSS as zeros) and its total size."""
    from formats.loadimage import loaded_sections

    secs = loaded_sections(elf)
    if not secs:
        return [], 0
    out, base = [], elf.lma(secs[0])
    pos = base
    for s in secs:
        lma = elf.lma(s)
        if lma > pos:
            out.append(Piece("[flat image]", "[gap]", PAD, lma - pos))
        pos = max(pos, lma + s.size)
    return out, pos - base
