"""Labels for the data of a stripped ELF (no symbol table): what the Go runtime's own
tables describe, and what code references.

Without ``.symtab`` the rodata, data and BSS of a Go ELF are anonymous bytes. This module
labels them from two kinds of evidence, in this order (an earlier label wins):

1. The runtime's tables (found through ``runtime.firstmoduledata``, :mod:`formats.go.moduledata`):
   the itabs that ``.itablink`` points at (each charged to its concrete type's package, as
   the linker's ``go:itab.*T,I`` name says); the type descriptors that ``.typelink``,
   the itabs and the descriptors themselves point at, with their names (the ``type:*``
   region: ``<types>``); from its end to the closures' function descriptors (``go:funcdesc``:
   ``<funcdata>``, a run of words that are function entries), the string data
   (``go:string.*``: ``<strings>``); the GC masks the descriptors' ``GCData`` words point
   at (``<gc-metadata>``) and the runtime's ``gcdata``/``gcbss`` masks (``runtime``).
2. References: every address the code forms (:mod:`formats.go.datarefs`: ARM literal
   pools, AArch64 ADRP+ADD/LDR, x86-64 RIP-relative operands, RISC-V AUIPC pairs) that
   falls in the remaining bytes starts an object charged to the package of the function
   holding the instruction; then every pointer stored in a labelled object that points
   at such bytes starts one charged to that object's package. An object runs to the next
   start (or labelled region, or section end).

Every label from rule 2, and the type and string regions' split, is an *estimate*
(``Piece.estimate``); tests check each attributed byte against the unstripped build of
the same program. Layouts: ``internal/abi`` ``Type`` (``Str`` at 4P+8, ``PtrToThis`` at
4P+12, 4P+16 bytes), ``ITab`` (``Inter``, ``Type``, ``Hash``, ``Fun`` at 3P on 64-bit,
12 on 32-bit Go 1.23+), ``InterfaceType.Methods`` (a slice at 4P+16+P), ``Name`` (a flag
byte, a uvarint length, the bytes); ``runtime/symtab.go`` ``moduledata`` (``gcdata``,
``gcbss``, ``types``, ``etypes`` at words 35-38 from Go 1.20, 33-36 in 1.18-1.19).
"""

from __future__ import annotations

import struct
from bisect import bisect_right

from formats.errors import FormatError
from formats.go.datarefs import ARCHES, data_refs, pointer_refs
from formats.go.symbols import type_package

#: sections the engine labels by name (see engine._SECTION_PKG); never estimated
_NAMED = (".go.buildinfo", ".go.module", ".go.type", ".go.func", ".go.fipsinfo")
#: sections whose words may be pointers the GC scans (.noptrdata/.noptrbss hold none)
_POINTER_SECTIONS = (".data", ".data.rel.ro")
KIND_PTR, KIND_SLICE, KIND_ARRAY, KIND_CHAN, KIND_MAP, KIND_STRUCT = 22, 23, 17, 18, 21, 25


class _Image:
    """Reads words and bytes of the loaded sections of ``elf`` by address."""

    def __init__(self, elf) -> None:
        self.elf = elf
        self.P = elf.word_size
        self.w = struct.Struct(("<" if elf.little_endian else ">") + ("I" if self.P == 4 else "Q"))
        self.i32 = struct.Struct(("<" if elf.little_endian else ">") + "i")
        self.u16 = struct.Struct(("<" if elf.little_endian else ">") + "H")
        self.secs = sorted((s.addr, s.addr + s.size, s) for s in elf.sections
                           if s.is_alloc and not s.is_nobits and s.size)
        self.starts = [a for a, _, _ in self.secs]
        self.cache: dict[int, memoryview] = {}

    def _at(self, addr: int, n: int):
        i = bisect_right(self.starts, addr) - 1
        if i < 0:
            return None
        a, b, s = self.secs[i]
        if addr + n > b:
            return None
        d = self.cache.get(s.index)
        if d is None:
            d = self.cache[s.index] = memoryview(self.elf.section_data(s))
        return d, addr - a

    def word(self, addr: int) -> int | None:
        r = self._at(addr, self.P)
        return self.w.unpack_from(*r)[0] if r else None

    def int32(self, addr: int) -> int | None:
        r = self._at(addr, 4)
        return self.i32.unpack_from(*r)[0] if r else None

    def byte(self, addr: int) -> int | None:
        r = self._at(addr, 1)
        return r[0][r[1]] if r else None

    def name(self, addr: int) -> tuple[str, int] | None:
        """An ``abi.Name`` at ``addr``: (text, end address)."""
        r = self._at(addr, 2)
        if r is None:
            return None
        d, off = r
        n, shift, pos = 0, 0, off + 1
        while pos < len(d) and shift < 35:
            b = d[pos]
            pos += 1
            n |= (b & 0x7F) << shift
            shift += 7
            if not b & 0x80:
                break
        if pos + n > len(d) or n > 4096:
            return None
        return bytes(d[pos:pos + n]).decode("utf-8", "replace"), addr + (pos - off) + n


