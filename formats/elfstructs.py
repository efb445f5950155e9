"""The ELF record layouts as :class:`struct.Struct`, one table per ELF class and byte order.

Every module that decodes ELF records (:mod:`formats.elf`, :mod:`formats.dynamic`,
:mod:`formats.reloc`, the Go layer, the size analysis) takes its layouts from here, so a
record is spelled once. Field order is the spec's (System V gABI "ELF Header", "Program
Header", "Sections", "Symbol Table", "Note Section", "Dynamic Section", "Relocation";
ELF-64 Object File Format 1.5): Elf32_Phdr and Elf64_Phdr differ in where ``p_flags``
stands, Elf32_Sym and Elf64_Sym in where ``st_value``/``st_size`` stand, and the callers
read the fields in that order.

============ ====================================== ======================================
struct       ELF32                                  ELF64
============ ====================================== ======================================
``ehdr``     e_type .. e_shstrndx (from offset 16)   the same, addresses 8 bytes
``phdr``     type offset vaddr paddr filesz memsz    type flags offset vaddr paddr filesz
             flags align (32 bytes)                  memsz align (56 bytes)
``shdr``     10 words (40 bytes)                     name type (4) flags addr offset size
                                                     (8) link info (4) align entsize (8)
``sym``      name value size info other shndx (16)   name info other shndx value size (24)
``dyn``      d_tag (signed) d_val (8)                d_tag d_val (16)
``rel``      r_offset r_info (8)                     (16)
``rela``     r_offset r_info r_addend (12)           (24; the addend is read unsigned)
``nhdr``     namesz descsz type (12)                 the same (Elf64_Nhdr uses 4-byte words)
``word``     Elf32_Addr (4)                          Elf64_Addr (8)
============ ====================================== ======================================
"""

from __future__ import annotations

import sys
from array import array
from dataclasses import dataclass
from struct import Struct


@dataclass(frozen=True)
class ElfStructs:
    """The record layouts of one ELF class (32 or 64) and byte order; see the module doc.

    ``word_size`` is the size of an address in bytes (4 or 8); ``byteorder`` is
    ``"little"`` or ``"big"`` (as :meth:`int.from_bytes` takes it).
    """

    elfclass: int
    little_endian: bool
    ehdr: Struct
    phdr: Struct
    shdr: Struct
    sym: Struct
    dyn: Struct
    rel: Struct
    rela: Struct
    nhdr: Struct
    word: Struct
    u32: Struct
    u64: Struct

    @property
    def word_size(self) -> int:
        return self.elfclass // 8

    @property
    def byteorder(self) -> str:
        return "little" if self.little_endian else "big"

    def words(self, data) -> array:
        """``data`` (bytes-like) as an array of address-sized unsigned words in this byte
        order; a trailing partial word is left out. One C-speed copy, no per-word objects."""
        w = self.word_size
        out = array("I" if w == 4 else "Q")
        assert out.itemsize == w
        view = memoryview(data).cast("B")
        out.frombytes(view[:len(view) - len(view) % w])
        if self.little_endian != (sys.byteorder == "little"):
            out.byteswap()
        return out


def _make(elfclass: int, little_endian: bool) -> ElfStructs:
    e = "<" if little_endian else ">"
    if elfclass == 32:
        return ElfStructs(32, little_endian, Struct(e + "HHIIIIIHHHHHH"), Struct(e + "IIIIIIII"),
                          Struct(e + "IIIIIIIIII"), Struct(e + "IIIBBH"), Struct(e + "iI"), Struct(e + "II"),
                          Struct(e + "III"), Struct(e + "III"), Struct(e + "I"), Struct(e + "I"), Struct(e + "Q"))
    return ElfStructs(64, little_endian, Struct(e + "HHIQQQIHHHHHH"), Struct(e + "IIQQQQQQ"),
                      Struct(e + "IIQQQQIIQQ"), Struct(e + "IBBHQQ"), Struct(e + "qQ"), Struct(e + "QQ"),
                      Struct(e + "QQQ"), Struct(e + "III"), Struct(e + "Q"), Struct(e + "I"), Struct(e + "Q"))


_TABLES = {(c, le): _make(c, le) for c in (32, 64) for le in (True, False)}


def elf_structs(elfclass: int, little_endian: bool) -> ElfStructs:
    """The layouts for ELF class ``elfclass`` (32 or 64) and the given byte order.

    Raises:
        KeyError: ``elfclass`` is neither 32 nor 64.
    """
    return _TABLES[elfclass, little_endian]
