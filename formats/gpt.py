"""GUID Partition Table disks: build and parse.

Source: UEFI Specification 2.10, §5.2.3 "Protective MBR" and §5.3 "GUID Partition Table
(GPT) Disk Layout" (Table 5.5 GPT Header, Table 5.6 GPT Partition Entry, Table 5.7
partition type GUIDs). Checked against sgdisk 1.0.9 (``sgdisk -v``) and sfdisk.

Layout written by :func:`build` (``n`` = number of sectors, 512-byte sectors shown):

=========================  ===========================================================
LBA 0                      protective MBR: one record, OSType 0xEE, StartingLBA 1,
                           SizeInLBA ``min(n - 1, 0xFFFFFFFF)``
LBA 1                      primary GPT header (92 bytes, rest of the sector zero)
LBA 2 .. 33                primary entry array (128 entries x 128 bytes = 16 KiB)
LBA 34 .. n - 34           usable: partitions, 1 MiB aligned by default
LBA n - 33 .. n - 2        backup entry array
LBA n - 1                  backup GPT header (MyLBA and AlternateLBA swapped,
                           PartitionEntryLBA = n - 33)
=========================  ===========================================================

HeaderCRC32 is the CRC-32 (CRC-32/ISO-HDLC, the C core in :mod:`formats.crc`) of the
``HeaderSize`` header bytes with the field itself zeroed; PartitionEntryArrayCRC32 covers
``NumberOfPartitionEntries * SizeOfPartitionEntry`` bytes. GUIDs are stored in the
mixed-endian form of §Appendix A (``uuid.UUID.bytes_le``); names are UTF-16LE, 36 code
units, NUL-padded.

Determinism: with no explicit GUIDs, :func:`build` derives the disk GUID and each
partition's unique GUID from the caller's ``seed`` with :func:`guid_from_seed`: RFC 9562
UUID version 8, name-based with SHA-256 (the construction of RFC 9562 Appendix B.2), in
an imgtool namespace. The same seed gives the same disk, another seed other GUIDs and
nothing else.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Optional, Sequence, Union

from construct import Bytes, Int32ul, Int64ul, Struct

from formats import _disklayout, crc, mbr
from formats.errors import FormatError
from formats.sparse import Buffer, SparseImage, reader

__all__ = [
    "SIGNATURE",
    "REVISION",
    "HEADER_SIZE",
    "ENTRY_SIZE",
    "ENTRY_COUNT",
    "PARTITION_TYPES",
    "TYPE_EFI_SYSTEM",
    "TYPE_BASIC_DATA",
    "TYPE_LINUX_FILESYSTEM",
    "TYPE_BIOS_BOOT",
    "GPT_HEADER",
    "GPT_ENTRY",
    "GptPartition",
    "GptHeader",
    "Gpt",
    "guid_from_seed",
    "partition_type",
    "type_name",
    "plan",
    "build",
    "parse",
]

SIGNATURE = b"EFI PART"
REVISION = 0x00010000
HEADER_SIZE = 92
ENTRY_SIZE = 128
ENTRY_COUNT = 128
_NAME_UNITS = 36

TYPE_EFI_SYSTEM = uuid.UUID("C12A7328-F81F-11D2-BA4B-00A0C93EC93B")
TYPE_BASIC_DATA = uuid.UUID("EBD0A0A2-B9E5-4433-87C0-68B6B72699C7")
TYPE_LINUX_FILESYSTEM = uuid.UUID("0FC63DAF-8483-4772-8E79-3D69D8477DE4")
TYPE_BIOS_BOOT = uuid.UUID("21686148-6449-6E6F-744E-656564454649")

#: Type GUIDs by name; sgdisk's hex codes are accepted as aliases.
PARTITION_TYPES: dict[str, uuid.UUID] = {
    "esp": TYPE_EFI_SYSTEM, "efi-system": TYPE_EFI_SYSTEM, "ef00": TYPE_EFI_SYSTEM,
    "basic-data": TYPE_BASIC_DATA, "microsoft-basic-data": TYPE_BASIC_DATA, "0700": TYPE_BASIC_DATA,
    "linux": TYPE_LINUX_FILESYSTEM, "linux-filesystem": TYPE_LINUX_FILESYSTEM, "8300": TYPE_LINUX_FILESYSTEM,
    "bios-boot": TYPE_BIOS_BOOT, "ef02": TYPE_BIOS_BOOT,
}
_TYPE_DISPLAY = {TYPE_EFI_SYSTEM: "EFI system partition", TYPE_BASIC_DATA: "Microsoft basic data",
                 TYPE_LINUX_FILESYSTEM: "Linux filesystem", TYPE_BIOS_BOOT: "BIOS boot partition"}

#: GPT header, UEFI 2.10 Table 5.5 (the first 92 bytes of its sector).
GPT_HEADER = Struct(
    "Signature" / Bytes(8),
    "Revision" / Int32ul,
    "HeaderSize" / Int32ul,
    "HeaderCRC32" / Int32ul,
    "Reserved" / Int32ul,
    "MyLBA" / Int64ul,
    "AlternateLBA" / Int64ul,
    "FirstUsableLBA" / Int64ul,
    "LastUsableLBA" / Int64ul,
    "DiskGUID" / Bytes(16),
    "PartitionEntryLBA" / Int64ul,
    "NumberOfPartitionEntries" / Int32ul,
    "SizeOfPartitionEntry" / Int32ul,
    "PartitionEntryArrayCRC32" / Int32ul,
)

#: GPT partition entry, UEFI 2.10 Table 5.6 (the first 128 bytes of an entry).
GPT_ENTRY = Struct(
    "PartitionTypeGUID" / Bytes(16),
    "UniquePartitionGUID" / Bytes(16),
    "StartingLBA" / Int64ul,
    "EndingLBA" / Int64ul,
    "Attributes" / Int64ul,
    "PartitionName" / Bytes(2 * _NAME_UNITS),
)

#: Largest entry array parse() reads (the spec's minimum is 16 KiB; sgdisk allows more).
_MAX_ARRAY = 1 << 20


def _crc32(data: bytes) -> int:
    return crc.get("CRC-32/ISO-HDLC").compute(data)


def guid_from_seed(seed: Union[bytes, str, int], *names: Union[str, int],
                   namespace: uuid.UUID = _disklayout.NAMESPACE) -> uuid.UUID:
    """A GUID derived from ``seed`` and ``names``: RFC 9562 UUIDv8 (name-based, SHA-256:
    the first 16 bytes of ``SHA-256(namespace.bytes + name)`` with the version nibble 8
    and variant bits 10), ``name`` = ``seed`` then ``"/"``-joined ``names`` as UTF-8.

    ``guid_from_seed(seed, "disk")`` and ``guid_from_seed(seed, "partition", 1)`` are the
    GUIDs :func:`build` uses. An int seed is its decimal text (SOURCE_DATE_EPOCH).
    """
    h = bytearray(_disklayout.seed_digest(seed, *names, namespace=namespace)[:16])
    h[6] = (h[6] & 0x0F) | 0x80
    h[8] = (h[8] & 0x3F) | 0x80
    return uuid.UUID(bytes=bytes(h))


def partition_type(t: Union[str, uuid.UUID]) -> uuid.UUID:
    """A partition type GUID from a name of :data:`PARTITION_TYPES` (case-insensitive),
    a GUID string or a :class:`uuid.UUID`.

    Raises:
        FormatError: neither a known name nor a GUID.
    """
    if isinstance(t, uuid.UUID):
        return t
    key = str(t).strip().lower()
    if key in PARTITION_TYPES:
        return PARTITION_TYPES[key]
    try:
        return uuid.UUID(key)
    except ValueError:
        raise FormatError(f"unknown partition type {t!r} (expected a GUID or one of "
                          f"{', '.join(sorted(PARTITION_TYPES))})", field="PartitionTypeGUID") from None


def type_name(t: uuid.UUID) -> str:
    """sgdisk's name for a type GUID, or the GUID in upper case."""
    return _TYPE_DISPLAY.get(t, str(t).upper())


