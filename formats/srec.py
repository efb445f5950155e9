"""Motorola S-record: build and parse.

Source: Motorola S-record format as documented in srec(5) (the "S-record" appendix of the
M68000 family reference manuals). Output matched byte for byte: GNU objcopy 2.40
``-O srec`` (BFD ``srec.c``), including ``--srec-len`` and ``--srec-forceS3``.

A file is a sequence of text records ``S<t><cc><address><data><ck>``: ``cc`` counts the
address, data and checksum bytes; ``ck`` is the ones' complement of the low byte of the sum
of the count, address and data bytes. Record types:

====  =============================================================
S0    header: 16-bit address 0000, free-form data (objcopy: file name)
S1    data, 16-bit address          S9  start address, 16-bit (ends S1 files)
S2    data, 24-bit address          S8  start address, 24-bit (ends S2 files)
S3    data, 32-bit address          S7  start address, 32-bit (ends S3 files)
S5    count of S1/S2/S3 records, 16-bit
S6    count of S1/S2/S3 records, 24-bit
====  =============================================================

What :func:`build` writes, as objcopy does (checked in ``tests/test_flashfiles.py``):

- Upper-case hex, CR LF line ends.
- Always an S0 record first; objcopy puts the *output file name as given on its command
  line* there (the path as typed, e.g. ``build/fw.srec``, truncated to 40 bytes).
  :func:`objcopy_header` gives those bytes; the default here is an empty header
  (``S0030000FC``).
- One address width for the whole file: S1 if every segment's last byte is at or below
  0xFFFF, else S2 if at or below 0xFFFFFF, else S3 (``addr_width=4`` is
  ``--srec-forceS3``). Segments are sorted by address and each is chunked from its own first
  byte into ``record_size``-byte records (``--srec-len``; default 16).
- No S5/S6 count record (objcopy never writes one); ``count_record=True`` adds one.
- A final S9/S8/S7 of the same width carrying the start address (0 when there is none).

Where this differs from objcopy: objcopy chooses the width from the data alone and then
writes the start address truncated to that width (data below 64 KiB with entry
0x12345678 gives ``S9035678..``: a wrong entry point, silently). :func:`build` widens the
whole file instead so the start address fits (S3 data and an S7 record in that example).
The output is identical to objcopy's whenever objcopy's is correct.
"""

from __future__ import annotations

import binascii
import os
from dataclasses import dataclass
from typing import Sequence, Union

from formats.errors import FormatError
from formats._records import check_segments, line_error, merge_pieces, text_lines, text_records

__all__ = ["SrecImage", "build", "objcopy_header", "parse"]

Buffer = Union[bytes, bytearray, memoryview]

_EOL = b"\r\n"
_ADDRESS_LIMIT = 1 << 32

#: ``_NOT[s] == (~s) & 0xFF``: the S-record checksum of a byte sum ``s``.
_NOT = bytes(0xFF - i for i in range(256))

#: data record type by address width in bytes, and its terminator.
_DATA_TYPE = {2: 1, 3: 2, 4: 3}
_END_TYPE = {2: 9, 3: 8, 4: 7}
_WIDTH_OF = {0: 2, 1: 2, 2: 3, 3: 4, 5: 2, 6: 3, 7: 4, 8: 3, 9: 2}

#: Largest data length of one record per address width (count byte <= 255).
_MAX_DATA = {2: 252, 3: 251, 4: 250}


@dataclass(frozen=True)
class SrecImage:
    """A parsed S-record file.

    Attributes:
        segments: ``((address, data), ...)`` sorted, with touching records merged.
        start: the address in the S7/S8/S9 record (0 when the writer had no entry), or
            ``None`` when the file has no termination record.
        header: the data bytes of the S0 record (``b""`` when absent or empty).
        addr_width: the address width of the data records in bytes (2, 3 or 4), or of the
            termination record when there is no data; ``None`` for neither.
        count: the value of the S5/S6 record, or ``None`` when there is none.
    """

    segments: tuple[tuple[int, bytes], ...]
    start: int | None = None
    header: bytes = b""
    addr_width: int | None = None
    count: int | None = None


def objcopy_header(output_name: str | bytes | os.PathLike) -> bytes:
    """The S0 data objcopy writes: the output file name as passed to it, first 40 bytes.

    ``objcopy -O srec in.elf build/fw.srec`` writes ``b"build/fw.srec"``; pass the same
    string here (not an absolute path, unless objcopy was given one).
    """
    return os.fsencode(output_name)[:40]


def _record(rtype: int, address: int, width: int, payload: bytes) -> bytes:
    rec = bytes((width + len(payload) + 1,)) + address.to_bytes(width, "big") + payload
    return b"S%d" % rtype + binascii.hexlify(rec + bytes((_NOT[sum(rec) & 0xFF],))).upper() + _EOL


def _width_for(last: int) -> int:
    if last <= 0xFFFF:
        return 2
    if last <= 0xFFFFFF:
        return 3
    return 4


