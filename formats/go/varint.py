"""Unsigned LEB128 varints, as Go writes them: one decoder for the whole Go layer.

Go's ``encoding/binary`` ``Uvarint`` format: 7 bits per byte, least significant group
first, the high bit set on every byte but the last. ``.go.buildinfo`` frames its strings
with 64-bit varints (at most 10 bytes); the pclntab's pc-value tables hold 32-bit ones
(``runtime.readvarint``: at most 5 bytes).
"""

from __future__ import annotations

from formats.errors import FormatError

#: encoding/binary.MaxVarintLen64 and MaxVarintLen32
MAX_LEN_64 = 10
MAX_LEN_32 = 5


def uvarint(data, pos: int, end: int | None = None, *, max_len: int = MAX_LEN_64, field: str | None = None,
            base: int = 0) -> tuple[int, int]:
    """Decode the varint at ``data[pos]`` (bytes, bytearray or memoryview of bytes).

    Args:
        end: the first offset the varint may not reach (default ``len(data)``).
        max_len: the most bytes the varint may take (10 for 64-bit, 5 for 32-bit values).
        field, base: name the table in errors; ``base`` is added to offsets in errors
            (the file offset of ``data[0]``).

    Returns:
        ``(value, offset after the varint)``.

    Raises:
        FormatError: the varint runs to ``end`` without a final byte, or is longer than
            ``max_len`` bytes (the offset is where it starts).
    """
    limit = len(data) if end is None else end
    value = shift = 0
    at = pos
    stop = pos + max_len
    while pos < limit:
        b = data[pos]
        pos += 1
        value |= (b & 0x7F) << shift
        if b < 0x80:
            return value, pos
        if pos >= stop:
            raise FormatError(f"varint is longer than {max_len} bytes", offset=base + at, field=field)
        shift += 7
    raise FormatError("varint runs past the end of the table", offset=base + at, field=field)
