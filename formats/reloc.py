"""ELF dynamic relocations: read them, apply them for a new base address, list them for PE.

A position-independent Go program (``go build -buildmode=pie``) is linked at one
address (the *link base*, the lowest ``p_vaddr``: 0 for GNU ld, 0x400000 or ``-T`` for
Go's internal linker) and carries the dynamic relocations a loader applies to run it
anywhere else. :func:`relocate` is that loader for a flat image: it builds the memory
image of the PT_LOAD segments, applies every relocation for ``delta = base - link
base`` and returns the image placed at ``base``.

Where the tables come from: ``PT_DYNAMIC`` (``DT_RELA``/``DT_RELASZ``, ``DT_REL``/
``DT_RELSZ``, ``DT_JMPREL``/``DT_PLTRELSZ``, ``DT_RELR``/``DT_RELRSZ``, ``DT_SYMTAB``,
``DT_STRTAB``), as ld.so reads them; an ELF without ``PT_DYNAMIC`` falls back to its
allocated ``SHT_RELA``/``SHT_REL``/``SHT_RELR`` sections. Layouts: System V gABI,
"Relocation" and "Dynamic Section"; SHT_RELR as adopted into the gABI (2018).

What each type means (``B`` the load bias ``delta``, ``S`` the symbol's final value,
``A`` the addend: ``r_addend`` for RELA, the word in place for REL), per psABI:

=========  ==========================  ==================================  ===============
machine    relative (B + A)            symbol + addend (S + A)             symbol (S)
=========  ==========================  ==================================  ===============
x86-64     RELATIVE (8), RELATIVE64    64 (1)                              GLOB_DAT, JUMP_SLOT
i386       RELATIVE (8)                32 (1)                              GLOB_DAT, JMP_SLOT
AArch64    RELATIVE (1027)             ABS64 (257), GLOB_DAT, JUMP_SLOT    --
ARM        RELATIVE (23)               ABS32 (2)                           GLOB_DAT, JUMP_SLOT
RISC-V     RELATIVE (3)                32 / 64 (the XLEN one)              JUMP_SLOT (5)
=========  ==========================  ==================================  ===============

(ARM GLOB_DAT/JUMP_SLOT: AAELF gives ``(S + A) | T``; the word in place is the PLT's
lazy-binding address, not an addend, and glibc writes ``S``, as this module does; the
Thumb bit is already in ``S``.) TLS, IRELATIVE (an ifunc resolver must run) and COPY
relocations have no meaning in a flat image: they are refused, or skipped and reported
with ``skip_unsupported``.

A Go linker defect handled here: Go's internal linker (checked with Go 1.26 on amd64 and
arm64, ``-buildmode=pie``) fills itab method slots of methods it found unreachable with
the link-time address of ``runtime.unreachableMethod`` and emits no relocation for them,
so after any move those slots point into nowhere instead of at the function that reports
"unreachable method called". :func:`relocate` moves those words too (``fix_go_itabs``)
and reports how many.

The walk over the table runs in the C core (:mod:`formats._accel`); ``_apply_py`` is its
pure-Python twin (``IMGTOOL_PURE_PYTHON=1``) and gives identical results.
"""

from __future__ import annotations

import struct
from array import array
from dataclasses import dataclass, replace
from typing import Iterator, Mapping

from formats._native import accel as _accel
from formats.elf import (EM_386, EM_AARCH64, EM_ARM, EM_RISCV, EM_X86_64, PT_DYNAMIC, SHT_REL, SHT_RELA,
                         ElfFile)
from formats.errors import FormatError
from formats.loadimage import DEFAULT_MAX_GAP, LoadImage, segment_buffer

__all__ = ["IMPLEMENTATION", "DynamicRelocations", "RelocTable", "Relocation", "Relocated",
           "read_dynamic_relocations", "relocate", "relr_addresses", "type_name"]

#: ``"c"`` when the C core applies relocations, ``"python"`` for the pure twin.
IMPLEMENTATION = "c" if _accel is not None else "python"

SHT_RELR = 19
DT_NULL, DT_PLTRELSZ, DT_HASH, DT_STRTAB, DT_SYMTAB, DT_RELA, DT_RELASZ, DT_RELAENT = 0, 2, 4, 5, 6, 7, 8, 9
DT_STRSZ, DT_SYMENT, DT_REL, DT_RELSZ, DT_RELENT, DT_PLTREL, DT_TEXTREL, DT_JMPREL = 10, 11, 17, 18, 19, 20, 22, 23
DT_RELRSZ, DT_RELR, DT_RELRENT = 35, 36, 37
DT_FLAGS_1, DF_1_PIE = 0x6FFFFFFB, 0x08000000
_ANDROID_PACKED = {0x6000000F: "DT_ANDROID_REL", 0x60000010: "DT_ANDROID_RELSZ", 0x60000011: "DT_ANDROID_RELA",
                   0x60000012: "DT_ANDROID_RELASZ", 0x6FFFE000: "DT_ANDROID_RELR", 0x6FFFE001: "DT_ANDROID_RELRSZ"}
SHN_UNDEF, SHN_ABS = 0, 0xFFF1
STB_WEAK = 2
STT_GNU_IFUNC = 10

