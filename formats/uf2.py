"""UF2 (USB Flashing Format): build and parse.

Source: Microsoft, "USB Flashing Format (UF2)" specification (github.com/microsoft/uf2,
README.md). Output matched: that project's ``utils/uf2conv.py`` converting an Intel HEX
file (its ``convert_from_hex_to_uf2`` path), which is how objcopy output becomes UF2.

A file is a sequence of independent 512-byte blocks, all fields little-endian ``uint32``:

======  ====  ============================================================
offset  size  field
======  ====  ============================================================
0       4     magicStart0 ``0x0A324655`` ("UF2\\n")
4       4     magicStart1 ``0x9E5D5157``
8       4     flags (:data:`FLAG_NOT_MAIN_FLASH`, :data:`FLAG_FILE_CONTAINER`,
              :data:`FLAG_FAMILY_ID_PRESENT`, :data:`FLAG_MD5_PRESENT`,
              :data:`FLAG_EXTENSION_TAGS`)
12      4     targetAddr: flash address of the payload
16      4     payloadSize: bytes of ``data`` used (256 normally; at most 476)
20      4     blockNo: 0, 1, ... within the file
24      4     numBlocks: blocks in the file
28      4     fileSize, or familyID when the 0x2000 flag is set, else 0
32      476   data: payload, then padding
508     4     magicEnd ``0x0AB16F30``
======  ====  ============================================================

How :func:`build` lays out blocks (the same as uf2conv.py from a HEX file): each block
covers the ``payload_size``-aligned window ``[n * payload_size, (n + 1) * payload_size)``
that holds at least one byte of data, in ascending address order; windows with no data
are not written. Bytes of a window that no segment covers -- the start of a first block,
the end of a last block, a gap smaller than a block -- are ``fill`` (0x00 by default, as
uf2conv; pass 0xFF to keep erased flash erased). The 476-byte data area after the payload is
zero, as uf2conv writes it (the specification's table says "padded with 0xFF"; no reader
looks at it). The familyID flag and field are set when ``family_id`` is given and non-zero,
as uf2conv does.

Round trip: :func:`parse` returns the padded windows (merged), so
``build(parse(build(s)).segments) == build(s)`` and every byte of ``s`` is found at its
address in ``parse(build(s)).segments``.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Sequence, Union

from formats.errors import FormatError
from formats._records import check_segments, merge_pieces

__all__ = [
    "BLOCK_SIZE",
    "DATA_SIZE",
    "FAMILIES",
    "FLAG_EXTENSION_TAGS",
    "FLAG_FAMILY_ID_PRESENT",
    "FLAG_FILE_CONTAINER",
    "FLAG_MD5_PRESENT",
    "FLAG_NOT_MAIN_FLASH",
    "MAGIC_END",
    "MAGIC_START0",
    "MAGIC_START1",
    "Uf2Block",
    "Uf2Image",
    "build",
    "family_name",
    "parse",
    "resolve_family",
]

Buffer = Union[bytes, bytearray, memoryview]

MAGIC_START0 = 0x0A324655
MAGIC_START1 = 0x9E5D5157
MAGIC_END = 0x0AB16F30

FLAG_NOT_MAIN_FLASH = 0x00000001
FLAG_FILE_CONTAINER = 0x00001000
FLAG_FAMILY_ID_PRESENT = 0x00002000
FLAG_MD5_PRESENT = 0x00004000
FLAG_EXTENSION_TAGS = 0x00008000

BLOCK_SIZE = 512
DATA_SIZE = 476
_HEADER = struct.Struct("<8I")
_END = struct.pack("<I", MAGIC_END)
_ADDRESS_LIMIT = 1 << 32

#: Board family IDs by the ``short_name`` of microsoft/uf2 ``utils/uf2families.json``.
#: All values were compared with that list (see docs/flashfiles.md for which copy): the
#: main table against the file in the microsoft/uf2 repository, the RP2350 / RP2XXX
#: entries against a newer copy of the list as embedded in uf2conv.py.
FAMILIES: dict[str, int] = {
    "ATMEGA32": 0x16573617,
    "SAML21": 0x1851780A,
    "SAMD21": 0x68ED2B88,
    "SAMD51": 0x55114460,
    "NRF52": 0x1B57745F,
    "NRF52833": 0x621E937A,
    "NRF52840": 0xADA52840,
    "STM32F0": 0x647824B6,
    "STM32F1": 0x5EE21072,
    "STM32F2": 0x5D1A0A2E,
    "STM32F3": 0x6B846188,
    "STM32F4": 0x57755A57,
    "STM32F407": 0x6D0922FA,
    "STM32F407VG": 0x8FB060FE,
    "STM32F7": 0x53B80F00,
    "STM32G0": 0x300F5633,
    "STM32G4": 0x4C71240A,
    "STM32H7": 0x6DB66082,
    "STM32L0": 0x202E3A91,
    "STM32L1": 0x1E1F432D,
    "STM32L4": 0x00FF6919,
    "STM32L5": 0x04240BDF,
    "STM32WB": 0x70D16653,
    "STM32WL": 0x21460FF0,
    "MIMXRT10XX": 0x4FB2D5BD,
    "LPC55": 0x2ABC77EC,
    "KL32L2": 0x7F83E793,
    "GD32F350": 0x31D228C6,
    "GD32VF103": 0x9AF03E33,
    "ESP8266": 0x7EAB61ED,
    "ESP32": 0x1C5F21B0,
    "ESP32S2": 0xBFDD4EEE,
    "ESP32S3": 0xC47E5767,
    "ESP32C2": 0x2B88D29C,
    "ESP32C3": 0xD42BA06C,
    "ESP32C6": 0x540DDF62,
    "ESP32H2": 0x332726F6,
    "ESP32P4": 0x3D308E94,
    "FX2": 0x5A18069B,
    "RP2040": 0xE48BFF56,
    "RP2XXX_ABSOLUTE": 0xE48BFF57,
    "RP2XXX_DATA": 0xE48BFF58,
    "RP2350_ARM_S": 0xE48BFF59,
    "RP2350_RISCV": 0xE48BFF5A,
    "RP2350_ARM_NS": 0xE48BFF5B,
}

_NAMES = {value: name for name, value in FAMILIES.items()}


def resolve_family(name_or_id: str | int) -> int:
    """Resolve a family given by name (case-insensitive, ``-``/``_`` alike) or number.

    Strings that parse as integers (``"0xe48bff56"``) are taken as numbers.

    Raises:
        FormatError: an unknown name, or a number outside 32 bits.
    """
    if isinstance(name_or_id, str):
        key = name_or_id.strip().upper().replace("-", "_")
        if key in FAMILIES:
            return FAMILIES[key]
        try:
            value = int(name_or_id, 0)
        except ValueError:
            raise FormatError(
                f"unknown UF2 family {name_or_id!r} (known: {', '.join(sorted(FAMILIES))})", field="family"
            ) from None
    else:
        value = int(name_or_id)
    if not 0 <= value < _ADDRESS_LIMIT:
        raise FormatError(f"family ID {value:#x} does not fit 32 bits", field="family")
    return value


def family_name(value: int) -> str | None:
    """The catalogue name of a family ID, or ``None`` when it is not in :data:`FAMILIES`."""
    return _NAMES.get(value)


@dataclass(frozen=True)
class Uf2Block:
    """One 512-byte block, as read.

    ``payload`` is ``data[:payload_size]``; ``family`` is the word at offset 28 (a family
    ID, a file size or 0, depending on ``flags``); ``offset`` is the block's byte offset in
    the file.
    """

    offset: int
    flags: int
    target_addr: int
    payload_size: int
    block_no: int
    num_blocks: int
    family: int
    payload: bytes


@dataclass(frozen=True)
class Uf2Image:
    """A parsed UF2 file, reduced to one family.

    Attributes:
        segments: ``((address, data), ...)`` of the selected family's main-flash blocks
            (``FLAG_NOT_MAIN_FLASH`` blocks left out), sorted, touching blocks merged.
        family_id: the selected family, or ``None`` for blocks without the familyID flag.
        families: every family in the file, in order of first appearance (``None`` for
            blocks without the flag).
        blocks: every block of the file, all families.
    """

    segments: tuple[tuple[int, bytes], ...]
    family_id: int | None
    families: tuple[int | None, ...]
    blocks: tuple[Uf2Block, ...]


def build(
    segments: Sequence[tuple[int, Buffer]],
    *,
    family_id: str | int | None = None,
    payload_size: int = 256,
    fill: int = 0x00,
) -> bytes:
    """Render ``segments`` as UF2 blocks (see the module docstring for the layout).

    Args:
        segments: ``[(flash address, data), ...]``; addresses in bytes, 32-bit.
        family_id: a family ID, a :data:`FAMILIES` name, or ``None`` (no familyID flag).
        payload_size: bytes per block and the block alignment, a multiple of 4 in 4..476
            (256 is what every bootloader accepts).
        fill: the byte for parts of a block no segment covers.

    Returns:
        ``512 * n`` bytes.

    Raises:
        FormatError: overlapping segments, data or a padded block beyond 4 GiB, a bad
            ``payload_size``, ``fill`` or family.
    """
    if not (4 <= payload_size <= DATA_SIZE and payload_size % 4 == 0):
        raise FormatError(
            f"payload size {payload_size} must be a multiple of 4 in 4..{DATA_SIZE}", field="payload_size"
        )
    if not 0 <= fill <= 0xFF:
        raise FormatError(f"fill byte {fill:#x} out of range", field="fill")
    family = 0 if family_id is None else resolve_family(family_id)
    flags = FLAG_FAMILY_ID_PRESENT if family else 0
    size = payload_size
    pad = bytes(DATA_SIZE - size) + _END

    # (window index, payload) for every window holding data, ascending.
    windows: list[tuple[int, bytes | bytearray]] = []
    for address, data in check_segments(segments, _ADDRESS_LIMIT, "UF2 32-bit"):
        end = address + len(data)
        first, last = address // size, (end - 1) // size
        if (last + 1) * size > _ADDRESS_LIMIT:
            raise FormatError(
                f"the block at {last * size:#x} would run past 4 GiB", field=f"segment at {address:#x}"
            )
        for w in range(first, last + 1):
            lo, hi = max(address, w * size), min(end, (w + 1) * size)
            piece = data[lo - address : hi - address]
            if windows and windows[-1][0] == w:
                buf = windows[-1][1]
                if not isinstance(buf, bytearray):
                    buf = bytearray(buf)
                    windows[-1] = (w, buf)
                buf[lo - w * size : hi - w * size] = piece
            elif hi - lo == size:
                windows.append((w, piece))
            else:
                buf = bytearray((fill,)) * size
                buf[lo - w * size : hi - w * size] = piece
                windows.append((w, buf))

    count = len(windows)
    pack = _HEADER.pack
    out = [
        b"".join((pack(MAGIC_START0, MAGIC_START1, flags, w * size, size, n, count, family), payload, pad))
        for n, (w, payload) in enumerate(windows)
    ]
    return b"".join(out)


def parse(data: bytes, *, family_id: str | int | None = None) -> Uf2Image:
    """Parse a UF2 file and return the data of one family.

    Files may be several UF2 files concatenated (one per family, as the specification
    allows); block numbering is checked per family. When the file holds more than one
    family, ``family_id`` (number or :data:`FAMILIES` name) selects one.

    Args:
        data: the file contents.
        family_id: the family to return; ``None`` means "the only one".

    Returns:
        A :class:`Uf2Image`.

    Raises:
        FormatError: with the block's ``offset`` and ``field="block N"``, for a length not
            a multiple of 512, a bad magic number, a payload size over 476, a file-container
            block (not supported), a block number out of sequence or a numBlocks that
            changes within a file, a file that ends early, payload past 4 GiB, or blocks of
            one family that overlap; also for several families and no ``family_id``, or a
            ``family_id`` not in the file.
    """
    data = bytes(data)
    if len(data) % BLOCK_SIZE:
        raise FormatError(
            f"length {len(data)} is not a multiple of {BLOCK_SIZE}", offset=len(data) - len(data) % BLOCK_SIZE
        )
    blocks: list[Uf2Block] = []
    # per family: (next expected blockNo, numBlocks, offset of the file's first block)
    sequence: dict[int | None, tuple[int, int, int]] = {}
    order: list[int | None] = []
    for index, offset in enumerate(range(0, len(data), BLOCK_SIZE)):
        field = f"block {index}"
        m0, m1, flags, addr, psize, block_no, num_blocks, fam = _HEADER.unpack_from(data, offset)
        (m_end,) = struct.unpack_from("<I", data, offset + BLOCK_SIZE - 4)
        if m0 != MAGIC_START0 or m1 != MAGIC_START1:
            raise FormatError(
                f"bad start magic {m0:#010x} {m1:#010x} (expected {MAGIC_START0:#010x} {MAGIC_START1:#010x})",
                offset=offset,
                field=field,
            )
        if m_end != MAGIC_END:
            raise FormatError(
                f"bad end magic {m_end:#010x} (expected {MAGIC_END:#010x})",
                offset=offset + BLOCK_SIZE - 4,
                field=field,
            )
        if flags & FLAG_FILE_CONTAINER:
            raise FormatError("file-container blocks are not supported", offset=offset + 8, field=field)
        if psize > DATA_SIZE:
            raise FormatError(f"payload size {psize} is over {DATA_SIZE}", offset=offset + 16, field=field)
        if addr + psize > _ADDRESS_LIMIT:
            raise FormatError(f"payload at {addr:#x} runs past 4 GiB", offset=offset + 12, field=field)
        key = fam if flags & FLAG_FAMILY_ID_PRESENT else None
        if key not in sequence:
            order.append(key)
            expect = (0, num_blocks, offset)
        else:
            expect = sequence[key]
            if expect[0] == expect[1]:  # the previous file of this family is complete
                expect = (0, num_blocks, offset)
        if block_no != expect[0] or num_blocks != expect[1]:
            raise FormatError(
                f"blockNo {block_no} of {num_blocks}, expected blockNo {expect[0]} of {expect[1]}",
                offset=offset + 20,
                field=field,
            )
        sequence[key] = (block_no + 1, num_blocks, expect[2])
        blocks.append(
            Uf2Block(offset, flags, addr, psize, block_no, num_blocks, fam,
                     data[offset + 32 : offset + 32 + psize])
        )
    for key, (nxt, total, first) in sequence.items():
        if nxt != total:
            raise FormatError(
                f"file ends after block {nxt - 1} of {total}"
                + (f" (family {key:#010x})" if key is not None else ""),
                offset=len(data),
            )

    if family_id is None:
        if len(order) > 1:
            names = ", ".join("none" if f is None else f"{f:#010x}" for f in order)
            raise FormatError(f"the file holds several families ({names}); choose one", field="family")
        chosen = order[0] if order else None
    else:
        chosen = resolve_family(family_id)
        if chosen not in sequence:
            raise FormatError(f"no blocks for family {chosen:#010x}", field="family")

    per_family: dict[int | None, list[tuple[int, bytes, int]]] = {key: [] for key in order}
    for n, b in enumerate(blocks):
        if not b.flags & FLAG_NOT_MAIN_FLASH and b.payload:
            key = b.family if b.flags & FLAG_FAMILY_ID_PRESENT else None
            per_family[key].append((b.target_addr, b.payload, n))
    merged = {key: merge_pieces(pieces, "block") for key, pieces in per_family.items()}
    return Uf2Image(merged.get(chosen, ()), chosen, tuple(order), tuple(blocks))
