"""GNU tar archives in the ``oldgnu`` format, with GNU sparse members, gzip-compressed:
streaming writer and reader.

Sources: GNU tar 1.34 manual, "Basic Tar Format" (``struct posix_header``, ``struct
oldgnu_header``, ``struct sparse``, ``struct sparse_header``) and "Storing Sparse Files"
(old GNU format); RFC 1952 (gzip). The bytes are checked against ``tar --format=oldgnu
-S --hole-detection=raw`` on this machine (tests/test_tar.py): for the same member fields
the uncompressed archive is byte-identical.

Header block (512 bytes; numbers are octal ASCII, zero-padded to the field width - 1 and
NUL-terminated; a number too large for that is base-256, first byte 0x80, as GNU tar):

======  ====  ===============================================================
offset  size  field
======  ====  ===============================================================
0       100   name (a longer name goes first in a ``././@LongLink`` 'L' member)
100     8     mode (permission bits)      108  8   uid       116  8  gid
124     12    size: bytes stored in the archive (for 'S': the data regions only)
136     12    mtime                       148  8   chksum: 6 digits, NUL, space
156     1     typeflag: '0' file, 'S' GNU sparse, 'L' long name, '5' folder
257     8     magic ``"ustar  \\0"`` (oldgnu)   265 32 uname   297 32 gname
386     96    sp[4]: (offset 12, numbytes 12) of the first 4 data regions
482     1     isextended: 1 when extension blocks follow
483     12    realsize: the file's size with its holes
======  ====  ===============================================================

Each extension block after a sparse header holds 21 more (offset, numbytes) pairs and its
own isextended byte at 504. The data regions follow, concatenated, padded to 512 bytes at
the end. The sparse map is what GNU tar 1.34 computes with ``--hole-detection=raw``: the
512-byte blocks holding a non-zero byte, merged, the last cut at the file size, plus a
final ``(realsize, 0)`` entry when the file ends in a hole (an all-zero file is that entry
alone). The archive ends with two zero blocks, padded to a 10240-byte record (blocking
factor 20).

gzip (RFC 1952): one member, MTIME from the caller (0 = none, as ``gzip`` writes for a
pipe), no file name, XFL 2/4/0 for levels 9/1/other, OS 3 (Unix) -- fixed bytes on every
platform, unlike zlib's own wrapper. The deflate stream is zlib's at the given level; the
CRC-32 is the C core's (:mod:`formats.crc`).
"""

from __future__ import annotations

import os
import struct
import zlib
from dataclasses import dataclass
from typing import Callable, Iterable, Iterator, Optional, Sequence, Union

from formats import crc
from formats.errors import FormatError
from formats.sparse import Buffer, SparseImage, reader

__all__ = [
    "BLOCK",
    "RECORD_SIZE",
    "DEFAULT_LEVEL",
    "TarMember",
    "TarEntry",
    "sparse_map",
    "member_headers",
    "archive_size",
    "stream",
    "gzip_stream",
    "GZIP_PIECE",
    "build_gz",
    "parse",
    "extract",
]

BLOCK = 512
RECORD_SIZE = 20 * BLOCK
#: zlib level of :func:`build_gz` (see docs/disks.md for the measurement behind it).
DEFAULT_LEVEL = 6
_MAGIC = b"ustar  \0"
_ZERO_BLOCK = bytes(BLOCK)
_HEADER_SPARSE = 4
_EXT_SPARSE = 21

Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class TarMember:
    """One file to archive.

    Attributes:
        name: path inside the archive (``"disk.raw"``), UTF-8.
        data: the content: a :class:`~formats.sparse.SparseImage` (holes are not stored
            when the member is sparse) or bytes.
        mode: permission bits (0o644).
        mtime: seconds since 1970 (SOURCE_DATE_EPOCH).
        uid, gid: numeric owner (0).
        uname, gname: owner names ("" = none, as ``--numeric-owner``).
        sparse: ``None`` stores a GNU sparse member when the data has holes (as ``tar -S``),
            ``True`` always, ``False`` never (a dense '0' member with every zero stored).
    """

    name: str
    data: Union[SparseImage, bytes]
    mode: int = 0o644
    mtime: int = 0
    uid: int = 0
    gid: int = 0
    uname: str = ""
    gname: str = ""
    sparse: Optional[bool] = None

    @property
    def image(self) -> SparseImage:
        """``data`` as a :class:`~formats.sparse.SparseImage`."""
        return self.data if isinstance(self.data, SparseImage) else SparseImage.from_bytes(self.data)


