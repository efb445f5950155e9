"""The classic Master Boot Record: build and parse.

Sources: the IBM PC partition table as UEFI 2.10 §5.2.1 "Legacy Master Boot Record"
(Table 5.1, Table 5.2) describes it; CHS encoding as fdisk/sfdisk (util-linux) write it.

=======  ====  ============================================================
offset   size  field
=======  ====  ============================================================
0x000    440   BootCode (bootstrap; a boot sector that needs 446 bytes
               overwrites the next two fields, as the GCE BIOS route does)
0x1B8    4     UniqueMBRDiskSignature (little-endian)
0x1BC    2     Unknown (zero)
0x1BE    16x4  PartitionRecord[4]: BootIndicator (0x80 active, 0x00),
               StartingCHS (3), OSType, EndingCHS (3), StartingLBA (4),
               SizeInLBA (4)
0x1FE    2     Signature 0x55 0xAA
=======  ====  ============================================================

CHS addresses are computed from the LBA with the usual translated geometry, 255 heads x
63 sectors per track: ``C = LBA // (255*63)``, ``H = (LBA // 63) % 255``,
``S = LBA % 63 + 1``; an address with ``C > 1023`` is written as 1023/254/63 (bytes
``FE FF FF``), as fdisk does. Byte 0 is the head, byte 1 is ``S | (C >> 8) << 6``, byte 2 is
``C & 0xFF``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional, Sequence, Union

from construct import Array, Bytes, Int8ul, Int16ul, Int32ul, Struct

from formats import _disklayout
from formats.errors import FormatError
from formats.sparse import Buffer, SparseImage, reader

__all__ = [
    "SECTOR_SIZE",
    "BOOTSTRAP_SIZE",
    "BOOT_SECTOR_CODE_SIZE",
    "TYPE_FAT12",
    "TYPE_FAT16",
    "TYPE_FAT32_LBA",
    "TYPE_FAT16_LBA",
    "TYPE_LINUX",
    "TYPE_EFI_SYSTEM",
    "TYPE_GPT_PROTECTIVE",
    "TYPE_NAMES",
    "PARTITION_ENTRY",
    "MBR_SECTOR",
    "MbrPartition",
    "Mbr",
    "chs",
    "encode_chs",
    "decode_chs",
    "fat_partition_type",
    "signature_from_seed",
    "build",
    "build_disk",
    "plan",
    "parse",
]

SECTOR_SIZE = 512
#: Bootstrap code area when the disk signature is kept.
BOOTSTRAP_SIZE = 440
#: Largest boot code: everything before the partition table.
BOOT_SECTOR_CODE_SIZE = 446

TYPE_FAT12 = 0x01
TYPE_FAT16 = 0x06          # FAT16 ("FAT16B", any size up to the FAT16 limit)
TYPE_FAT32_LBA = 0x0C      # "W95 FAT32 (LBA)", what Raspberry Pi OS images use
TYPE_FAT16_LBA = 0x0E
TYPE_LINUX = 0x83
TYPE_EFI_SYSTEM = 0xEF
TYPE_GPT_PROTECTIVE = 0xEE

#: Names fdisk prints for the types imgtool writes.
TYPE_NAMES = {
    0x00: "empty", 0x01: "FAT12", 0x04: "FAT16 <32M", 0x06: "FAT16", 0x0B: "W95 FAT32",
    0x0C: "W95 FAT32 (LBA)", 0x0E: "W95 FAT16 (LBA)", 0x83: "Linux", 0xDA: "Non-FS data",
    0xEE: "GPT", 0xEF: "EFI (FAT-12/16/32)",
}

#: One 16-byte partition record (UEFI 2.10 Table 5.2).
PARTITION_ENTRY = Struct(
    "BootIndicator" / Int8ul,
    "StartingCHS" / Bytes(3),
    "OSType" / Int8ul,
    "EndingCHS" / Bytes(3),
    "StartingLBA" / Int32ul,
    "SizeInLBA" / Int32ul,
)

#: The 512-byte sector (UEFI 2.10 Table 5.1).
MBR_SECTOR = Struct(
    "BootCode" / Bytes(BOOTSTRAP_SIZE),
    "UniqueMBRDiskSignature" / Int32ul,
    "Unknown" / Int16ul,
    "PartitionRecord" / Array(4, PARTITION_ENTRY),
    "Signature" / Bytes(2),
)

_HEADS, _SECTORS = 255, 63
_MAX_LBA32 = 0xFFFFFFFF


def chs(lba: int) -> tuple[int, int, int]:
    """``(cylinder, head, sector)`` of ``lba`` in the 255 x 63 geometry, capped at
    (1023, 254, 63) for addresses beyond cylinder 1023."""
    c = lba // (_HEADS * _SECTORS)
    if c > 1023:
        return 1023, 254, 63
    return c, (lba // _SECTORS) % _HEADS, lba % _SECTORS + 1


def encode_chs(c: int, h: int, s: int) -> bytes:
    """The 3 on-disk bytes of a CHS address (head; sector | cylinder bits 8-9; cylinder bits 0-7)."""
    return bytes((h & 0xFF, (s & 0x3F) | ((c >> 2) & 0xC0), c & 0xFF))


def decode_chs(raw: bytes) -> tuple[int, int, int]:
    """Inverse of :func:`encode_chs`."""
    h, sc, cl = raw
    return cl | (sc & 0xC0) << 2, h, sc & 0x3F


def signature_from_seed(seed: Union[bytes, str, int]) -> int:
    """A non-zero UniqueMBRDiskSignature derived from ``seed`` (SOURCE_DATE_EPOCH and/or a
    content hash): SHA-256 name-based, as :func:`formats.gpt.guid_from_seed`."""
    return _disklayout.id32_from_seed(seed, "mbr-disk-signature")


def fat_partition_type(fat_bits: int) -> int:
    """The OSType for a FAT partition: 0x01 (FAT12), 0x06 (FAT16), 0x0C (FAT32, LBA).

    Raises:
        FormatError: ``fat_bits`` is not 12, 16 or 32.
    """
    try:
        return {12: TYPE_FAT12, 16: TYPE_FAT16, 32: TYPE_FAT32_LBA}[fat_bits]
    except KeyError:
        raise FormatError(f"FAT type must be 12, 16 or 32, got {fat_bits}", field="OSType") from None


@dataclass(frozen=True)
class MbrPartition:
    """One partition record.

    Attributes:
        type: OSType byte (``TYPE_*``).
        lba_start: first sector (StartingLBA), 512-byte sectors.
        sectors: number of sectors (SizeInLBA).
        bootable: BootIndicator 0x80 (the "active" flag).
        index: 1..4, the record's slot (set by :func:`parse`; :func:`build` uses list order).
        chs_first, chs_last: ``(c, h, s)`` as stored (set by :func:`parse`).
    """

    type: int
    lba_start: int
    sectors: int
    bootable: bool = False
    index: int = field(default=0, compare=False)
    chs_first: Optional[tuple[int, int, int]] = field(default=None, compare=False)
    chs_last: Optional[tuple[int, int, int]] = field(default=None, compare=False)

    @property
    def lba_end(self) -> int:
        """One past the last sector."""
        return self.lba_start + self.sectors

    @property
    def type_name(self) -> str:
        """fdisk's name for the type, or ``"unknown"``."""
        return TYPE_NAMES.get(self.type, "unknown")


