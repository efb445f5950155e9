"""The one front door to ELF files: the program model every imgtool pipeline starts from.

``ElfFile.parse(data)`` validates the header, program headers and section headers against
the file size (System V ABI "Object Files", ELF-64 Object File Format 1.5), then exposes
small immutable values named as the spec names them: :class:`Section`, :class:`Segment`
(one per program header), :class:`Symbol` (ARM Thumb bit masked), :class:`Note`.

The header tables and the symbol table are decoded here with the layouts of
:mod:`formats.elfstructs` after their bounds are checked against the file, so that every
way a file can be malformed becomes a :class:`FormatError` naming the field and byte
offset (never a library exception), and so that a 100,000-symbol table decodes in a
fraction of a second. :func:`decode_symbols` is the one decoder of Elf32_Sym/Elf64_Sym
records, for ``.symtab`` here and for the dynamic symbols of :mod:`formats.dynamic`. The
tests check this model against two independent parsers (pyelftools and LIEF) on real ELFs.

This module is the generic ELF only: what a particular toolchain's linker puts inside an
ELF (the Go build information, pclntab, moduledata) is read by the layer above it, which
sees an :class:`ElfFile` through a narrow reader protocol.

Supported: ELF32 and ELF64, little and big endian, machines ARM (incl. Thumb entry
points), AArch64, x86-64, i386, RISC-V.
"""

from __future__ import annotations

from functools import cached_property
from typing import NamedTuple

from formats._native import accel
from formats.align import align_up
from formats.elfstructs import ElfStructs, elf_structs
from formats.errors import FormatError

# e_machine values (System V gABI, "Machine" table).
EM_386 = 3
EM_ARM = 40
EM_X86_64 = 62
EM_AARCH64 = 183
EM_RISCV = 243

#: e_machine -> (short architecture name for ELF32, for ELF64; the names GOARCH uses)
_MACHINES = {
    EM_386: ("386", None),
    EM_ARM: ("arm", None),
    EM_X86_64: (None, "amd64"),
    EM_AARCH64: (None, "arm64"),
    EM_RISCV: ("riscv32", "riscv64"),
}

# Section types and flags (gABI "Sections").
SHT_NULL, SHT_PROGBITS, SHT_SYMTAB, SHT_STRTAB, SHT_RELA = 0, 1, 2, 3, 4
SHT_NOTE, SHT_NOBITS, SHT_REL, SHT_DYNSYM = 7, 8, 9, 11
SHF_WRITE, SHF_ALLOC, SHF_EXECINSTR, SHF_TLS = 0x1, 0x2, 0x4, 0x400
SHN_UNDEF, SHN_ABS = 0, 0xFFF1

# Symbol binding (st_info >> 4) and the names of the types (st_info & 0xf), gABI "Symbol Table".
STB_LOCAL, STB_GLOBAL, STB_WEAK = 0, 1, 2
_STT = {0: "NOTYPE", 1: "OBJECT", 2: "FUNC", 3: "SECTION", 4: "FILE", 5: "COMMON", 6: "TLS", 10: "IFUNC"}
_STB = {STB_LOCAL: "LOCAL", STB_GLOBAL: "GLOBAL", STB_WEAK: "WEAK", 10: "UNIQUE"}

# Segment types and flags (gABI "Program Header").
PT_NULL, PT_LOAD, PT_DYNAMIC, PT_INTERP, PT_NOTE, PT_PHDR, PT_TLS = 0, 1, 2, 3, 4, 6, 7
PF_X, PF_W, PF_R = 1, 2, 4

_PT_NAMES = {
    0: "NULL", 1: "LOAD", 2: "DYNAMIC", 3: "INTERP", 4: "NOTE", 5: "SHLIB", 6: "PHDR", 7: "TLS",
    0x6474E550: "GNU_EH_FRAME", 0x6474E551: "GNU_STACK", 0x6474E552: "GNU_RELRO",
    0x6474E553: "GNU_PROPERTY", 0x70000001: "ARM_EXIDX",
}
_SHT_NAMES = {
    0: "NULL", 1: "PROGBITS", 2: "SYMTAB", 3: "STRTAB", 4: "RELA", 5: "HASH", 6: "DYNAMIC",
    7: "NOTE", 8: "NOBITS", 9: "REL", 11: "DYNSYM", 14: "INIT_ARRAY", 15: "FINI_ARRAY",
    0x70000003: "ARM_ATTRIBUTES", 0x70000001: "ARM_EXIDX",
}

