"""Small helpers shared by the stub templates of :mod:`formats.boot`: field checks and
little-endian word packing. Private to the package."""

from __future__ import annotations

import struct
from typing import Iterable, Sequence, Union

from formats.errors import FormatError

Buffer = Union[bytes, bytearray, memoryview]


def check_uint(value: int, bits: int, field: str) -> int:
    """``value`` if it is an int in [0, 2**bits), else FormatError naming ``field``."""
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value < (1 << bits):
        raise FormatError(f"{value!r} does not fit an unsigned {bits}-bit field", field=field)
    return value


def pack_words(words: Iterable[int]) -> bytes:
    """Little-endian 32-bit words as bytes."""
    w = list(words)
    return struct.pack(f"<{len(w)}I", *w)


def read_words(data: Buffer, offset: int, count: int, what: str) -> tuple[int, ...]:
    """``count`` little-endian words at ``offset``; FormatError if ``data`` is too short."""
    if offset < 0 or offset + 4 * count > len(data):
        raise FormatError(f"{what} needs {4 * count} bytes, {max(0, len(data) - offset)} available",
                          offset=offset, field=what)
    return struct.unpack_from(f"<{count}I", data, offset)


def first_difference(data: Buffer, offset: int, expected: Sequence[int], what: str) -> None:
    """Raise FormatError at the first word of ``data[offset:]`` that differs from ``expected``
    (``None`` entries are literal slots and match anything)."""
    got = read_words(data, offset, len(expected), what)
    for i, (g, e) in enumerate(zip(got, expected)):
        if e is not None and g != e:
            raise FormatError(f"word 0x{g:08x} is not imgtool's {what} (expected 0x{e:08x})",
                              offset=offset + 4 * i, field=what)
