"""ELF dynamic relocation tables and dynamic symbols, read as data.

A position-independent program carries the relocations a loader applies to run it at
another address. :func:`read_dynamic_relocations` finds them as ld.so does: through
``PT_DYNAMIC`` (``DT_RELA``/``DT_RELASZ``, ``DT_REL``/``DT_RELSZ``, ``DT_JMPREL``/
``DT_PLTRELSZ``, ``DT_RELR``/``DT_RELRSZ``, ``DT_SYMTAB``, ``DT_STRTAB``); an ELF without
``PT_DYNAMIC`` falls back to its allocated ``SHT_RELA``/``SHT_REL``/``SHT_RELR`` sections.
Layouts: System V gABI, "Relocation" and "Dynamic Section"; SHT_RELR as adopted into the
gABI (2018); records through :mod:`formats.elfstructs`, dynamic symbols through the one
symbol decoder, :func:`formats.elf.decode_symbols`. :mod:`formats.reloc` applies what
this module reads.

What each type means (``B`` the load bias ``delta``, ``S`` the symbol's final value,
``A`` the addend: ``r_addend`` for RELA, the word in place for REL), per psABI, as the
kinds of :data:`RELOC_TYPES`:

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
lazy-binding address, not an addend, and glibc writes ``S``; the Thumb bit is already in
``S``.) TLS, IRELATIVE (an ifunc resolver must run) and COPY relocations have no meaning
in a flat image: their kind is :data:`REFUSED`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator

from formats.elf import (EM_386, EM_AARCH64, EM_ARM, EM_RISCV, EM_X86_64, PT_DYNAMIC, SHT_DYNSYM, SHT_REL,
                         SHT_RELA, ElfFile, Symbol, decode_symbols)
from formats.elfstructs import ElfStructs, elf_structs
from formats.errors import FormatError

__all__ = ["RELOC_TYPES", "DynamicRelocations", "RelocTable", "Relocation", "read_dynamic_relocations",
           "relr_addresses", "relr_walk", "split_info", "type_name", "types_for"]

SHT_RELR = 19
DT_NULL, DT_PLTRELSZ, DT_HASH, DT_STRTAB, DT_SYMTAB, DT_RELA, DT_RELASZ, DT_RELAENT = 0, 2, 4, 5, 6, 7, 8, 9
DT_STRSZ, DT_SYMENT, DT_REL, DT_RELSZ, DT_RELENT, DT_PLTREL, DT_TEXTREL, DT_JMPREL = 10, 11, 17, 18, 19, 20, 22, 23
DT_RELRSZ, DT_RELR, DT_RELRENT = 35, 36, 37
DT_FLAGS_1, DF_1_PIE = 0x6FFFFFFB, 0x08000000
_ANDROID_PACKED = {0x6000000F: "DT_ANDROID_REL", 0x60000010: "DT_ANDROID_RELSZ", 0x60000011: "DT_ANDROID_RELA",
                   0x60000012: "DT_ANDROID_RELASZ", 0x6FFFE000: "DT_ANDROID_RELR", 0x6FFFE001: "DT_ANDROID_RELRSZ"}

# relocation kinds, as the C core numbers them
REFUSED, NONE, RELATIVE, SYM_ADDEND, SYM = 0, 1, 2, 3, 4

#: machine -> type -> (psABI name, kind); kind REFUSED = known but not applicable (TLS, IRELATIVE, COPY ...)
RELOC_TYPES: dict[int, dict[int, tuple[str, int]]] = {
    EM_X86_64: {0: ("R_X86_64_NONE", NONE), 1: ("R_X86_64_64", SYM_ADDEND), 5: ("R_X86_64_COPY", REFUSED),
                6: ("R_X86_64_GLOB_DAT", SYM), 7: ("R_X86_64_JUMP_SLOT", SYM), 8: ("R_X86_64_RELATIVE", RELATIVE),
                10: ("R_X86_64_32", REFUSED), 16: ("R_X86_64_DTPMOD64", REFUSED), 17: ("R_X86_64_DTPOFF64", REFUSED),
                18: ("R_X86_64_TPOFF64", REFUSED), 36: ("R_X86_64_TLSDESC", REFUSED), 37: ("R_X86_64_IRELATIVE", REFUSED),
                38: ("R_X86_64_RELATIVE64", RELATIVE)},
    EM_386: {0: ("R_386_NONE", NONE), 1: ("R_386_32", SYM_ADDEND), 5: ("R_386_COPY", REFUSED), 6: ("R_386_GLOB_DAT", SYM),
             7: ("R_386_JMP_SLOT", SYM), 8: ("R_386_RELATIVE", RELATIVE), 14: ("R_386_TLS_TPOFF", REFUSED),
             35: ("R_386_TLS_DTPMOD32", REFUSED), 36: ("R_386_TLS_DTPOFF32", REFUSED), 37: ("R_386_TLS_TPOFF32", REFUSED),
             42: ("R_386_IRELATIVE", REFUSED)},
    EM_AARCH64: {0: ("R_AARCH64_NONE", NONE), 256: ("R_AARCH64_NONE", NONE), 257: ("R_AARCH64_ABS64", SYM_ADDEND),
                 258: ("R_AARCH64_ABS32", REFUSED), 1024: ("R_AARCH64_COPY", REFUSED), 1025: ("R_AARCH64_GLOB_DAT", SYM_ADDEND),
                 1026: ("R_AARCH64_JUMP_SLOT", SYM_ADDEND), 1027: ("R_AARCH64_RELATIVE", RELATIVE),
                 1028: ("R_AARCH64_TLS_DTPMOD", REFUSED), 1029: ("R_AARCH64_TLS_DTPREL", REFUSED),
                 1030: ("R_AARCH64_TLS_TPREL", REFUSED), 1031: ("R_AARCH64_TLSDESC", REFUSED), 1032: ("R_AARCH64_IRELATIVE", REFUSED)},
    EM_ARM: {0: ("R_ARM_NONE", NONE), 2: ("R_ARM_ABS32", SYM_ADDEND), 17: ("R_ARM_TLS_DTPMOD32", REFUSED),
             18: ("R_ARM_TLS_DTPOFF32", REFUSED), 19: ("R_ARM_TLS_TPOFF32", REFUSED), 20: ("R_ARM_COPY", REFUSED),
             21: ("R_ARM_GLOB_DAT", SYM), 22: ("R_ARM_JUMP_SLOT", SYM), 23: ("R_ARM_RELATIVE", RELATIVE),
             160: ("R_ARM_IRELATIVE", REFUSED)},
    EM_RISCV: {0: ("R_RISCV_NONE", NONE), 1: ("R_RISCV_32", SYM_ADDEND), 2: ("R_RISCV_64", SYM_ADDEND),
               3: ("R_RISCV_RELATIVE", RELATIVE), 4: ("R_RISCV_COPY", REFUSED), 5: ("R_RISCV_JUMP_SLOT", SYM),
               6: ("R_RISCV_TLS_DTPMOD32", REFUSED), 7: ("R_RISCV_TLS_DTPMOD64", REFUSED), 8: ("R_RISCV_TLS_DTPREL32", REFUSED),
               9: ("R_RISCV_TLS_DTPREL64", REFUSED), 10: ("R_RISCV_TLS_TPREL32", REFUSED), 11: ("R_RISCV_TLS_TPREL64", REFUSED),
               58: ("R_RISCV_IRELATIVE", REFUSED)},
}


def types_for(machine: int, elfclass: int) -> dict[int, tuple[str, int]]:
    """:data:`RELOC_TYPES` of ``machine`` for ELF class ``elfclass``: on RISC-V only the
    XLEN-wide absolute word (R_RISCV_64 on RV64, R_RISCV_32 on RV32) is a whole word, the
    other is refused."""
    t = dict(RELOC_TYPES.get(machine, {}))
    if machine == EM_RISCV:
        drop = 1 if elfclass == 64 else 2
        t[drop] = (t[drop][0], REFUSED)
    return t


def type_name(machine: int, rtype: int) -> str:
    """The psABI name of relocation type ``rtype`` on ``machine`` (``"type N"`` if unknown)."""
    entry = RELOC_TYPES.get(machine, {}).get(rtype)
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


@dataclass
class DynamicRelocations:
    """Everything :func:`relocate` needs from one ELF: the ``tables`` (in the order a
    loader applies them: RELR, REL/RELA, JMPREL) and the dynamic ``symbols``
    (:class:`formats.elf.Symbol`; index 0 is the null symbol). ``textrel`` is True for DT_TEXTREL, ``pie_flag`` for
    ``DF_1_PIE`` in ``DT_FLAGS_1``."""

    elf: ElfFile
    tables: list[RelocTable]
    symbols: list[Symbol]
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
        S = elf.structs
        for t in self.tables:
            if t.kind == "relr":
                continue
            rec = S.rela if t.kind == "rela" else S.rel
            for i, ent in enumerate(rec.iter_unpack(t.data[:len(t.data) - len(t.data) % rec.size])):
                sym, rtype = split_info(ent[1], S.word_size)
                name = self.symbols[sym].name if sym < len(self.symbols) else f"#{sym}"
                yield Relocation(ent[0], rtype, type_name(elf.machine, rtype), sym, name,
                                 ent[2] if t.kind == "rela" else None, t.origin, i)


def split_info(info: int, w: int) -> tuple[int, int]:
    """``r_info`` -> (symbol index, type): ELF64 ``info >> 32`` / ``info & 0xffffffff``,
    ELF32 ``info >> 8`` / ``info & 0xff`` (gABI, "Relocation")."""
    return (info >> 32, info & 0xFFFFFFFF) if w == 8 else (info >> 8, info & 0xFF)


def relr_walk(table: bytes, structs: ElfStructs) -> Iterator[tuple[int, int]]:
    """(entry index, address) for every word an SHT_RELR table relocates (gABI SHT_RELR:
    an even word is an address, an odd word a bitmap of the next ``8*W - 1`` words, W the
    word size of ``structs``); a trailing partial word is ignored."""
    w = structs.word_size
    nxt = 0
    for i, ent in enumerate(structs.words(table)):
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
    return [a for _, a in relr_walk(table, elf_structs(elfclass, little_endian))]


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
    return DynamicRelocations(elf, tables, _dynsyms(elf, dyn, tables), DT_TEXTREL in dyn,
                              bool(dyn.get(DT_FLAGS_1, 0) & DF_1_PIE))


def _read(elf: ElfFile, addr: int, size: int, what: str) -> bytes:
    """``elf.read`` with an error that names the dynamic tag. A table larger than the
    file is refused before anything is allocated (``elf.read`` gives BSS bytes as zeros,
    so a huge size tag over a huge p_memsz would otherwise be honoured)."""
    if size > len(elf.data):
        raise FormatError(f"{what} (0x{addr:x}, {size} bytes) is larger than the {len(elf.data)}-byte file",
                          source=elf.source, field=what)
    try:
        return elf.read(addr, size)
    except FormatError:
        raise FormatError(f"{what} (0x{addr:x}, {size} bytes) is not inside a loaded segment", source=elf.source,
                          field=what) from None


def _dynamic_entries(elf: ElfFile) -> dict[int, int] | None:
    seg = next((s for s in elf.segments if s.type == PT_DYNAMIC), None)
    if seg is None:
        return None
    dyn = elf.structs.dyn
    raw = elf.data[seg.offset:seg.offset + seg.filesz]
    if len(raw) < seg.filesz:
        raise FormatError("PT_DYNAMIC runs past the end of the file", source=elf.source, offset=seg.offset,
                          field="PT_DYNAMIC")
    out: dict[int, int] = {}
    for tag, val in dyn.iter_unpack(raw[:len(raw) - len(raw) % dyn.size]):
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
    syms: list[Symbol] = []
    dynsym = next((s for s in elf.sections if s.type == SHT_DYNSYM), None)
    if dynsym is not None and 0 < dynsym.link < len(elf.sections):
        strtab = elf.sections[dynsym.link]
        syms = _symbols(elf, elf.section_data(dynsym), bytes(elf.section_data(strtab)), dynsym.name)
    return DynamicRelocations(elf, tables, syms)


def _dynsyms(elf: ElfFile, dyn: dict[int, int], tables: list[RelocTable]) -> list[Symbol]:
    if DT_SYMTAB not in dyn:
        return []
    w = elf.word_size
    want = elf.structs.sym.size
    ent = dyn.get(DT_SYMENT, want)
    if ent != want:
        raise FormatError(f"DT_SYMENT is {ent}, expected {want} (Elf{8 * w}_Sym)", source=elf.source, field="DT_SYMENT")
    addr = dyn[DT_SYMTAB]
    count = None
    sec = next((s for s in elf.sections if s.addr == addr and s.type == SHT_DYNSYM and s.size), None)
    if sec is not None:
        count = sec.size // ent
    elif DT_HASH in dyn:  # nchain = number of symbols (gABI "Hash Table")
        count = elf.structs.u32.unpack(_read(elf, dyn[DT_HASH] + 4, 4, "DT_HASH"))[0]
    else:
        # no section, no hash table: as many symbols as the relocations name
        count = max([0] + [r.symbol for r in DynamicRelocations(elf, tables, []).entries()]) + 1
    strtab = _read(elf, dyn[DT_STRTAB], dyn.get(DT_STRSZ, 0), "DT_STRTAB") if DT_STRTAB in dyn else b""
    return _symbols(elf, _read(elf, addr, count * ent, "DT_SYMTAB"), strtab, "DT_SYMTAB")




def _symbols(elf: ElfFile, raw, strtab: bytes, table: str) -> list[Symbol]:
    """The dynamic symbols of ``raw`` (whole entries only), entry 0 included."""
    size = elf.structs.sym.size
    try:
        return decode_symbols(memoryview(raw)[:len(raw) - len(raw) % size], strtab, elf.structs, elf.machine,
                              table=table)
    except FormatError as exc:
        raise exc.with_source(elf.source) if elf.source else exc
