"""What the disk containers share (private): partition placement for :mod:`formats.mbr`
and :mod:`formats.gpt`, and the identifiers derived from a seed for them and
:mod:`formats.fat`.

Placement: both tables place partitions the same way, in order, each starting at the next
multiple of the alignment (1 MiB by default, as fdisk, sfdisk and sgdisk do), inside the
sectors the table leaves usable. Identifiers: disk and partition GUIDs, MBR disk
signatures and FAT volume IDs are name-based (RFC 9562 UUIDv5 under :data:`NAMESPACE`) on
a seed such as ``SOURCE_DATE_EPOCH`` plus the content's SHA-256, so the same inputs give
the same disk.
"""

from __future__ import annotations

import hashlib
import uuid
from typing import Optional, Sequence, Union

from formats.errors import FormatError
from formats.sparse import SparseImage

MIB = 1 << 20

#: The namespace of every identifier imgtool derives from a seed (RFC 9562 name-based).
NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "urn:imgtool:disk")

Seed = Union[bytes, str, int]


def seed_digest(seed: Seed, *names: Union[str, int], namespace: uuid.UUID = NAMESPACE) -> bytes:
    """``SHA-256(namespace.bytes + name)``, ``name`` = ``seed`` (an int as its decimal text,
    a str as UTF-8) then each of ``names``, joined with ``/``: RFC 9562 Appendix B.2's
    name-based hashing, the source of every derived GUID, signature and volume ID."""
    if isinstance(seed, int):
        seed = str(seed)
    raw = seed.encode() if isinstance(seed, str) else bytes(seed)
    return hashlib.sha256(namespace.bytes + b"/".join([raw, *(str(n).encode() for n in names)])).digest()


def id32_from_seed(seed: Seed, purpose: str) -> int:
    """A non-zero 32-bit identifier derived from ``seed`` for ``purpose`` (the first four
    digest bytes, little-endian; 1 if they are all zero, as 0 means "none" to readers)."""
    return int.from_bytes(seed_digest(seed, purpose)[:4], "little") or 1


def plan(sizes: Sequence[Optional[int]], *, first_lba: int, end_lba: int, sector_size: int,
         alignment: int, table: str) -> list[tuple[int, int]]:
    """Place partitions of ``sizes`` (bytes, rounded up to whole sectors; ``None`` = take
    what is left, only as the last one) between ``first_lba`` and ``end_lba`` (exclusive).

    Returns ``(start_lba, sector_count)`` per partition.

    Raises:
        FormatError: a size is not positive, ``None`` is not last, or the partitions do not
            fit (``field`` names the partition).
    """
    if alignment % sector_size:
        raise FormatError(f"alignment {alignment} is not a multiple of the {sector_size}-byte sector",
                          field="alignment")
    align = max(1, alignment // sector_size)
    out = []
    lba = first_lba
    for i, size in enumerate(sizes):
        start = -(-lba // align) * align
        if size is None:
            if i != len(sizes) - 1:
                raise FormatError("only the last partition can take the rest of the disk",
                                  field=f"{table} partition {i + 1}")
            count = end_lba - start
        else:
            if size <= 0:
                raise FormatError(f"partition size must be positive, got {size}", field=f"{table} partition {i + 1}")
            count = -(-size // sector_size)
        if count <= 0 or start + count > end_lba:
            raise FormatError(f"partition {i + 1} ({'rest of disk' if size is None else f'{size} bytes'}) does "
                              f"not fit: usable sectors end at LBA {end_lba - 1}, it would start at LBA {start}",
                              field=f"{table} partition {i + 1}")
        out.append((start, count))
        lba = start + count
    return out


def place_contents(disk: SparseImage, spans: Sequence[tuple[int, int]], contents: Sequence, *,
                   sector_size: int, table: str) -> SparseImage:
    """Put ``contents[i]`` (a :class:`SparseImage`, bytes or ``None``) at the start of
    partition ``spans[i]`` = ``(start_lba, sector_count)`` of ``disk``.

    Raises:
        FormatError: more contents than partitions, or a content larger than its partition.
    """
    if len(contents) > len(spans):
        raise FormatError(f"{len(contents)} partition contents for {len(spans)} partitions", field=f"{table} contents")
    parts = []
    for i, (content, (start, count)) in enumerate(zip(contents, spans)):
        if content is None:
            continue
        img = content if isinstance(content, SparseImage) else SparseImage.from_bytes(content)
        if img.size > count * sector_size:
            raise FormatError(f"content of {img.size} bytes is larger than partition {i + 1} "
                              f"({count * sector_size} bytes)", field=f"{table} partition {i + 1}")
        parts.append((start * sector_size, img))
    for offset, img in parts:
        disk = disk.place(offset, img)
    return disk
