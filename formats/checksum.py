"""Whole-image checksums that are not CRCs.

Currently: the PE/COFF image checksum that Windows and UEFI tools store in the optional
header's ``CheckSum`` field (the algorithm of imagehlp's ``CheckSumMappedFile``).

The C core (:mod:`formats._accel`) computes it when it is built; a pure-Python twin gives
identical results and is used when the extension is missing or when the environment
variable ``IMGTOOL_PURE_PYTHON=1`` is set. CRCs live in :mod:`formats.crc`.
"""

from __future__ import annotations

import struct
import sys

from formats._native import accel as _accel  # None: the pure-Python twin is used
from formats.errors import FormatError

__all__ = ["pe_checksum", "pe_checksum_offset", "IMPLEMENTATION"]

#: Offset of ``CheckSum`` from the start of the PE signature ("PE\\0\\0"): 4 bytes of
#: signature + 20 bytes of COFF file header + 64 bytes into the optional header. The same
#: for PE32 and PE32+ (Microsoft PE/COFF specification, "Optional Header Windows-Specific
#: Fields").
_CHECKSUM_FROM_PE_SIGNATURE = 4 + 20 + 64



#: ``"c"`` when the C core computes the checksum, ``"python"`` for the pure twin.
IMPLEMENTATION = "c" if _accel is not None else "python"


def pe_checksum_offset(data) -> int:
    """Return the file offset of the PE optional header's ``CheckSum`` field.

    Args:
        data: the PE image (bytes-like): an MZ header whose ``e_lfanew`` (at 0x3C) points
            to the ``PE\\0\\0`` signature.

    Returns:
        ``e_lfanew + 0x58``, the byte offset of the 4-byte little-endian ``CheckSum``.

    Raises:
        FormatError: the data is not an MZ/PE image or is truncated.
    """
    mv = memoryview(data).cast("B")
    if len(mv) < 0x40 or bytes(mv[0:2]) != b"MZ":
        raise FormatError("not a PE image: no MZ header", offset=0, field="e_magic")
    (lfanew,) = struct.unpack_from("<I", mv, 0x3C)
    if lfanew + _CHECKSUM_FROM_PE_SIGNATURE + 4 > len(mv):
        raise FormatError(
            f"e_lfanew 0x{lfanew:x} points past the end of the image ({len(mv)} bytes)",
            offset=0x3C,
            field="e_lfanew",
        )
    if bytes(mv[lfanew : lfanew + 4]) != b"PE\0\0":
        raise FormatError("no PE signature at e_lfanew", offset=lfanew, field="Signature")
    return lfanew + _CHECKSUM_FROM_PE_SIGNATURE


def _pe_checksum_py(data, checksum_offset: int) -> int:
    """Pure-Python twin of the C ``pe_checksum`` (same arguments, already validated)."""
    mv = memoryview(data).cast("B")
    n = len(mv)
    buf = bytearray(mv) if n % 2 == 0 else bytearray(mv) + b"\0"
    buf[checksum_offset : checksum_offset + 4] = b"\0\0\0\0"
    if sys.byteorder == "big":  # memoryview.cast("H") reads native-order words
        buf[0::2], buf[1::2] = buf[1::2], buf[0::2]
    # Summing all 16-bit words as one big integer and folding with end-around carry gives
    # the same value as adding word by word with a carry fold after every addition
    # (2**16 == 1 modulo 0xFFFF, and the fold never turns a non-zero sum into zero).
    total = sum(memoryview(buf).cast("H")) if buf else 0
    while total > 0xFFFF:
        total = (total & 0xFFFF) + (total >> 16)
    return (total + n) & 0xFFFFFFFF


def pe_checksum(data, checksum_offset: int | None = None) -> int:
    """Compute the PE/COFF image checksum (imagehlp ``CheckSumMappedFile``).

    The algorithm: add the file as little-endian 16-bit words (an odd final byte counts
    as a word with a zero high byte) with the 4-byte ``CheckSum`` field taken as zero,
    folding the carry out of bit 15 back into the sum after every addition; then add the
    file length in bytes. Source: Microsoft imagehlp ``CheckSumMappedFile`` behaviour as
    documented for the PE ``CheckSum`` field (PE/COFF specification, optional header).

    Args:
        data: the whole image file (bytes, bytearray, memoryview, mmap; read zero-copy
            by the C core).
        checksum_offset: byte offset of the 4-byte ``CheckSum`` field; ``None`` finds it
            through ``e_lfanew`` (see :func:`pe_checksum_offset`).

    Returns:
        The 32-bit checksum to store (little-endian) at ``checksum_offset``.

    Raises:
        FormatError: ``checksum_offset`` is negative or the field does not fit in the
            data, or (with ``None``) the data is not a PE image.
    """
    if checksum_offset is None:
        checksum_offset = pe_checksum_offset(data)
    n = memoryview(data).nbytes
    if checksum_offset < 0 or checksum_offset + 4 > n:
        raise FormatError(
            f"CheckSum field at offset {checksum_offset} does not fit in a {n}-byte image"
        )
    if _accel is not None:
        return _accel.pe_checksum(data, checksum_offset)
    return _pe_checksum_py(data, checksum_offset)