# kinds, as the C core numbers them
NONE, RELATIVE, SYM_ADDEND, SYM = 1, 2, 3, 4
_UNSUPPORTED = 0
# symbol kinds
_S_UNDEF, _S_MOVES, _S_ABS = 0, 1, 2
# layout bits
_L_RELA, _L_ELF64, _L_BIG, _L_RELR, _L_SKIP, _L_DRY = 1, 2, 4, 8, 16, 32

#: machine -> type -> (name, kind); kind 0 = known but refused (TLS, IRELATIVE, COPY ...)
_TYPES: dict[int, dict[int, tuple[str, int]]] = {
    EM_X86_64: {0: ("R_X86_64_NONE", NONE), 1: ("R_X86_64_64", SYM_ADDEND), 5: ("R_X86_64_COPY", 0),
                6: ("R_X86_64_GLOB_DAT", SYM), 7: ("R_X86_64_JUMP_SLOT", SYM), 8: ("R_X86_64_RELATIVE", RELATIVE),
                10: ("R_X86_64_32", 0), 16: ("R_X86_64_DTPMOD64", 0), 17: ("R_X86_64_DTPOFF64", 0),
                18: ("R_X86_64_TPOFF64", 0), 36: ("R_X86_64_TLSDESC", 0), 37: ("R_X86_64_IRELATIVE", 0),
                38: ("R_X86_64_RELATIVE64", RELATIVE)},
    EM_386: {0: ("R_386_NONE", NONE), 1: ("R_386_32", SYM_ADDEND), 5: ("R_386_COPY", 0), 6: ("R_386_GLOB_DAT", SYM),
             7: ("R_386_JMP_SLOT", SYM), 8: ("R_386_RELATIVE", RELATIVE), 14: ("R_386_TLS_TPOFF", 0),
             35: ("R_386_TLS_DTPMOD32", 0), 36: ("R_386_TLS_DTPOFF32", 0), 37: ("R_386_TLS_TPOFF32", 0),
             42: ("R_386_IRELATIVE", 0)},
    EM_AARCH64: {0: ("R_AARCH64_NONE", NONE), 256: ("R_AARCH64_NONE", NONE), 257: ("R_AARCH64_ABS64", SYM_ADDEND),
                 258: ("R_AARCH64_ABS32", 0), 1024: ("R_AARCH64_COPY", 0), 1025: ("R_AARCH64_GLOB_DAT", SYM_ADDEND),
                 1026: ("R_AARCH64_JUMP_SLOT", SYM_ADDEND), 1027: ("R_AARCH64_RELATIVE", RELATIVE),
                 1028: ("R_AARCH64_TLS_DTPMOD", 0), 1029: ("R_AARCH64_TLS_DTPREL", 0),
                 1030: ("R_AARCH64_TLS_TPREL", 0), 1031: ("R_AARCH64_TLSDESC", 0), 1032: ("R_AARCH64_IRELATIVE", 0)},
    EM_ARM: {0: ("R_ARM_NONE", NONE), 2: ("R_ARM_ABS32", SYM_ADDEND), 17: ("R_ARM_TLS_DTPMOD32", 0),
             18: ("R_ARM_TLS_DTPOFF32", 0), 19: ("R_ARM_TLS_TPOFF32", 0), 20: ("R_ARM_COPY", 0),
             21: ("R_ARM_GLOB_DAT", SYM), 22: ("R_ARM_JUMP_SLOT", SYM), 23: ("R_ARM_RELATIVE", RELATIVE),
             160: ("R_ARM_IRELATIVE", 0)},
    EM_RISCV: {0: ("R_RISCV_NONE", NONE), 1: ("R_RISCV_32", SYM_ADDEND), 2: ("R_RISCV_64", SYM_ADDEND),
               3: ("R_RISCV_RELATIVE", RELATIVE), 4: ("R_RISCV_COPY", 0), 5: ("R_RISCV_JUMP_SLOT", SYM),
               6: ("R_RISCV_TLS_DTPMOD32", 0), 7: ("R_RISCV_TLS_DTPMOD64", 0), 8: ("R_RISCV_TLS_DTPREL32", 0),
               9: ("R_RISCV_TLS_DTPREL64", 0), 10: ("R_RISCV_TLS_TPREL32", 0), 11: ("R_RISCV_TLS_TPREL64", 0),
               58: ("R_RISCV_IRELATIVE", 0)},
}


def _types_for(elf: ElfFile) -> dict[int, tuple[str, int]]:
    t = dict(_TYPES.get(elf.machine, {}))
    if elf.machine == EM_RISCV:  # only the XLEN-wide absolute word is a whole word here
        drop = 1 if elf.elfclass == 64 else 2
        t[drop] = (t[drop][0], 0)
    return t


def type_name(machine: int, rtype: int) -> str:
    """The psABI name of relocation type ``rtype`` on ``machine`` (``"type N"`` if unknown)."""
    entry = _TYPES.get(machine, {}).get(rtype)
    return entry[0] if entry else f"type {rtype}"