@dataclass(frozen=True)
class Mbr:
    """A parsed MBR.

    Attributes:
        boot_code: the first 446 bytes (bootstrap code plus the disk signature field).
        disk_signature: UniqueMBRDiskSignature.
        partitions: the non-empty records (OSType != 0), slot order, ``index`` set.
        problems: what is wrong but still readable, each a :class:`FormatError` naming the
            field and offset (bad BootIndicator, overlap, a partition past the disk end).
    """

    boot_code: bytes
    disk_signature: int
    partitions: tuple[MbrPartition, ...]
    problems: tuple[FormatError, ...] = ()

    @property
    def is_protective(self) -> bool:
        """True for a GPT protective MBR (a record of OSType 0xEE)."""
        return any(p.type == TYPE_GPT_PROTECTIVE for p in self.partitions)


def _record(p: Optional[MbrPartition], *, protective: bool = False) -> dict:
    if p is None:
        return dict(BootIndicator=0, StartingCHS=bytes(3), OSType=0, EndingCHS=bytes(3), StartingLBA=0, SizeInLBA=0)
    if not 0 < p.type <= 0xFF:
        raise FormatError(f"OSType must be 0x01..0xFF, got {p.type:#x}", field="OSType")
    if not (0 <= p.lba_start <= _MAX_LBA32 and 0 < p.sectors <= _MAX_LBA32):
        raise FormatError(f"partition at LBA {p.lba_start} of {p.sectors} sectors does not fit the 32-bit "
                          "StartingLBA/SizeInLBA fields", field="StartingLBA")
    last = p.lba_start + p.sectors - 1
    end_chs = b"\xff\xff\xff" if protective and chs(last) == (1023, 254, 63) else encode_chs(*chs(last))
    return dict(BootIndicator=0x80 if p.bootable else 0, StartingCHS=encode_chs(*chs(p.lba_start)), OSType=p.type,
                EndingCHS=end_chs, StartingLBA=p.lba_start, SizeInLBA=p.sectors)


