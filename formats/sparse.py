"""Sparse disk images: a size plus the few byte ranges that hold data.

A boot disk is mostly zeros: a 1 GiB GCE disk carries a few MB of boot sector, FAT and
payload. :class:`SparseImage` is the value the disk writers (:mod:`formats.mbr`,
:mod:`formats.gpt`, :mod:`formats.fat`) return and the packagers (:mod:`formats.tar`,
``imgtool.output.write_sparse_atomic``) consume, so such a disk is never materialised in
memory. Every byte outside the data extents reads as zero.

Representation: ``size`` (bytes) and a sorted tuple of non-overlapping *extents*
``(offset, data)``, ``data`` a read-only bytes-like object. Extents may touch; an extent may
itself contain zeros (nothing scans for them unless asked: :meth:`SparseImage.nonzero_ranges`).
The value is immutable: :meth:`SparseImage.place` and :meth:`SparseImage.resized` return
new images sharing the data buffers.

Parsers in ``formats`` accept either a bytes-like object or a :class:`SparseImage`
through :func:`reader`, so ``imgtool info`` can hand them an ``mmap`` of a multi-GiB
file without reading it.
"""

from __future__ import annotations

import bisect
from typing import Iterable, Iterator, Protocol, Sequence, Union

from formats.errors import FormatError

__all__ = ["SparseImage", "ByteReader", "reader", "concat", "Buffer", "CHUNK"]

Buffer = Union[bytes, bytearray, memoryview]

#: Default chunk size of :meth:`SparseImage.chunks` (bytes).
CHUNK = 1 << 20
_ZEROS = bytes(CHUNK)


def _frozen(data) -> Union[bytes, memoryview]:
    """A read-only, byte-format view of ``data`` (bytearray is copied so later changes by
    the caller cannot leak into the image)."""
    if isinstance(data, bytes):
        return data
    if isinstance(data, bytearray):
        return bytes(data)
    if isinstance(data, memoryview):
        mv = data if data.format == "B" and data.ndim == 1 else data.cast("B")
        return mv if mv.readonly else bytes(mv)
    raise FormatError(f"extent data must be bytes-like, not {type(data).__name__}", field="extent")