@dataclass(frozen=True)
class RelocTable:
    """One relocation table: ``kind`` ``"rela"``, ``"rel"`` or ``"relr"``; ``address`` its
    link-time address; ``data`` its raw bytes; ``origin`` where it was found (``DT_RELA``,
    ``DT_JMPREL``, a section name ...)."""

    kind: str
    address: int
    data: bytes
    origin: str

    def entry_size(self, elfclass: int) -> int:
        """Bytes per entry: Elf32_Rel 8, Elf32_Rela 12, Elf64_Rel 16, Elf64_Rela 24, RELR a word."""
        w = elfclass // 8
        return {"rela": 3 * w, "rel": 2 * w, "relr": w}[self.kind]


@dataclass(frozen=True)
class Relocation:
    """One decoded REL/RELA entry: ``offset`` (r_offset, link-time address of the word),
    ``type``, ``type_name``, ``symbol`` index and ``symbol_name``, ``addend`` (None for
    REL: the word in place is the addend), and ``table``/``index`` where it sits."""

    offset: int
    type: int
    type_name: str
    symbol: int
    symbol_name: str
    addend: int | None
    table: str
    index: int


@dataclass(frozen=True)
class DynSymbol:
    """A ``.dynsym`` entry: ``name``, ``value`` (link-time), ``shndx``, ``bind``, ``type``."""

    name: str
    value: int
    shndx: int
    bind: int
    type: int