def estimate_ranges(elf, tables, entries: list[int], pkgs: list[str], names: list[str],
                    go_release: tuple[int, int] | None) -> list[tuple[int, int, str, str, bool]]:
    """Labelled ranges ``(start, end, symbol, package, estimate)`` for the rodata, data
    and BSS sections of a stripped ``elf``; ``entries``/``pkgs``/``names`` are the
    pclntab's functions (address order). Never raises for odd input: what cannot be
    read is left out (the engine labels it ``<unknown>``)."""
    if elf.arch not in ARCHES or not entries:
        return []
    img = _Image(elf)
    secs = [s for s in elf.sections if s.is_alloc and not s.is_executable and s.size and s.name not in _NAMED
            and (tables.section is None or s.index != tables.section.index)]
    if not secs:
        return []
    labels: list[tuple[int, int, str, str, bool]] = []
    try:
        labels += _runtime_tables(elf, img, tables, entries, pkgs, go_release)
    except (FormatError, struct.error, IndexError, ValueError):
        pass
    labels += _references(elf, img, secs, labels, entries, pkgs, names)
    return labels


def _resolver(pkgs: list[str]):
    """Package *name* (the last path element, as type strings have it) -> import path,
    from the packages that have functions; ambiguous or unknown names stay as they are."""
    by_last: dict[str, set[str]] = {}
    for p in set(pkgs):
        if not p.startswith("<"):
            by_last.setdefault(p.rsplit("/", 1)[-1], set()).add(p)

    def resolve(name: str) -> str:
        got = by_last.get(name)
        return next(iter(got)) if got and len(got) == 1 else name

    return resolve