@dataclass(frozen=True)
class GptPartition:
    """One partition entry.

    Attributes:
        type: type GUID, or a name of :data:`PARTITION_TYPES` (``"esp"``, ``"basic-data"``,
            ``"linux"``) -- normalised to a :class:`uuid.UUID`.
        first_lba: StartingLBA.
        last_lba: EndingLBA, inclusive (as the spec counts).
        name: PartitionName, at most 36 UTF-16 code units.
        guid: UniquePartitionGUID; ``None`` = derived from the build's seed.
        attributes: the 64-bit Attributes (bit 0 required, bit 2 legacy BIOS bootable).
        index: 1-based entry number (set by :func:`parse`; :func:`build` uses list order).
    """

    type: Union[uuid.UUID, str]
    first_lba: int
    last_lba: int
    name: str = ""
    guid: Optional[uuid.UUID] = None
    attributes: int = 0
    index: int = field(default=0, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "type", partition_type(self.type))

    @property
    def sectors(self) -> int:
        """Number of sectors."""
        return self.last_lba - self.first_lba + 1

    @property
    def type_name(self) -> str:
        """sgdisk's name for the type."""
        return type_name(self.type)  # type: ignore[arg-type]


@dataclass(frozen=True)
class GptHeader:
    """A parsed GPT header (Table 5.5 fields; GUIDs as :class:`uuid.UUID`)."""

    revision: int
    header_size: int
    header_crc32: int
    my_lba: int
    alternate_lba: int
    first_usable_lba: int
    last_usable_lba: int
    disk_guid: uuid.UUID
    partition_entry_lba: int
    entry_count: int
    entry_size: int
    entry_array_crc32: int