def sparse_map(image: SparseImage) -> list[tuple[int, int]]:
    """The GNU sparse map of ``image``: ``(offset, numbytes)`` data regions in 512-byte
    blocks (GNU tar's ``--hole-detection=raw``), with the final ``(size, 0)`` entry when
    the image ends in a hole."""
    regions = image.nonzero_ranges(BLOCK)
    if not regions or regions[-1][0] + regions[-1][1] < image.size:
        regions.append((image.size, 0))
    return regions


def _number(value: int, width: int, fld: str) -> bytes:
    """GNU tar's number field: octal digits + NUL, or base-256 when it does not fit."""
    if value < 0:
        raise FormatError(f"{fld} is negative ({value})", field=fld)
    if value < 8 ** (width - 1):
        return b"%0*o\0" % (width - 1, value)
    if value >= 1 << (8 * (width - 1)):
        raise FormatError(f"{fld} {value} does not fit a {width}-byte tar field", field=fld)
    return b"\x80" + value.to_bytes(width - 1, "big")


def _text(value: str, width: int, fld: str) -> bytes:
    raw = value.encode("utf-8")
    if len(raw) > width:
        raise FormatError(f"{fld} {value!r} is longer than {width} bytes", field=fld)
    return raw.ljust(width, b"\0")


def _header(name: bytes, *, mode: int, uid: int, gid: int, size: int, mtime: int, typeflag: bytes,
            uname: str, gname: str, sparse: bytes = b"") -> bytes:
    h = bytearray(BLOCK)
    h[0:100] = name[:100].ljust(100, b"\0")
    h[100:108] = _number(mode & 0o7777, 8, "mode")
    h[108:116] = _number(uid, 8, "uid")
    h[116:124] = _number(gid, 8, "gid")
    h[124:136] = _number(size, 12, "size")
    h[136:148] = _number(mtime, 12, "mtime")
    h[148:156] = b" " * 8
    h[156:157] = typeflag
    h[257:265] = _MAGIC
    h[265:297] = _text(uname, 32, "uname")
    h[297:329] = _text(gname, 32, "gname")
    h[386:386 + len(sparse)] = sparse
    h[148:156] = b"%06o\0 " % sum(h)
    return bytes(h)


def _sparse_entries(entries: Sequence[tuple[int, int]]) -> bytes:
    return b"".join(_number(o, 12, "sparse offset") + _number(n, 12, "sparse numbytes") for o, n in entries)


def _is_sparse(member: TarMember, image: SparseImage) -> tuple[bool, list[tuple[int, int]]]:
    if member.sparse is False or image.size == 0:
        return False, []
    smap = sparse_map(image)
    if member.sparse is None and smap == [(0, image.size)]:
        return False, []
    return True, smap


def member_headers(member: TarMember) -> tuple[bytes, list[tuple[int, int]]]:
    """The header blocks of ``member`` (a LongLink member for a name over 100 bytes, the
    header, sparse extension blocks) and the regions of its data that follow:
    ``(headers, [(offset, length), ...])`` (one region ``(0, size)`` for a dense member).

    Raises:
        FormatError: a field does not fit (names over 32 bytes for uname, ...).
    """
    image = member.image
    name = member.name.encode("utf-8")
    if not name or b"\0" in name:
        raise FormatError(f"member name {member.name!r} is empty or holds NUL", field="name")
    owner = dict(uid=member.uid, gid=member.gid, uname=member.uname, gname=member.gname)
    out = []
    if len(name) > 100:
        # GNU tar names the owner of a LongLink header after uid 0 and gid 0 of the host
        # ("root"/"root" on Linux); written as Linux's, whatever the host.
        out.append(_header(b"././@LongLink", mode=0o644, uid=0, gid=0, size=len(name) + 1, mtime=0, typeflag=b"L",
                           uname="root", gname="root"))
        long = name + b"\0"
        out.append(long + bytes(-len(long) % BLOCK))
        name = name[:99]  # GNU tar keeps a NUL in the header's copy of a long name
    sparse, smap = _is_sparse(member, image)
    if not sparse:
        out.append(_header(name, mode=member.mode, size=image.size, mtime=member.mtime, typeflag=b"0", **owner))
        return b"".join(out), ([(0, image.size)] if image.size else [])
    stored = sum(n for _, n in smap)
    first, rest = smap[:_HEADER_SPARSE], smap[_HEADER_SPARSE:]
    extra = _sparse_entries(first).ljust(96, b"\0") + (b"\1" if rest else b"\0") + _number(image.size, 12, "realsize")
    out.append(_header(name, mode=member.mode, size=stored, mtime=member.mtime, typeflag=b"S", sparse=extra, **owner))
    for i in range(0, len(rest), _EXT_SPARSE):
        part = rest[i:i + _EXT_SPARSE]
        more = i + _EXT_SPARSE < len(rest)
        out.append(_sparse_entries(part).ljust(504, b"\0") + (b"\1" if more else b"\0") + bytes(7))
    return b"".join(out), [(o, n) for o, n in smap if n]


