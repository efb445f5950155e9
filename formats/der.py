"""DER type-length-value elements, read and written strictly (ITU-T X.690 §8.1, §10.1).

Only what the signing layer needs to take a CMS blob or an X.509 certificate apart and put
it back together byte for byte: :func:`tlv` writes one element with the minimal definite
length, :func:`element` reads one, :func:`children` splits a constructed element. A reader
here never interprets values; comparing a rebuilt blob with the original (``tlv(...) ==
der``) is how callers refuse non-canonical encodings (long-form lengths that fit in short
form, leading zero length bytes), which :func:`element` itself accepts.
"""

from __future__ import annotations

from formats.errors import FormatError


def tlv(tag: int, content: bytes) -> bytes:
    """One DER element: ``tag`` (one byte), the minimal definite length, ``content``."""
    n = len(content)
    if n < 0x80:
        return bytes([tag, n]) + content
    size = (n.bit_length() + 7) // 8
    return bytes([tag, 0x80 | size]) + n.to_bytes(size, "big") + content


def element(der: bytes, pos: int = 0, end: int | None = None) -> tuple[int, int, int]:
    """The element at ``pos``: ``(tag, content start, content end)`` (offsets into ``der``).

    Single-byte tags only (CMS and X.509 use no tag numbers above 30); definite lengths of
    at most 4 length bytes.

    Raises:
        FormatError: truncated, indefinite length, or content past ``end`` (default the
            end of ``der``); ``offset`` is where the element starts.
    """
    end = len(der) if end is None else end
    if pos + 2 > end:
        raise FormatError("DER element header truncated", offset=pos, field="DER")
    tag, first = der[pos], der[pos + 1]
    if tag & 0x1F == 0x1F:
        raise FormatError(f"DER tag 0x{tag:02x}: multi-byte tag numbers are not used here", offset=pos, field="DER")
    if first < 0x80:
        start, length = pos + 2, first
    else:
        k = first & 0x7F
        if k == 0 or k > 4 or pos + 2 + k > end:
            raise FormatError("DER length: indefinite, over 4 bytes or truncated", offset=pos, field="DER")
        start, length = pos + 2 + k, int.from_bytes(der[pos + 2 : pos + 2 + k], "big")
    if start + length > end:
        raise FormatError(f"DER element of {length} bytes runs past its container", offset=pos, field="DER")
    return tag, start, start + length


def children(der: bytes, start: int, end: int) -> list[tuple[int, bytes]]:
    """The elements filling ``der[start:end]`` (a constructed element's content), as
    ``(tag, whole element bytes)``.

    Raises:
        FormatError: an element is malformed or runs past ``end``.
    """
    out = []
    pos = start
    while pos < end:
        tag, _s, stop = element(der, pos, end)
        out.append((tag, bytes(der[pos:stop])))
        pos = stop
    return out


def content(der: bytes) -> bytes:
    """The content octets of the single element ``der``.

    Raises:
        FormatError: malformed, or bytes follow the element.
    """
    _tag, start, stop = element(der)
    if stop != len(der):
        raise FormatError(f"{len(der) - stop} bytes follow the DER element", offset=stop, field="DER")
    return bytes(der[start:stop])
