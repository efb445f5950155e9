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
from struct import Struct

#: (ELF32 format, ELF64 format) per record, without the byte-order character
_FORMATS = {
    "ehdr": ("HHIIIIIHHHHHH", "HHIQQQIHHHHHH"),
    "phdr": ("IIIIIIII", "IIQQQQQQ"),
    "shdr": ("IIIIIIIIII", "IIQQQQIIQQ"),
    "sym": ("IIIBBH", "IBBHQQ"),
    "dyn": ("iI", "qQ"),
    "rel": ("II", "QQ"),
    "rela": ("III", "QQQ"),
    "nhdr": ("III", "III"),
    "word": ("I", "Q"),
    "u32": ("I", "I"),
    "u64": ("Q", "Q"),
}


class ElfStructs:
    """The record layouts of one ELF class (32 or 64) and byte order; see the module doc.

    Attributes ``ehdr``, ``phdr``, ``shdr``, ``sym``, ``dyn``, ``rel``, ``rela``, ``nhdr``,
    ``word``, ``u32``, ``u64`` are :class:`struct.Struct`; ``word_size`` is the size of an
    address in bytes (4 or 8); ``byteorder`` is ``"little"`` or ``"big"`` (as
    :meth:`int.from_bytes` takes it). Get one with :func:`elf_structs`; treat it as
    read-only.
    """

    __slots__ = ("elfclass", "little_endian", "word_size", "byteorder", *_FORMATS)

    def __init__(self, elfclass: int, little_endian: bool) -> None:
        self.elfclass = elfclass
        self.little_endian = little_endian
        self.word_size = elfclass // 8
        self.byteorder = "little" if little_endian else "big"
        e = "<" if little_endian else ">"
        for name, fmts in _FORMATS.items():
            setattr(self, name, Struct(e + fmts[elfclass == 64]))

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


_TABLES: dict[tuple[int, bool], ElfStructs] = {}


def elf_structs(elfclass: int, little_endian: bool) -> ElfStructs:
    """The layouts for ELF class ``elfclass`` (32 or 64) and the given byte order (made
    once, then shared).

    Raises:
        ValueError: ``elfclass`` is neither 32 nor 64.
    """
    key = (elfclass, bool(little_endian))
    table = _TABLES.get(key)
    if table is None:
        if elfclass not in (32, 64):
            raise ValueError(f"ELF class {elfclass}, expected 32 or 64")
        table = _TABLES[key] = ElfStructs(elfclass, key[1])
    return table
