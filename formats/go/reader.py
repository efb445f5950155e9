"""The narrow reader the Go layer reads an executable through.

Go's ``debug/buildinfo`` reads an executable through a two-method interface instead of
``debug/elf`` itself; this protocol is the same idea for every module of
:mod:`formats.go`: the few things those modules need, and nothing of program headers,
machines or relocation. :class:`formats.elf.ElfFile` satisfies it structurally (no
inheritance, no registration), and a test runs the whole Go layer on real Go ELFs
through a proxy that offers exactly these members.

Addresses are virtual addresses, sizes in bytes.
"""

from __future__ import annotations

from struct import Struct
from typing import Any, Protocol, Sequence

from formats.elfstructs import elf_structs


class SectionView(Protocol):
    """What the Go layer reads of a section header."""

    @property
    def name(self) -> str: ...
    @property
    def addr(self) -> int: ...
    @property
    def offset(self) -> int:
        """File offset (for error messages)."""
    @property
    def size(self) -> int: ...
    @property
    def is_alloc(self) -> bool: ...
    @property
    def is_nobits(self) -> bool: ...
    @property
    def is_writable(self) -> bool: ...
    @property
    def is_executable(self) -> bool: ...


class SymbolView(Protocol):
    """What the Go layer reads of a symbol: ``type`` is readelf's name (``"FUNC"``)."""

    @property
    def name(self) -> str: ...
    @property
    def value(self) -> int: ...
    @property
    def type(self) -> str: ...


class NoteView(Protocol):
    """An ELF note: owner ``name``, ``type``, descriptor bytes."""

    @property
    def name(self) -> str: ...
    @property
    def type(self) -> int: ...
    @property
    def desc(self) -> bytes: ...


class BinaryReader(Protocol):
    """An executable as the Go layer sees it.

    ``source`` names the file in errors (or is None); ``little_endian`` and ``word_size``
    (4 or 8 bytes) give the target's words; ``sections``/``symbols``/``notes`` are in file
    order (``symbols`` empty when stripped); ``section_data`` returns a section's file
    bytes (empty for NOBITS); ``read`` returns ``size`` bytes at a virtual address, BSS
    as zeros, and raises :class:`formats.errors.FormatError` outside the loaded image.
    """

    @property
    def source(self) -> str | None: ...
    @property
    def little_endian(self) -> bool: ...
    @property
    def word_size(self) -> int: ...
    @property
    def sections(self) -> Sequence[SectionView]: ...
    @property
    def symbols(self) -> Sequence[SymbolView]: ...
    @property
    def notes(self) -> Sequence[NoteView]: ...

    def section(self, name: str) -> SectionView | None:
        """The first section called ``name``, or None."""

    def section_data(self, sec: Any):
        """The file bytes (bytes-like) of ``sec``, one of this reader's own ``sections``."""

    def read(self, addr: int, size: int) -> bytes:
        """``size`` bytes at virtual address ``addr``."""


def word_struct(reader: BinaryReader) -> Struct:
    """The layout of one address-sized word of ``reader``'s target (its ELF class and
    byte order, :mod:`formats.elfstructs`)."""
    return elf_structs(8 * reader.word_size, reader.little_endian).word