def build(partitions: Sequence[MbrPartition] = (), *, disk_signature: int = 0, bootstrap: Buffer = b"",
          protective: bool = False) -> bytes:
    """The 512-byte MBR sector.

    Args:
        partitions: up to 4 records, written to slots 1.. in order (``index`` is ignored).
        disk_signature: UniqueMBRDiskSignature (32-bit). Must be 0 when ``bootstrap`` is
            longer than 440 bytes (the code then owns bytes 0x1B8..0x1BD).
        bootstrap: boot code, at most 446 bytes, zero-padded.
        protective: write the EndingCHS of a partition past what CHS can address as
            ``FF FF FF`` (what UEFI 2.10 §5.2.3 asks of a protective MBR) instead of
            ``FE FF FF`` (1023/254/63, what sfdisk writes for a DOS table).

    Raises:
        FormatError: more than 4 partitions, overlapping ones, bootstrap too long,
            signature out of range or clashing with a 446-byte bootstrap.
    """
    if len(partitions) > 4:
        raise FormatError(f"an MBR holds 4 partitions, got {len(partitions)}", field="PartitionRecord")
    bootstrap = bytes(bootstrap)
    if len(bootstrap) > BOOT_SECTOR_CODE_SIZE:
        raise FormatError(f"boot code is {len(bootstrap)} bytes, at most {BOOT_SECTOR_CODE_SIZE} fit before "
                          "the partition table", field="BootCode")
    if not 0 <= disk_signature <= 0xFFFFFFFF:
        raise FormatError(f"disk signature must be 32 bits, got {disk_signature:#x}", field="UniqueMBRDiskSignature")
    if len(bootstrap) > BOOTSTRAP_SIZE and disk_signature:
        raise FormatError(f"a {len(bootstrap)}-byte boot code covers the disk signature field; pass signature 0",
                          field="UniqueMBRDiskSignature", offset=0x1B8)
    ordered = sorted(partitions, key=lambda p: p.lba_start)
    for a, b in zip(ordered, ordered[1:]):
        if a.lba_end > b.lba_start:
            raise FormatError(f"partition at LBA {b.lba_start} overlaps the one at LBA {a.lba_start}",
                              field="PartitionRecord")
    records = [_record(p, protective=protective) for p in partitions] + [_record(None)] * (4 - len(partitions))
    raw = bytearray(MBR_SECTOR.build(dict(BootCode=bootstrap[:BOOTSTRAP_SIZE].ljust(BOOTSTRAP_SIZE, b"\0"),
                                          UniqueMBRDiskSignature=disk_signature, Unknown=0,
                                          PartitionRecord=records, Signature=b"\x55\xaa")))
    raw[:len(bootstrap)] = bootstrap
    return bytes(raw)