def _archive_size(plan: Sequence[tuple[bytes, list[tuple[int, int]]]], record_size: int) -> int:
    n = 2 * BLOCK
    for headers, regions in plan:
        data = sum(k for _, k in regions)
        n += len(headers) + data + (-data % BLOCK)
    return n + (-n % record_size)


def archive_size(members: Sequence[TarMember], *, record_size: int = RECORD_SIZE) -> int:
    """Bytes of the uncompressed archive :func:`stream` writes (the progress total)."""
    return _archive_size([member_headers(m) for m in members], record_size)


def stream(members: Sequence[TarMember], *, record_size: int = RECORD_SIZE,
           progress: Optional[Progress] = None, chunk_size: int = 1 << 20) -> Iterator[Union[bytes, memoryview]]:
    """The uncompressed archive as a generator of chunks (at most ``chunk_size`` bytes of
    member data each): nothing but the current chunk is held in memory, holes of a sparse
    member are never expanded.

    Args:
        members: the files, in archive order.
        record_size: the archive is padded to a multiple of this (10240, GNU tar's default).
        progress: called as ``progress(done, total)`` (bytes of the uncompressed archive)
            after each chunk.

    Raises:
        FormatError: from :func:`member_headers` (before anything is yielded).
    """
    plan = [(m, *member_headers(m)) for m in members]
    total = _archive_size([(h, r) for _, h, r in plan], record_size)
    done = 0

    def tick(n: int) -> None:
        nonlocal done
        done += n
        if progress is not None:
            progress(done, total)

    for member, headers, regions in plan:
        yield headers
        tick(len(headers))
        image = member.image
        stored = 0
        for offset, length in regions:
            for chunk in image.iter_range(offset, length, chunk_size):
                yield chunk
                tick(len(chunk))
            stored += length
        if stored % BLOCK:
            pad = bytes(-stored % BLOCK)
            yield pad
            tick(len(pad))
    tail = 2 * BLOCK + (-(done + 2 * BLOCK) % record_size)
    yield bytes(tail)
    tick(tail)


#: Input bytes per independently compressed deflate piece (see :func:`gzip_stream`).
GZIP_PIECE = 1 << 20
_DICT = 32 * 1024


def _pieces(chunks: Iterable[Buffer], size: int) -> Iterator[bytes]:
    """Re-cut ``chunks`` into pieces of exactly ``size`` bytes (the last one shorter), so
    the compressed output does not depend on how the input was chunked."""
    buf = bytearray()
    for chunk in chunks:
        buf += chunk
        while len(buf) >= size:
            yield bytes(buf[:size])
            del buf[:size]
    yield bytes(buf)


def _deflate_piece(piece: bytes, zdict: bytes, level: int, last: bool) -> bytes:
    c = zlib.compressobj(level, zlib.DEFLATED, -15, 8, zlib.Z_DEFAULT_STRATEGY, zdict) if zdict else \
        zlib.compressobj(level, zlib.DEFLATED, -15)
    return c.compress(piece) + c.flush(zlib.Z_FINISH if last else zlib.Z_SYNC_FLUSH)