#: Xen ELF note carrying the 32-bit PVH entry point (xen/include/public/elfnote.h), with a
#: 4- or 8-byte descriptor.
XEN_ELFNOTE_PHYS32_ENTRY = 0x12
NT_GNU_BUILD_ID = 3


#: ELF header fields after e_ident: (name, offset in ELF32, offset in ELF64) (System V
#: ABI, "ELF Header"; elfstructs.ehdr is the same layout as a struct).
_EHDR_FIELDS = (("e_type", 16, 16), ("e_machine", 18, 18), ("e_version", 20, 20), ("e_entry", 24, 24),
                ("e_phoff", 28, 32), ("e_shoff", 32, 40), ("e_flags", 36, 48), ("e_ehsize", 40, 52),
                ("e_phentsize", 42, 54), ("e_phnum", 44, 56), ("e_shentsize", 46, 58), ("e_shnum", 48, 60),
                ("e_shstrndx", 50, 62))


def _cut_header_field(elfclass: int, size: int) -> tuple[str, int]:
    """The ELF header field a file of ``size`` bytes cuts off, and its offset."""
    fields = [(name, o32 if elfclass == 32 else o64) for name, o32, o64 in _EHDR_FIELDS]
    return next((f for f in reversed(fields) if f[1] <= size), fields[0])


class Section(NamedTuple):
    """One section header. Addresses and sizes in bytes; ``offset`` is the file offset."""

    index: int
    name: str
    type: int
    flags: int
    addr: int
    offset: int
    size: int
    link: int
    info: int
    addralign: int
    entsize: int

    @property
    def type_name(self) -> str:
        return _SHT_NAMES.get(self.type, f"0x{self.type:x}")

    @property
    def is_alloc(self) -> bool:
        """SHF_ALLOC: the section occupies memory at run time."""
        return bool(self.flags & SHF_ALLOC)

    @property
    def is_nobits(self) -> bool:
        """SHT_NOBITS (``.bss``): memory but no file contents."""
        return self.type == SHT_NOBITS

    @property
    def is_tls(self) -> bool:
        return bool(self.flags & SHF_TLS)

    @property
    def is_writable(self) -> bool:
        """SHF_WRITE: writable at run time."""
        return bool(self.flags & SHF_WRITE)

    @property
    def is_executable(self) -> bool:
        """SHF_EXECINSTR: machine code."""
        return bool(self.flags & SHF_EXECINSTR)

    @property
    def file_size(self) -> int:
        """Bytes the section occupies in the file (0 for SHT_NOBITS)."""
        return 0 if self.is_nobits else self.size

    @property
    def flag_str(self) -> str:
        """``readelf``-style flags: W, A, X, T."""
        return "".join(c for bit, c in ((SHF_WRITE, "W"), (SHF_ALLOC, "A"), (SHF_EXECINSTR, "X"), (SHF_TLS, "T")) if self.flags & bit)


class Segment(NamedTuple):
    """One program header. ``vaddr`` is the VMA, ``paddr`` the LMA (load address)."""

    index: int
    type: int
    flags: int
    offset: int
    vaddr: int
    paddr: int
    filesz: int
    memsz: int
    align: int

    @property
    def type_name(self) -> str:
        return _PT_NAMES.get(self.type, f"0x{self.type:x}")

    @property
    def flag_str(self) -> str:
        """``readelf``-style flags, e.g. ``"R E"``."""
        return ("R" if self.flags & PF_R else " ") + ("W" if self.flags & PF_W else " ") + ("E" if self.flags & PF_X else " ")

    def contains_section(self, sec: Section) -> bool:
        """True when ``sec`` lies in this segment's memory range (and file range if it has bits)."""
        if sec.size == 0 or not sec.is_alloc:
            return False
        in_mem = self.vaddr <= sec.addr and sec.addr + sec.size <= self.vaddr + self.memsz
        if sec.is_nobits:
            return in_mem
        return in_mem and self.offset <= sec.offset and sec.offset + sec.size <= self.offset + self.filesz