def build(
    segments: Sequence[tuple[int, Buffer]],
    *,
    start: int | None = None,
    header: bytes = b"",
    record_size: int = 16,
    addr_width: int | None = None,
    count_record: bool = False,
) -> bytes:
    """Render ``segments`` as a Motorola S-record file (ASCII bytes, CR LF line ends).

    Args:
        segments: ``[(load address, data), ...]``; addresses in bytes; sorted here, empty
            ones skipped, each chunked from its own first byte.
        start: entry address for the S7/S8/S9 record; ``None`` writes 0 (as objcopy).
        header: S0 data, at most 252 bytes; use :func:`objcopy_header` to reproduce
            objcopy's file-name header.
        record_size: data bytes per record (objcopy ``--srec-len``), 1 up to 252/251/250
            for S1/S2/S3.
        addr_width: 2, 3 or 4 to force S1/S2/S3 (4 is ``--srec-forceS3``); ``None`` picks
            the narrowest that holds every data byte and the start address.
        count_record: also write an S5 (or S6, above 65535 records) record counting the
            data records, before the termination record.

    Returns:
        The file contents; byte-identical to GNU objcopy 2.40 ``-O srec`` for the same
        content and header, except where objcopy would truncate the start address (see the
        module docstring).

    Raises:
        FormatError: data beyond 4 GiB or beyond a forced ``addr_width``, a start address
            that does not fit, overlapping segments, a negative address, a ``record_size``
            or ``header`` too long for the record, or more data records than S6 can count.
    """
    if addr_width not in (None, 2, 3, 4):
        raise FormatError(f"address width {addr_width} is not 2, 3 or 4 bytes", field="addr_width")
    limit = _ADDRESS_LIMIT if addr_width is None else 1 << (8 * addr_width)
    segs = check_segments(segments, limit, f"{8 * (addr_width or 4)}-bit S-record")
    entry = start or 0
    if not 0 <= entry < limit:
        bits = 8 * (addr_width or 4)
        raise FormatError(f"start address {entry:#x} does not fit {bits} bits", field="start")
    if addr_width is None:
        last = max([a + len(d) - 1 for a, d in segs] + [entry])
        addr_width = _width_for(last)
    if not 1 <= record_size <= _MAX_DATA[addr_width]:
        raise FormatError(
            f"record size {record_size} out of range for S{_DATA_TYPE[addr_width]} records "
            f"(1..{_MAX_DATA[addr_width]})",
            field="record_size",
        )
    header = bytes(header)
    if len(header) > 252:
        raise FormatError(f"S0 header of {len(header)} bytes is longer than 252", field="header")

    out = [_record(0, 0, 2, header)]
    prefix = b"S%d" % _DATA_TYPE[addr_width]
    bias = addr_width + 1

    def head(n: int) -> bytes:
        return bytes((n + bias,))

    records = 0
    for address, data in segs:
        out.append(text_records(prefix, head, address, addr_width, b"", data, record_size, _NOT))
        records += -(-len(data) // record_size)
    if count_record:
        if records > 0xFFFFFF:
            raise FormatError(f"{records} data records are more than an S6 record can count", field="count")
        if records <= 0xFFFF:
            out.append(_record(5, records, 2, b""))
        else:
            out.append(_record(6, records, 3, b""))
    out.append(_record(_END_TYPE[addr_width], entry, addr_width, b""))
    return b"".join(out)


def parse(data: bytes) -> SrecImage:
    """Parse a Motorola S-record file.

    Accepts upper- or lower-case hex, LF / CR LF / CR line ends, surrounding whitespace and
    blank lines. Mixed data widths are accepted (a reader can); the reported
    ``addr_width`` is the widest seen.

    Args:
        data: the file contents.

    Returns:
        An :class:`SrecImage`.

    Raises:
        FormatError: with ``field="line N"`` and the line's byte ``offset``, for a line not
            starting with ``S0``..``S9``, odd or non-hex digits, a count byte that disagrees
            with the line, a bad checksum, an S4 record, an S5/S6 count that disagrees with
            the number of data records, data past 4 GiB, overlapping data, a second
            termination record, or data after the termination record.
    """
    data = bytes(data)
    pieces: list[tuple[int, bytes, int]] = []
    header = b""
    start: int | None = None
    count: int | None = None
    width: int | None = None
    end_width: int | None = None
    records = 0
    for number, line in enumerate(text_lines(data), 1):
        line = line.strip()
        if not line:
            continue
        if start is not None:
            raise line_error(data, number, "record after the termination record")
        if len(line) < 2 or line[0] not in "Ss" or line[1] not in "0123456789":
            raise line_error(data, number, "record does not start with S0..S9")
        rtype = ord(line[1]) - 0x30
        try:
            rec = bytes.fromhex(line[2:])
        except ValueError:
            raise line_error(data, number, "record is not an even number of hex digits") from None
        if not rec or len(rec) != rec[0] + 1:
            raise line_error(
                data,
                number,
                f"record holds {max(len(rec) - 1, 0)} bytes after the count but the count says "
                f"{rec[0] if rec else 0}",
            )
        if rtype == 4:
            raise line_error(data, number, "S4 is a reserved record type")
        aw = _WIDTH_OF[rtype]
        if len(rec) < aw + 2:
            raise line_error(data, number, f"S{rtype} record too short for a {aw}-byte address")
        if (sum(rec) + 1) & 0xFF:
            expected = _NOT[sum(rec[:-1]) & 0xFF]
            raise line_error(data, number, f"checksum {rec[-1]:02X} is wrong (expected {expected:02X})")
        address = int.from_bytes(rec[1 : 1 + aw], "big")
        payload = rec[1 + aw : -1]
        if rtype == 0:
            header = payload
        elif rtype in (1, 2, 3):
            records += 1
            width = max(width or 0, aw)
            if address + len(payload) > _ADDRESS_LIMIT:
                raise line_error(data, number, f"data at {address:#x} runs past 4 GiB")
            if payload:
                pieces.append((address, payload, number))
        elif rtype in (5, 6):
            if payload:
                raise line_error(data, number, f"S{rtype} record with data")
            if address != records:
                message = f"S{rtype} count {address} but {records} data records precede it"
                raise line_error(data, number, message)
            count = address
        else:  # 7, 8, 9
            if payload:
                raise line_error(data, number, f"S{rtype} record with data")
            start = address
            end_width = aw
    return SrecImage(merge_pieces(pieces, "line"), start, header, width or end_width, count)
