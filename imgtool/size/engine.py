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

from formats.elf import PF_W, ElfFile, Section
from formats.errors import FormatError
from formats.go.buildinfo import parse_buildinfo
from imgtool.size.packages import ModuleMap, package_from_file, symbol_package

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


@dataclass(frozen=True)
class Piece:
    """``size`` bytes of ``section`` labelled ``symbol`` in ``package``."""

    section: str
    symbol: str
    package: str
    size: int


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
    bytes, summing to ``.gopclntab``); ``functions`` entry -> (name, package) from the
    pclntab; ``errors`` problems reported instead of raised (a malformed pclntab)."""

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
    tables = None
    try:
        from formats.go.moduledata import locate

        tables = locate(elf)
        funcs = tables.pclntab.funcs
        tables.pclntab.extents()
    except FormatError as exc:
        errors.append(str(exc))
        tables, funcs = None, []
    try:
        info = parse_buildinfo(elf)
    except FormatError as exc:
        errors.append(str(exc))
        info = None
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

    fnames: dict[int, tuple[str, str]] = {}  # entry -> (name, package)
    tab = tables.pclntab if tables else None
    for f in funcs:
        s = sym_at.get(f.entry)
        name = s.name if s is not None else f.name
        pkg = symbol_package(name)
        if pkg is None:
            from formats.go.pclntab import first_file

            pkg = package_from_file(first_file(tab, f) or "") or "<asm>"
        fnames[f.entry] = (name, pkg)

    funcdata_ranges = []
    pclntab_parts: dict[str, int] = {}
    for idx, si in sections.items():
        sec = si.section
        if si.category == "text" and funcs:
            si.pieces = _text_pieces(elf, sec, funcs, fnames, sym_at, by_sec.get(idx, []))
        elif si.category == "pclntab" and tab is not None:
            si.pieces, pclntab_parts = _pclntab_pieces(sec.name, tab, funcs, fnames)
    if tab is not None and not tab.go126 and tables.gofunc is not None:
        funcdata_ranges = _old_funcdata(elf, tab, funcs, fnames, tables.gofunc, syms)
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
                      tab.version if tab else None)


def _pad_or_unknown(data, section: str, size: int, label: str | None = None) -> Piece:
    if label:
        return Piece(section, label, symbol_package(label) or "<asm>", size)
    if size < 64 and not any(data):
        return Piece(section, "[padding]", PAD, size)
    return Piece(section, f"[{section}]", _SECTION_PKG.get(section, UNKNOWN), size)


def _text_pieces(elf, sec, funcs, fnames, sym_at, secsyms) -> list[Piece]:
    lo, hi = sec.addr, sec.addr + sec.size
    data = elf.section_data(sec)
    out: list[Piece] = []
    pos = lo
    name_sec = sec.name
    for f in funcs:
        a, b = max(f.entry, pos), min(f.end, hi)
        if b <= a:
            continue
        if a > pos:
            out.append(_pad_or_unknown(data[pos - lo:a - lo], name_sec, a - pos))
        name, pkg = fnames[f.entry]
        s = sym_at.get(f.entry)
        own = b - a
        if s is not None and 0 < s.size < own and a == f.entry:
            out.append(Piece(name_sec, name, pkg, s.size))
            out.append(Piece(name_sec, "[padding]", PAD, own - s.size))
        else:
            out.append(Piece(name_sec, name, pkg, own))
        pos = b
    if pos < hi:
        out.append(_pad_or_unknown(data[pos - lo:], name_sec, hi - pos))
    return out


def _pclntab_pieces(secname, tab, funcs, fnames):
    """Per-function own pclntab bytes and shared rows; part totals for ``--by pclntab``."""
    own: dict[int, int] = {}
    parts: dict[str, int] = {}
    extents = tab.extents()
    ext = {x.name: x for x in extents}
    for x in extents:
        parts[x.name] = parts.get(x.name, 0) + x.size

    def charge(part: str, func_entry: int, n: int) -> None:
        own[func_entry] = own.get(func_entry, 0) + n
        parts[part + " (own)"] = parts.get(part + " (own)", 0) + n
        parts[part] -= n

    # names: the first function at a name offset owns the name (incl. NUL)
    if tab.version != "1.2":
        seen = set()
        blob, base, lim = tab._blob, tab.funcnametab, tab.cutab
        for f in funcs:
            if f.nameoff in seen:
                continue
            seen.add(f.nameoff)
            z = blob.find(b"\0", base + f.nameoff, lim)
            charge("funcnametab", f.entry, z + 1 - base - f.nameoff)
        # pc tables used by exactly one function
        lens = tab.pctab_lengths()
        users: dict[int, int] = {}
        for f in funcs:
            for t in {f.pcsp, f.pcfile, f.pcln, *f.pcdata}:
                if t:
                    users[t] = users.get(t, 0) + 1
        for f in funcs:
            for t in {f.pcsp, f.pcfile, f.pcln, *f.pcdata}:
                if t and users[t] == 1:
                    charge("pctab", f.entry, lens[t])
    iw = tab._idx_width
    for f in funcs:
        charge("functab", f.entry, 2 * iw)
        charge("_func" if tab.version != "1.2" else "funcs", f.entry, f.record_size)
    if tab.go126 and "funcdata" in ext:
        fd_users: dict[int, set] = {}
        for f in funcs:
            for o in f.funcdata:
                if o is not None:
                    fd_users.setdefault(o, set()).add(f.entry)
        lens = tab.table_ranges(fd_users, ext["funcdata"].size)
        for o, us in fd_users.items():
            if len(us) == 1 and o in lens:
                charge("funcdata", next(iter(us)), lens[o])
    pieces = []
    for f in funcs:
        n = own.get(f.entry)
        if n:
            name, pkg = fnames[f.entry]
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
    ranges = [(a, b, s, p) for a, b, s, p in extra_ranges if lo <= a < hi]
    markers = []
    for s in secsyms:
        if s.size > 0:
            ranges.append((s.value, s.value + s.size, s.name, None))
        elif s.name not in _MARKERS and lo <= s.value < hi:
            markers.append((s.value, s.name))
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

    for a, b, sym, pkg in ranges:
        b = min(b, hi)
        if b <= pos or a >= hi:
            continue
        if a > pos:
            gap(pos, a)
        a = max(a, pos)
        out.append(Piece(name, sym, pkg or symbol_package(sym) or "<asm>", b - a))
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
