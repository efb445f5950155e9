"""Intel HEX: build and parse.

Source: Intel, "Hexadecimal Object File Format Specification", revision A, 1988.
Output matched byte for byte: GNU objcopy 2.40 ``-O ihex`` (BFD ``ihex.c``).

A file is a sequence of text records ``:LLAAAATT<data>CC``: ``LL`` data length, ``AAAA``
16-bit offset, ``TT`` record type, ``CC`` the two's complement of the sum of all the record's
bytes. Record types:

====  =============================  ==========================================
00    data                           ``LL`` bytes at base + ``AAAA``
01    end of file                    always ``:00000001FF``
02    extended segment address       base = ``USBA * 16`` (8086 real mode, 1 MiB)
03    start segment address          entry ``CS:IP`` (4 data bytes)
04    extended linear address        base = ``ULBA << 16`` (32-bit, 4 GiB)
05    start linear address           entry ``EIP`` (4 data bytes)
====  =============================  ==========================================

What :func:`build` writes, as objcopy does (each point checked against objcopy 2.40 in
``tests/test_flashfiles.py``):

- Upper-case hex, lines ended by CR LF, ``record_size`` (default 16) data bytes per record.
- Segments are sorted by address and each is written as its own run of records, chunked
  from the segment's first byte (records are *not* aligned to 16-byte addresses, and two
  adjacent segments are not packed together -- objcopy does the same per section).
- No extended record while addresses stay below 64 KiB. Above that, while the address is
  below 1 MiB, a type-02 segment record (``USBA = (addr & 0xF0000) >> 4``); from 1 MiB on,
  type-04 records (after a ``02 0000`` record cancelling any segment base written before).
  A new extended record is written only when a record's address leaves the current 64 KiB
  window; a record never crosses a 64 KiB boundary (it is cut short there).
- The start address: none when ``start`` is ``None`` or 0 (objcopy cannot tell an entry
  of 0 from no entry and writes nothing); type 03 with ``CS = (start & 0xF0000) >> 4``,
  ``IP = start & 0xFFFF`` when ``start <= 0xFFFFF``; otherwise type 05. It is written after
  the data, just before the end-of-file record.
"""

from __future__ import annotations

import binascii
from dataclasses import dataclass
from typing import Sequence

from formats._records import _EOL, Buffer, check_segments, line_error, merge_pieces, text_lines, text_records
from formats.errors import FormatError

__all__ = ["HexImage", "build", "parse"]

_ADDRESS_LIMIT = 1 << 32

#: Negation table for checksums: ``_NEG[s] == (-s) & 0xFF``.
_NEG = bytes((-i) & 0xFF for i in range(256))



@dataclass(frozen=True)
class HexImage:
    """A parsed Intel HEX file.

    Attributes:
        segments: ``((address, data), ...)`` sorted by address, with records that touch
            merged into one segment; addresses in bytes (32-bit).
        start: the entry address, or ``None`` when the file has no type 03/05 record. For a
            type-03 record this is the linear address ``CS * 16 + IP``.
        start_type: 3 or 5, the record type the start address came from, or ``None``.
    """

    segments: tuple[tuple[int, bytes], ...]
    start: int | None = None
    start_type: int | None = None


# --------------------------------------------------------------------------- helpers
# The record encoder and parse helpers shared with srec.py and uf2.py live in _records.py.


# --------------------------------------------------------------------------- build


def _record(rtype: int, offset: int, payload: bytes) -> bytes:
    rec = bytes((len(payload), offset >> 8, offset & 0xFF, rtype)) + payload
    return b":" + binascii.hexlify(rec + bytes((_NEG[sum(rec) & 0xFF],))).upper() + _EOL


def _data_head(n: int) -> bytes:
    return bytes((n,))


def build(
    segments: Sequence[tuple[int, Buffer]],
    *,
    start: int | None = None,
    record_size: int = 16,
) -> bytes:
    """Render ``segments`` as an Intel HEX file (ASCII bytes, CR LF line ends).

    Args:
        segments: ``[(load address, data), ...]``; addresses in bytes. Order does not
            matter (they are sorted); empty ones are skipped. Each segment is chunked from
            its own first byte, as objcopy does per section.
        start: entry address (type 03 below 1 MiB, else type 05), or ``None``; 0 is treated
            as "no entry" the way objcopy does.
        record_size: data bytes per record, 1..255 (objcopy: always 16).

    Returns:
        The file contents, byte-identical to GNU objcopy 2.40 ``-O ihex`` for the same
        (address, data, entry) content.

    Raises:
        FormatError: data beyond 4 GiB (0xFFFFFFFF is the last addressable byte), a
            negative address, overlapping segments, a start address beyond 32 bits, or a
            ``record_size`` outside 1..255.
    """
    if not 1 <= record_size <= 255:
        raise FormatError(f"record size {record_size} out of range (1..255)", field="record_size")
    if start is not None and not 0 <= start < _ADDRESS_LIMIT:
        raise FormatError(f"start address {start:#x} does not fit 32 bits", field="start")
    out: list[bytes] = []
    segbase = 0  # from type-02 records
    extbase = 0  # from type-04 records
    for where, data in check_segments(segments, _ADDRESS_LIMIT, "Intel HEX 32-bit"):
        pos = 0
        count = len(data)
        while count:
            if where > segbase + extbase + 0xFFFF:
                if extbase == 0 and where <= 0xFFFFF:
                    segbase = where & 0xF0000
                    out.append(_record(2, 0, (segbase >> 4).to_bytes(2, "big")))
                else:
                    if segbase:
                        out.append(_record(2, 0, b"\x00\x00"))
                        segbase = 0
                    extbase = where & 0xFFFF0000
                    out.append(_record(4, 0, (extbase >> 16).to_bytes(2, "big")))
            rec_addr = where - (extbase + segbase)
            run = min(count, 0x10000 - rec_addr)
            chunk = data[pos : pos + run]
            out.append(text_records(b":", _data_head, rec_addr, 2, b"\x00", chunk, record_size, _NEG))
            where += run
            pos += run
            count -= run
    if start:
        if start <= 0xFFFFF:
            payload = ((start & 0xF0000) >> 4).to_bytes(2, "big") + (start & 0xFFFF).to_bytes(2, "big")
            out.append(_record(3, 0, payload))
        else:
            out.append(_record(5, 0, start.to_bytes(4, "big")))
    out.append(_record(1, 0, b""))
    return b"".join(out)