def plan(disk_size: int, sizes: Sequence[Optional[int]], *, alignment: int = _disklayout.MIB,
         first_lba: int = 1) -> list[tuple[int, int]]:
    """Where partitions of ``sizes`` bytes go on an MBR disk of ``disk_size`` bytes:
    ``(lba_start, sectors)`` each, starting at multiples of ``alignment`` bytes (1 MiB, as
    fdisk) at or after ``first_lba``; ``None`` as the last size takes the rest.

    Raises:
        FormatError: they do not fit.
    """
    end = min(disk_size // SECTOR_SIZE, _MAX_LBA32 + 1)
    return _disklayout.plan(sizes, first_lba=first_lba, end_lba=end, sector_size=SECTOR_SIZE,
                            alignment=alignment, table="MBR")


def build_disk(disk_size: int, partitions: Sequence[MbrPartition], *,
               contents: Sequence[Union[SparseImage, Buffer, None]] = (), disk_signature: int = 0,
               bootstrap: Buffer = b"") -> SparseImage:
    """A whole MBR disk: the sector from :func:`build` at LBA 0 and ``contents[i]`` (a
    file system image, bytes or ``None``) at the start of ``partitions[i]``.

    Args:
        disk_size: bytes, a multiple of 512.

    Raises:
        FormatError: as :func:`build`; a partition past the disk end; a content larger
            than its partition.
    """
    if disk_size <= 0 or disk_size % SECTOR_SIZE:
        raise FormatError(f"disk size must be a positive multiple of {SECTOR_SIZE}, got {disk_size}", field="disk size")
    for p in partitions:
        if p.lba_start < 1 or p.lba_end * SECTOR_SIZE > disk_size:
            raise FormatError(f"partition at LBA {p.lba_start} of {p.sectors} sectors is outside the "
                              f"{disk_size // SECTOR_SIZE}-sector disk", field="PartitionRecord")
    disk = SparseImage(disk_size, [(0, build(partitions, disk_signature=disk_signature, bootstrap=bootstrap))])
    spans = [(p.lba_start, p.sectors) for p in partitions]
    return _disklayout.place_contents(disk, spans, contents, sector_size=SECTOR_SIZE, table="MBR")


def parse(data) -> Mbr:
    """Read the MBR in the first 512 bytes of ``data`` (bytes-like, ``mmap`` or
    :class:`~formats.sparse.SparseImage`; when more than 512 bytes are given, the total
    is the disk size partitions are checked against).

    Raises:
        FormatError: fewer than 512 bytes, or no 0x55AA signature (not an MBR).
    """
    src = reader(data)
    if src.size < SECTOR_SIZE:
        raise FormatError(f"an MBR is 512 bytes, got {src.size}", field="MBR", offset=0)
    raw = src.read(0, SECTOR_SIZE)
    if raw[510:512] != b"\x55\xaa":
        raise FormatError(f"no boot signature (expected 55 AA, got {raw[510:512].hex(' ')})",
                          field="MBR Signature", offset=0x1FE)
    s = MBR_SECTOR.parse(raw)
    problems: list[FormatError] = []
    parts = []
    for i, r in enumerate(s.PartitionRecord):
        off = 0x1BE + 16 * i
        if r.OSType == 0:
            continue
        if r.BootIndicator not in (0x00, 0x80):
            problems.append(FormatError(f"BootIndicator is {r.BootIndicator:#04x}, expected 0x00 or 0x80",
                                        field=f"partition {i + 1} BootIndicator", offset=off))
        if r.SizeInLBA == 0:
            problems.append(FormatError("SizeInLBA is 0 for a used record", field=f"partition {i + 1} SizeInLBA",
                                        offset=off + 12))
        parts.append(MbrPartition(type=r.OSType, lba_start=r.StartingLBA, sectors=r.SizeInLBA,
                                  bootable=r.BootIndicator == 0x80, index=i + 1, chs_first=decode_chs(r.StartingCHS),
                                  chs_last=decode_chs(r.EndingCHS)))
    ordered = sorted((p for p in parts if p.type != TYPE_GPT_PROTECTIVE), key=lambda p: p.lba_start)
    for a, b in zip(ordered, ordered[1:]):
        if a.lba_end > b.lba_start:
            problems.append(FormatError(f"overlaps partition {a.index} (LBA {a.lba_start}..{a.lba_end - 1})",
                                        field=f"partition {b.index}", offset=0x1BE + 16 * (b.index - 1)))
    if src.size > SECTOR_SIZE:
        sectors = src.size // SECTOR_SIZE
        for p in parts:
            if p.type != TYPE_GPT_PROTECTIVE and p.lba_end > sectors:
                problems.append(FormatError(f"ends at LBA {p.lba_end - 1}, past the disk's last sector {sectors - 1}",
                                            field=f"partition {p.index}", offset=0x1BE + 16 * (p.index - 1)))
    return Mbr(boot_code=raw[:BOOT_SECTOR_CODE_SIZE], disk_signature=s.UniqueMBRDiskSignature,
               partitions=tuple(parts), problems=tuple(problems))