class Symbol(NamedTuple):
    """One symbol-table entry (Elf32_Sym / Elf64_Sym), of ``.symtab`` or the dynamic table.

    ``value`` (bytes: an address, or an offset for ``SHN_ABS``/``COMMON``) has the ARM
    Thumb bit masked off (ARM ELF ABI §5.5.3: bit 0 of a Thumb function's address is the
    mode, not the address); ``thumb`` records it and :attr:`st_value` gives the raw word.
    ``type`` is the readelf name of STT (``"FUNC"``, ``"OBJECT"``, ``"NOTYPE"``,
    ``"SECTION"``, ``"FILE"``, ``"TLS"``, ``"IFUNC"``; other values as their number);
    ``bind`` the STB number (:data:`STB_LOCAL`, :data:`STB_GLOBAL`, :data:`STB_WEAK`);
    ``shndx`` the section index (:data:`SHN_UNDEF`, :data:`SHN_ABS`, ...). Immutable (a
    named tuple: a Go ELF has tens of thousands, decoded in one pass).
    """

    name: str
    value: int
    size: int
    type: str
    bind: int
    shndx: int
    thumb: bool = False

    @property
    def st_value(self) -> int:
        """The value as the file holds it (Thumb bit included): what a relocation adds."""
        return self.value | self.thumb

    @property
    def bind_name(self) -> str:
        """readelf's name of the binding: ``"LOCAL"``, ``"GLOBAL"``, ``"WEAK"``."""
        return _STB.get(self.bind, str(self.bind))


def decode_symbols(raw, strtab: bytes, structs: ElfStructs, machine: int, *, table: str = ".symtab",
                   offset: int | None = None) -> list[Symbol]:
    """Decode every Elf32_Sym/Elf64_Sym record of ``raw`` (entry 0, the null symbol,
    included), naming them from the string table ``strtab``.

    ``raw`` must hold a whole number of records of ``structs.sym``. ``table`` and
    ``offset`` name the table and its file offset in errors.

    Raises:
        FormatError: a name offset outside ``strtab``.
    """
    arm = machine == EM_ARM
    if accel is not None:  # the C core (formats/_accel_elfsym.c); this loop is its twin
        syms, bad = accel.elf_symbols(raw, strtab, structs.elfclass, not structs.little_endian, arm, Symbol)
        if bad < 0:
            return syms
        # a name offset outside strtab: the loop below raises the error that names it
    out: list[Symbol] = []
    limit = len(strtab)
    stt = _STT
    try:  # names are ASCII in practice: find and slice one str (byte offsets = char offsets)
        names = strtab.decode("ascii")
    except UnicodeDecodeError:
        names = None
    make, append = tuple.__new__, out.append
    records = structs.sym.iter_unpack(raw)
    if structs.elfclass == 64:  # Elf64_Sym: st_name, st_info, st_other, st_shndx, st_value, st_size
        records = ((n, v, s, i, o, x) for n, i, o, x, v, s in records)
    for name_off, value, ssize, info, _other, shndx in records:  # Elf32_Sym order
        if name_off >= limit and name_off:
            raise FormatError(f"symbol name offset {name_off} is outside the string table ({limit} bytes)",
                              offset=offset, field=table)
        if names is not None:
            end = names.find("\0", name_off)
            name = names[name_off:end if end >= 0 else None]
        else:
            end = strtab.find(b"\0", name_off)
            name = strtab[name_off:end if end >= 0 else None].decode("utf-8", "replace")
        stype = stt.get(info & 0xF) or str(info & 0xF)
        thumb = arm and stype == "FUNC" and bool(value & 1)
        append(make(Symbol, (name, value & ~1 if thumb else value, ssize, stype, info >> 4, shndx, thumb)))
    return out


class Note(NamedTuple):
    """One ELF note: owner ``name`` (NUL stripped), ``type`` and raw ``desc`` bytes."""

    section: str
    name: str
    type: int
    desc: bytes