# --------------------------------------------------------------------------- parse


def parse(data: bytes) -> HexImage:
    """Parse an Intel HEX file.

    Accepts upper- or lower-case hex, LF / CR LF / CR line ends, surrounding whitespace and
    blank lines; records 00..05 with type-02 and type-04 bases both added to the offset (as
    BFD reads them). Under a type-02 base a record wraps inside its 64 KiB segment, as the
    specification says; under type 04 addresses run on linearly.

    Args:
        data: the file contents.

    Returns:
        A :class:`HexImage` with contiguous data merged into segments.

    Raises:
        FormatError: with ``field="line N"`` and the byte ``offset`` of the line, for a line
            not starting with ``:``, odd or non-hex digits, a length byte that disagrees
            with the line, a bad checksum, an unknown record type, a malformed 01..05
            record, data past 4 GiB, overlapping data, two different start addresses,
            anything after the end-of-file record, or a missing end-of-file record.
    """
    data = bytes(data)
    segbase = 0
    extbase = 0
    pieces: list[tuple[int, bytes, int]] = []
    start: int | None = None
    start_type: int | None = None
    eof = False
    for number, line in enumerate(text_lines(data), 1):
        line = line.strip()
        if not line:
            continue
        if eof:
            raise line_error(data, number, "data after the end-of-file record")
        if line[:1] != ":":
            raise line_error(data, number, "record does not start with ':'")
        try:
            rec = bytes.fromhex(line[1:])
        except ValueError:
            raise line_error(data, number, "record is not an even number of hex digits") from None
        if len(rec) < 5 or len(rec) != rec[0] + 5:
            raise line_error(
                data,
                number,
                f"record holds {max(len(rec) - 5, 0)} data bytes but its length field says "
                f"{rec[0] if rec else 0}",
            )
        if sum(rec) & 0xFF:
            expected = _NEG[sum(rec[:-1]) & 0xFF]
            raise line_error(data, number, f"checksum {rec[-1]:02X} is wrong (expected {expected:02X})")
        length, rtype = rec[0], rec[3]
        offset16 = (rec[1] << 8) | rec[2]
        payload = rec[4:-1]
        if rtype == 0:
            if not length:
                continue
            base = extbase + segbase
            if segbase and offset16 + length > 0x10000:
                first = 0x10000 - offset16
                pieces.append((base + offset16, payload[:first], number))
                pieces.append((base, payload[first:], number))
            else:
                if base + offset16 + length > _ADDRESS_LIMIT:
                    raise line_error(data, number, f"data at {base + offset16:#x} runs past 4 GiB")
                pieces.append((base + offset16, payload, number))
        elif rtype == 1:
            if length:
                raise line_error(data, number, "end-of-file record with data")
            eof = True
        elif rtype in (2, 4):
            if length != 2 or offset16:
                message = f"type {rtype:02d} record must have 2 data bytes and offset 0000"
                raise line_error(data, number, message)
            value = int.from_bytes(payload, "big")
            if rtype == 2:
                segbase = value << 4
            else:
                extbase = value << 16
        elif rtype in (3, 5):
            if length != 4 or offset16:
                message = f"type {rtype:02d} record must have 4 data bytes and offset 0000"
                raise line_error(data, number, message)
            if rtype == 3:
                value = (int.from_bytes(payload[:2], "big") << 4) + int.from_bytes(payload[2:], "big")
            else:
                value = int.from_bytes(payload, "big")
            if start is not None and (value, rtype) != (start, start_type):
                raise line_error(data, number, f"second start address {value:#x} (first was {start:#x})")
            start, start_type = value, rtype
        else:
            raise line_error(data, number, f"unknown record type {rtype:02X}")
    if not eof:
        raise FormatError("no end-of-file record (:00000001FF)", offset=len(data))
    return HexImage(merge_pieces(pieces, "line"), start, start_type)