def gzip_stream(chunks: Iterable[Buffer], *, level: int = DEFAULT_LEVEL, mtime: int = 0,
                workers: Optional[int] = None) -> Iterator[bytes]:
    """``chunks`` compressed as one gzip member (RFC 1952), streaming.

    The input is cut into 1 MiB pieces (:data:`GZIP_PIECE`), each deflated by its own zlib
    stream primed with the previous piece's last 32 KiB as dictionary and ended with a
    sync flush (the last one with the final block), as pigz does: one valid deflate stream,
    almost exactly as small as a serial one, whose pieces compress on several cores
    (zlib releases the GIL). The bytes depend only on the input and ``level``, never on
    ``workers`` or the input's chunking.

    Args:
        level: zlib level 1..9.
        mtime: the header's MTIME (0 = no time stamp).
        workers: threads compressing (default: the CPU count, at most 8); 1 = in this thread.

    Raises:
        FormatError: level or mtime out of range.
    """
    if not 1 <= level <= 9:
        raise FormatError(f"gzip level must be 1..9, got {level}", field="level")
    if not 0 <= mtime <= 0xFFFFFFFF:
        raise FormatError(f"gzip MTIME must be 32 bits, got {mtime}", field="MTIME")
    xfl = 2 if level == 9 else 4 if level == 1 else 0
    workers = workers or min(8, os.cpu_count() or 1)
    running = crc.new("CRC-32/ISO-HDLC")

    def jobs() -> Iterator[tuple[bytes, bytes, bool]]:
        prev = b""
        it = _pieces(chunks, GZIP_PIECE)
        piece = next(it)
        for following in it:
            yield piece, prev[-_DICT:], False
            prev, piece = piece, following
        yield piece, prev[-_DICT:], True

    def header() -> bytes:
        return b"\x1f\x8b\x08\x00" + struct.pack("<I", mtime) + bytes((xfl, 3))

    if workers <= 1:
        yield header()
        for piece, zdict, last in jobs():
            running.update(piece)
            yield _deflate_piece(piece, zdict, level, last)
    else:
        from collections import deque
        from concurrent.futures import ThreadPoolExecutor

        yield header()
        with ThreadPoolExecutor(max_workers=workers) as pool:
            pending: deque = deque()
            for piece, zdict, last in jobs():
                running.update(piece)
                pending.append(pool.submit(_deflate_piece, piece, zdict, level, last))
                if len(pending) > 2 * workers:
                    yield pending.popleft().result()
            while pending:
                yield pending.popleft().result()
    yield struct.pack("<II", running.crcvalue, running.length & 0xFFFFFFFF)


def build_gz(members: Sequence[TarMember], *, level: int = DEFAULT_LEVEL, gzip_mtime: int = 0,
             record_size: int = RECORD_SIZE, progress: Optional[Progress] = None,
             workers: Optional[int] = None) -> Iterator[bytes]:
    """The ``.tar.gz`` of ``members`` as a generator of compressed chunks: what
    ``tar --format=oldgnu -Sczf`` makes, deterministic (see :func:`gzip_stream` for
    ``level`` and ``workers``). ``progress(done, total)`` counts bytes of the uncompressed
    archive (:func:`archive_size` is the total)."""
    return gzip_stream(stream(members, record_size=record_size, progress=progress), level=level, mtime=gzip_mtime,
                       workers=workers)


# -- reading ------------------------------------------------------------------------------


@dataclass(frozen=True)
class TarEntry:
    """One member of an archive, as :func:`parse` lists it.

    Attributes:
        name, typeflag (``"0"``, ``"S"``, ``"5"``, ...), mode, uid, gid, uname, gname, mtime.
        size: the file's size (realsize for a sparse member).
        stored_size: bytes of data in the archive.
        sparse_map: ``((offset, numbytes), ...)`` for a GNU sparse member, else ``None``.
        header_offset: offset of the member's (first) header in the uncompressed archive.
    """

    name: str
    typeflag: str
    mode: int
    uid: int
    gid: int
    uname: str
    gname: str
    mtime: int
    size: int
    stored_size: int
    sparse_map: Optional[tuple[tuple[int, int], ...]]
    header_offset: int