class SparseImage:
    """An immutable disk (or file) image of ``size`` bytes, zero outside its extents.

    Args:
        size: total size in bytes (>= 0).
        extents: ``(offset, data)`` pairs, any order; offsets in bytes from the start of
            the image, ``data`` bytes-like. Empty extents are dropped.

    Raises:
        FormatError: a negative size or offset, an extent past ``size``, or two extents that
            overlap (``field="extent"``, ``offset`` = the later extent's offset).
    """

    __slots__ = ("size", "_offsets", "_data")

    def __init__(self, size: int, extents: Iterable[tuple[int, Buffer]] = ()) -> None:
        if not isinstance(size, int) or size < 0:
            raise FormatError(f"image size must be a non-negative integer, got {size!r}", field="size")
        items = []
        for offset, data in extents:
            d = _frozen(data)
            if len(d) == 0:
                continue
            if not isinstance(offset, int) or offset < 0:
                raise FormatError(f"extent offset must be a non-negative integer, got {offset!r}", field="extent")
            if offset + len(d) > size:
                raise FormatError(f"extent of {len(d)} bytes at 0x{offset:x} runs past the image end "
                                  f"(size 0x{size:x})", field="extent", offset=offset)
            items.append((offset, d))
        items.sort(key=lambda it: it[0])
        for (o1, d1), (o2, _) in zip(items, items[1:]):
            if o1 + len(d1) > o2:
                raise FormatError(f"extent at 0x{o2:x} overlaps the extent at 0x{o1:x} "
                                  f"(which ends at 0x{o1 + len(d1):x})", field="extent", offset=o2)
        self.size = size
        self._offsets = [o for o, _ in items]
        self._data = [d for _, d in items]

    # -- construction -------------------------------------------------------------------

    @classmethod
    def from_bytes(cls, data: Buffer, *, block: int = 0) -> "SparseImage":
        """An image of ``len(data)`` bytes holding ``data``.

        Args:
            data: the dense content.
            block: 0 keeps ``data`` as one extent; a positive block size (e.g. 512) drops
                every aligned ``block``-byte run that is all zeros, so a dense input with
                large zero areas (a flat image with BSS) becomes sparse.
        """
        d = _frozen(data)
        if block <= 0:
            return cls(len(d), [(0, d)])
        mv = memoryview(d)
        return cls(len(d), [(o, mv[o:o + n]) for o, n in _nonzero_blocks(mv, 0, block)])

    def place(self, offset: int, image: Union["SparseImage", Buffer]) -> "SparseImage":
        """A new image: this one with ``image`` (a sub-image or bytes) at byte ``offset``.

        Used to put a partition's file system into a disk. The placed image must fit inside
        this one; its data must not overlap data already here (its holes may).

        Raises:
            FormatError: it does not fit, or data overlap (``field="extent"``).
        """
        if not isinstance(image, SparseImage):
            image = SparseImage.from_bytes(image)
        if offset < 0 or offset + image.size > self.size:
            raise FormatError(f"a {image.size}-byte image at 0x{offset:x} does not fit in a "
                              f"{self.size}-byte image", field="extent", offset=offset)
        return SparseImage(self.size, [*self.extents, *((offset + o, d) for o, d in image.extents)])

    def resized(self, size: int) -> "SparseImage":
        """The same data in an image of ``size`` bytes (grown with zeros, or shrunk).

        Raises:
            FormatError: shrinking would cut an extent.
        """
        return SparseImage(size, self.extents)

    # -- inspection ---------------------------------------------------------------------

    @property
    def extents(self) -> tuple[tuple[int, Union[bytes, memoryview]], ...]:
        """The data extents ``(offset, data)``, sorted by offset."""
        return tuple(zip(self._offsets, self._data))

    @property
    def data_size(self) -> int:
        """Bytes held in extents (what a sparse file or sparse tar member stores)."""
        return sum(len(d) for d in self._data)

    def data_ranges(self) -> list[tuple[int, int]]:
        """``(offset, length)`` of each data run, touching extents merged: where a sparse
        writer seeks and writes; everything between is a hole."""
        out: list[list[int]] = []
        for o, d in zip(self._offsets, self._data):
            if out and out[-1][0] + out[-1][1] == o:
                out[-1][1] += len(d)
            else:
                out.append([o, len(d)])
        return [(o, n) for o, n in out]

    def nonzero_ranges(self, block: int = 512) -> list[tuple[int, int]]:
        """``(offset, length)`` runs of the ``block``-aligned blocks that hold a non-zero
        byte, merged, the last one cut at ``size``. This is the sparse map GNU tar 1.34
        computes with ``--hole-detection=raw`` (512-byte blocks), so :mod:`formats.tar`
        uses it. Cost: one pass over the extents' data, none over holes."""
        runs: list[list[int]] = []
        for o, d in zip(self._offsets, self._data):
            mv = memoryview(d)
            start = o - o % block  # the extent's first block may begin in a hole
            end = min(self.size, -(-(o + len(d)) // block) * block)
            for bo, n in _nonzero_blocks(mv, o - start, block, base=start, limit=end):
                if runs and runs[-1][0] + runs[-1][1] >= bo:
                    runs[-1][1] = max(runs[-1][1], bo + n - runs[-1][0])
                else:
                    runs.append([bo, n])
        return [(o, n) for o, n in runs]

    def read(self, offset: int, length: int) -> bytes:
        """``length`` bytes from ``offset``, zeros where no extent is.

        Raises:
            FormatError: the range is not inside the image.
        """
        if offset < 0 or length < 0 or offset + length > self.size:
            raise FormatError(f"read of {length} bytes at 0x{offset:x} is outside the {self.size}-byte image",
                              field="image", offset=offset)
        out = bytearray(length)
        end = offset + length
        i = max(0, bisect.bisect_right(self._offsets, offset) - 1)
        while i < len(self._offsets) and self._offsets[i] < end:
            o, d = self._offsets[i], self._data[i]
            lo, hi = max(o, offset), min(o + len(d), end)
            if lo < hi:
                out[lo - offset:hi - offset] = d[lo - o:hi - o]
            i += 1
        return bytes(out)

    def segments(self) -> Iterator[tuple[int, int, Union[bytes, memoryview, None]]]:
        """Walk the whole image in order as ``(offset, length, data_or_None)``: ``None``
        for a hole (zeros), else the extent's data. Lengths add up to ``size``."""
        pos = 0
        for o, d in zip(self._offsets, self._data):
            if o > pos:
                yield pos, o - pos, None
            yield o, len(d), d
            pos = o + len(d)
        if pos < self.size:
            yield pos, self.size - pos, None

    def chunks(self, chunk_size: int = CHUNK) -> Iterator[memoryview]:
        """The dense content as consecutive chunks of at most ``chunk_size`` bytes (holes as
        zero chunks from one shared buffer): for writing a raw file or hashing."""
        return self.iter_range(0, self.size, chunk_size)

    def iter_range(self, offset: int, length: int, chunk_size: int = CHUNK) -> Iterator[memoryview]:
        """The dense bytes of ``[offset, offset + length)`` as consecutive chunks of at most
        ``chunk_size`` bytes, zero chunks where no extent is; nothing is copied.

        Raises:
            FormatError: the range is not inside the image.
        """
        if offset < 0 or length < 0 or offset + length > self.size:
            raise FormatError(f"range of {length} bytes at 0x{offset:x} is outside the {self.size}-byte image",
                              offset=offset)
        chunk_size = max(1, min(chunk_size, CHUNK))
        end = offset + length
        pos = offset
        i = max(0, bisect.bisect_right(self._offsets, offset) - 1)
        while pos < end:
            if i < len(self._offsets) and self._offsets[i] + len(self._data[i]) <= pos:
                i += 1
                continue
            if i < len(self._offsets) and self._offsets[i] <= pos:
                o, d = self._offsets[i], self._data[i]
                stop, src = min(end, o + len(d)), memoryview(d)
            else:
                stop = min(end, self._offsets[i]) if i < len(self._offsets) else end
                src = None
            while pos < stop:
                k = min(stop - pos, chunk_size)
                yield memoryview(_ZEROS)[:k] if src is None else src[pos - o:pos - o + k]
                pos += k

    def to_bytes(self) -> bytes:
        """The whole image as bytes. Only for small images (tests, a FAT volume of a few MB)."""
        return self.read(0, self.size)

    def __eq__(self, other: object) -> bool:
        """Equal when the sizes match and every byte reads the same (holes vs stored zeros
        do not matter). Cost: proportional to the data, not to the size."""
        if not isinstance(other, SparseImage):
            return NotImplemented
        if self.size != other.size:
            return False
        bounds = sorted({0, self.size, *(b for img in (self, other) for o, n in img.data_ranges() for b in (o, o + n))})
        for lo, hi in zip(bounds, bounds[1:]):
            a, b = self._covered(lo), other._covered(lo)
            if not a and not b:
                continue
            if self.read(lo, hi - lo) != other.read(lo, hi - lo):
                return False
        return True

    __hash__ = None  # type: ignore[assignment]

    def _covered(self, pos: int) -> bool:
        i = bisect.bisect_right(self._offsets, pos) - 1
        return i >= 0 and self._offsets[i] + len(self._data[i]) > pos

    def __repr__(self) -> str:
        return f"SparseImage(size={self.size}, extents={len(self._data)}, data_size={self.data_size})"


def _nonzero_blocks(mv: memoryview, start: int, block: int, *, base: int = 0,
                    limit: int | None = None) -> Iterator[tuple[int, int]]:
    """Runs ``(offset, length)`` of ``block``-sized blocks with a non-zero byte. ``mv``'s
    byte 0 sits at image offset ``base + start``; blocks are aligned on ``base``; a run
    is cut at ``limit`` (default: end of ``mv``)."""
    end = base + start + len(mv) if limit is None else limit
    zero = bytes(block)
    run_start = None
    pos = base
    data_end = base + start + len(mv)
    while pos < data_end:
        lo = max(pos, base + start)
        hi = min(pos + block, data_end)
        piece = mv[lo - base - start:hi - base - start]
        nz = piece != zero[:len(piece)]
        if nz and run_start is None:
            run_start = pos
        elif not nz and run_start is not None:
            yield run_start, pos - run_start
            run_start = None
        pos += block
    if run_start is not None:
        yield run_start, min(pos, end) - run_start


# -- random-access input for parsers -------------------------------------------------------


class ByteReader(Protocol):
    """What the ``formats`` disk parsers read from: a size and random access."""

    size: int

    def read(self, offset: int, length: int) -> bytes: ...


class _BytesReader:
    __slots__ = ("_mv", "size")

    def __init__(self, data) -> None:
        self._mv = memoryview(data).cast("B") if not isinstance(data, (bytes, bytearray)) else memoryview(data)
        self.size = len(self._mv)

    def read(self, offset: int, length: int) -> bytes:
        if offset < 0 or length < 0 or offset + length > self.size:
            raise FormatError(f"read of {length} bytes at 0x{offset:x} is outside the {self.size}-byte input",
                              field="input", offset=offset)
        return bytes(self._mv[offset:offset + length])


def reader(data: Union[SparseImage, Buffer, "ByteReader"]) -> ByteReader:
    """A :class:`ByteReader` over ``data``: a :class:`SparseImage` (or any object with
    ``size`` and ``read``) as it is, a bytes-like object (``bytes``, ``mmap``,
    ``memoryview``) wrapped without copying.

    Raises:
        FormatError: ``data`` is neither.
    """
    if hasattr(data, "read") and hasattr(data, "size") and isinstance(getattr(data, "size"), int):
        return data  # type: ignore[return-value]
    try:
        return _BytesReader(data)
    except TypeError:
        raise FormatError(f"expected bytes or a SparseImage, not {type(data).__name__}") from None


def concat(size: int, parts: Sequence[tuple[int, Union[SparseImage, Buffer]]]) -> SparseImage:
    """An image of ``size`` bytes with each ``(offset, part)`` placed (parts are sub-images
    or bytes); the one-call form of repeated :meth:`SparseImage.place`.

    Raises:
        FormatError: a part does not fit or parts' data overlap.
    """
    extents = []
    for offset, part in parts:
        img = part if isinstance(part, SparseImage) else SparseImage.from_bytes(part)
        if offset < 0 or offset + img.size > size:
            raise FormatError(f"a {img.size}-byte part at 0x{offset:x} does not fit in a {size}-byte image",
                              field="extent", offset=offset)
        extents.extend((offset + o, d) for o, d in img.extents)
    return SparseImage(size, extents)

