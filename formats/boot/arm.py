"""A32 stubs imgtool puts in front of a TamaGo ARM program: the Raspberry Pi entry stub
and the BSS-zeroing stub of compact images. Emit and parse.

Sources: ``formats/boot/arm_entry.S`` and ``formats/boot/arm_bsszero.S`` (one comment
per instruction, register contract in their headers); the words below are what Debian's
``arm-none-eabi-as -march=armv6`` makes of them, checked by ``tests/test_boot_stubs.py``,
which reassembles the sources for several parameter values. Encodings: Arm Architecture
Reference Manual ARMv7-A/R (DDI 0406C), A8.8; ARMv6 (DDI 0100I) for the ARM1176 of the
BCM2835. The plain entry stub is the TamaGo recipe's ``boot.S`` (tamago board README,
usbarmory/tamago-example-pizero): ``E59F1000 E12FFF11 <entry>``.

Variants (``variant=``): ``"plain"`` and ``"armv6"``; ``"armv6"`` first sets SCTLR.XP
(bit 23), which QEMU's raspi0 resets to 0 and which TamaGo's page tables need; on ARMv7 the
bit reads as one, so the variant is harmless there.

All addresses and sizes are bytes; every word is little-endian.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Union

from formats.boot._words import Buffer, check_uint, first_difference, pack_words, read_words
from formats.errors import FormatError

__all__ = [
    "BSS_ZERO_CODE_SIZE",
    "ENTRY_STUB_SIZE",
    "VARIANTS",
    "BssZeroStub",
    "EntryStub",
    "bss_zero_stub",
    "bss_zero_stub_size",
    "entry_stub",
    "identify",
    "merge_ranges",
    "parse_bss_zero_stub",
    "parse_entry_stub",
]

VARIANTS = ("plain", "armv6")

#: mrc p15,0,r1,c1,c0,0 / orr r1,r1,#(1<<23) / mcr p15,0,r1,c1,c0,0: set SCTLR.XP.
_XP = (0xEE111F10, 0xE3811502, 0xEE011F10)

# --- arm_entry.S ---------------------------------------------------------------------
_ENTRY_CODE = (
    0xE59F1000,  # ldr r1, [pc, #0]   r1 = the literal word 8 bytes ahead
    0xE12FFF11,  # bx  r1             jump to e_entry
)
#: Bytes of the entry stub, by variant (code + the 4-byte literal).
ENTRY_STUB_SIZE = {"plain": 12, "armv6": 24}


def _code_xp(variant: str) -> tuple[int, ...]:
    if variant not in VARIANTS:
        raise FormatError(f"unknown stub variant {variant!r} (expected one of {', '.join(VARIANTS)})", field="variant")
    return _XP if variant == "armv6" else ()


# --- arm_bsszero.S -------------------------------------------------------------------
def _bss_zero_code(variant: str) -> tuple[int, ...]:
    xp = _code_xp(variant)
    d = 4 * len(xp)  # the XP words move the save area further from the first two stores
    return (
        0xE58F0064 + d,  # 000: str   r0, save          save r0 (PC-relative)
        0xE28F0060 + d,  # 004: adr   r0, save          r0 = save area
        0xE980003E,      # 008: stmib r0, {r1-r5}       save r1-r5
        0xE10F1000,      # 00c: mrs   r1, cpsr          r1 = CPSR
        0xE5801018,      # 010: str   r1, [r0, #24]     save CPSR
        *xp,             #      (armv6: set SCTLR.XP)
        0xE3A00000,      # mov   r0, #0                 the value stored
        0xE28F1068,      # adr   r1, table              r1 -> range count
        0xE4914004,      # ldr   r4, [r1], #4           r4 = count, r1 -> first range
        0xE0814184,      # add   r4, r1, r4, lsl #3     r4 = end of the table
        0xE1510004,      # range: cmp r1, r4            every range done?
        0x2A000009,      # bhs   done
        0xE8B1000C,      # ldmia r1!, {r2, r3}          r2 = cursor, r3 = end
        0xE0535002,      # zero: subs r5, r3, r2        bytes left
        0x9AFFFFFA,      # bls   range                  none: next range
        0xE3120003,      # tst   r2, #3                 cursor word-aligned?
        0x1A000002,      # bne   byte
        0xE3550004,      # cmp   r5, #4                 a whole word left?
        0x24820004,      # strhs r0, [r2], #4           zero a word
        0x2AFFFFF8,      # bhs   zero
        0xE4C20001,      # byte: strb r0, [r2], #1      zero a byte
        0xEAFFFFF6,      # b     zero
        0xE59F1028,      # done: ldr r1, save + 24      saved CPSR
        0xE128F001,      # msr   cpsr_f, r1             restore N Z C V Q
        0xE28F0008,      # adr   r0, save
        0xE890003F,      # ldmia r0, {r0-r5}            restore r0-r5
        0xE51FF004,      # ldr   pc, entry              jump, no register changed
    )


_SAVE_WORDS = 7  # r0-r5, CPSR
#: Bytes of the BSS-zeroing stub before its range table (code, entry word, save area).
BSS_ZERO_CODE_SIZE = {v: 4 * (len(_bss_zero_code(v)) + 1 + _SAVE_WORDS) for v in VARIANTS}


@dataclass(frozen=True)
class EntryStub:
    """A Raspberry Pi entry stub found in an image.

    ``variant`` is ``"plain"`` or ``"armv6"``; ``entry`` the address it jumps to (e_entry);
    ``size`` its length in bytes (12 or 24); ``clobbers`` the registers it changes.
    """

    variant: str
    entry: int
    size: int
    clobbers: tuple[str, ...] = ("r1",)


@dataclass(frozen=True)
class BssZeroStub:
    """A BSS-zeroing stub found in an image.

    ``variant`` is ``"plain"`` or ``"armv6"``; ``entry`` the address it jumps to;
    ``ranges`` the ``(start, end)`` byte ranges it zeroes (end exclusive), in table
    order; ``size`` its length in bytes including the table; ``save_offset`` and
    ``table_offset`` the byte offsets of its save area and range table from its start.
    """

    variant: str
    entry: int
    ranges: tuple[tuple[int, int], ...]
    size: int
    save_offset: int
    table_offset: int

    @property
    def zeroed(self) -> int:
        """Bytes the stub zeroes."""
        return sum(e - s for s, e in self.ranges)


def entry_stub(entry: int, *, variant: str = "plain") -> bytes:
    """The Raspberry Pi entry stub (``arm_entry.S``) for ``entry``: 12 bytes (plain, the
    TamaGo recipe's ``E59F1000 E12FFF11 <entry>``) or 24 (armv6: sets SCTLR.XP first).
    It changes r1 only (and SCTLR.XP for armv6).

    Raises:
        FormatError: ``entry`` is not a 32-bit address, or ``variant`` is unknown.
    """
    check_uint(entry, 32, "e_entry")
    return pack_words((*_code_xp(variant), *_ENTRY_CODE, entry))


def parse_entry_stub(data: Buffer, offset: int = 0) -> EntryStub:
    """Recognise an entry stub at ``data[offset:]`` (the start of a kernel.img).

    Raises:
        FormatError: the bytes are neither variant (offset and expected word named).
    """
    errors = []
    for variant in VARIANTS:
        code = (*_code_xp(variant), *_ENTRY_CODE)
        try:
            first_difference(data, offset, code, f"{variant} entry stub")
        except FormatError as e:
            errors.append(e)
            continue
        (entry,) = read_words(data, offset + 4 * len(code), 1, "entry stub literal")
        return EntryStub(variant, entry, ENTRY_STUB_SIZE[variant])
    raise errors[0]


def merge_ranges(ranges: Iterable[tuple[int, int]]) -> tuple[tuple[int, int], ...]:
    """Sorted ``(start, end)`` byte ranges with empty ones dropped and overlapping or
    touching ones merged (``.bss`` directly followed by ``.noptrbss`` becomes one range).

    Raises:
        FormatError: a range ends before it starts, or an address does not fit 32 bits
            (an end is exclusive, so a range cannot reach 4 GiB itself).
    """
    out: list[list[int]] = []
    for i, (start, end) in enumerate(sorted(ranges)):
        check_uint(start, 32, f"range {i} start")
        check_uint(end, 32, f"range {i} end")
        if end < start:
            raise FormatError(f"range ends (0x{end:x}) before it starts (0x{start:x})", field=f"range {i}")
        if end == start:
            continue
        if out and start <= out[-1][1]:
            out[-1][1] = max(out[-1][1], end)
        else:
            out.append([start, end])
    return tuple((s, e) for s, e in out)


def bss_zero_stub_size(nranges: int, *, variant: str = "plain") -> int:
    """Bytes of a BSS-zeroing stub with ``nranges`` ranges as :func:`merge_ranges` returns
    them (code, entry word, 28-byte save area, count word, 8 bytes a range)."""
    return 4 * (len(_bss_zero_code(variant)) + 1 + _SAVE_WORDS) + 4 + 8 * nranges


def bss_zero_stub(entry: int, ranges: Iterable[tuple[int, int]], *, variant: str = "plain",
                  address: Union[int, None] = None) -> bytes:
    """The BSS-zeroing stub (``arm_bsszero.S``): zeroes each ``(start, end)`` byte range
    (end exclusive; merged with :func:`merge_ranges`), then jumps to ``entry`` with r0-r14
    and the CPSR as it found them. ``variant="armv6"`` also sets SCTLR.XP (the Raspberry
    Pi ARMv6 entry stub with the zeroing loop). The result is position-independent;
    pass its load ``address`` to have overlaps with the ranges refused. Size:
    :func:`bss_zero_stub_size`. The 28-byte save area is zeros in the image and holds
    r0-r5 and the CPSR at run time, so the stub must be in RAM.

    Raises:
        FormatError: a value does not fit 32 bits, a range is reversed, a range overlaps
            the stub itself, ``address`` is not 4-byte aligned, or the variant is unknown.
    """
    check_uint(entry, 32, "e_entry")
    merged = merge_ranges(ranges)
    code = _bss_zero_code(variant)
    size = bss_zero_stub_size(len(merged), variant=variant)
    if address is not None:
        check_uint(address, 32, "stub address")
        if address % 4:
            raise FormatError(f"stub address 0x{address:x} is not 4-byte aligned (A32 instructions and the "
                              "stub's word loads need it)", field="stub address")
        for start, end in merged:
            if start < address + size and address < end:
                raise FormatError(f"BSS range 0x{start:x}-0x{end:x} overlaps the stub at 0x{address:x}-0x{address + size:x}",
                                  field="stub address")
    words = [*code, entry, *([0] * _SAVE_WORDS), len(merged)]
    for start, end in merged:
        words += (start, end)
    return pack_words(words)


def parse_bss_zero_stub(data: Buffer, offset: int = 0) -> BssZeroStub:
    """Recognise a BSS-zeroing stub at ``data[offset:]`` and read its entry and ranges.
    The save area is not checked (an image holds zeros there, a RAM dump the saved
    registers).

    Raises:
        FormatError: the code is not imgtool's (offset and expected word named), or the
            table is truncated.
    """
    errors = []
    for variant in VARIANTS:
        code = _bss_zero_code(variant)
        try:
            first_difference(data, offset, code, f"{variant} BSS-zeroing stub")
        except FormatError as e:
            errors.append(e)
            continue
        save = 4 * (len(code) + 1)
        table = save + 4 * _SAVE_WORDS
        (entry,) = read_words(data, offset + 4 * len(code), 1, "stub entry")
        (count,) = read_words(data, offset + table, 1, "stub range count")
        if count > (len(data) - offset - table - 4) // 8:
            raise FormatError(f"range table of {count} entries runs past the end of the data",
                              offset=offset + table, field="stub range count")
        w = read_words(data, offset + table + 4, 2 * count, "stub range table")
        ranges = tuple((w[2 * i], w[2 * i + 1]) for i in range(count))
        return BssZeroStub(variant, entry, ranges, table + 4 + 8 * count, save, table)
    raise errors[0]


def identify(data: Buffer, offset: int = 0) -> Union[EntryStub, BssZeroStub, None]:
    """The imgtool stub at ``data[offset:]`` (BSS-zeroing or Raspberry Pi entry stub), or
    None when the bytes are neither. Never raises for unknown bytes."""
    for parse in (parse_bss_zero_stub, parse_entry_stub):
        try:
            return parse(data, offset)
        except FormatError:
            pass
    return None