class _Input:
    """Sequential reads from the uncompressed archive (gunzipping on the fly)."""

    def __init__(self, data, compression: str) -> None:
        self._src = reader(data)
        self._pos_in = 0
        self.pos = 0
        self._buf = bytearray()
        head = self._src.read(0, min(2, self._src.size))
        gz = head == b"\x1f\x8b" if compression == "auto" else compression == "gzip"
        self._dec = zlib.decompressobj(16 + zlib.MAX_WBITS) if gz else None
        self.gzip = gz

    def _fill(self, n: int) -> None:
        while len(self._buf) < n and (self._pos_in < self._src.size or (self._dec and self._dec.unconsumed_tail)):
            if self._dec is None:
                k = min(1 << 20, self._src.size - self._pos_in)
                self._buf += self._src.read(self._pos_in, k)
                self._pos_in += k
                continue
            if self._dec.unconsumed_tail:
                piece = self._dec.unconsumed_tail
            else:
                k = min(1 << 16, self._src.size - self._pos_in)
                piece = self._src.read(self._pos_in, k)
                self._pos_in += k
            try:
                self._buf += self._dec.decompress(piece, 1 << 20)
            except zlib.error as exc:
                raise FormatError(f"gzip data is corrupt ({exc})", field="gzip", offset=self._pos_in) from None
            if self._dec.eof:
                rest = self._dec.unused_data
                self._pos_in -= len(rest)
                if self._pos_in < self._src.size and self._src.read(self._pos_in, 2) == b"\x1f\x8b":
                    self._dec = zlib.decompressobj(16 + zlib.MAX_WBITS)  # concatenated gzip members
                else:
                    self._pos_in = self._src.size

    def read(self, n: int) -> bytes:
        self._fill(n)
        out = bytes(self._buf[:n])
        del self._buf[:n]
        self.pos += len(out)
        return out

    def chunks(self, n: int) -> Iterator[bytes]:
        while n > 0:
            piece = self.read(min(n, 1 << 20))
            if not piece:
                raise FormatError("archive ends inside member data", field="member data", offset=self.pos)
            n -= len(piece)
            yield piece


def _octal(raw: bytes, fld: str, offset: int) -> int:
    if raw[:1] in (b"\x80", b"\xff"):
        v = int.from_bytes(raw[1:], "big")
        return v - (1 << (8 * len(raw) - 8)) if raw[0] == 0xFF else v
    s = raw.split(b"\0", 1)[0].strip(b" ")
    if not s:
        return 0
    try:
        return int(s, 8)
    except ValueError:
        raise FormatError(f"is {raw!r}, expected an octal number", field=fld, offset=offset) from None


def _sparse_pairs(raw: bytes, count: int, base: int) -> list[tuple[int, int]]:
    out = []
    for i in range(count):
        o = raw[i * 24:i * 24 + 12]
        if not any(o):
            break
        out.append((_octal(o, "sparse offset", base + i * 24), _octal(raw[i * 24 + 12:i * 24 + 24],
                                                                    "sparse numbytes", base + i * 24 + 12)))
    return out


def _entries(inp: _Input) -> Iterator[tuple[TarEntry, list[tuple[int, int]]]]:
    """Yield each member (its data still unread: the caller must consume exactly the
    returned regions' bytes, padded to a block, or skip them)."""
    long_name: Optional[bytes] = None
    pax_path: Optional[str] = None
    while True:
        start = inp.pos
        h = inp.read(BLOCK)
        if len(h) < BLOCK:
            if h or start == 0:
                raise FormatError(f"archive ends inside a header ({len(h)} of 512 bytes)", field="header", offset=start)
            raise FormatError("archive has no end-of-archive blocks", field="header", offset=start)
        if h == _ZERO_BLOCK:
            return
        want = _octal(h[148:156], "chksum", start + 148)
        got = sum(h[:148]) + 8 * 32 + sum(h[156:])
        if want != got and want != sum((b - 256 if b > 127 else b) for b in h[:148] + b" " * 8 + h[156:]):
            raise FormatError(f"header checksum is {want:o}, the header sums to {got:o}", field="chksum",
                              offset=start + 148)
        typeflag = h[156:157].decode("latin-1") or "0"
        size = _octal(h[124:136], "size", start + 124)
        if typeflag in ("L", "x", "g", "K"):
            body = b"".join(inp.chunks(size)) if size else b""
            inp.read(-size % BLOCK)
            if typeflag == "L":
                long_name = body.split(b"\0", 1)[0]
            elif typeflag == "x":
                for rec in _pax_records(body, start):
                    if rec[0] == "path":
                        pax_path = rec[1]
            continue
        name = pax_path or (long_name or h[0:100].split(b"\0", 1)[0]).decode("utf-8", "replace")
        long_name = pax_path = None
        smap = None
        realsize = size
        if typeflag == "S":
            pairs = _sparse_pairs(h[386:482], _HEADER_SPARSE, start + 386)
            extended = h[482]
            realsize = _octal(h[483:495], "realsize", start + 483)
            while extended:
                ext_at = inp.pos
                e = inp.read(BLOCK)
                if len(e) < BLOCK:
                    raise FormatError("archive ends inside a sparse extension block", field="isextended",
                                      offset=ext_at)
                pairs += _sparse_pairs(e[:504], _EXT_SPARSE, ext_at)
                extended = e[504]
            pos = 0
            for o, n in pairs:
                if o < pos or o + n > realsize:
                    raise FormatError(f"sparse map entry ({o}, {n}) is out of order or past realsize {realsize}",
                                      field="sparse map", offset=start + 386)
                pos = o + n
            if sum(n for _, n in pairs) != size:
                raise FormatError(f"sparse map holds {sum(n for _, n in pairs)} bytes, size says {size}",
                                  field="size", offset=start + 124)
            smap = tuple(pairs)
        regions = list(smap) if smap is not None else ([(0, size)] if size and typeflag in "0\x007" else [])
        entry = TarEntry(name=name, typeflag=typeflag, mode=_octal(h[100:108], "mode", start + 100),
                         uid=_octal(h[108:116], "uid", start + 108), gid=_octal(h[116:124], "gid", start + 116),
                         uname=h[265:297].split(b"\0", 1)[0].decode("utf-8", "replace"),
                         gname=h[297:329].split(b"\0", 1)[0].decode("utf-8", "replace"),
                         mtime=_octal(h[136:148], "mtime", start + 136), size=realsize, stored_size=size,
                         sparse_map=smap, header_offset=start)
        if not regions and size:  # folder, link, ...: skip any data it claims
            regions = [(0, size)]
        yield entry, [r for r in regions if r[1]]


