"""Record machinery shared by the text flash formats (Intel HEX, Motorola S-record) and UF2.

Encoding of runs of fixed-size text records (vectorised over whole segments rather than
one Python call per record), segment validation, merging of parsed pieces, and parse
error helpers that name the line. Private to ``formats``: the public APIs are
:mod:`formats.ihex`, :mod:`formats.srec` and :mod:`formats.uf2`.
"""

from __future__ import annotations

import binascii
import sys
from array import array
from typing import Callable, Sequence, Union

from formats.errors import FormatError

Buffer = Union[bytes, bytearray, memoryview]

_EOL = b"\r\n"
_ADDR_ARRAY_CODE = "I" if array("I").itemsize == 4 else "L"


def text_records(
    prefix: bytes,
    head: Callable[[int], bytes],
    address: int,
    addr_width: int,
    tail: bytes,
    data: memoryview,
    size: int,
    check: bytes,
) -> bytes:
    """Encode ``data`` as consecutive text records of ``size`` data bytes (last one short).

    Each record is ``prefix + HEX(head(n) + addr + tail + chunk + ck) + CR LF`` where ``n``
    is ``len(chunk)``, ``addr`` the chunk's address as ``addr_width`` big-endian bytes and
    ``ck = check[sum(head(n) + addr + tail + chunk) & 0xFF]``.

    The full records are encoded column-wise (strided slice assignment, big-integer lane
    sums for the checksums), so the cost is a few C-level passes over the data rather than
    Python work per record: 16 MiB encode in a fraction of a second.
    """
    n = len(data)
    k = n // size
    out = []
    if k:
        full = data[: k * size]
        out.append(_full_records(prefix, head(size), address, addr_width, tail, full, size, k, check))
    rest = n - k * size
    if rest:
        a = address + k * size
        rec = head(rest) + a.to_bytes(addr_width, "big") + tail + bytes(data[k * size :])
        rec += bytes((check[sum(rec) & 0xFF],))
        out.append(prefix + binascii.hexlify(rec).upper() + _EOL)
    return b"".join(out)


def _full_records(
    prefix: bytes,
    head: bytes,
    address: int,
    addr_width: int,
    tail: bytes,
    data: memoryview,
    size: int,
    k: int,
    check: bytes,
) -> bytes:
    rec_len = len(head) + addr_width + len(tail) + size + 1
    line = len(prefix) + 2 * rec_len + len(_EOL)
    out = bytearray(line * k)

    # Binary columns of the record, in order.
    addrs = array(_ADDR_ARRAY_CODE, range(address, address + k * size, size))
    if sys.byteorder == "little":
        addrs.byteswap()
    araw = addrs.tobytes()  # 4 big-endian bytes per record
    columns: list[bytes | None] = []  # None marks a constant column (from head/tail)
    constants: list[int] = []
    for b in head:
        columns.append(None)
        constants.append(b)
    addr_cols = [araw[4 - addr_width + i :: 4] for i in range(addr_width)]
    for b in tail:
        constants.append(b)
    data_b = bytes(data)
    data_cols = [data_b[i::size] for i in range(size)]

    # Checksums: sum every variable column in 32-bit lanes, one lane per record.
    lanes = bytearray(4 * k)
    total = 0
    for col in addr_cols + data_cols:
        lanes[0::4] = col
        total += int.from_bytes(lanes, "little")
    const = sum(constants) & 0xFF
    if const:
        ones = bytearray(4 * k)
        ones[0::4] = b"\x01" * k
        total += const * int.from_bytes(ones, "little")
    sums = total.to_bytes(4 * k + 4, "little")[0 : 4 * k : 4]
    ck = sums.translate(check)

    # Text: prefix, two hex digits per binary column, CR LF.
    pos = 0
    for ch in prefix:
        out[pos::line] = bytes((ch,)) * k
        pos += 1

    def put_const(b: int) -> None:
        nonlocal pos
        hx = b"%02X" % b
        out[pos::line] = hx[0:1] * k
        out[pos + 1 :: line] = hx[1:2] * k
        pos += 2

    def put_col(col: bytes) -> None:
        nonlocal pos
        hx = binascii.hexlify(col).upper()
        out[pos::line] = hx[0::2]
        out[pos + 1 :: line] = hx[1::2]
        pos += 2

    for b in head:
        put_const(b)
    for col in addr_cols:
        put_col(col)
    for b in tail:
        put_const(b)
    for col in data_cols:
        put_col(col)
    put_col(ck)
    for ch in _EOL:
        out[pos::line] = bytes((ch,)) * k
        pos += 1
    return bytes(out)


def check_segments(segments: Sequence[tuple[int, Buffer]], limit: int, what: str) -> list[tuple[int, memoryview]]:
    """Validate ``segments``; return the non-empty ones sorted by address.

    Raises:
        FormatError: a negative address, data running past ``limit``, or two segments that
            overlap.
    """
    out = []
    for index, (address, data) in enumerate(segments):
        mv = memoryview(data).cast("B") if not isinstance(data, memoryview) or data.format != "B" else data
        if address < 0:
            raise FormatError(f"negative load address {address:#x}", field=f"segment {index}")
        if address + len(mv) > limit:
            raise FormatError(
                f"segment {address:#x}..{address + len(mv):#x} does not fit the {what} "
                f"address space (ends at {limit:#x})",
                field=f"segment {index}",
            )
        if len(mv):
            out.append((address, mv))
    out.sort(key=lambda s: s[0])
    for (a0, d0), (a1, _) in zip(out, out[1:]):
        if a0 + len(d0) > a1:
            raise FormatError(f"segments overlap: {a0:#x}..{a0 + len(d0):#x} and {a1:#x}", field="segments")
    return out


def merge_pieces(pieces: list[tuple[int, bytes, int]], what: str) -> tuple[tuple[int, bytes], ...]:
    """Sort ``(address, data, line)`` pieces, reject overlaps, join touching ones."""
    pieces.sort(key=lambda p: p[0])
    merged: list[tuple[int, list[bytes], int]] = []
    for address, data, line in pieces:
        if merged:
            m_addr, m_parts, m_end = merged[-1]
            if address < m_end:
                raise FormatError(
                    f"data at {address:#x} overlaps data already loaded up to {m_end:#x}",
                    field=f"{what} {line}",
                )
            if address == m_end:
                m_parts.append(data)
                merged[-1] = (m_addr, m_parts, m_end + len(data))
                continue
        merged.append((address, [data], address + len(data)))
    return tuple((a, b"".join(parts)) for a, parts, _ in merged)


def text_lines(data: bytes) -> list[str]:
    """The lines of an ASCII text file, split at LF, CR LF or CR like ``bytes.splitlines``.

    Raises:
        FormatError: a non-ASCII byte, naming its line and offset.
    """
    try:
        text = data.decode("ascii")
    except UnicodeDecodeError as e:
        number = data[: e.start].replace(b"\r\n", b"\n").replace(b"\r", b"\n").count(b"\n") + 1
        raise FormatError("non-ASCII byte in a text record", offset=e.start, field=f"line {number}") from None
    return text.replace("\r\n", "\n").replace("\r", "\n").split("\n")


def line_error(data: bytes, number: int, message: str) -> FormatError:
    """A FormatError for line ``number`` (1-based), with the byte offset of its record."""
    lines = data.splitlines(keepends=True)
    offset = sum(map(len, lines[: number - 1]))
    line = lines[number - 1] if number <= len(lines) else b""
    offset += len(line) - len(line.lstrip())
    return FormatError(message, offset=offset, field=f"line {number}")
