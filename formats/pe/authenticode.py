"""The Authenticode image hash and the attribute certificate table a signature lives in.

Source: Microsoft, "Windows Authenticode Portable Executable Signature Format" (1.0,
2008), "Calculating the PE Image Hash"; EDK2 ``DxeImageVerificationLib`` computes the
same ranges. The hash covers, in this order:

1. the headers from offset 0 to ``SizeOfHeaders``, without the optional header's
   ``CheckSum`` (4 bytes) and without the Certificate Table data directory entry (8);
2. every section's raw data (``SizeOfRawData`` bytes at ``PointerToRawData``; sections
   with none are skipped), in ascending ``PointerToRawData`` order;
3. the data after that (``SUM_OF_BYTES_HASHED`` = SizeOfHeaders + the sections' raw
   sizes) up to the end of the file less the certificate table's size.

The certificate table is therefore outside the hash: signing appends it, and must make
the file end on an 8-byte boundary first (the table is quadword-aligned); the padding
becomes hashed trailing data. Signing itself (PKCS#7) is :mod:`signing.authenticode`.
"""

from __future__ import annotations

import hashlib

from formats.checksum import pe_checksum
from formats.errors import FormatError
from formats.pe import constants as C
from formats.pe.image import Certificate, PeFile, parse

__all__ = ["hashed_ranges", "image_digest", "without_certificates", "prepare_for_signing", "with_certificates",
           "AUTHENTICODE_CERTIFICATE"]


def hashed_ranges(pe: PeFile) -> list[tuple[int, int]]:
    """The ``(start, end)`` file ranges the Authenticode hash covers, in hashing order
    (module docstring).

    Raises:
        FormatError: the certificate table is not at the end of the file (data after it
            would be covered by no signature).
    """
    headers = pe.optional_header.SizeOfHeaders
    skips = [(pe.checksum_offset, pe.checksum_offset + 4)]
    if pe.certificate_directory_offset is not None:
        skips.append((pe.certificate_directory_offset, pe.certificate_directory_offset + 8))
    ranges, pos = [], 0
    for a, b in sorted(skips):
        if a >= headers:
            break
        ranges.append((pos, a))
        pos = b
    if pos < headers:
        ranges.append((pos, headers))
    hashed = headers
    for s in sorted((s for s in pe.sections if s.SizeOfRawData), key=lambda s: s.PointerToRawData):
        ranges.append((s.PointerToRawData, s.PointerToRawData + s.SizeOfRawData))
        hashed += s.SizeOfRawData
    end = len(pe.data)
    table = pe.certificate_table
    if table is not None:
        if table[0] + table[1] != end:
            raise FormatError(f"{end - table[0] - table[1]} bytes follow the certificate table (0x{table[0]:x}+"
                              f"0x{table[1]:x}); no signature covers them", offset=pe.certificate_directory_offset,
                              field="Certificate Table")
        end -= table[1]
    if end > hashed:
        ranges.append((hashed, end))
    return [(a, b) for a, b in ranges if b > a]


#: The digests Authenticode images are signed with (Authenticode PE spec, "DigestInfo"),
#: by hashlib name, with their size in bytes; anything else in a signature is refused.
DIGEST_SIZES = {"sha1": 20, "sha256": 32, "sha384": 48, "sha512": 64}


def image_digest(data, algorithm: str = "sha256") -> bytes:
    """The Authenticode digest of the PE image ``data`` (bytes-like or a parsed
    :class:`~formats.pe.image.PeFile`), with the hashlib algorithm ``algorithm``.

    Raises:
        FormatError: ``data`` is not a valid PE image (see :func:`formats.pe.parse`) or
            data follows its certificate table; ``algorithm`` is not one of :data:`DIGEST_SIZES`.
    """
    pe = data if isinstance(data, PeFile) else parse(data)
    if algorithm not in DIGEST_SIZES:
        raise FormatError(f"digest algorithm {algorithm!r}, expected one of {', '.join(DIGEST_SIZES)}",
                          field="digestAlgorithm")
    h = hashlib.new(algorithm)
    mv = memoryview(pe.data)
    for a, b in hashed_ranges(pe):
        h.update(mv[a:b])
    return h.digest()


def _set_directory(buf: bytearray, pe: PeFile, offset: int, size: int) -> None:
    if pe.certificate_directory_offset is None:
        raise FormatError("the image has no Certificate Table directory entry (NumberOfRvaAndSizes < 5)",
                          offset=pe.checksum_offset, field="NumberOfRvaAndSizes")
    at = pe.certificate_directory_offset
    buf[at:at + 8] = offset.to_bytes(4, "little") + size.to_bytes(4, "little")


def _finish(buf: bytearray, pe: PeFile) -> bytes:
    buf[pe.checksum_offset:pe.checksum_offset + 4] = pe_checksum(buf, pe.checksum_offset).to_bytes(4, "little")
    return bytes(buf)


def without_certificates(data) -> bytes:
    """``data`` with its attribute certificate table removed (directory entry zeroed,
    checksum recomputed); an unsigned image comes back unchanged but for the checksum.

    Raises:
        FormatError: not a PE image; data follows the certificate table.
    """
    pe = parse(data)
    table = pe.certificate_table
    buf = bytearray(pe.data)
    if table is not None:
        if table[0] + table[1] != len(buf):
            raise FormatError(f"{len(buf) - table[0] - table[1]} bytes follow the certificate table",
                              offset=pe.certificate_directory_offset, field="Certificate Table")
        del buf[table[0]:]
        _set_directory(buf, pe, 0, 0)
    return _finish(buf, pe)


def prepare_for_signing(data) -> bytes:
    """The image as it is hashed for a new signature: certificates removed and the file
    zero-padded to a multiple of 8 bytes, where the certificate table will start.

    Raises:
        FormatError: as :func:`without_certificates`.
    """
    out = without_certificates(data)
    if len(out) % 8:
        pe = parse(out)
        buf = bytearray(out) + bytes(-len(out) % 8)
        out = _finish(buf, pe)
    return out


def with_certificates(prepared, certificates: list[Certificate]) -> bytes:
    """Append the attribute certificate table (``certificates``, each entry 8-byte
    aligned) to an image from :func:`prepare_for_signing`; set the Certificate Table
    directory entry (a file offset) and recompute the checksum.

    Raises:
        FormatError: the image already has certificates or does not end on an 8-byte
            boundary (so the signed digest would not match).
    """
    pe = parse(prepared)
    if pe.certificate_table is not None:
        raise FormatError("the image already has a certificate table; remove it first", field="Certificate Table")
    if len(pe.data) % 8:
        raise FormatError(f"the image is {len(pe.data)} bytes, not a multiple of 8: the certificate table must be "
                          "quadword-aligned", field="Certificate Table")
    table = b"".join(c.entry() for c in certificates)
    buf = bytearray(pe.data) + table
    _set_directory(buf, pe, len(pe.data) if table else 0, len(table))
    return _finish(buf, pe)


#: The certificate type Authenticode uses (WIN_CERT_TYPE_PKCS_SIGNED_DATA, revision 2.0).
AUTHENTICODE_CERTIFICATE = (C.WIN_CERT_REVISION_2_0, C.WIN_CERT_TYPE_PKCS_SIGNED_DATA)