def _pax_records(body: bytes, offset: int) -> Iterator[tuple[str, str]]:
    pos = 0
    while pos < len(body) and body[pos:pos + 1] != b"\0":
        sp = body.find(b" ", pos)
        try:
            length = int(body[pos:sp])
        except ValueError:
            raise FormatError("pax header record has no length", field="pax header", offset=offset) from None
        if length <= 0 or sp < 0 or pos + length > len(body):
            raise FormatError("pax header record length is out of range", field="pax header", offset=offset)
        key, _, value = body[sp + 1:pos + length - 1].partition(b"=")
        yield key.decode("utf-8", "replace"), value.decode("utf-8", "replace")
        pos += length


def _skip(inp: _Input, regions: list[tuple[int, int]]) -> None:
    n = sum(k for _, k in regions)
    for _ in inp.chunks(n + (-n % BLOCK)):
        pass


def parse(data, *, compression: str = "auto") -> list[TarEntry]:
    """List the members of a tar archive (gzip-compressed or not), streaming through it.

    Args:
        data: the archive (bytes-like, ``mmap`` or :class:`~formats.sparse.SparseImage`).
        compression: ``"auto"`` (gzip magic), ``"gzip"`` or ``"none"``.

    Raises:
        FormatError: a bad header checksum or number, a truncated archive, corrupt gzip
            data, an inconsistent sparse map (field and offset in the uncompressed archive).
    """
    inp = _Input(data, compression)
    out = []
    for entry, regions in _entries(inp):
        out.append(entry)
        _skip(inp, regions)
    return out


def extract(data, name: str, *, compression: str = "auto") -> SparseImage:
    """The content of member ``name`` as a :class:`~formats.sparse.SparseImage` of its real
    size: a sparse member's holes stay holes, a dense member's all-zero 512-byte blocks are
    dropped while reading (so a dense 1 GiB disk of zeros takes no memory). ``to_bytes()``
    or ``chunks()`` give the dense bytes.

    Raises:
        FormatError: no such member, or as :func:`parse`.
    """
    inp = _Input(data, compression)
    for entry, regions in _entries(inp):
        if entry.name != name or entry.typeflag not in ("0", "\0", "S", "7"):
            _skip(inp, regions)
            continue
        extents = []
        stored = 0
        for offset, length in regions:
            pos = offset
            for piece in inp.chunks(length):
                img = SparseImage.from_bytes(piece, block=BLOCK)
                extents.extend((pos + o, d) for o, d in img.extents)
                pos += len(piece)
            stored += length
        inp.read(-stored % BLOCK)
        return SparseImage(entry.size, extents)
    raise FormatError(f"no member {name!r} in the archive", field="name")