@dataclass(frozen=True)
class Gpt:
    """A parsed GPT disk.

    Attributes:
        sector_size: bytes per LBA.
        disk_sectors: sectors in the disk (input size // sector_size).
        primary, backup: the headers (``None`` when unreadable; then ``problems`` says why).
        partitions: the used entries (type GUID not zero), ``index`` set; from the primary
            array, or the backup's when the primary is bad.
        protective_mbr: the MBR at LBA 0 (``None`` if it has no 55 AA signature).
        problems: each a :class:`FormatError` naming the structure, field and byte offset;
            empty for a disk ``sgdisk -v`` would also find clean.
    """

    sector_size: int
    disk_sectors: int
    primary: Optional[GptHeader]
    backup: Optional[GptHeader]
    partitions: tuple[GptPartition, ...]
    protective_mbr: Optional[mbr.Mbr]
    problems: tuple[FormatError, ...] = ()

    @property
    def disk_guid(self) -> uuid.UUID:
        """The DiskGUID (from the primary header, else the backup)."""
        h = self.primary or self.backup
        assert h is not None
        return h.disk_guid


def _layout(disk_size: int, sector_size: int, entry_count: int) -> tuple[int, int, int]:
    """(disk sectors, entry-array sectors, first usable LBA)."""
    if sector_size not in (512, 4096):
        raise FormatError(f"sector size must be 512 or 4096, got {sector_size}", field="sector size")
    if disk_size <= 0 or disk_size % sector_size:
        raise FormatError(f"disk size must be a positive multiple of {sector_size}, got {disk_size}",
                          field="disk size")
    if entry_count < 128 or entry_count * ENTRY_SIZE % sector_size:
        raise FormatError(f"entry count must be >= 128 and fill whole sectors, got {entry_count}",
                          field="NumberOfPartitionEntries")
    array_sectors = entry_count * ENTRY_SIZE // sector_size
    return disk_size // sector_size, array_sectors, 2 + array_sectors


