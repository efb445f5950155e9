"""Compact images at the application layer: which ELFs can have one, the warning a
builder prints when the BSS it stores is large, and the two sizes ``imgtool size`` shows.

The bytes are :mod:`formats.compact` (the stored/zeroed split and the stub placement)
and :mod:`formats.imx.compact`; docs/compact.md describes the whole feature.

Public API::

    check_compactable(elf) -> None                  InputError unless a 32-bit ARM ELF, BSS at LMA = VMA
    largest_bss_symbol(elf, ranges) -> (name, size) | None
    bss_warning(elf, split, stored, compact, what) -> str | None    BSS over 1 MiB; names the
                                                    largest symbol (or section, when none holds half of it)
    section_split(elf) -> (base, stored bytes, BssSplit | None)   from the section headers
    image_sizes(elf) -> dict                        stored vs compact flat image (imgtool size)
    flat_warning(elf) -> str | None                 bss_warning for imgtool bin
"""

from __future__ import annotations

from typing import Sequence

from formats.elf import ElfFile
from formats.loadimage import BssSplit
from imgtool.errors import InputError

#: Stored BSS above which a builder that was not asked for a compact image says so.
WARN_BSS = 1 << 20


def check_compactable(elf: ElfFile) -> None:
    """Raise unless ``elf`` can have a compact image: the stub is A32 code (ARMv6/ARMv7-A),
    and it zeroes the BSS where it loads, so every NOBITS section must load at its
    run-time address.

    Raises:
        InputError: another architecture or class (``field="e_machine"``); a NOBITS
            section whose load address differs from its address (``field="section headers"``).
    """
    if elf.arch != "arm" or elf.elfclass != 32:
        raise InputError(f"{elf.source}: a compact image needs a 32-bit ARM ELF (the BSS-zeroing stub is A32 code), "
                         f"this one is for {elf.arch}", field="e_machine")
    for s in elf.sections:
        if s.is_alloc and s.is_nobits and not s.is_tls and s.size and elf.lma(s) != s.addr:
            raise InputError(f"{elf.source}: {s.name} loads at 0x{elf.lma(s):x} but runs at 0x{s.addr:x}; "
                             "a compact image zeroes the BSS where it loads", field="section headers")


def largest_bss_symbol(elf: ElfFile, ranges: Sequence[tuple[int, int]]) -> tuple[str, int] | None:
    """The largest symbol inside ``ranges`` (``(start, end)`` byte ranges) as ``(name,
    size in bytes)``, or None (a stripped ELF, or no sized symbol there)."""
    best = None
    for sym in elf.symbols:
        if sym.size and any(s <= sym.value < e for s, e in ranges):
            if best is None or sym.size > best[1]:
                best = (sym.name, sym.size)
    return best


def bss_warning(elf: ElfFile, split: BssSplit, stored: int, compact: int, what: str, *,
                about: bool = False) -> str | None:
    """The one warning line a builder prints when it stores more than 1 MiB of BSS zeros
    that a compact image would leave out, or None. ``stored`` and ``compact`` are the
    artifact's size in bytes both ways (``about``: the compact size depends on where the
    stub goes), ``what`` names it (``".imx"``, ``"image"``). Only for ELFs that can have
    a compact image (:func:`check_compactable`)."""
    if split.zeroed_size <= WARN_BSS:
        return None
    try:
        check_compactable(elf)
    except InputError:
        return None
    big = largest_bss_symbol(elf, split.zeroed)
    sec = max((s for s in elf.sections if s.is_nobits and s.is_alloc), key=lambda s: s.size)
    if big is None or 2 * big[1] < sec.size:  # no symbol holds the bulk: name the section
        big = (f"section {sec.name}", sec.size)
    return (f"{elf.source}: the {what} stores {split.zeroed_size:,} bytes of BSS zeros (largest: {big[0]}, "
            f"{big[1]:,} bytes); with --compact it would be {'about ' if about else ''}{compact:,} bytes instead of "
            f"{stored:,}")


