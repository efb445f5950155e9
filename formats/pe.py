"""PE/COFF building blocks for the UEFI builder (Microsoft PE/COFF specification).

Currently: the base relocation table (the ``.reloc`` section) a PE loader uses to move an
image from its ImageBase. The image checksum is :func:`formats.checksum.pe_checksum`;
the words to list come from :func:`formats.reloc.relocate` (``Relocated.sites``).
"""

from __future__ import annotations

import struct

from formats.errors import FormatError

__all__ = ["base_relocations", "IMAGE_REL_BASED_ABSOLUTE", "IMAGE_REL_BASED_HIGHLOW", "IMAGE_REL_BASED_DIR64"]

IMAGE_REL_BASED_ABSOLUTE, IMAGE_REL_BASED_HIGHLOW, IMAGE_REL_BASED_DIR64 = 0, 3, 10


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
    page, entries = None, []

    def flush() -> None:
        if page is None:
            return
        if len(entries) % 2:
            entries.append(IMAGE_REL_BASED_ABSOLUTE << 12)
        out.extend(struct.pack("<II", page, 8 + 2 * len(entries)))
        out.extend(struct.pack(f"<{len(entries)}H", *entries))

    for rva in sorted(set(rvas)):
        if not 0 <= rva <= 0xFFFFFFFF:
            raise FormatError(f"RVA 0x{rva:x} does not fit a PE base relocation (32 bits)", field=".reloc")
        p = rva & ~0xFFF
        if p != page:
            flush()
            page, entries = p, []
        entries.append(kind << 12 | (rva & 0xFFF))
    flush()
    return bytes(out)