@dataclass
class DynamicRelocations:
    """Everything :func:`relocate` needs from one ELF: the ``tables`` (in the order a
    loader applies them: RELR, REL/RELA, JMPREL) and the dynamic ``symbols``
    (index 0 is the null symbol). ``textrel`` is True for DT_TEXTREL, ``pie_flag`` for
    ``DF_1_PIE`` in ``DT_FLAGS_1``."""

    elf: ElfFile
    tables: list[RelocTable]
    symbols: list[DynSymbol]
    textrel: bool = False
    pie_flag: bool = False

    @property
    def position_independent(self) -> bool:
        """True for ``ET_DYN`` and for an ``ET_EXEC`` marked ``DF_1_PIE`` (GNU ld's
        ``-pie -Ttext-segment=...`` output); a plain ``ET_EXEC`` holds absolute addresses
        no relocation covers, so it cannot move."""
        return self.elf.e_type == 3 or self.pie_flag

    @property
    def count(self) -> int:
        """Number of table entries (a RELR bitmap entry counts once)."""
        return sum(len(t.data) // t.entry_size(self.elf.elfclass) for t in self.tables)

    def entries(self) -> Iterator[Relocation]:
        """Decode every REL/RELA entry (RELR tables are left out: they hold only relative
        relocations, see :func:`relr_addresses`). For reports and tests; slow on big tables."""
        elf = self.elf
        e = "<" if elf.little_endian else ">"
        w = elf.elfclass // 8
        wc = "Q" if w == 8 else "I"
        for t in self.tables:
            if t.kind == "relr":
                continue
            fmt = e + (3 if t.kind == "rela" else 2) * wc
            for i, ent in enumerate(struct.iter_unpack(fmt, t.data[:len(t.data) - len(t.data) % struct.calcsize(fmt)])):
                sym, rtype = _split_info(ent[1], w)
                name = self.symbols[sym].name if sym < len(self.symbols) else f"#{sym}"
                yield Relocation(ent[0], rtype, type_name(elf.machine, rtype), sym, name,
                                 ent[2] if t.kind == "rela" else None, t.origin, i)


def _split_info(info: int, w: int) -> tuple[int, int]:
    """``r_info`` -> (symbol index, type): ELF64 ``info >> 32`` / ``info & 0xffffffff``,
    ELF32 ``info >> 8`` / ``info & 0xff`` (gABI, "Relocation")."""
    return (info >> 32, info & 0xFFFFFFFF) if w == 8 else (info >> 8, info & 0xFF)


def _relr_walk(table: bytes, w: int, e: str) -> Iterator[tuple[int, int]]:
    """(entry index, address) for every word an SHT_RELR table relocates (gABI SHT_RELR:
    an even word is an address, an odd word a bitmap of the next ``8*W - 1`` words)."""
    nxt = 0
    for i, (ent,) in enumerate(struct.iter_unpack(e + ("Q" if w == 8 else "I"), table[:len(table) - len(table) % w])):
        if not ent & 1:
            yield i, ent
            nxt = ent + w
        else:
            for b in range(1, 8 * w):
                if ent >> b & 1:
                    yield i, nxt + (b - 1) * w
            nxt += (8 * w - 1) * w


def relr_addresses(table: bytes, elfclass: int, little_endian: bool = True) -> list[int]:
    """The addresses an SHT_RELR table relocates, in table order."""
    return [a for _, a in _relr_walk(table, elfclass // 8, "<" if little_endian else ">")]


def read_dynamic_relocations(elf: ElfFile) -> DynamicRelocations:
    """Find the dynamic relocation tables and dynamic symbols of ``elf``.

    Raises:
        FormatError: ``PT_DYNAMIC`` is truncated (no ``DT_NULL``); a table's address tag
            comes without its size tag or the reverse; a table or the symbol table lies
            outside the loaded segments; a table size is not a whole number of entries;
            an entry size is not the ELF class's; ``DT_PLTREL`` is neither ``DT_REL`` nor
            ``DT_RELA``; Android packed relocations (not supported). Each message names
            the dynamic tag.
    """
    dyn = _dynamic_entries(elf)
    if dyn is None:
        return _from_sections(elf)
    packed = sorted(t for t in dyn if t in _ANDROID_PACKED)
    if packed:
        raise FormatError(f"Android packed relocations ({', '.join(_ANDROID_PACKED[t] for t in packed)}) are not "
                          "supported; link without --pack-dyn-relocs=android", source=elf.source, field="PT_DYNAMIC")
    w = elf.elfclass // 8
    tables: list[RelocTable] = []

    def table(kind: str, addr_tag: int, size_tag: int, ent_tag: int | None, origin: str) -> None:
        size_name = {DT_RELRSZ: "DT_RELRSZ", DT_RELASZ: "DT_RELASZ", DT_RELSZ: "DT_RELSZ",
                     DT_PLTRELSZ: "DT_PLTRELSZ"}[size_tag]
        if (addr_tag in dyn) != (size_tag in dyn):
            have, miss = (origin, size_name) if addr_tag in dyn else (size_name, origin)
            raise FormatError(f"PT_DYNAMIC has {have} but no {miss}", source=elf.source, field="PT_DYNAMIC")
        if addr_tag not in dyn or not dyn[size_tag]:
            return
        want = {"rela": 3 * w, "rel": 2 * w, "relr": w}[kind]
        if ent_tag is not None and dyn.get(ent_tag, want) != want:
            raise FormatError(f"{origin} entry size is {dyn[ent_tag]}, expected {want}", source=elf.source,
                              field=f"{origin}ENT")
        if dyn[size_tag] % want:
            raise FormatError(f"{origin} table is {dyn[size_tag]} bytes, not a multiple of {want}",
                              source=elf.source, field=origin)
        tables.append(RelocTable(kind, dyn[addr_tag], _read(elf, dyn[addr_tag], dyn[size_tag], origin), origin))

    table("relr", DT_RELR, DT_RELRSZ, DT_RELRENT, "DT_RELR")
    rela, rel = DT_RELA in dyn, DT_REL in dyn
    pltrel = dyn.get(DT_PLTREL, DT_RELA if rela or not rel else DT_REL)
    if DT_JMPREL in dyn and pltrel not in (DT_REL, DT_RELA):
        raise FormatError(f"DT_PLTREL is {pltrel}, expected {DT_REL} (DT_REL) or {DT_RELA} (DT_RELA)",
                          source=elf.source, field="DT_PLTREL")
    jmp_kind = "rela" if pltrel == DT_RELA else "rel"
    for kind, a, s, ent in (("rela", DT_RELA, DT_RELASZ, DT_RELAENT), ("rel", DT_REL, DT_RELSZ, DT_RELENT)):
        if a in dyn and DT_JMPREL in dyn and kind == jmp_kind and dyn.get(s):
            # Some linkers count the PLT relocations in DT_RELASZ too (they follow the
            # others); apply them once, as glibc's elf_dynamic_do_Rel does.
            lo, hi = dyn[a], dyn[a] + dyn[s]
            j = dyn[DT_JMPREL]
            if lo <= j < hi and j + dyn.get(DT_PLTRELSZ, 0) == hi:
                dyn[s] = j - lo
        table(kind, a, s, ent, "DT_" + kind.upper())
    table(jmp_kind, DT_JMPREL, DT_PLTRELSZ, None, "DT_JMPREL")
    return DynamicRelocations(elf, tables, _dynsyms(elf, dyn), DT_TEXTREL in dyn,
                              bool(dyn.get(DT_FLAGS_1, 0) & DF_1_PIE))


def _read(elf: ElfFile, addr: int, size: int, what: str) -> bytes:
    """``elf.read`` with an error that names the dynamic tag."""
    try:
        return elf.read(addr, size)
    except FormatError:
        raise FormatError(f"{what} (0x{addr:x}, {size} bytes) is not inside a loaded segment", source=elf.source,
                          field=what) from None


def _dynamic_entries(elf: ElfFile) -> dict[int, int] | None:
    seg = next((s for s in elf.segments if s.type == PT_DYNAMIC), None)
    if seg is None:
        return None
    w = elf.elfclass // 8
    e = "<" if elf.little_endian else ">"
    raw = elf.data[seg.offset:seg.offset + seg.filesz]
    if len(raw) < seg.filesz:
        raise FormatError("PT_DYNAMIC runs past the end of the file", source=elf.source, offset=seg.offset,
                          field="PT_DYNAMIC")
    out: dict[int, int] = {}
    for tag, val in struct.iter_unpack(e + ("qQ" if w == 8 else "iI"), raw[:len(raw) - len(raw) % (2 * w)]):
        if tag == DT_NULL:
            return out
        out.setdefault(tag, val)
    raise FormatError(f"PT_DYNAMIC ({seg.filesz} bytes) is truncated: no DT_NULL entry ends it", source=elf.source,
                      offset=seg.offset, field="PT_DYNAMIC")


def _from_sections(elf: ElfFile) -> DynamicRelocations:
    kinds = {SHT_RELA: "rela", SHT_REL: "rel", SHT_RELR: "relr"}
    tables = [RelocTable(kinds[s.type], s.addr, bytes(elf.section_data(s)), s.name)
              for s in elf.sections if s.type in kinds and s.is_alloc and s.size]
    tables.sort(key=lambda t: (t.kind != "relr", ".plt" in t.origin, t.address))
    syms: list[DynSymbol] = []
    dynsym = next((s for s in elf.sections if s.type == 11), None)  # SHT_DYNSYM
    if dynsym is not None and 0 < dynsym.link < len(elf.sections):
        strtab = elf.sections[dynsym.link]
        syms = _parse_syms(elf, bytes(elf.section_data(dynsym)), bytes(elf.section_data(strtab)))
    return DynamicRelocations(elf, tables, syms)


def _dynsyms(elf: ElfFile, dyn: dict[int, int]) -> list[DynSymbol]:
    if DT_SYMTAB not in dyn:
        return []
    w = elf.elfclass // 8
    want = 24 if w == 8 else 16
    ent = dyn.get(DT_SYMENT, want)
    if ent != want:
        raise FormatError(f"DT_SYMENT is {ent}, expected {want} (Elf{8 * w}_Sym)", source=elf.source, field="DT_SYMENT")
    addr = dyn[DT_SYMTAB]
    count = None
    sec = next((s for s in elf.sections if s.addr == addr and s.type == 11 and s.size), None)
    if sec is not None:
        count = sec.size // ent
    elif DT_HASH in dyn:  # nchain = number of symbols (gABI "Hash Table")
        count = struct.unpack(("<" if elf.little_endian else ">") + "I", _read(elf, dyn[DT_HASH] + 4, 4, "DT_HASH"))[0]
    else:
        count = _max_symbol_index(elf, dyn) + 1
    strtab = _read(elf, dyn[DT_STRTAB], dyn.get(DT_STRSZ, 0), "DT_STRTAB") if DT_STRTAB in dyn else b""
    return _parse_syms(elf, _read(elf, addr, count * ent, "DT_SYMTAB"), strtab)


def _max_symbol_index(elf: ElfFile, dyn: dict[int, int]) -> int:
    best = 0
    probe = DynamicRelocations(elf, [], [])
    for kind, a, s in (("rela", DT_RELA, DT_RELASZ), ("rel", DT_REL, DT_RELSZ), ("rela", DT_JMPREL, DT_PLTRELSZ)):
        if a in dyn and dyn.get(s):
            if a == DT_JMPREL and dyn.get(DT_PLTREL) == DT_REL:
                kind = "rel"
            probe.tables = [RelocTable(kind, dyn[a], _read(elf, dyn[a], dyn[s], "relocation table"), "probe")]
            best = max([best] + [r.symbol for r in probe.entries()])
    return best


def _parse_syms(elf: ElfFile, raw: bytes, strtab: bytes) -> list[DynSymbol]:
    e = "<" if elf.little_endian else ">"
    out = []
    if elf.elfclass == 64:
        for name, info, _other, shndx, value, _size in struct.iter_unpack(e + "IBBHQQ", raw[:len(raw) // 24 * 24]):
            out.append(DynSymbol(_cstr(strtab, name), value, shndx, info >> 4, info & 15))
    else:
        for name, value, _size, info, _other, shndx in struct.iter_unpack(e + "IIIBBH", raw[:len(raw) // 16 * 16]):
            out.append(DynSymbol(_cstr(strtab, name), value, shndx, info >> 4, info & 15))
    return out


def _cstr(tab: bytes, off: int) -> str:
    if off >= len(tab):
        return ""
    end = tab.find(b"\0", off)
    return tab[off:end if end >= 0 else len(tab)].decode("utf-8", "replace")


# -- applying -----------------------------------------------------------------------------

def _apply_py(image, image_addr, table, layout, classes, delta, symvals, symkind, sites=None):
    """Pure-Python twin of ``_accel.apply_relocs`` (same arguments, same result tuple:
    status, index, applied, nsites, relative, skipped)."""
    big = bool(layout & _L_BIG)
    w = 8 if layout & _L_ELF64 else 4
    mask = (1 << (8 * w)) - 1
    dry = bool(layout & _L_DRY)
    e = ">" if big else "<"
    wc = "Q" if w == 8 else "I"
    n_img = len(image)
    delta &= (1 << 64) - 1
    n = {"applied": 0, "sites": 0, "relative": 0, "skipped": 0}
    sites_max = len(sites) if sites is not None else 0

    def result(status, index):
        return (status, index, n["applied"], n["sites"], n["relative"], n["skipped"])

    def word(a):
        off = a - image_addr
        return off if a >= image_addr and off + w <= n_img else None

    def site(a):
        if sites is not None:
            if n["sites"] >= sites_max:
                return False
            sites[n["sites"]] = a
        n["sites"] += 1
        return True

    if layout & _L_RELR:
        if len(table) % w:
            return result(5, len(table) // w)
        i = 0
        for i, a in _relr_walk(table, w, e):
            off = word(a)
            if off is None:
                return result(2, i)
            if not dry:
                struct.pack_into(e + wc, image, off, (struct.unpack_from(e + wc, image, off)[0] + delta) & mask)
            if not site(a):
                return result(6, i)
            n["applied"] += 1
            n["relative"] += 1
        return result(0, len(table) // w - 1 if table else 0)

    rela = bool(layout & _L_RELA)
    ent_size = w * (3 if rela else 2)
    if len(table) % ent_size:
        return result(5, len(table) // ent_size)
    nsyms = len(symvals)
    i = 0
    for i, ent in enumerate(struct.iter_unpack(e + (3 if rela else 2) * wc, table)):
        off_a = ent[0]
        sym, rtype = _split_info(ent[1], w)
        kind = classes[rtype] if rtype < len(classes) else _UNSUPPORTED
        if kind == NONE:
            continue
        if kind == _UNSUPPORTED:
            if layout & _L_SKIP:
                n["skipped"] += 1
                continue
            return result(1, i)
        off = word(off_a)
        if off is None:
            return result(2, i)
        addend = ent[2] if rela else struct.unpack_from(e + wc, image, off)[0]
        moves = True
        if kind == RELATIVE:
            v = addend + delta
        else:
            if sym >= nsyms:
                return result(4, i)
            if symkind[sym] == _S_UNDEF:
                return result(3, i)
            moves = symkind[sym] == _S_MOVES
            v = symvals[sym] + (addend if kind == SYM_ADDEND else 0)
        if not dry:
            struct.pack_into(e + wc, image, off, v & mask)
        n["applied"] += 1
        n["relative"] += kind == RELATIVE
        if moves and not site(off_a):
            return result(6, i)
    return result(0, i)


_apply = _accel.apply_relocs if _accel is not None else _apply_py


@dataclass(frozen=True)
class Relocated:
    """The result of :func:`relocate`.

    ``image``: the relocated memory image, ``image.base`` = the new address of the link
    base, ``image.entry`` moved by ``delta``; ``link_base`` the lowest ``p_vaddr``;
    ``delta`` = new base - link base (modulo the address size); ``applied`` relocated
    words by table kind (``"relative"``, ``"symbol"``, ``"relr"``); ``sites`` the offsets
    into ``image.data`` of every word that moves with the image (sorted; what a PE
    base-relocation table lists, :func:`formats.pe.base_relocations`); ``skipped`` the
    refused entries left as they were (with ``skip_unsupported``); ``undefined`` symbols
    resolved to 0 (with ``allow_undefined``); ``go_itab_slots`` itab words moved for the
    Go linker defect; ``word_size`` 4 or 8 bytes.
    """

    image: LoadImage
    link_base: int
    delta: int
    applied: dict[str, int]
    sites: array
    skipped: tuple[Relocation, ...]
    undefined: tuple[str, ...]
    go_itab_slots: int
    word_size: int


def relocate(
    elf: ElfFile,
    base: int,
    *,
    symbols: Mapping[str, int] | None = None,
    allow_undefined: bool = False,
    skip_unsupported: bool = False,
    fix_go_itabs: bool = True,
    include_bss: bool = True,
    fill: int = 0,
    max_gap: int | None = DEFAULT_MAX_GAP,
) -> Relocated:
    """Relocate the position-independent ``elf`` so that its link base lands at ``base``.

    Args:
        elf: an ELF with dynamic relocations (``ET_DYN``, e.g. ``go build -buildmode=pie``).
        base: the address (bytes) the image's first byte (the lowest ``p_vaddr``) is
            loaded at; must keep the whole image inside the ELF class's address space.
        symbols: values for undefined dynamic symbols (name -> address); they do not move
            with the image.
        allow_undefined: resolve other undefined symbols to 0 instead of refusing (weak
            undefined symbols are always 0, as ld.so does).
        skip_unsupported: leave TLS/IRELATIVE/COPY and unknown entries as the linker wrote
            them (reported in ``skipped``) instead of refusing.
        fix_go_itabs: also move the itab slots Go's linker leaves unrelocated (module doc).
        include_bss, fill, max_gap: as :func:`formats.loadimage.flatten_segments`.

    Returns:
        a :class:`Relocated`.

    Raises:
        FormatError: ``base`` differs from the link address of a file that is not
            position-independent (no relocations, or a fixed-address ``ET_EXEC``); ``base``
            is not the link base plus a multiple of the largest PT_LOAD ``p_align``, or puts
            the memory image (BSS included) outside the address space; a ``symbols`` name
            is not an undefined dynamic symbol or its value does not fit; a relocation is of
            a refused type, targets a word outside the loaded segments, or refers to an
            undefined or ifunc symbol. Messages name the table, entry index, r_offset and
            type; malformed dynamic sections as :func:`read_dynamic_relocations`.
    """
    rel = read_dynamic_relocations(elf)
    link_base, data, regions = segment_buffer(elf, include_bss=include_bss, fill=fill, max_gap=max_gap)
    w = elf.elfclass // 8
    space = 1 << (8 * w)
    extent = max(s.vaddr + s.memsz for s in elf.loads if s.memsz) - link_base  # BSS counts, --no-bss or not
    if not 0 <= base or base + extent > space:
        raise FormatError(f"base 0x{base:x} puts the 0x{extent:x}-byte memory image outside the {8 * w}-bit "
                          "address space", source=elf.source, field="--base")
    delta = (base - link_base) % (1 << 64)
    if base != link_base and not (rel.tables and rel.position_independent):
        kind = {1: "ET_REL", 2: "ET_EXEC", 3: "ET_DYN"}.get(elf.e_type, f"type {elf.e_type}")
        why = "has no dynamic relocations" if not rel.tables else "is not position-independent (no DF_1_PIE)"
        raise FormatError(f"this {kind} file {why}: it is linked at 0x{link_base:x} and cannot be moved to "
                          f"0x{base:x}; build it position-independent (go build -buildmode=pie)",
                          source=elf.source, field="e_type")
    align = max((s.align for s in elf.loads if s.memsz), default=1) or 1
    if (base - link_base) % align:
        lo = base - (base - link_base) % align
        raise FormatError(f"base 0x{base:x} is not link base 0x{link_base:x} plus a multiple of the segment alignment "
                          f"0x{align:x} (p_align; AArch64 ADRP and page-relative code need it): use e.g. 0x{lo:x} or "
                          f"0x{lo + align:x}", source=elf.source, field="--base")
    if not rel.position_independent:
        rel = replace(rel, tables=[])  # at its link address a fixed-address file is used as linked
    types = _types_for(elf)
    classes = bytearray(max(types, default=0) + 1)
    for t, (_, kind) in types.items():
        classes[t] = kind
    symvals, symkind, undefined = _resolve_symbols(elf, rel.symbols, delta, symbols or {}, allow_undefined)
    layout0 = (_L_ELF64 if w == 8 else 0) | (0 if elf.little_endian else _L_BIG) | (_L_SKIP if skip_unsupported else 0)
    applied = {"relative": 0, "symbol": 0, "relr": 0}
    all_sites = array("Q")
    any_skipped = False
    for t in rel.tables:
        layout = layout0 | {"rela": _L_RELA, "rel": 0, "relr": _L_RELR}[t.kind]
        nmax = len(t.data) // t.entry_size(elf.elfclass)
        if t.kind == "relr":  # a bitmap word stands for up to 8*W-1 words: count first
            status, index, _, nmax, _, _ = _apply(data, link_base, t.data, layout | _L_DRY, classes, delta, symvals,
                                                  symkind)
            if status:
                raise _error(rel, t, status, index, link_base, len(data))
        sites = array("Q", bytes(8 * nmax))
        status, index, n, nsites, nrel, nskip = _apply(data, link_base, t.data, layout, classes, delta, symvals,
                                                       symkind, sites)
        if status:
            raise _error(rel, t, status, index, link_base, len(data))
        all_sites.extend(sites[:nsites])
        if t.kind == "relr":
            applied["relr"] += n
        else:
            applied["relative"] += nrel
            applied["symbol"] += n - nrel
        any_skipped = any_skipped or nskip > 0
    # decoding every entry in Python is slow on big tables: only when some were skipped
    skipped = tuple(r for r in rel.entries() if types.get(r.type, ("", 0))[1] == _UNSUPPORTED) if any_skipped else ()
    itab_slots = _fix_go_itabs(elf, data, link_base, delta, all_sites) if fix_go_itabs and rel.tables and delta else 0
    offsets = array("Q", sorted(s - link_base for s in all_sites))
    image = LoadImage(base=base, data=bytes(data), entry=(elf.entry + delta) % space,
                      regions=tuple(replace(r, address=(r.address + delta) % space) for r in regions),
                      vma_base=base)
    return Relocated(image, link_base, delta, applied, offsets, skipped, undefined, itab_slots, w)


def _resolve_symbols(elf, syms, delta, given, allow_undefined):
    """Final symbol values and kinds for the C walker; checks ``given`` (--define)."""
    mask = (1 << elf.elfclass) - 1
    undefined_names = {s.name for i, s in enumerate(syms) if i and s.shndx == SHN_UNDEF}
    for name, value in given.items():
        if name not in undefined_names:
            why = ("the ELF defines this symbol itself" if any(s.name == name for s in syms)
                   else "no undefined dynamic symbol has this name")
            raise FormatError(f"--define {name}: {why}", source=elf.source, field="--define")
        if not 0 <= value <= mask:
            raise FormatError(f"--define {name}=0x{value:x} does not fit {elf.elfclass} bits", source=elf.source,
                              field="--define")
    symvals = array("Q", bytes(8 * len(syms)))
    symkind = bytearray(len(syms))
    undefined = []
    for i, s in enumerate(syms):
        if i == 0:
            symkind[i] = _S_ABS
        elif s.name in given and s.shndx == SHN_UNDEF:
            symvals[i], symkind[i] = given[s.name], _S_ABS
        elif s.shndx == SHN_UNDEF:
            if s.bind == STB_WEAK:
                symkind[i] = _S_ABS
            elif allow_undefined:
                symkind[i] = _S_ABS
                undefined.append(s.name)
        elif s.type == STT_GNU_IFUNC:
            pass  # its value is a resolver that would have to run: refused like IRELATIVE
        elif s.shndx == SHN_ABS:
            symvals[i], symkind[i] = s.value, _S_ABS
        else:
            symvals[i], symkind[i] = (s.value + delta) & mask, _S_MOVES
    return symvals, bytes(symkind), tuple(sorted(set(undefined)))


def _error(rel: DynamicRelocations, t: RelocTable, status: int, index: int, link_base: int, size: int) -> FormatError:
    elf = rel.elf
    w = elf.elfclass // 8
    where = f"{t.origin} entry {index}"
    if status == 5:
        return FormatError(f"{t.origin} is {len(t.data)} bytes, not a whole number of entries", source=elf.source,
                           field=t.origin)
    if t.kind == "relr":
        words = relr_addresses(t.data[:(index + 1) * w], elf.elfclass, elf.little_endian)
        bad = next((a for a in words if not link_base <= a <= link_base + size - w), None)
        at = f" (word 0x{bad:x})" if bad is not None else ""
        return FormatError(f"{where}{at} is outside the loaded segments (0x{link_base:x}..0x{link_base + size:x})",
                           source=elf.source)
    single = DynamicRelocations(elf, [t], rel.symbols)
    r = next(x for x in single.entries() if x.index == index)
    head = f"{where}: {r.type_name} at 0x{r.offset:x}"
    if status == 1:
        msg = (f"{head} cannot be applied to a flat image (TLS, IRELATIVE and COPY need a run-time loader); "
               "--skip-unsupported leaves such words as linked")
    elif status == 2:
        msg = f"{head} is outside the loaded segments (0x{link_base:x}..0x{link_base + size:x})"
    elif status == 3 and r.symbol < len(rel.symbols) and rel.symbols[r.symbol].type == STT_GNU_IFUNC:
        msg = f"{head} refers to the ifunc {r.symbol_name!r}, whose resolver would have to run (not possible in a flat image)"
    elif status == 3:
        msg = f"{head} refers to the undefined symbol {r.symbol_name!r}; give its address with --define {r.symbol_name}=ADDR"
    elif status == 4:
        msg = f"{head} refers to symbol #{r.symbol}, past the {len(rel.symbols)} dynamic symbols"
    else:
        msg = f"{head} failed (status {status})"
    return FormatError(msg, source=elf.source)


def _fix_go_itabs(elf: ElfFile, data: bytearray, link_base: int, delta: int, sites: array) -> int:
    """Move itab method slots that hold the link-time address of runtime.unreachableMethod
    in the file and that no relocation covers (see the module doc). ``data`` is the
    relocated image; ``sites`` (link-time addresses of relocated words) gets the moved
    slots. Returns the number of words moved."""
    target = _go_function(elf, "runtime.unreachableMethod")
    links = next((s for s in elf.sections if s.name in (".itablink", ".data.rel.ro.itablink") and s.size), None)
    if target is None or links is None:
        return 0
    w = elf.elfclass // 8
    e = "<" if elf.little_endian else ">"
    wc = "Q" if w == 8 else "I"
    mask = (1 << (8 * w)) - 1
    type_size = 48 if w == 8 else 32  # abi.Type (runtime._type before Go 1.21): 12 fields
    # itab{Inter, Type *; Hash uint32; (Go <= 1.22: _ [4]byte); Fun [n]uintptr}
    info = elf.build_info
    old = info is not None and info.go_release is not None and info.go_release < (1, 23)
    fun_off = 24 if w == 8 else (16 if old else 12)

    def word(addr: int) -> int | None:
        off = addr - link_base
        return struct.unpack_from(e + wc, data, off)[0] if 0 <= off <= len(data) - w else None

    covered = None
    moved = 0
    for k in range(links.size // w):
        itab = word(links.addr + k * w)  # relocated pointers: subtract delta for link addresses
        inter = word((itab - delta) & mask) if itab is not None else None
        if inter is None:
            continue
        itab, inter = (itab - delta) & mask, (inter - delta) & mask
        nmethods = word(inter + type_size + 2 * w)  # InterfaceType{Type; PkgPath; Methods []Imethod}.len
        if nmethods is None or nmethods > 1 << 16:
            continue
        for m in range(nmethods):
            a = itab + fun_off + m * w
            if word(a) != target or _file_word(elf, a, e + wc) != target:
                continue  # an unrelocated slot still holds, as in the file, the link-time address
            if covered is None:
                covered = set(sites)
            if a in covered:
                continue
            struct.pack_into(e + wc, data, a - link_base, (target + delta) & mask)
            sites.append(a)
            covered.add(a)
            moved += 1
    return moved


def _file_word(elf: ElfFile, addr: int, fmt: str) -> int | None:
    """The word at link-time address ``addr`` as the ELF file holds it (None outside)."""
    try:
        return struct.unpack(fmt, elf.read(addr, struct.calcsize(fmt)))[0]
    except FormatError:
        return None


def _go_function(elf: ElfFile, name: str) -> int | None:
    for s in elf.symbols:
        if s.name == name and s.type == "FUNC":
            return s.value
    try:
        from formats.gomoduledata import locate

        for f in locate(elf).pclntab.funcs:
            if f.name == name:
                return f.entry
    except FormatError:
        return None
    return None