def section_split(elf: ElfFile) -> tuple[int, int, BssSplit | None]:
    """``(base address, bytes of the flat image with BSS stored, its split or None)``
    from the section headers alone (no image is flattened): the
    :func:`formats.loadimage.split_bss` of the sections ``flatten`` would place; None
    when nothing is initialised.

    Raises:
        FormatError: overlapping sections at their load addresses.
    """
    from formats.errors import FormatError
    from formats.loadimage import Region, loaded_sections, split_bss

    regions = [Region(elf.lma(s), s.size, "bss" if s.is_nobits else "section", s.name) for s in loaded_sections(elf)]
    if not regions:
        return 0, 0, None
    base = regions[0].address
    stored = max(r.end for r in regions) - base
    try:
        return base, stored, split_bss(regions)
    except FormatError:  # only NOBITS sections
        return base, stored, None


def image_sizes(elf: ElfFile) -> dict:
    """The flat image both ways, for ``imgtool size``: ``stored`` (bytes, BSS stored as
    zeros: what ``objcopy -O binary`` writes), ``compact`` (the part up to the last
    initialised byte plus the stub, or None for an ELF that cannot have one),
    ``bss_zeroed`` (bytes the stub would zero), ``stub`` (its bytes, or None).
    Cheap: no image is flattened."""
    return _sizes(elf)[0]


def _sizes(elf: ElfFile) -> tuple[dict, BssSplit | None]:
    from formats.compact import stub_size

    base, stored, split = section_split(elf)
    out = {"stored": stored, "compact": None, "bss_zeroed": split.zeroed_size if split else 0, "stub": None}
    if split is None:
        return out, None
    try:
        check_compactable(elf)
    except InputError:
        return out, split
    out["stub"] = stub_size(split)
    out["compact"] = split.stored_end - base + out["stub"]
    return out, split


def flat_warning(elf: ElfFile) -> str | None:
    """:func:`bss_warning` for a flat image (``imgtool bin``) of ``elf``, sizes from
    :func:`image_sizes`; None when the BSS is small or the ELF cannot be compact."""
    sizes, split = _sizes(elf)
    if sizes["compact"] is None or split is None:
        return None
    return bss_warning(elf, split, sizes["stored"], sizes["compact"], "image", about=True)


#: Words 2-4 of the stub (``stmib r0, {r1-r5}``, ``mrs r1, cpsr``, ``str r1, [r0, #24]``),
#: the same in both variants: what :func:`describe_flat` searches for.
_STUB_SIGNATURE = bytes.fromhex("3e0080e9" "00100fe1" "181080e5")


def describe_flat(data: bytes, source: str) -> dict | None:
    """``imgtool info`` for a raw flat image that holds imgtool's BSS-zeroing stub (what
    ``imgtool bin --compact`` writes), or None when no stub is found. A flat binary
    carries no load address, so the stub's place is a file offset.

    Returns ``{"type": "flat", "file", "size", "compact": {"stub_offset", "stub_size",
    "variant", "entry", "bss_ranges", "zeroed"}}`` (bytes and addresses as ints).
    """
    from formats.boot.arm import parse_bss_zero_stub
    from formats.errors import FormatError

    pos = data.find(_STUB_SIGNATURE, 8)  # the signature is 8 bytes into a stub
    while pos >= 0:
        try:
            s = parse_bss_zero_stub(data, pos - 8)
        except FormatError:
            pos = data.find(_STUB_SIGNATURE, pos + 1)
            continue
        return {"type": "flat", "file": source, "size": len(data),
                "compact": {"stub_offset": pos - 8, "stub_size": s.size, "variant": s.variant, "entry": s.entry,
                            "bss_ranges": [list(r) for r in s.ranges], "zeroed": s.zeroed}}
    return None