def plan(disk_size: int, sizes: Sequence[Optional[int]], *, sector_size: int = 512,
         alignment: int = _disklayout.MIB, entry_count: int = ENTRY_COUNT) -> list[tuple[int, int]]:
    """Where partitions of ``sizes`` bytes go on a GPT disk of ``disk_size`` bytes:
    ``(first_lba, last_lba)`` each (inclusive), each start a multiple of ``alignment``
    bytes (1 MiB, as sgdisk), inside FirstUsableLBA..LastUsableLBA; ``None`` as the last
    size takes the rest (to LastUsableLBA, as ``sgdisk -n 1:0:0``).

    Raises:
        FormatError: they do not fit.
    """
    n, array_sectors, first = _layout(disk_size, sector_size, entry_count)
    last_usable = n - 2 - array_sectors
    spans = _disklayout.plan(sizes, first_lba=first, end_lba=last_usable + 1, sector_size=sector_size,
                             alignment=alignment, table="GPT")
    return [(s, s + c - 1) for s, c in spans]


def _name_bytes(name: str, index: int) -> bytes:
    raw = name.encode("utf-16-le")
    if len(raw) > 2 * _NAME_UNITS:
        raise FormatError(f"partition name {name!r} is longer than {_NAME_UNITS} UTF-16 code units",
                          field=f"partition {index} PartitionName")
    return raw.ljust(2 * _NAME_UNITS, b"\0")


def _header(*, my_lba: int, alternate_lba: int, first: int, last: int, disk_guid: uuid.UUID, entry_lba: int,
            entry_count: int, array_crc: int, sector_size: int) -> bytes:
    fields = dict(Signature=SIGNATURE, Revision=REVISION, HeaderSize=HEADER_SIZE, HeaderCRC32=0, Reserved=0,
                  MyLBA=my_lba, AlternateLBA=alternate_lba, FirstUsableLBA=first, LastUsableLBA=last,
                  DiskGUID=disk_guid.bytes_le, PartitionEntryLBA=entry_lba, NumberOfPartitionEntries=entry_count,
                  SizeOfPartitionEntry=ENTRY_SIZE, PartitionEntryArrayCRC32=array_crc)
    fields["HeaderCRC32"] = _crc32(GPT_HEADER.build(fields))
    return GPT_HEADER.build(fields).ljust(sector_size, b"\0")


def build(disk_size: int, partitions: Sequence[GptPartition], *, seed: Union[bytes, str, int],
          contents: Sequence[Union[SparseImage, Buffer, None]] = (), disk_guid: Optional[uuid.UUID] = None,
          sector_size: int = 512, entry_count: int = ENTRY_COUNT) -> SparseImage:
    """A whole GPT disk of ``disk_size`` bytes (protective MBR, both headers and arrays)
    with ``contents[i]`` (a file system image, bytes or ``None``) at the start of
    ``partitions[i]``.

    Args:
        disk_size: bytes, a multiple of ``sector_size``; the backup structures go at its
            end (a GCE disk rounded to whole GiB keeps them valid).
        partitions: entries in order (entry 1 first); get the LBAs from :func:`plan`.
        seed: what the disk GUID and any ``guid=None`` partition GUID are derived from
            (:func:`guid_from_seed`), e.g. SOURCE_DATE_EPOCH plus a content hash.
        disk_guid: an explicit DiskGUID instead.
        sector_size: 512 (FirstUsableLBA 34) or 4096 (FirstUsableLBA 6).
        entry_count: NumberOfPartitionEntries (128, 16 KiB, as every tool writes).

    Raises:
        FormatError: a partition outside FirstUsableLBA..LastUsableLBA, overlapping
            partitions, a name too long, too many partitions, a content larger than its
            partition.
    """
    n, array_sectors, first = _layout(disk_size, sector_size, entry_count)
    last = n - 2 - array_sectors
    if last < first:
        raise FormatError(f"a {disk_size}-byte disk has no room for the GPT structures", field="disk size")
    if len(partitions) > entry_count:
        raise FormatError(f"{len(partitions)} partitions, the array holds {entry_count}", field="partition entries")
    for i, p in enumerate(partitions, 1):
        if not (first <= p.first_lba <= p.last_lba <= last):
            raise FormatError(f"partition LBA {p.first_lba}..{p.last_lba} is outside the usable LBAs {first}..{last}",
                              field=f"partition {i}")
    ordered = sorted(partitions, key=lambda p: p.first_lba)
    for a, b in zip(ordered, ordered[1:]):
        if a.last_lba >= b.first_lba:
            raise FormatError(f"partition at LBA {b.first_lba} overlaps the one at LBA {a.first_lba}",
                              field="partition entries")
    disk_guid = disk_guid or guid_from_seed(seed, "disk")
    array = bytearray(entry_count * ENTRY_SIZE)
    for i, p in enumerate(partitions, 1):
        guid = p.guid or guid_from_seed(seed, "partition", i)
        array[(i - 1) * ENTRY_SIZE:i * ENTRY_SIZE] = GPT_ENTRY.build(dict(
            PartitionTypeGUID=p.type.bytes_le, UniquePartitionGUID=guid.bytes_le,  # type: ignore[union-attr]
            StartingLBA=p.first_lba, EndingLBA=p.last_lba, Attributes=p.attributes,
            PartitionName=_name_bytes(p.name, i)))
    array_crc = _crc32(bytes(array))
    common = dict(first=first, last=last, disk_guid=disk_guid, entry_count=entry_count, array_crc=array_crc,
                  sector_size=sector_size)
    primary = _header(my_lba=1, alternate_lba=n - 1, entry_lba=2, **common)
    backup = _header(my_lba=n - 1, alternate_lba=1, entry_lba=n - 1 - array_sectors, **common)
    pmbr = mbr.build([mbr.MbrPartition(mbr.TYPE_GPT_PROTECTIVE, 1, min(n - 1, 0xFFFFFFFF))], protective=True)
    used = len(partitions) * ENTRY_SIZE
    extents = [(0, pmbr), (sector_size, primary), (2 * sector_size, bytes(array[:used])),
               ((n - 1 - array_sectors) * sector_size, bytes(array[:used])), ((n - 1) * sector_size, backup)]
    disk = SparseImage(disk_size, extents)
    spans = [(p.first_lba, p.sectors) for p in partitions]
    return _disklayout.place_contents(disk, spans, contents, sector_size=sector_size, table="GPT")


