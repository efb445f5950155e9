"""The ``imgtool relocate`` pipeline: a position-independent ELF as a memory image for a
chosen load address, in bin, Intel HEX or S-record, optionally with the PE base
relocations (``.reloc``) of the words that move with it.

ELF --:func:`formats.reloc.relocate`--> relocated image --:func:`imgtool.flatimage.encode`-->
bytes; ``sites`` --:func:`formats.pe.base_relocations`--> ``.reloc`` contents.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from formats.reloc import Relocated

FORMATS = ("bin", "hex", "srec")
"""Output formats of a relocated image."""


@dataclass(frozen=True)
class RelocatedFile:
    """What :func:`relocate_file` made: the :class:`formats.reloc.Relocated` result, the
    output bytes in the chosen format and the PE ``.reloc`` section contents (or
    ``None`` when not asked for)."""

    result: Relocated
    data: bytes
    pe_relocs: bytes | None


def relocate_file(path: str | os.PathLike[str], base: int, *, fmt: str = "bin", pe_relocs: bool = False,
                  **options: Any) -> RelocatedFile:
    """Relocate the ELF at ``path`` so that its link base loads at ``base`` (bytes).

    ``options`` are the keyword arguments of :func:`formats.reloc.relocate` (``symbols``,
    ``allow_undefined``, ``skip_unsupported``, ``fix_go_itabs``, ``include_bss``,
    ``fill``, ``max_gap``, ``max_size``); ``fmt`` is one of :data:`FORMATS`; with ``pe_relocs`` the
    result also carries the PE base relocation blocks (DIR64 for 64-bit ELFs, HIGHLOW
    for 32-bit).

    Raises:
        InputError: unreadable file.
        FormatError: an unknown format (``field="format"``), not a position-independent
            ELF, a base that puts the image outside the address space, an undefined
            symbol, an unsupported relocation, an image past 4 GiB for hex/srec.
    """
    from formats.pe import IMAGE_REL_BASED_DIR64, IMAGE_REL_BASED_HIGHLOW, base_relocations
    from formats.reloc import relocate
    from imgtool.elfinput import load_elf
    from imgtool.flatimage import check_format, encode

    check_format(fmt, FORMATS)
    elf = load_elf(path)
    r = relocate(elf, base, **options)
    # the start record carries the Thumb bit, as imgtool bin and objcopy write it
    data = encode(fmt, [(r.image.base, r.image.data)], entry=r.image.entry | elf.entry_thumb)
    table = None
    if pe_relocs:
        table = base_relocations(r.sites, IMAGE_REL_BASED_DIR64 if r.word_size == 8 else IMAGE_REL_BASED_HIGHLOW)
    return RelocatedFile(r, data, table)


def summary(out: RelocatedFile, source: str, output: str, pe_output: str | None = None) -> str:
    """The lines ``imgtool relocate`` prints: bases and delta, relocation counts, the
    image range, and what was moved, skipped or resolved to 0."""
    r, img = out.result, out.result.image
    a = r.applied
    space = 1 << (8 * r.word_size)
    signed = r.delta % space if r.delta % space < space // 2 else r.delta % space - space
    lines = [f"{source}: link base 0x{r.link_base:x} -> 0x{img.base:x} (delta {'-' if signed < 0 else '+'}0x{abs(signed):x})",
             f"  relocations: {a['relative']} relative, {a['symbol']} symbol, {a['relr']} RELR; "
             f"{len(r.sites)} words move with the image",
             f"  entry 0x{img.entry:x}; image 0x{img.base:x}..0x{img.end:x} ({len(img.data)} bytes) -> {output}"]
    if r.go_itab_slots:
        lines.append(f"  moved {r.go_itab_slots} itab slots Go's linker left without a relocation (runtime.unreachableMethod)")
    if r.skipped:
        kinds = sorted({x.type_name for x in r.skipped})
        lines.append(f"  left as linked: {len(r.skipped)} relocations ({', '.join(kinds)})")
    if r.undefined:
        shown = ", ".join(r.undefined[:8]) + (" ..." if len(r.undefined) > 8 else "")
        lines.append(f"  resolved to 0: {len(r.undefined)} undefined symbols ({shown})")
    if out.pe_relocs is not None:
        lines.append(f"  PE base relocations: {len(out.pe_relocs)} bytes -> {pe_output}")
    return "\n".join(lines)
