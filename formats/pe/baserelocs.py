"""PE base relocations: the ``.reloc`` section a PE loader uses to move an image.

Microsoft PE/COFF specification, "The .reloc Section (Image Only)": one block per 4 KiB
page that has relocations (:data:`formats.pe.structs.IMAGE_BASE_RELOCATION`), each entry
``type << 12 | offset-in-page``. :func:`base_relocations` writes the blocks,
:func:`parse_base_relocations` reads them back. The words to list come from
:func:`formats.reloc.relocate` (``Relocated.sites``).
"""

from __future__ import annotations

from array import array

from formats.errors import FormatError
from formats.pe.structs import IMAGE_BASE_RELOCATION, IMAGE_BASE_RELOCATION_HEADER, parse_struct

__all__ = ["base_relocations", "parse_base_relocations", "IMAGE_REL_BASED_ABSOLUTE", "IMAGE_REL_BASED_HIGHLOW",
           "IMAGE_REL_BASED_DIR64", "RELOCATION_TYPE_NAMES"]

IMAGE_REL_BASED_ABSOLUTE, IMAGE_REL_BASED_HIGHLOW, IMAGE_REL_BASED_DIR64 = 0, 3, 10

#: Base relocation type -> the specification's name ("Base Relocation Types").
RELOCATION_TYPE_NAMES = {0: "ABSOLUTE", 1: "HIGH", 2: "LOW", 3: "HIGHLOW", 4: "HIGHADJ", 5: "ARCH5", 7: "ARCH7",
                         8: "ARCH8", 9: "ARCH9", 10: "DIR64"}


def base_relocations(rvas, kind: int = IMAGE_REL_BASED_DIR64) -> bytes:
    """The contents of a PE ``.reloc`` section for words at ``rvas`` (relative virtual
    addresses, bytes from ImageBase).

    Microsoft PE/COFF specification, "The .reloc Section (Image Only)": one block per
    4 KiB page that has relocations, each a 4-byte ``PageRVA``, a 4-byte ``BlockSize``
    (header included) and 2-byte entries ``type << 12 | offset-in-page``, padded with an
    ``IMAGE_REL_BASED_ABSOLUTE`` entry to a 4-byte multiple. Blocks and entries are in
    ascending address order; duplicates are dropped.

    Args:
        rvas: iterable of ints, bytes from ImageBase: ``Relocated.sites`` as they are when
            the relocated image starts at ImageBase, each plus the image's RVA otherwise.
        kind: ``IMAGE_REL_BASED_DIR64`` (8-byte words, PE32+) or ``..._HIGHLOW`` (4-byte).

    Raises:
        FormatError: an RVA is negative or does not fit in 32 bits.
    """
    out = bytearray()
    page, entries = None, array("H")

    def flush() -> None:
        if page is None:
            return
        if len(entries) % 2:
            entries.append(IMAGE_REL_BASED_ABSOLUTE << 12)
        out.extend(IMAGE_BASE_RELOCATION.build(dict(VirtualAddress=page, SizeOfBlock=8 + 2 * len(entries),
                                                    TypeOffset=_le(entries))))

    for rva in sorted(set(rvas)):
        if not 0 <= rva <= 0xFFFFFFFF:
            raise FormatError(f"RVA 0x{rva:x} does not fit a PE base relocation (32 bits)", field=".reloc")
        p = rva & ~0xFFF
        if p != page:
            flush()
            page, entries = p, array("H")
        entries.append(kind << 12 | (rva & 0xFFF))
    flush()
    return bytes(out)


def parse_base_relocations(data, base_offset: int = 0) -> list[tuple[int, int]]:
    """Decode base relocation blocks: the inverse of :func:`base_relocations`.

    Args:
        data: the bytes the Base Relocation Table directory covers (bytes-like).
        base_offset: file offset of ``data`` (for error messages).

    Returns:
        ``(rva, type)`` for every entry except the ``IMAGE_REL_BASED_ABSOLUTE`` padding,
        in table order.

    Raises:
        FormatError: a block's ``SizeOfBlock`` is below 8, odd, or runs past the table.
    """
    mv = memoryview(data).cast("B")
    out: list[tuple[int, int]] = []
    pos = 0
    while pos < len(mv):
        head = parse_struct(IMAGE_BASE_RELOCATION_HEADER, mv, pos, "IMAGE_BASE_RELOCATION")
        size = head.SizeOfBlock
        if size < 8 or size % 2 or pos + size > len(mv):
            raise FormatError(f"SizeOfBlock {size} (expected an even size >= 8 that ends inside the "
                              f"{len(mv)}-byte table)", offset=base_offset + pos, field="IMAGE_BASE_RELOCATION.SizeOfBlock")
        block = IMAGE_BASE_RELOCATION.parse(bytes(mv[pos:pos + size]))
        entries = array("H", block.TypeOffset)
        if array("H", b"\1\0")[0] != 1:  # big-endian host: the table is little-endian
            entries.byteswap()
        page = block.VirtualAddress
        out.extend((page + (e & 0xFFF), e >> 12) for e in entries if e >> 12 != IMAGE_REL_BASED_ABSOLUTE)
        pos += size
    return out


def _le(entries: array) -> bytes:
    """Little-endian bytes of a 16-bit array."""
    if array("H", b"\1\0")[0] != 1:
        entries = array("H", entries)
        entries.byteswap()
    return entries.tobytes()