# -- parsing --------------------------------------------------------------------------------


def _read_header(src, lba: int, sector_size: int, which: str, problems: list) -> Optional[GptHeader]:
    off = lba * sector_size
    if lba < 1 or off + sector_size > src.size:
        problems.append(FormatError(f"LBA {lba} is outside the {src.size // sector_size}-sector disk",
                                    field=f"{which} GPT header", offset=off if lba >= 0 else None))
        return None
    raw = src.read(off, sector_size)
    h = GPT_HEADER.parse(raw)
    if h.Signature != SIGNATURE:
        problems.append(FormatError(f"no signature (expected 'EFI PART', got {h.Signature!r})",
                                    field=f"{which} GPT header Signature", offset=off))
        return None
    if not HEADER_SIZE <= h.HeaderSize <= sector_size:
        problems.append(FormatError(f"HeaderSize is {h.HeaderSize}, expected {HEADER_SIZE}..{sector_size}",
                                    field=f"{which} GPT header HeaderSize", offset=off + 12))
        return None
    zeroed = raw[:16] + b"\0\0\0\0" + raw[20:h.HeaderSize]
    if _crc32(zeroed) != h.HeaderCRC32:
        problems.append(FormatError(f"HeaderCRC32 is {h.HeaderCRC32:#010x}, the header's CRC-32 is "
                                    f"{_crc32(zeroed):#010x}", field=f"{which} GPT header HeaderCRC32", offset=off + 16))
        return None
    if h.Revision != REVISION:
        problems.append(FormatError(f"Revision is {h.Revision:#010x}, expected 0x00010000",
                                    field=f"{which} GPT header Revision", offset=off + 8))
    if h.Reserved or any(raw[HEADER_SIZE:h.HeaderSize]):
        problems.append(FormatError("reserved header bytes are not zero", field=f"{which} GPT header Reserved",
                                    offset=off + 20))
    if h.MyLBA != lba:
        problems.append(FormatError(f"MyLBA is {h.MyLBA}, the header is at LBA {lba}",
                                    field=f"{which} GPT header MyLBA", offset=off + 24))
    return GptHeader(revision=h.Revision, header_size=h.HeaderSize, header_crc32=h.HeaderCRC32, my_lba=h.MyLBA,
                     alternate_lba=h.AlternateLBA, first_usable_lba=h.FirstUsableLBA, last_usable_lba=h.LastUsableLBA,
                     disk_guid=uuid.UUID(bytes_le=h.DiskGUID), partition_entry_lba=h.PartitionEntryLBA,
                     entry_count=h.NumberOfPartitionEntries, entry_size=h.SizeOfPartitionEntry,
                     entry_array_crc32=h.PartitionEntryArrayCRC32)