class ElfFile:
    """A parsed, validated ELF file.

    Build with :meth:`parse`. Attributes: ``elfclass`` (32 or 64), ``little_endian``,
    ``structs`` (the record layouts of :mod:`formats.elfstructs` for this class and byte
    order), ``machine`` (e_machine), ``arch`` (short name: ``arm``, ``arm64``, ``amd64``,
    ``386``, ``riscv32``, ``riscv64``), ``e_type``, ``entry`` (Thumb bit masked),
    ``entry_thumb``, ``e_flags``, ``sections``, ``segments``, ``data`` (the whole file as
    bytes), ``source`` (the file name, or None).
    """

    def __init__(self, data: bytes, source: str | None = None) -> None:
        self.data = bytes(data)
        self.source = source

    # ----------------------------------------------------------------- parsing
    @classmethod
    def parse(cls, data: bytes, source: str | None = None) -> "ElfFile":
        """Parse and validate ``data`` (the whole ELF file).

        Raises:
            FormatError: not an ELF file, truncated, a header table or section/segment
                past the end of the file, overlapping PT_LOAD segments, or an e_machine
                not in the supported list; the error names ``source``, the field and the
                byte offset.
        """
        self = cls(data, source)
        try:
            self._load()
        except FormatError as exc:
            raise exc.with_source(source) if source else exc
        return self

    def _err(self, message: str, offset: int | None = None, field: str | None = None) -> FormatError:
        return FormatError(message, source=self.source, offset=offset, field=field)

    def _load(self) -> None:
        d = self.data
        if d[:4] != b"\x7fELF":
            found = d[:4].hex() if d else "empty file"
            raise self._err(f"not an ELF file (magic {found}, expected 7f454c46)", 0, "e_ident")
        if len(d) < 16:
            raise self._err(f"file is {len(d)} bytes: the 16-byte e_ident is cut off", len(d), "e_ident")
        ei_class, ei_data = d[4], d[5]
        if ei_class not in (1, 2):
            raise self._err(f"bad EI_CLASS {ei_class} (expected 1 for ELF32 or 2 for ELF64)", 4, "e_ident")
        if ei_data not in (1, 2):
            raise self._err(f"bad EI_DATA {ei_data} (expected 1 little or 2 big endian)", 5, "e_ident")
        self.elfclass = 32 if ei_class == 1 else 64
        self.little_endian = ei_data == 1
        self.structs = S = elf_structs(self.elfclass, self.little_endian)
        ehsize = 16 + S.ehdr.size
        if len(d) < ehsize:
            name, at = _cut_header_field(self.elfclass, len(d))
            raise self._err(f"file is {len(d)} bytes: {name} at 0x{at:x} is cut off (the ELF{self.elfclass} header is "
                            f"{ehsize} bytes)", at, name)
        (self.e_type, self.machine, _, entry, phoff, shoff, self.e_flags, _, phentsize, phnum,
         shentsize, shnum, shstrndx) = S.ehdr.unpack_from(d, 16)
        names = _MACHINES.get(self.machine)
        arch = names and names[0 if self.elfclass == 32 else 1]
        if not arch:
            raise self._err(
                f"unsupported machine {self.machine} for ELF{self.elfclass} "
                "(expected ARM, AArch64, x86-64, i386 or RISC-V)", 18, "e_machine")
        self.arch = arch
        self.entry_thumb = self.machine == EM_ARM and bool(entry & 1)
        self.entry = entry & ~1 if self.entry_thumb else entry
        off_phoff = 28 if self.elfclass == 32 else 32
        off_shoff = off_phoff + (4 if self.elfclass == 32 else 8)
        want_ph, want_sh = S.phdr.size, S.shdr.size
        if phnum:
            if phentsize != want_ph:
                raise self._err(f"e_phentsize is {phentsize}, expected {want_ph}", off_phoff + 14 if self.elfclass == 32 else 54, "e_phentsize")
            if phoff + phnum * phentsize > len(d):
                raise self._err(
                    f"program header table (0x{phoff:x} + {phnum} x {phentsize} bytes) runs past the end of the file ({len(d)} bytes)",
                    off_phoff, "e_phoff")
        if shnum:
            if shentsize != want_sh:
                raise self._err(f"e_shentsize is {shentsize}, expected {want_sh}", ehsize - 6, "e_shentsize")
            if shoff + shnum * shentsize > len(d):
                raise self._err(
                    f"section header table (0x{shoff:x} + {shnum} x {shentsize} bytes) runs past the end of the file ({len(d)} bytes)",
                    off_shoff, "e_shoff")
            if shstrndx >= shnum:
                raise self._err(f"e_shstrndx {shstrndx} is not below e_shnum {shnum}", ehsize - 2, "e_shstrndx")

        self.segments = self._read_segments(phoff, phnum)
        self.sections = self._read_sections(shoff, shnum, shstrndx)
        self._check_loads()

    def _read_segments(self, phoff: int, phnum: int) -> list[Segment]:
        out = []
        phdr = self.structs.phdr
        size = phdr.size
        for i in range(phnum):
            where = phoff + i * size
            f = phdr.unpack_from(self.data, where)
            if self.elfclass == 32:
                p_type, p_offset, p_vaddr, p_paddr, p_filesz, p_memsz, p_flags, p_align = f
            else:
                p_type, p_flags, p_offset, p_vaddr, p_paddr, p_filesz, p_memsz, p_align = f
            seg = Segment(i, p_type, p_flags, p_offset, p_vaddr, p_paddr, p_filesz, p_memsz, p_align)
            if seg.type == PT_LOAD and seg.filesz > seg.memsz:
                raise self._err(f"segment {i}: p_filesz 0x{seg.filesz:x} is larger than p_memsz 0x{seg.memsz:x}", where, "p_filesz")
            if seg.filesz and seg.offset + seg.filesz > len(self.data):
                raise self._err(
                    f"segment {i} ({seg.type_name}): file range 0x{seg.offset:x}+0x{seg.filesz:x} runs past the end of the file ({len(self.data)} bytes)",
                    where, "p_offset")
            out.append(seg)
        return out

    def _read_sections(self, shoff: int, shnum: int, shstrndx: int) -> list[Section]:
        shdr = self.structs.shdr
        size = shdr.size
        raw = [shdr.unpack_from(self.data, shoff + i * size) for i in range(shnum)]
        strtab = b""
        if shnum:
            st = raw[shstrndx]
            if st[1] != SHT_NOBITS and st[4] + st[5] > len(self.data):
                raise self._err(f"section name table [{shstrndx}] runs past the end of the file", shoff + shstrndx * size, "e_shstrndx")
            strtab = self.data[st[4]:st[4] + st[5]]
        out = []
        for i, (name_off, stype, flags, addr, offset, ssize, link, info, align, entsize) in enumerate(raw):
            where = shoff + i * size
            if name_off >= len(strtab) and name_off:
                raise self._err(f"section [{i}]: sh_name {name_off} is outside the section name table ({len(strtab)} bytes)", where, "sh_name")
            end = strtab.find(b"\0", name_off)
            name = strtab[name_off:end if end >= 0 else len(strtab)].decode("utf-8", "replace")
            sec = Section(i, name, stype, flags, addr, offset, ssize, link, info, align, entsize)
            if stype not in (SHT_NOBITS, SHT_NULL) and offset + ssize > len(self.data):
                raise self._err(
                    f"section [{i}] {name or '?'}: contents 0x{offset:x}+0x{ssize:x} run past the end of the file ({len(self.data)} bytes)",
                    where, "sh_offset")
            out.append(sec)
        return out

    def _check_loads(self) -> None:
        loads = sorted((s for s in self.segments if s.type == PT_LOAD and s.memsz), key=lambda s: s.vaddr)
        for a, b in zip(loads, loads[1:]):
            if b.vaddr < a.vaddr + a.memsz:
                raise self._err(
                    f"PT_LOAD segments {a.index} (0x{a.vaddr:x}-0x{a.vaddr + a.memsz:x}) and {b.index} "
                    f"(0x{b.vaddr:x}-0x{b.vaddr + b.memsz:x}) overlap in memory", None, "program headers")
        loads = sorted((s for s in loads), key=lambda s: s.paddr)
        for a, b in zip(loads, loads[1:]):
            if b.paddr < a.paddr + a.filesz:
                raise self._err(
                    f"PT_LOAD segments {a.index} and {b.index} overlap at their load addresses (p_paddr 0x{a.paddr:x}+0x{a.filesz:x}, 0x{b.paddr:x})",
                    None, "program headers")

    # ----------------------------------------------------------------- queries
    @property
    def word_size(self) -> int:
        """Bytes of an address (Elf32_Addr 4, Elf64_Addr 8)."""
        return self.elfclass // 8

    def section(self, name: str) -> Section | None:
        """The first section called ``name``, or ``None``."""
        for s in self.sections:
            if s.name == name:
                return s
        return None

    def section_data(self, sec: Section) -> memoryview:
        """The file bytes of ``sec`` (empty for SHT_NOBITS); a zero-copy view."""
        if sec.is_nobits:
            return memoryview(b"")
        return memoryview(self.data)[sec.offset:sec.offset + sec.size]

    @property
    def loads(self) -> list[Segment]:
        """The PT_LOAD segments in program-header order."""
        return [s for s in self.segments if s.type == PT_LOAD]

    def segment_of(self, sec: Section) -> Segment | None:
        """The PT_LOAD segment holding ``sec``, or ``None``."""
        for seg in self.loads:
            if seg.contains_section(sec):
                return seg
        return None

    def lma(self, sec: Section) -> int:
        """The load (physical) address of ``sec``: its VMA moved by its segment's p_paddr - p_vaddr.

        This is the address ``objcopy -O binary`` places the section at.
        """
        seg = self.segment_of(sec)
        return sec.addr if seg is None else sec.addr - seg.vaddr + seg.paddr

    def read(self, addr: int, size: int) -> bytes:
        """Read ``size`` bytes at virtual address ``addr`` from the PT_LOAD file images.

        Bytes in a segment's memory but past its file size (BSS) read as zeros.

        Raises:
            FormatError: the range is not inside one PT_LOAD segment.
        """
        for seg in self.loads:
            if seg.vaddr <= addr and addr + size <= seg.vaddr + seg.memsz:
                start = addr - seg.vaddr
                have = max(0, min(size, seg.filesz - start))
                chunk = self.data[seg.offset + start:seg.offset + start + have] if have else b""
                return chunk + bytes(size - len(chunk))
        raise self._err(f"address range 0x{addr:x}+0x{size:x} is not inside a PT_LOAD segment", None, "virtual address")

    @property
    def text_start(self) -> int | None:
        """The address of ``.text``: TEXT_START of ``-ldflags "-T ..."`` for a Go ELF."""
        sec = self.section(".text")
        return sec.addr if sec else None

    @cached_property
    def symbols(self) -> list[Symbol]:
        """Symbols of ``.symtab`` (empty for a stripped file), Thumb bit masked on ARM; the
        reserved null symbol (entry 0) is left out.

        Raises:
            FormatError: the symbol table's entry size or string table is malformed.
        """
        symtab = next((s for s in self.sections if s.type == SHT_SYMTAB), None)
        if symtab is None:
            return []
        size = self.structs.sym.size
        if symtab.entsize != size or symtab.size % size:
            raise self._err(f"symbol table entry size {symtab.entsize} (table {symtab.size} bytes), expected {size}",
                            symtab.offset, ".symtab")
        if symtab.link >= len(self.sections):
            raise self._err(f"symbol table sh_link {symtab.link} names no section", symtab.offset, ".symtab")
        strtab = bytes(self.section_data(self.sections[symtab.link]))
        try:
            out = decode_symbols(self.section_data(symtab), strtab, self.structs, self.machine, table=".symtab",
                                 offset=symtab.offset)
        except FormatError as exc:
            raise exc.with_source(self.source) if self.source else exc
        return out[1:]  # entry 0 is the reserved null symbol

    @cached_property
    def notes(self) -> list[Note]:
        """All notes of SHT_NOTE sections (or PT_NOTE segments when there are no sections)."""
        out: list[Note] = []
        nhdr = self.structs.nhdr
        ranges = [(s.name, s.offset, s.size) for s in self.sections if s.type == SHT_NOTE]
        if not ranges:
            ranges = [(f"PT_NOTE[{s.index}]", s.offset, s.filesz) for s in self.segments if s.type == PT_NOTE]
        for name, off, size in ranges:
            pos, end = off, off + size
            while pos + 12 <= end:
                namesz, descsz, ntype = nhdr.unpack_from(self.data, pos)
                name_off = pos + 12
                desc_off = name_off + align_up(namesz, 4)
                nxt = desc_off + align_up(descsz, 4)
                if nxt > end:
                    raise self._err(f"note in {name} runs past its section (namesz {namesz}, descsz {descsz})", pos, "note")
                owner = self.data[name_off:name_off + namesz].rstrip(b"\0").decode("latin-1")
                out.append(Note(name, owner, ntype, self.data[desc_off:desc_off + descsz]))
                pos = nxt
        return out

    @property
    def gnu_build_id(self) -> str | None:
        """The GNU build ID (hex), if present."""
        for n in self.notes:
            if n.name == "GNU" and n.type == NT_GNU_BUILD_ID:
                return n.desc.hex()
        return None

    @property
    def pvh_entry(self) -> int | None:
        """The Xen PVH 32-bit entry point (``XEN_ELFNOTE_PHYS32_ENTRY``, a 4- or 8-byte
        descriptor; PVH boot protocol), if there is such a note."""
        for n in self.notes:
            if n.name == "Xen" and n.type == XEN_ELFNOTE_PHYS32_ENTRY and len(n.desc) in (4, 8):
                return int.from_bytes(n.desc, self.structs.byteorder)
        return None