def _runtime_tables(elf, img: _Image, tables, entries, pkgs, go_release) -> list[tuple[int, int, str, str, bool]]:
    md = tables.moduledata
    if md is None:
        return []
    P = img.P
    base = 35 if go_release is None or go_release >= (1, 20) else 33
    words = [img.word(md.address + P * i) for i in range(base, base + 4)]
    if None in words:
        return []
    gcdata, gcbss, types, etypes = words
    T = 4 * P + 16
    resolve = _resolver(pkgs)
    out: list[tuple[int, int, str, str, bool]] = []

    def tname(t: int) -> str | None:
        off = img.int32(t + 4 * P + 8)
        if off is None or not 0 <= off < etypes - types:
            return None
        nm = img.name(types + off)
        if nm is None:
            return None
        tflag = img.byte(t + 2 * P + 4) or 0
        return nm[0][1:] if tflag & 2 and nm[0].startswith("*") else nm[0]

    # the link tables themselves, named as the linker's symbols are (runtime.typelink, runtime.itablink)
    for name in (".typelink", ".itablink"):
        sec = elf.section(name)
        if sec is not None and sec.size:
            out.append((sec.addr, sec.addr + sec.size, "runtime" + name, "runtime", False))
    # itabs, from .itablink
    links = elf.section(".itablink")
    old = go_release is not None and go_release < (1, 23)
    fun_off = 3 * P if P == 8 else (16 if old else 12)
    if links is not None and links.size:
        for k in range(links.size // P):
            itab = img.word(links.addr + k * P)
            inter = img.word(itab) if itab else None
            typ = img.word(itab + P) if itab else None
            n = img.word(inter + T + 2 * P) if inter else None
            if typ is None or n is None or n > 4096:
                continue
            nm = tname(typ)
            pkg = resolve(type_package(nm)) if nm else "<itabs>"
            out.append((itab, itab + fun_off + max(1, n) * P, f"go:itab.{nm or hex(itab)}", pkg, False))
    # type descriptors reachable from .typelink, the itabs and each other
    seen: set[int] = set()
    todo = []
    tl = elf.section(".typelink")
    if tl is not None and tl.size:
        todo += [types + (img.int32(tl.addr + 4 * k) or 0) for k in range(tl.size // 4)]
    for a, _b, _s, _p, _e in out:
        todo += [img.word(a) or 0, img.word(a + P) or 0]
    end = types
    gcs: list[int] = []
    while todo:
        t = todo.pop()
        if t in seen or not types <= t < etypes or t % P:
            continue
        nm = tname(t)
        if nm is None:
            continue
        seen.add(t)
        off = img.int32(t + 4 * P + 8)
        nend = img.name(types + off)[1]
        end = max(end, t + T, nend)
        gc = img.word(t + 3 * P + 8)
        if gc and types <= gc < gcdata:
            gcs.append(gc)
        kind = (img.byte(t + 2 * P + 7) or 0) & 0x1F
        ptt = img.int32(t + 4 * P + 12)
        if ptt:
            todo.append(types + ptt)
        if kind in (KIND_PTR, KIND_SLICE, KIND_ARRAY, KIND_CHAN):
            todo.append(img.word(t + T) or 0)
        elif kind == KIND_MAP:
            todo += [img.word(t + T) or 0, img.word(t + T + P) or 0]
        elif kind == KIND_STRUCT:
            fields, nf = img.word(t + T + P), img.word(t + T + 2 * P)
            if fields and nf and nf < 10000:
                todo += [img.word(fields + 3 * P * i + P) or 0 for i in range(nf)]
    if not seen:
        return out
    entry_set = set(entries)
    # the GC masks start at the lowest GCData pointer; before them, function descriptors
    gcstart = min((g for g in gcs if g >= end), default=gcdata)
    fd = gcstart - gcstart % P
    while fd - P >= end and img.word(fd - P) in entry_set:
        fd -= P
    # the type region ends where the strings begin: the first code-visible string is
    # at or after the end of the last descriptor or name found
    out += _type_pieces(img, sorted(seen), types, end, tname, resolve, go_release)
    if fd > end:
        out.append((end, fd, "go:string.*", "<strings>", True))
    if gcstart > fd:
        out.append((fd, gcstart, "go:funcdesc", "<funcdata>", True))
    if gcdata > gcstart:
        out.append((gcstart, gcdata, "runtime.gcbits.*", "<gc-metadata>", True))
    bounds = [img.word(md.address + P * i) for i in range(24, 30)]  # noptrdata..ebss
    if None not in bounds and gcbss >= gcdata:
        data_mask = -(-(bounds[3] - bounds[2]) // P // 8)
        bss_mask = -(-(bounds[5] - bounds[4]) // P // 8)
        out.append((gcdata, gcdata + data_mask, "runtime.gcdata", "runtime", False))
        out.append((gcbss, gcbss + bss_mask, "runtime.gcbss", "runtime", False))
    return out


def _looks_constant(word: int) -> bool:
    """A literal-pool word that is more likely a constant than an address: a 4 KiB
    multiple (``runtime.mmap``'s hint addresses) or one byte repeated (``0x80808080``,
    the byte-parallel masks of ``internal/runtime/maps``). ARM only: the other decoders
    see address arithmetic, not bare words."""
    return word & 0xFFF == 0 or word == (word & 0xFF) * 0x01010101


def _plausible(starts: list[int], end: int) -> list[int]:
    """The object starts that agree with how the linker aligns data (``cmd/link``
    ``symalign``: a symbol of n bytes is aligned to the largest power of two <= n, up to
    the maximum alignment): a start aligned to only 1, 2 or 4 bytes cannot begin an
    object of 2, 4 or 8 bytes or more, so such a start, which would run to the next one,
    is a spurious reference (a constant in a literal pool, an x86 byte-scan hit) or a
    field inside the object before it, and is dropped. Decided from the last start back."""
    kept: list[int] = []
    nxt = end
    for a in reversed(starts):
        align = a & -a if a else 8
        if align >= 8 or nxt - a < 2 * align:
            kept.append(a)
            nxt = a
    kept.reverse()
    return kept


def _uncommon_at(kind: int, T: int, P: int, go_release) -> int | None:
    """Offset of a type descriptor's ``UncommonType`` from its start, per kind
    (``internal/abi``: ArrayType 3 words, ChanType 2, FuncType 2 uint16 rounded to a word,
    InterfaceType and StructType a Name and a slice, PtrType/SliceType 1, MapType Go 1.24+
    3 types, a hasher, 3 words and a uint32)."""
    words = {17: 3, 18: 2, 19: 1, 20: 4, 22: 1, 23: 1, 25: 4}
    if kind in words:
        return T + words[kind] * P
    if kind == KIND_MAP:
        return T + -(-(7 * P + 4) // P) * P if go_release is None or go_release >= (1, 24) else None
    return T if kind <= 16 or kind in (24, 26) else None


def _type_pieces(img: _Image, starts: list[int], types: int, end: int, tname, resolve, go_release):
    """The ``type:*`` region split at each descriptor found, each run charged (within
    ``<types>``) to the type's package: the ``PkgPath`` of its uncommon part where the
    linker recorded one, else the package its name gives."""
    P = img.P
    T = 4 * P + 16
    out = []
    found = set(starts)
    bounds = [types] + [t for t in starts if types < t < end] + [end]
    for a, b in zip(bounds, bounds[1:]):
        pkg = None
        if a in found:
            tflag = img.byte(a + 2 * P + 4) or 0
            at = _uncommon_at((img.byte(a + 2 * P + 7) or 0) & 0x1F, T, P, go_release) if tflag & 1 else None
            off = img.int32(a + at) if at is not None else None
            nm = img.name(types + off) if off else None
            if nm and nm[0] and " " not in nm[0]:
                pkg = nm[0]
            else:
                name = tname(a)
                pkg = resolve(type_package(name)) if name else None
        label = f"type:* ({pkg})" if pkg and not pkg.startswith("<") else "type:*"
        if out and out[-1][2] == label and out[-1][1] == a:
            out[-1] = (out[-1][0], b, label, "<types>", True)
        else:
            out.append((a, b, label, "<types>", True))
    return out


def _references(elf, img: _Image, secs, labels, entries, pkgs, names) -> list[tuple[int, int, str, str, bool]]:
    """Objects started by code references and then by pointers stored in data."""
    taken = sorted((a, b) for a, b, *_ in labels)
    free: list[tuple[int, int]] = []
    for s in secs:
        pos, hi = s.addr, s.addr + s.size
        for a, b in taken:
            if b <= pos or a >= hi:
                continue
            if a > pos:
                free.append((pos, a))
            pos = max(pos, b)
        if pos < hi:
            free.append((pos, hi))
    if not free:
        return []
    starts: dict[int, tuple[str, str]] = {}  # address -> (package, user)
    for t in elf.sections:
        if t.is_executable and t.is_alloc and t.size and not t.is_nobits:
            for site, target in data_refs(elf.arch, elf.section_data(t), t.addr, free):
                i = bisect_right(entries, site) - 1
                if elf.arch == "arm" and _looks_constant(target):
                    continue
                if i >= 0 and target not in starts:
                    starts[target] = (pkgs[i], names[i])

    def objects(starts_: dict[int, tuple[str, str]]) -> list[tuple[int, int, str, str, bool]]:
        out = []
        for lo, hi in free:
            inside = _plausible(sorted(a for a in starts_ if lo <= a < hi), hi)
            for a, b in zip(inside, inside[1:] + [hi]):
                pkg, user = starts_[a]
                sec = next((s.name for s in secs if s.addr <= a < s.addr + s.size), "?")
                out.append((a, b, f"[{sec} 0x{a:x}, used by {user}]", pkg, True))
        return out

    first = objects(starts)
    # pointers stored in labelled data point at more objects (slices' backing arrays)
    more = dict(starts)
    ptr_secs = [(s.addr, s.addr + s.size) for s in secs if s.name in _POINTER_SECTIONS]
    for a, b, _sym, pkg, _e in first:
        if b - a < img.P or b - a > 1 << 20 or not any(x <= a < y for x, y in ptr_secs):
            continue
        r = img._at(a, b - a)
        if r is None:
            continue
        d, off = r
        for _site, target in pointer_refs(d[off:off + (b - a)], a, free, img.P):
            if target not in more:
                more[target] = (pkg, f"data at 0x{a:x}")
    return objects(more) if len(more) > len(starts) else first