def _read_array(src, h: GptHeader, sector_size: int, which: str, problems: list) -> Optional[bytes]:
    hoff = h.my_lba * sector_size
    if h.entry_size < ENTRY_SIZE or h.entry_size & (h.entry_size - 1):
        problems.append(FormatError(f"SizeOfPartitionEntry is {h.entry_size}, expected 128 x 2^n",
                                    field=f"{which} GPT header SizeOfPartitionEntry", offset=hoff + 84))
        return None
    length = h.entry_count * h.entry_size
    off = h.partition_entry_lba * sector_size
    if length > _MAX_ARRAY or h.partition_entry_lba < 2 or off + length > src.size:
        problems.append(FormatError(f"entry array of {h.entry_count} x {h.entry_size} bytes at LBA "
                                    f"{h.partition_entry_lba} does not fit the disk",
                                    field=f"{which} GPT header PartitionEntryLBA", offset=hoff + 72))
        return None
    raw = src.read(off, length)
    if _crc32(raw) != h.entry_array_crc32:
        problems.append(FormatError(f"PartitionEntryArrayCRC32 is {h.entry_array_crc32:#010x}, the array's CRC-32 "
                                    f"is {_crc32(raw):#010x}", field=f"{which} GPT header PartitionEntryArrayCRC32",
                                    offset=hoff + 88))
        return None
    return raw


def _entries(raw: bytes, h: GptHeader, sector_size: int, problems: list) -> tuple[GptPartition, ...]:
    base = h.partition_entry_lba * sector_size
    parts = []
    for i in range(h.entry_count):
        e = GPT_ENTRY.parse(raw[i * h.entry_size:i * h.entry_size + ENTRY_SIZE])
        if not any(e.PartitionTypeGUID):
            continue
        off = base + i * h.entry_size
        name = e.PartitionName.decode("utf-16-le", errors="replace").split("\0", 1)[0]
        if not h.first_usable_lba <= e.StartingLBA <= e.EndingLBA <= h.last_usable_lba:
            problems.append(FormatError(f"LBA {e.StartingLBA}..{e.EndingLBA} is outside the usable LBAs "
                                        f"{h.first_usable_lba}..{h.last_usable_lba}",
                                        field=f"partition {i + 1}", offset=off + 32))
        parts.append(GptPartition(type=uuid.UUID(bytes_le=e.PartitionTypeGUID), first_lba=e.StartingLBA,
                                  last_lba=e.EndingLBA, name=name, guid=uuid.UUID(bytes_le=e.UniquePartitionGUID),
                                  attributes=e.Attributes, index=i + 1))
    ordered = sorted(parts, key=lambda p: p.first_lba)
    for a, b in zip(ordered, ordered[1:]):
        if a.last_lba >= b.first_lba:
            problems.append(FormatError(f"overlaps partition {a.index} (LBA {a.first_lba}..{a.last_lba})",
                                        field=f"partition {b.index}", offset=base + (b.index - 1) * h.entry_size))
    return tuple(parts)


def parse(data, *, sector_size: int = 512) -> Gpt:
    """Read and check a GPT disk: ``data`` is the whole disk (bytes-like, ``mmap`` or
    :class:`~formats.sparse.SparseImage`; only the first and last sectors are read).

    Checks, each failure one entry of :attr:`Gpt.problems`: the protective MBR (55 AA, a
    0xEE record); each header's signature, HeaderSize, HeaderCRC32, Revision, reserved
    bytes and MyLBA; each entry array's CRC-32; the backup header at the primary's
    AlternateLBA and at the disk's last LBA, agreeing with the primary (disk GUID, usable
    range, entry count/size, array CRC); partitions inside the usable range and not
    overlapping; the usable range inside the disk.

    Raises:
        FormatError: neither header is readable (no GPT), or the disk is smaller than
            three sectors.
    """
    src = reader(data)
    n = src.size // sector_size
    if n < 3:
        raise FormatError(f"a GPT disk needs at least 3 sectors, got {src.size} bytes", field="GPT", offset=0)
    problems: list[FormatError] = []
    try:
        pmbr: Optional[mbr.Mbr] = mbr.parse(src.read(0, 512))
        if not pmbr.is_protective:
            problems.append(FormatError("has no OSType 0xEE record", field="protective MBR", offset=0x1BE))
    except FormatError as exc:
        pmbr = None
        problems.append(exc)
    primary = _read_header(src, 1, sector_size, "primary", problems)
    p_array = _read_array(src, primary, sector_size, "primary", problems) if primary else None
    backup_lba = primary.alternate_lba if primary else n - 1
    if primary and primary.alternate_lba != n - 1:
        problems.append(FormatError(f"AlternateLBA is {primary.alternate_lba}, the disk's last LBA is {n - 1} "
                                    "(backup header not at the end: disk grown or truncated?)",
                                    field="primary GPT header AlternateLBA", offset=sector_size + 32))
    backup = _read_header(src, backup_lba, sector_size, "backup", problems) if backup_lba < n else None
    if backup is None and backup_lba != n - 1:
        backup = _read_header(src, n - 1, sector_size, "backup", [])
    b_array = _read_array(src, backup, sector_size, "backup", problems) if backup else None
    if primary is None and backup is None:
        raise problems[-1] if problems else FormatError("no GPT header", field="GPT")
    main = primary if p_array is not None else (backup if b_array is not None else None)
    if main is None:
        raise FormatError("neither entry array matches its CRC-32", field="GPT partition entries",
                          offset=(primary or backup).partition_entry_lba * sector_size)  # type: ignore[union-attr]
    if primary and backup:
        boff = backup.my_lba * sector_size
        for name, attr, rel in (("AlternateLBA", "my_lba", 32), ("FirstUsableLBA", "first_usable_lba", 40),
                                ("LastUsableLBA", "last_usable_lba", 48), ("DiskGUID", "disk_guid", 56),
                                ("NumberOfPartitionEntries", "entry_count", 80),
                                ("SizeOfPartitionEntry", "entry_size", 84),
                                ("PartitionEntryArrayCRC32", "entry_array_crc32", 88)):
            want = primary.my_lba if attr == "my_lba" else getattr(primary, attr)
            got = backup.alternate_lba if attr == "my_lba" else getattr(backup, attr)
            if want != got:
                problems.append(FormatError(f"is {got}, the primary header says {want}",
                                            field=f"backup GPT header {name}", offset=boff + rel))
        if backup.partition_entry_lba <= backup.last_usable_lba:
            problems.append(FormatError(f"backup entry array at LBA {backup.partition_entry_lba} is inside the usable "
                                        "range", field="backup GPT header PartitionEntryLBA", offset=boff + 72))
    if main.last_usable_lba >= n or main.first_usable_lba > main.last_usable_lba:
        problems.append(FormatError(f"usable LBAs {main.first_usable_lba}..{main.last_usable_lba} do not fit the "
                                    f"{n}-sector disk", field=f"{'primary' if main is primary else 'backup'} GPT "
                                    "header LastUsableLBA", offset=main.my_lba * sector_size + 48))
    array = p_array if main is primary else b_array
    parts = _entries(array, main, sector_size, problems)  # type: ignore[arg-type]
    return Gpt(sector_size=sector_size, disk_sectors=n, primary=primary, backup=backup, partitions=parts,
               protective_mbr=pmbr, problems=tuple(problems))
