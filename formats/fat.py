"""FAT12/FAT16/FAT32 volumes: build (files in, sparse image out) and read back.

Source: Microsoft, "FAT: General Overview of On-Disk Format", version 1.03 (2000),
"fatgen103": boot sector and BPB (§3), FAT type determination (§3.5), FAT size and the
DskTableFAT16/DskTableFAT32 sectors-per-cluster tables (§3.5-3.6), FSInfo (§5), directory
entries and date/time formats (§6), long file names and their checksum (§7 "FAT Long
Directory Entries", "Name Matching In Short And Long Names", "The Basis-Name Generation
Algorithm"), the NT lower-case flags of byte 12 (DIR_NTRes) as Windows NT and later,
mtools and Linux read them.

What :func:`build` writes (512-byte sectors, two FATs, media 0xF8, 255 heads x 63 sectors
per track, drive 0x80, OEM name ``MSWIN4.1`` as fatgen103 recommends):

- FAT type and cluster size: with no forced type, FAT12 up to 8,400 sectors (4.1 MB),
  FAT16 up to 1,048,576 sectors (512 MiB), FAT32 above -- the ranges where fatgen103's
  tables apply. Sectors per cluster come from DskTableFAT16 / DskTableFAT32 (FAT12: the
  smallest power of two that keeps 4,084 clusters or fewer). A forced type starts from
  the same table and doubles the cluster (up to 32 KiB) until the count is in range. The
  type written is always the one the count gives by fatgen103's rule (< 4085 FAT12, <
  65525 FAT16, else FAT32), so every reader agrees on it.
- Reserved sectors: 1 (FAT12/16) or 32 (FAT32, FSInfo at 1, backup boot sector at 6 and
  backup FSInfo at 7), plus as many as make the data region start on a cluster boundary
  (as mkfs.fat aligns it). Root directory: 512 entries (FAT12/16; more if needed), or a
  cluster chain starting at cluster 2 (FAT32). FAT size: the smallest that covers every
  cluster (fatgen103's formula may give a few sectors more; both are valid).
- Clusters are allocated in one pass: directories first (preorder, the FAT32 root first),
  then every file in the same order, each file in consecutive clusters (unfragmented).
  Entries of a directory are sorted by name. A file's content may be a
  :class:`~formats.sparse.SparseImage`: its holes stay holes in the volume image.
- Names: a name that is a valid 8.3 name in one case per part (``bootcode.bin``,
  ``BOOTX64.EFI``, ``config.txt``, ``EFI``) gets only a short entry, lower-case parts
  marked with the NT flags (0x08 base, 0x10 extension), which mtools and Linux show as
  given. Any other name (mixed case, long, several dots, other characters) gets VFAT
  long-name entries and a short name from the basis-name algorithm (``~N`` tail only
  when the name does not fit 8.3 or lost characters, as the spec says).
- Times: every timestamp (creation, write, access date; the volume label entry) is the
  caller's ``timestamp`` (seconds since the Unix epoch, read as UTC: FAT times carry no
  zone). FAT counts from 1980-01-01 in 2-second steps (creation time keeps the odd second
  in DIR_CrtTimeTenth); an earlier time (e.g. SOURCE_DATE_EPOCH=0) is written as
  1980-01-01 00:00:00, a time after 2107-12-31 23:59:59 is refused.
"""

from __future__ import annotations

import datetime as _dt
import struct
from array import array
from dataclasses import dataclass, field
from typing import Mapping, Optional, Sequence, Union

from construct import Bytes, Int8ul, Int16ul, Int32ul, Struct

from formats import _disklayout
from formats.errors import FormatError
from formats.sparse import Buffer, SparseImage, concat, reader

__all__ = [
    "SECTOR_SIZE",
    "BPB",
    "BPB_FAT16",
    "BPB_FAT32",
    "FSINFO",
    "DIR_ENTRY",
    "LFN_ENTRY",
    "ATTR_READ_ONLY",
    "ATTR_HIDDEN",
    "ATTR_SYSTEM",
    "ATTR_VOLUME_ID",
    "ATTR_DIRECTORY",
    "ATTR_ARCHIVE",
    "ATTR_LONG_NAME",
    "FatLayout",
    "FatEntry",
    "FatVolume",
    "layout",
    "build",
    "min_size",
    "parse",
    "fat_time",
    "lfn_checksum",
    "short_name_for",
]

SECTOR_SIZE = 512

ATTR_READ_ONLY, ATTR_HIDDEN, ATTR_SYSTEM, ATTR_VOLUME_ID = 0x01, 0x02, 0x04, 0x08
ATTR_DIRECTORY, ATTR_ARCHIVE = 0x10, 0x20
ATTR_LONG_NAME = 0x0F
_NT_LOWER_BASE, _NT_LOWER_EXT = 0x08, 0x10

#: The 36 bytes common to every FAT boot sector (fatgen103 §3.1).
BPB = Struct(
    "BS_jmpBoot" / Bytes(3),
    "BS_OEMName" / Bytes(8),
    "BPB_BytsPerSec" / Int16ul,
    "BPB_SecPerClus" / Int8ul,
    "BPB_RsvdSecCnt" / Int16ul,
    "BPB_NumFATs" / Int8ul,
    "BPB_RootEntCnt" / Int16ul,
    "BPB_TotSec16" / Int16ul,
    "BPB_Media" / Int8ul,
    "BPB_FATSz16" / Int16ul,
    "BPB_SecPerTrk" / Int16ul,
    "BPB_NumHeads" / Int16ul,
    "BPB_HiddSec" / Int32ul,
    "BPB_TotSec32" / Int32ul,
)

_EXT_TAIL = (
    "BS_DrvNum" / Int8ul,
    "BS_Reserved1" / Int8ul,
    "BS_BootSig" / Int8ul,
    "BS_VolID" / Int32ul,
    "BS_VolLab" / Bytes(11),
    "BS_FilSysType" / Bytes(8),
)

#: FAT12/FAT16 boot sector (fatgen103 §3.2), 512 bytes.
BPB_FAT16 = Struct(*BPB.subcons, *_EXT_TAIL, "BootCode" / Bytes(448), "Signature_word" / Bytes(2))

#: FAT32 boot sector (fatgen103 §3.3), 512 bytes.
BPB_FAT32 = Struct(
    *BPB.subcons,
    "BPB_FATSz32" / Int32ul,
    "BPB_ExtFlags" / Int16ul,
    "BPB_FSVer" / Int16ul,
    "BPB_RootClus" / Int32ul,
    "BPB_FSInfo" / Int16ul,
    "BPB_BkBootSec" / Int16ul,
    "BPB_Reserved" / Bytes(12),
    *_EXT_TAIL,
    "BootCode" / Bytes(420),
    "Signature_word" / Bytes(2),
)

#: FAT32 FSInfo sector (fatgen103 §5).
FSINFO = Struct(
    "FSI_LeadSig" / Int32ul,
    "FSI_Reserved1" / Bytes(480),
    "FSI_StrucSig" / Int32ul,
    "FSI_Free_Count" / Int32ul,
    "FSI_Nxt_Free" / Int32ul,
    "FSI_Reserved2" / Bytes(12),
    "FSI_TrailSig" / Int32ul,
)

#: A 32-byte short directory entry (fatgen103 §6).
DIR_ENTRY = Struct(
    "DIR_Name" / Bytes(11),
    "DIR_Attr" / Int8ul,
    "DIR_NTRes" / Int8ul,
    "DIR_CrtTimeTenth" / Int8ul,
    "DIR_CrtTime" / Int16ul,
    "DIR_CrtDate" / Int16ul,
    "DIR_LstAccDate" / Int16ul,
    "DIR_FstClusHI" / Int16ul,
    "DIR_WrtTime" / Int16ul,
    "DIR_WrtDate" / Int16ul,
    "DIR_FstClusLO" / Int16ul,
    "DIR_FileSize" / Int32ul,
)

#: A 32-byte long-name entry (fatgen103 §7).
LFN_ENTRY = Struct(
    "LDIR_Ord" / Int8ul,
    "LDIR_Name1" / Bytes(10),
    "LDIR_Attr" / Int8ul,
    "LDIR_Type" / Int8ul,
    "LDIR_Chksum" / Int8ul,
    "LDIR_Name2" / Bytes(12),
    "LDIR_FstClusLO" / Int16ul,
    "LDIR_Name3" / Bytes(4),
)

_LEAD_SIG, _STRUC_SIG, _TRAIL_SIG = 0x41615252, 0x61417272, 0xAA550000
# fatgen103 DskTableFAT16 / DskTableFAT32: (volume sectors up to, sectors per cluster).
_DSK_TABLE_FAT16 = ((8400, 0), (32680, 2), (262144, 4), (524288, 8), (1048576, 16), (2097152, 32),
                    (4194304, 64), (0xFFFFFFFF, 0))
_DSK_TABLE_FAT32 = ((66600, 0), (532480, 1), (16777216, 8), (33554432, 16), (67108864, 32), (0xFFFFFFFF, 64))
_MAX_SPC = 64  # 32 KiB clusters: fatgen103 says larger ones are not valid
_MAX_CLUSTERS = {12: 4084, 16: 65524, 32: 0x0FFFFFF5}
_MIN_CLUSTERS = {12: 1, 16: 4085, 32: 65525}
_EOC = {12: 0xFFF, 16: 0xFFFF, 32: 0x0FFFFFFF}
_BAD = {12: 0xFF7, 16: 0xFFF7, 32: 0x0FFFFFF7}
#: The boot code of a non-bootable volume: INT 18h (the BIOS tries the next device), then halt.
_BOOT_CODE = bytes.fromhex("cd18f4ebfd")
_SHORT_CHARS = set(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789$%'-_@~`!(){}^#&")
_LFN_BAD = set('\\/:*?"<>|')
_FAT_EPOCH = _dt.datetime(1980, 1, 1, tzinfo=_dt.timezone.utc)
_FAT_LAST = _dt.datetime(2107, 12, 31, 23, 59, 59, tzinfo=_dt.timezone.utc)
_FAT_EPOCH_SECONDS, _FAT_LAST_SECONDS = int(_FAT_EPOCH.timestamp()), int(_FAT_LAST.timestamp())


def volume_id_from_seed(seed: Union[bytes, str, int]) -> int:
    """A non-zero BS_VolID derived from ``seed`` (SOURCE_DATE_EPOCH and/or a content hash):
    SHA-256 name-based, as :func:`formats.gpt.guid_from_seed`."""
    return _disklayout.id32_from_seed(seed, "fat-volume-id")


def fat_type_for_clusters(count: int) -> int:
    """fatgen103's rule: fewer than 4085 clusters is FAT12, fewer than 65525 FAT16, else FAT32."""
    return 12 if count < 4085 else 16 if count < 65525 else 32


__all__ += ["fat_type_for_clusters", "volume_id_from_seed"]


# -- times --------------------------------------------------------------------------------


def fat_time(timestamp: int) -> tuple[int, int, int]:
    """``(date, time, tenths)`` for ``timestamp`` (seconds since 1970-01-01 UTC):
    date = ``(year - 1980) << 9 | month << 5 | day``, time = ``hour << 11 | minute << 5 |
    second // 2``, tenths = DIR_CrtTimeTenth (0 or 100: the odd second, in 10 ms units).
    Times before 1980 give 1980-01-01 00:00:00.

    Raises:
        FormatError: the time is after 2107-12-31 23:59:59 (not representable).
    """
    if int(timestamp) > _FAT_LAST_SECONDS:  # before any datetime arithmetic, which overflows
        raise FormatError(f"timestamp {timestamp} is after 2107-12-31, the last date FAT can store", field="timestamp")
    t = _dt.datetime.fromtimestamp(max(_FAT_EPOCH_SECONDS, int(timestamp)), _dt.timezone.utc)
    date = (t.year - 1980) << 9 | t.month << 5 | t.day
    return date, t.hour << 11 | t.minute << 5 | t.second // 2, (t.second % 2) * 100


def _decode_time(date: int, time: int = 0, tenths: int = 0) -> Optional[int]:
    try:
        t = _dt.datetime(1980 + (date >> 9), (date >> 5) & 15, date & 31, time >> 11, (time >> 5) & 63,
                         (time & 31) * 2, tzinfo=_dt.timezone.utc)
    except ValueError:
        return None
    return int(t.timestamp()) + min(tenths, 199) // 100


# -- names --------------------------------------------------------------------------------


def lfn_checksum(short_name: bytes) -> int:
    """The LDIR_Chksum of an 11-byte short name (fatgen103 §7, ``ChkSum``)."""
    s = 0
    for b in short_name:
        s = (((s & 1) << 7) + (s >> 1) + b) & 0xFF
    return s


def _case_of(part: str) -> Optional[str]:
    letters = [c for c in part if c.isalpha()]
    if not letters:
        return "none"
    if all(c.islower() for c in letters):
        return "lower"
    if all(c.isupper() for c in letters):
        return "upper"
    return None


def _fits_83(name: str) -> Optional[tuple[bytes, int]]:
    """``(11-byte short name, NT case flags)`` when ``name`` needs no long name."""
    base, dot, ext = name.partition(".")
    if not base or len(base) > 8 or len(ext) > 3 or "." in ext or (dot and not ext):
        return None
    if not name.isascii():
        return None
    cb, ce = _case_of(base), _case_of(ext)
    if cb is None or ce is None:
        return None
    raw = (base.upper().ljust(8) + ext.upper().ljust(3)).encode("ascii")
    if any(c not in _SHORT_CHARS for c in (base + ext).upper().encode("ascii")):
        return None
    return raw, (_NT_LOWER_BASE if cb == "lower" else 0) | (_NT_LOWER_EXT if ce == "lower" else 0)


def short_name_for(name: str, taken: set[bytes]) -> tuple[bytes, int, bool]:
    """The short name of ``name`` in a directory whose short names are ``taken``:
    ``(11 bytes, NT case flags, needs_long_name)``. fatgen103 "The Basis-Name Generation
    Algorithm" and "The Numeric-Tail Generation Algorithm" (``~1`` .. ``~999999``)."""
    fit = _fits_83(name)
    if fit is not None and fit[0] not in taken:
        return fit[0], fit[1], False
    upper = name.upper()
    lossy = False
    chars = []
    for c in upper:
        if c == " ":
            lossy = True
            continue
        if c == ".":
            chars.append(c)
            continue
        o = ord(c)
        if o < 128 and o in _SHORT_CHARS:
            chars.append(c)
        else:
            chars.append("_")
            lossy = True
    s = "".join(chars).lstrip(".")
    if s != "".join(chars):
        lossy = True
    base_full = s.split(".", 1)[0]  # up to the first period (step 4)
    ext_full = s.rsplit(".", 1)[1] if "." in s else ""  # after the last one (step 6)
    base, ext = base_full[:8], ext_full[:3]
    fits = (len(base_full) <= 8 and len(ext_full) <= 3 and upper.count(".") <= 1 and not lossy)
    if not base:
        base, lossy = "_", True
    candidate = (base.ljust(8) + ext.ljust(3)).encode("ascii")
    if fits and candidate not in taken:
        return candidate, 0, True
    for n in range(1, 1000000):
        tail = f"~{n}"
        raw = (base[:8 - len(tail)] + tail).ljust(8) + ext.ljust(3)
        cand = raw.encode("ascii")
        if cand not in taken:
            return cand, 0, True
    raise FormatError(f"no free short name for {name!r}", field="DIR_Name")  # pragma: no cover


def _lfn_entries(name: str, short: bytes) -> list[bytes]:
    units = name.encode("utf-16-le")
    n_units = len(units) // 2
    if n_units > 255:
        raise FormatError(f"name {name!r} is longer than 255 UTF-16 code units", field="LDIR_Name")
    count = -(-n_units // 13)
    padded = units + (b"\0\0" if n_units % 13 else b"")
    padded = padded.ljust(count * 26, b"\xff")
    ck = lfn_checksum(short)
    out = []
    for i in range(count, 0, -1):
        part = padded[(i - 1) * 26:i * 26]
        out.append(LFN_ENTRY.build(dict(LDIR_Ord=i | (0x40 if i == count else 0), LDIR_Name1=part[:10],
                                        LDIR_Attr=ATTR_LONG_NAME, LDIR_Type=0, LDIR_Chksum=ck, LDIR_Name2=part[10:22],
                                        LDIR_FstClusLO=0, LDIR_Name3=part[22:26])))
    return out


def _check_name(name: str, path: str) -> None:
    if name in ("", ".", ".."):
        raise FormatError(f"path {path!r} has an empty, '.' or '..' component", field="path")
    if any(c in _LFN_BAD or ord(c) < 0x20 for c in name):
        raise FormatError(f"name {name!r} holds a character FAT does not allow (\\ / : * ? \" < > | or a control "
                          "character)", field="path")
    if name[-1] in ". ":
        raise FormatError(f"name {name!r} ends in a dot or space, which FAT drops", field="path")


# -- layout -------------------------------------------------------------------------------


@dataclass(frozen=True)
class FatLayout:
    """The geometry :func:`build` uses for a volume (all counts in sectors unless named).

    Attributes:
        fat_bits: 12, 16 or 32.
        total_sectors, sectors_per_cluster, reserved_sectors, fat_sectors (one FAT),
        root_entries (0 for FAT32), root_dir_sectors, first_data_sector, cluster_count.
    """

    fat_bits: int
    total_sectors: int
    sectors_per_cluster: int
    reserved_sectors: int
    fat_sectors: int
    root_entries: int
    cluster_count: int

    @property
    def root_dir_sectors(self) -> int:
        return (self.root_entries * 32 + SECTOR_SIZE - 1) // SECTOR_SIZE

    @property
    def first_data_sector(self) -> int:
        return self.reserved_sectors + 2 * self.fat_sectors + self.root_dir_sectors

    @property
    def cluster_size(self) -> int:
        """Bytes per cluster."""
        return self.sectors_per_cluster * SECTOR_SIZE


def _table_spc(total: int, bits: int) -> int:
    table = _DSK_TABLE_FAT32 if bits == 32 else _DSK_TABLE_FAT16
    for limit, spc in table:
        if total <= limit:
            return spc
    return 0  # pragma: no cover


def _geometry(total: int, bits: int, spc: int, root_entries: int) -> Optional[FatLayout]:
    """Exact layout for ``bits``/``spc``: smallest FAT that covers all clusters, reserved
    sectors padded so the data region starts on a cluster boundary."""
    base_reserved = 32 if bits == 32 else 1
    root_entries = 0 if bits == 32 else root_entries
    root_secs = (root_entries * 32 + SECTOR_SIZE - 1) // SECTOR_SIZE
    fat_secs = 1
    for _ in range(64):
        reserved = base_reserved
        pad = (reserved + 2 * fat_secs + root_secs) % spc
        if pad:
            reserved += spc - pad
        data = total - reserved - 2 * fat_secs - root_secs
        if data < spc:
            return None
        clusters = data // spc
        need = -(-((clusters + 2) * bits) // (8 * SECTOR_SIZE))
        if need <= fat_secs:
            return FatLayout(bits, total, spc, reserved, fat_secs, root_entries, clusters)
        fat_secs = need
    return None  # pragma: no cover


def layout(size: int, *, fat_type: Optional[int] = None, root_entries: int = 512) -> FatLayout:
    """The geometry of a volume of ``size`` bytes (a multiple of 512), as :func:`build`
    lays it out (see the module notes for the rules).

    Args:
        fat_type: force 12, 16 or 32; ``None`` chooses by size.
        root_entries: FAT12/16 root directory slots (a multiple of 16).

    Raises:
        FormatError: the size is not a positive multiple of 512, or no cluster size gives a
            cluster count valid for the forced type (too small for FAT32, too big for FAT12).
    """
    if size <= 0 or size % SECTOR_SIZE:
        raise FormatError(f"volume size must be a positive multiple of {SECTOR_SIZE} bytes, got {size}",
                          field="volume size")
    total = size // SECTOR_SIZE
    if total > 0xFFFFFFFF:
        raise FormatError(f"a FAT volume has at most 2^32-1 sectors, got {total}", field="volume size")
    if fat_type not in (None, 12, 16, 32):
        raise FormatError(f"FAT type must be 12, 16 or 32, got {fat_type}", field="FAT type")
    bits = fat_type or (12 if total <= 8400 else 16 if total <= 1048576 else 32)
    spc = 1 if bits == 12 else _table_spc(total, bits) or 1
    while spc <= _MAX_SPC:
        g = _geometry(total, bits, spc, root_entries)
        if g is None:
            break
        count_type = fat_type_for_clusters(g.cluster_count)
        if count_type == bits:
            return g
        if count_type < bits:
            break  # too few clusters: bigger clusters only make it worse
        spc *= 2
    raise FormatError(f"a {size}-byte volume cannot be FAT{bits}: it needs {_MIN_CLUSTERS[bits]}.."
                      f"{_MAX_CLUSTERS[bits]} clusters of at most 32 KiB", field="FAT type")


# -- build --------------------------------------------------------------------------------


@dataclass(eq=False)
class _Dir:
    name: str
    parent: Optional["_Dir"] = None
    dirs: dict = field(default_factory=dict)
    files: dict = field(default_factory=dict)
    cluster: int = 0
    clusters: int = 0
    entries: list = field(default_factory=list)


def _tree(files: Mapping[str, Union[Buffer, SparseImage, None]]) -> _Dir:
    """The folder tree of ``files``; a path ending in ``/`` is a (possibly empty) folder.
    Folder names match case-insensitively (the first spelling is kept); file names must
    be unique case-insensitively."""
    root = _Dir("")
    kinds: dict[tuple, object] = {}  # upper-cased path -> _Dir, or "file"
    for path, content in files.items():
        text = str(path).replace("\\", "/")
        parts = text.strip("/").split("/")
        leaf_is_dir = text.endswith("/")
        node = root
        for i, part in enumerate(parts):
            _check_name(part, str(path))
            key = tuple(p.upper() for p in parts[:i + 1])
            is_file = i == len(parts) - 1 and not leaf_is_dir
            have = kinds.get(key)
            if have is not None and (is_file or have == "file"):
                raise FormatError(f"path {path!r} clashes with another entry named {'/'.join(parts[:i + 1])!r} "
                                  "(FAT names are case-insensitive; a name is a file or a folder)", field="path")
            if is_file:
                kinds[key] = "file"
                img = content if isinstance(content, SparseImage) else SparseImage.from_bytes(content or b"")
                if img.size > 0xFFFFFFFF:
                    raise FormatError(f"file {path!r} is {img.size} bytes, FAT stores at most 4 GiB - 1",
                                      field="DIR_FileSize")
                node.files[part] = img
            else:
                if have is None:
                    have = kinds[key] = node.dirs[part] = _Dir(part, node)
                node = have  # type: ignore[assignment]
    return root


def _dir_entry_count(d: _Dir) -> tuple[int, list]:
    """Directory entries of ``d`` (32-byte slots) and the named children in order:
    [[name, kind, node_or_image, short, nt, needs_long, first_cluster]]."""
    taken: set[bytes] = set()
    children = []
    names = sorted([(n, "dir", v) for n, v in d.dirs.items()] + [(n, "file", v) for n, v in d.files.items()],
                   key=lambda t: (t[0].upper(), t[0]))
    slots = 0
    for name, kind, obj in names:
        short, nt, needs_long = short_name_for(name, taken)
        taken.add(short)
        slots += 1 + (-(-len(name.encode("utf-16-le")) // 26) if needs_long else 0)
        children.append([name, kind, obj, short, nt, needs_long, 0])
    return slots, children


def _short_entry(name11: bytes, attr: int, nt: int, cluster: int, size: int, t: tuple[int, int, int]) -> bytes:
    date, time, tenth = t
    return DIR_ENTRY.build(dict(DIR_Name=name11, DIR_Attr=attr, DIR_NTRes=nt, DIR_CrtTimeTenth=tenth, DIR_CrtTime=time,
                                DIR_CrtDate=date, DIR_LstAccDate=date, DIR_FstClusHI=cluster >> 16, DIR_WrtTime=time,
                                DIR_WrtDate=date, DIR_FstClusLO=cluster & 0xFFFF, DIR_FileSize=size))


def _label_bytes(label: Optional[str]) -> Optional[bytes]:
    if label is None:
        return None
    up = label.upper()
    raw = up.encode("ascii", errors="replace")
    if not up or len(raw) > 11 or any(c not in _SHORT_CHARS and c != 0x20 for c in raw) or up[0] == " ":
        raise FormatError(f"volume label {label!r} must be 1-11 short-name characters (A-Z 0-9 space $%'-_@~`!(){{}}^#&)",
                          field="BS_VolLab")
    return raw.ljust(11)


def _plan_clusters(root: _Dir, g: FatLayout, bits: int, label: bool) -> tuple[list, list]:
    """Assign clusters: directories (preorder) then files; each child's first cluster goes
    into its entry (the root holds the volume-label entry first when ``label``). Returns
    (directories in order, files as [(cluster, count, image)])."""
    per_cluster = g.cluster_size // 32
    order: list[_Dir] = []

    def walk(d: _Dir) -> None:
        slots, d.entries = _dir_entry_count(d)
        is_root = d is root
        if not is_root:
            slots += 2  # "." and ".."
        elif label:
            slots += 1  # the volume-ID entry
        d.clusters = max(1, -(-slots // per_cluster)) if (bits == 32 or not is_root) else 0
        order.append(d)
        for child in d.entries:
            if child[1] == "dir":
                walk(child[2])

    walk(root)
    nxt = 2
    for d in order:
        if d.clusters:
            d.cluster, nxt = nxt, nxt + d.clusters
    files = []
    for d in order:
        for child in d.entries:
            if child[1] == "dir":
                child[6] = child[2].cluster
            else:
                n = -(-child[2].size // g.cluster_size)
                if n:
                    child[6] = nxt
                    files.append((nxt, n, child[2]))
                nxt += n
    return order, files


def _needed_clusters(root: _Dir, g: FatLayout, bits: int, label: bool) -> int:
    order, files = _plan_clusters(root, g, bits, label)
    return sum(d.clusters for d in order) + sum(n for _, n, _ in files)


def min_size(files: Mapping[str, Union[Buffer, SparseImage]], *, fat_type: Optional[int] = None,
             label: Optional[str] = None, step: int = 1 << 20) -> int:
    """The smallest volume size (a multiple of ``step`` bytes, 1 MiB by default) that
    holds ``files`` as :func:`build` lays them out, with the type ``fat_type`` (or the one
    chosen by size).

    Raises:
        FormatError: a name or path is invalid.
    """
    root = _tree(files)
    size = step
    if fat_type == 32:
        size = -(-66600 * SECTOR_SIZE // step) * step
    for _ in range(1 << 16):
        try:
            g = layout(size, fat_type=fat_type, root_entries=_root_entries(root, label))
        except FormatError:
            size += step
            continue
        need = _needed_clusters(root, g, g.fat_bits, bool(label))
        if need <= g.cluster_count:
            return size
        size += max(step, -(-((need - g.cluster_count) * g.cluster_size) // step) * step)
    raise FormatError("no volume size holds these files", field="volume size")  # pragma: no cover


def _root_entries(root: _Dir, label: Optional[str]) -> int:
    slots, _ = _dir_entry_count(root)
    slots += 1 if label else 0
    return max(512, -(-slots // 16) * 16)


def _fat_bytes(entries: Sequence[int], bits: int) -> bytes:
    if bits == 12:
        out = bytearray((len(entries) * 3 + 1) // 2)
        for i, v in enumerate(entries):
            o = i * 3 // 2
            if i & 1:
                out[o] |= (v << 4) & 0xF0
                out[o + 1] = v >> 4
            else:
                out[o] = v & 0xFF
                if o + 1 < len(out):
                    out[o + 1] |= v >> 8
        return bytes(out)
    a = array("H" if bits == 16 else "I", entries)
    if a.itemsize != bits // 8:  # pragma: no cover - exotic platforms
        return struct.pack(f"<{len(entries)}{'H' if bits == 16 else 'I'}", *entries)
    if struct.pack("=H", 1) != b"\x01\x00":  # pragma: no cover - big-endian hosts
        a.byteswap()
    return a.tobytes()


def build(files: Mapping[str, Union[Buffer, SparseImage]], *, size: Optional[int] = None,
          fat_type: Optional[int] = None, label: Optional[str] = None, volume_id: int = 0,
          timestamp: int = 0, hidden_sectors: int = 0, oem_name: bytes = b"MSWIN4.1") -> SparseImage:
    """A FAT volume holding ``files``.

    Args:
        files: ``{"EFI/BOOT/BOOTX64.EFI": bytes, "config.txt": bytes, ...}``: paths with
            ``/`` separators (folders are implied; a key ending in ``/`` makes a folder,
            e.g. an empty one, its value ignored), contents as bytes or
            :class:`~formats.sparse.SparseImage`. File names are case-insensitively
            unique; folder names that differ only in case are one folder.
        size: volume size in bytes (a multiple of 512); ``None`` = :func:`min_size`.
        fat_type: 12, 16 or 32 to force the type; ``None`` chooses by size.
        label: volume label (up to 11 short-name characters, upper-cased), in the boot
            sector and as the root's volume-ID entry; ``None`` writes ``NO NAME``.
        volume_id: BS_VolID, 32 bits (derive it from SOURCE_DATE_EPOCH or the content).
        timestamp: every directory timestamp, seconds since 1970 UTC (see :func:`fat_time`).
        hidden_sectors: BPB_HiddSec, the volume's first LBA on its disk (partition start).
        oem_name: BS_OEMName, 8 bytes.

    Returns:
        A :class:`~formats.sparse.SparseImage` of ``size`` bytes; only the boot sectors,
        the used part of the FATs, the directories and the file data are stored.

    Raises:
        FormatError: an invalid or clashing name, a label or ID out of range, the files do
            not fit (the message gives the free and needed bytes), an impossible forced type.
    """
    if not 0 <= volume_id <= 0xFFFFFFFF:
        raise FormatError(f"volume ID must be 32 bits, got {volume_id:#x}", field="BS_VolID")
    if not 0 <= hidden_sectors <= 0xFFFFFFFF:
        raise FormatError(f"hidden sectors must be 32 bits, got {hidden_sectors}", field="BPB_HiddSec")
    oem = bytes(oem_name)
    if len(oem) > 8:
        raise FormatError(f"OEM name is {len(oem)} bytes, at most 8", field="BS_OEMName")
    lab = _label_bytes(label)
    t = fat_time(timestamp)
    if size is None:
        size = min_size(files, fat_type=fat_type, label=label)
    root = _tree(files)
    g = layout(size, fat_type=fat_type, root_entries=_root_entries(root, label))
    bits = g.fat_bits
    order, data_files = _plan_clusters(root, g, bits, lab is not None)
    used = sum(d.clusters for d in order) + sum(n for _, n, _ in data_files)
    if used > g.cluster_count:
        raise FormatError(f"the files need {used * g.cluster_size} bytes of clusters, the {size}-byte FAT{bits} "
                          f"volume has {g.cluster_count * g.cluster_size}", field="volume size")
    cs = g.cluster_size
    data_off = g.first_data_sector * SECTOR_SIZE
    extents: list[tuple[int, Union[bytes, SparseImage]]] = []

    # FAT: chains for directories and files, everything else free (zeros, not stored).
    fat = [0] * (2 + used)
    fat[0] = (0x0FFFFF00 if bits == 32 else (1 << bits) - 256) | 0xF8
    fat[1] = _EOC[bits]
    for first, n in [(d.cluster, d.clusters) for d in order if d.clusters] + [(c, n) for c, n, _ in data_files]:
        for k in range(first, first + n - 1):
            fat[k] = k + 1
        fat[first + n - 1] = _EOC[bits]
    fat_raw = _fat_bytes(fat, bits)
    for i in range(2):
        extents.append(((g.reserved_sectors + i * g.fat_sectors) * SECTOR_SIZE, fat_raw))

    # Directories.
    for d in order:
        slots = []
        if d is root and lab:
            slots.append(_short_entry(lab, ATTR_VOLUME_ID, 0, 0, 0, t))
        if d is not root:
            parent = 0 if d.parent is root else d.parent.cluster  # type: ignore[union-attr]
            slots.append(_short_entry(b".          ", ATTR_DIRECTORY, 0, d.cluster, 0, t))
            slots.append(_short_entry(b"..         ", ATTR_DIRECTORY, 0, parent, 0, t))
        for name, kind, obj, short, nt, needs_long, first in d.entries:
            if needs_long:
                slots.extend(_lfn_entries(name, short))
            if kind == "dir":
                slots.append(_short_entry(short, ATTR_DIRECTORY, nt, first, 0, t))
            else:
                slots.append(_short_entry(short, ATTR_ARCHIVE, nt, first, obj.size, t))
        raw = b"".join(slots)
        if d is root and bits != 32:
            extents.append(((g.reserved_sectors + 2 * g.fat_sectors) * SECTOR_SIZE, raw))
        else:
            extents.append((data_off + (d.cluster - 2) * cs, raw))

    for cluster, _, img in data_files:
        extents.append((data_off + (cluster - 2) * cs, img))

    # Boot sector(s).
    common = dict(BS_jmpBoot=b"\xeb\x58\x90" if bits == 32 else b"\xeb\x3c\x90", BS_OEMName=oem.ljust(8),
                  BPB_BytsPerSec=SECTOR_SIZE, BPB_SecPerClus=g.sectors_per_cluster,
                  BPB_RsvdSecCnt=g.reserved_sectors, BPB_NumFATs=2, BPB_RootEntCnt=g.root_entries,
                  BPB_TotSec16=g.total_sectors if g.total_sectors < 0x10000 and bits != 32 else 0, BPB_Media=0xF8,
                  BPB_FATSz16=0 if bits == 32 else g.fat_sectors, BPB_SecPerTrk=63, BPB_NumHeads=255,
                  BPB_HiddSec=hidden_sectors,
                  BPB_TotSec32=0 if g.total_sectors < 0x10000 and bits != 32 else g.total_sectors,
                  BS_DrvNum=0x80, BS_Reserved1=0, BS_BootSig=0x29, BS_VolID=volume_id,
                  BS_VolLab=lab or b"NO NAME    ", BS_FilSysType=f"FAT{bits}".ljust(8).encode(),
                  Signature_word=b"\x55\xaa")
    if bits == 32:
        boot = BPB_FAT32.build(dict(common, BPB_FATSz32=g.fat_sectors, BPB_ExtFlags=0, BPB_FSVer=0, BPB_RootClus=2,
                                    BPB_FSInfo=1, BPB_BkBootSec=6, BPB_Reserved=bytes(12),
                                    BootCode=_BOOT_CODE.ljust(420, b"\0")))
        fsinfo = FSINFO.build(dict(FSI_LeadSig=_LEAD_SIG, FSI_Reserved1=bytes(480), FSI_StrucSig=_STRUC_SIG,
                                   FSI_Free_Count=g.cluster_count - used,
                                   FSI_Nxt_Free=2 + used if used < g.cluster_count else 0xFFFFFFFF,
                                   FSI_Reserved2=bytes(12), FSI_TrailSig=_TRAIL_SIG))
        extents += [(0, boot + fsinfo), (6 * SECTOR_SIZE, boot + fsinfo)]
    else:
        extents.append((0, BPB_FAT16.build(dict(common, BootCode=_BOOT_CODE.ljust(448, b"\0")))))

    return concat(size, extents)


# -- reading ------------------------------------------------------------------------------


@dataclass(frozen=True)
class FatEntry:
    """One file or folder of a volume.

    Attributes:
        path: ``/``-separated path from the root, the long name where there is one.
        short_name: the 8.3 name as stored (``"BOOTX64 EFI"`` -> ``"BOOTX64.EFI"``).
        is_dir: a folder.
        size: bytes (0 for folders).
        first_cluster: DIR_FstClusHI:LO.
        attributes: DIR_Attr.
        mtime: write time, seconds since 1970 UTC (``None`` when the date is invalid).
        ctime: creation time (with DIR_CrtTimeTenth), likewise.
        offset: byte offset of the short directory entry in the volume.
    """

    path: str
    short_name: str
    is_dir: bool
    size: int
    first_cluster: int
    attributes: int
    mtime: Optional[int]
    ctime: Optional[int]
    offset: int


class FatVolume:
    """A parsed FAT volume (from :func:`parse`): geometry and lazy file access.

    Attributes:
        fat_bits: 12, 16 or 32 (from the cluster count, fatgen103 §3.5).
        boot_sector: the parsed boot sector (construct container, fatgen103 field names).
        bytes_per_sector, sectors_per_cluster, cluster_size (bytes), cluster_count,
        total_sectors, label (str, from the BPB), volume_id (int), oem_name (bytes).
        problems: non-fatal findings (FAT copies differ, FSInfo counts, backup boot sector),
            each a :class:`FormatError` naming the field and offset.
    """

    def __init__(self, src, bs, fat_bits: int, geometry: dict, problems: list) -> None:
        self._src = src
        self.boot_sector = bs
        self.fat_bits = fat_bits
        self.__dict__.update(geometry)
        self.label = bs.BS_VolLab.decode("ascii", "replace").rstrip()
        self.volume_id = bs.BS_VolID
        self.oem_name = bs.BS_OEMName
        self._fat: Optional[bytes] = None
        self._entries: Optional[list[FatEntry]] = None
        self.problems = problems

    # FAT access ---------------------------------------------------------------------------

    def _load_fat(self) -> bytes:
        if self._fat is None:
            length = (self.cluster_count + 2) * self.fat_bits // 8 + 2
            self._fat = self._src.read(self.fat_offset, min(length, self.fat_bytes))
        return self._fat

    def next_cluster(self, n: int) -> int:
        """FAT entry of cluster ``n`` (the next cluster, or >= the EOC mark)."""
        fat = self._load_fat()
        if self.fat_bits == 12:
            o = n * 3 // 2
            if o + 2 > len(fat):
                raise FormatError(f"FAT entry {n} is past the FAT", field="FAT", offset=self.fat_offset + o)
            v = fat[o] | fat[o + 1] << 8
            return v >> 4 if n & 1 else v & 0xFFF
        w = self.fat_bits // 8
        o = n * w
        if o + w > len(fat):
            raise FormatError(f"FAT entry {n} is past the FAT", field="FAT", offset=self.fat_offset + o)
        v = int.from_bytes(fat[o:o + w], "little")
        return v & 0x0FFFFFFF if self.fat_bits == 32 else v

    def chain(self, first: int, what: str = "file") -> list[int]:
        """The clusters of the chain starting at ``first``.

        Raises:
            FormatError: a free, bad, out-of-range or looping link (offset of the FAT entry).
        """
        out = []
        n = first
        eoc_min = _BAD[self.fat_bits] + 1
        limit = self.cluster_count + 1
        while True:
            if not 2 <= n <= limit:
                raise FormatError(f"{what} chain reaches cluster {n:#x}, outside 2..{limit:#x}", field="FAT",
                                  offset=self.fat_offset + (out[-1] * self.fat_bits // 8 if out else 0))
            out.append(n)
            if len(out) > self.cluster_count:
                raise FormatError(f"{what} chain starting at cluster {first} loops", field="FAT",
                                  offset=self.fat_offset + n * self.fat_bits // 8)
            nxt = self.next_cluster(n)
            if nxt >= eoc_min:
                return out
            if nxt == _BAD[self.fat_bits] or nxt < 2:
                raise FormatError(f"{what} chain has cluster {n} pointing to {nxt:#x} (free or bad)", field="FAT",
                                  offset=self.fat_offset + n * self.fat_bits // 8)
            n = nxt

    def cluster_offset(self, n: int) -> int:
        """Byte offset of cluster ``n`` in the volume."""
        return self.data_offset + (n - 2) * self.cluster_size

    # directories --------------------------------------------------------------------------

    def _dir_bytes(self, first: int) -> list[tuple[int, bytes]]:
        if first == 0:
            if self.fat_bits == 32:
                first = self.boot_sector.BPB_RootClus
            else:
                return [(self.root_offset, self._src.read(self.root_offset, self.root_bytes))]
        return [(self.cluster_offset(c), self._src.read(self.cluster_offset(c), self.cluster_size))
                for c in self.chain(first, "directory")]

    def _scan_dir(self, first: int, prefix: str) -> list[FatEntry]:
        out = []
        lfn: list[tuple[int, int, str]] = []  # (ord, checksum, part)
        for base, raw in self._dir_bytes(first):
            for i in range(0, len(raw) - 31, 32):
                e = raw[i:i + 32]
                if e[0] == 0:
                    return out
                if e[0] == 0xE5:
                    lfn = []
                    continue
                if e[11] & 0x3F == ATTR_LONG_NAME:
                    ld = LFN_ENTRY.parse(e)
                    part = (ld.LDIR_Name1 + ld.LDIR_Name2 + ld.LDIR_Name3).decode("utf-16-le", "replace")
                    if ld.LDIR_Ord & 0x40:
                        lfn = []
                    lfn.append((ld.LDIR_Ord & 0x3F, ld.LDIR_Chksum, part))
                    continue
                d = DIR_ENTRY.parse(e)
                name11 = (b"\xe5" + d.DIR_Name[1:]) if d.DIR_Name[0] == 5 else d.DIR_Name
                long = None
                if lfn and all(ck == lfn_checksum(d.DIR_Name) for _, ck, _ in lfn) and \
                        [o for o, _, _ in lfn] == list(range(len(lfn), 0, -1)):
                    long = "".join(p for _, _, p in reversed(lfn)).split("\0", 1)[0]
                lfn = []
                if d.DIR_Attr & ATTR_VOLUME_ID:
                    continue
                base_n = name11[:8].decode("latin-1").rstrip()
                ext_n = name11[8:].decode("latin-1").rstrip()
                if base_n in (".", ".."):
                    continue
                short = base_n + ("." + ext_n if ext_n else "")
                shown = long or ((base_n.lower() if d.DIR_NTRes & _NT_LOWER_BASE else base_n) +
                                 ("." + (ext_n.lower() if d.DIR_NTRes & _NT_LOWER_EXT else ext_n) if ext_n else ""))
                is_dir = bool(d.DIR_Attr & ATTR_DIRECTORY)
                out.append(FatEntry(path=prefix + shown, short_name=short, is_dir=is_dir,
                                    size=0 if is_dir else d.DIR_FileSize,
                                    first_cluster=d.DIR_FstClusHI << 16 | d.DIR_FstClusLO if self.fat_bits == 32
                                    else d.DIR_FstClusLO, attributes=d.DIR_Attr,
                                    mtime=_decode_time(d.DIR_WrtDate, d.DIR_WrtTime),
                                    ctime=_decode_time(d.DIR_CrtDate, d.DIR_CrtTime, d.DIR_CrtTimeTenth),
                                    offset=base + i))
        return out

    def walk(self) -> list[FatEntry]:
        """Every file and folder, preorder (a folder before its contents), in directory order.

        Raises:
            FormatError: a broken cluster chain or a folder that contains itself.
        """
        if self._entries is None:
            out: list[FatEntry] = []
            seen: set[int] = set()

            def rec(first: int, prefix: str, depth: int) -> None:
                if depth > 64:
                    raise FormatError(f"folders nested deeper than 64 at {prefix!r}", field="directory")
                for e in self._scan_dir(first, prefix):
                    out.append(e)
                    if e.is_dir:
                        if e.first_cluster in seen or e.first_cluster < 2:
                            raise FormatError(f"folder {e.path!r} points to cluster {e.first_cluster}, which is "
                                              "the root or another folder", field="DIR_FstClusLO", offset=e.offset)
                        seen.add(e.first_cluster)
                        rec(e.first_cluster, e.path + "/", depth + 1)

            rec(0, "", 0)
            self._entries = out
        return list(self._entries)

    def find(self, path: str) -> FatEntry:
        """The entry at ``path`` (case-insensitive, long or short names).

        Raises:
            FormatError: no such file or folder.
        """
        want = path.strip("/").upper()
        for e in self.walk():
            parent = e.path.rpartition("/")[0]
            alt = (parent + "/" if parent else "") + e.short_name
            if e.path.upper() == want or alt.upper() == want:
                return e
        raise FormatError(f"no file {path!r} in the volume", field="path")

    def read(self, path: str) -> bytes:
        """The content of the file at ``path``.

        Raises:
            FormatError: no such file, a folder, or a chain shorter than the file size.
        """
        e = self.find(path)
        if e.is_dir:
            raise FormatError(f"{path!r} is a folder", field="path", offset=e.offset)
        if e.size == 0:
            return b""
        clusters = self.chain(e.first_cluster, f"file {e.path!r}")
        if len(clusters) * self.cluster_size < e.size:
            raise FormatError(f"file {e.path!r} is {e.size} bytes but its chain holds "
                              f"{len(clusters) * self.cluster_size}", field="DIR_FileSize", offset=e.offset + 28)
        parts = []
        run_start = prev = clusters[0]
        for c in clusters[1:] + [None]:  # type: ignore[list-item]
            if c is not None and c == prev + 1:
                prev = c
                continue
            parts.append(self._src.read(self.cluster_offset(run_start), (prev - run_start + 1) * self.cluster_size))
            if c is not None:
                run_start = prev = c
        return b"".join(parts)[:e.size]

    def __repr__(self) -> str:
        return (f"FatVolume(FAT{self.fat_bits}, {self.total_sectors} sectors, {self.cluster_count} clusters of "
                f"{self.cluster_size} bytes, label={self.label!r}, volume_id={self.volume_id:#010x})")


def parse(data) -> FatVolume:
    """Read the boot sector and geometry of a FAT volume; files are read on demand.

    Args:
        data: the volume (bytes-like, ``mmap`` or :class:`~formats.sparse.SparseImage`),
            e.g. a partition cut out of a disk with ``disk.read(start, length)``.

    Raises:
        FormatError: not a FAT boot sector (signature, BPB values), or a volume larger than
            the input; the message names the BPB field and offset.
    """
    src = reader(data)
    if src.size < SECTOR_SIZE:
        raise FormatError(f"a FAT volume starts with a 512-byte boot sector, got {src.size} bytes",
                          field="boot sector", offset=0)
    raw = src.read(0, SECTOR_SIZE)
    if raw[510:512] != b"\x55\xaa":
        raise FormatError(f"no boot sector signature (expected 55 AA, got {raw[510:512].hex(' ')})",
                          field="Signature_word", offset=510)
    b = BPB.parse(raw)

    def bad(fld: str, off: int, msg: str) -> FormatError:
        return FormatError(msg, field=fld, offset=off)

    if raw[0] not in (0xEB, 0xE9):
        raise bad("BS_jmpBoot", 0, f"jump instruction is {raw[:3].hex(' ')}, expected EB xx 90 or E9 xx xx")
    bps = b.BPB_BytsPerSec
    if bps not in (512, 1024, 2048, 4096):
        raise bad("BPB_BytsPerSec", 11, f"is {bps}, expected 512, 1024, 2048 or 4096")
    spc = b.BPB_SecPerClus
    if spc == 0 or spc & (spc - 1) or spc > 128:
        raise bad("BPB_SecPerClus", 13, f"is {spc}, expected a power of two up to 128")
    if b.BPB_RsvdSecCnt == 0:
        raise bad("BPB_RsvdSecCnt", 14, "is 0, expected at least 1")
    if b.BPB_NumFATs == 0:
        raise bad("BPB_NumFATs", 16, "is 0, expected at least 1")
    total = b.BPB_TotSec16 or b.BPB_TotSec32
    if total == 0:
        raise bad("BPB_TotSec32", 32, "both BPB_TotSec16 and BPB_TotSec32 are 0")
    is32 = b.BPB_FATSz16 == 0
    bs = BPB_FAT32.parse(raw) if is32 else BPB_FAT16.parse(raw)
    fat_secs = bs.BPB_FATSz32 if is32 else b.BPB_FATSz16
    if fat_secs == 0:
        raise bad("BPB_FATSz32", 36, "is 0 (and BPB_FATSz16 is 0)")
    root_secs = (b.BPB_RootEntCnt * 32 + bps - 1) // bps
    first_data = b.BPB_RsvdSecCnt + b.BPB_NumFATs * fat_secs + root_secs
    if first_data >= total:
        raise bad("BPB_TotSec32", 32, f"{total} sectors leave no data region (it would start at sector {first_data})")
    clusters = (total - first_data) // spc
    bits = fat_type_for_clusters(clusters)
    if (bits == 32) != is32:
        raise bad("BPB_FATSz16", 22, f"{clusters} clusters make FAT{bits}, but BPB_FATSz16 "
                  f"{'is 0 (FAT32 layout)' if is32 else 'is set (FAT12/16 layout)'}")
    if bits == 32 and b.BPB_RootEntCnt:
        raise bad("BPB_RootEntCnt", 17, f"is {b.BPB_RootEntCnt}, expected 0 on FAT32")
    if bits != 32 and b.BPB_RootEntCnt == 0:
        raise bad("BPB_RootEntCnt", 17, "is 0, expected the root directory size on FAT12/16")
    if fat_secs * bps * 8 < (clusters + 2) * bits:
        raise bad("BPB_FATSz16" if not is32 else "BPB_FATSz32", 22 if not is32 else 36,
                  f"{fat_secs} sectors cannot hold {clusters + 2} FAT{bits} entries")
    if total * bps > src.size:
        raise bad("BPB_TotSec32", 32 if b.BPB_TotSec32 else 19,
                  f"volume is {total * bps} bytes, the input only {src.size} (truncated?)")
    if is32 and not 2 <= bs.BPB_RootClus <= clusters + 1:
        raise bad("BPB_RootClus", 44, f"is {bs.BPB_RootClus}, outside clusters 2..{clusters + 1}")
    geometry = dict(bytes_per_sector=bps, sectors_per_cluster=spc, cluster_size=bps * spc, cluster_count=clusters,
                    total_sectors=total, fat_offset=b.BPB_RsvdSecCnt * bps, fat_bytes=fat_secs * bps,
                    root_offset=(b.BPB_RsvdSecCnt + b.BPB_NumFATs * fat_secs) * bps, root_bytes=root_secs * bps,
                    data_offset=first_data * bps)
    problems = _problems(src, bs, bits, geometry, b.BPB_NumFATs, is32)
    return FatVolume(src, bs, bits, geometry, problems)


def _problems(src, bs, bits: int, g: dict, nfats: int, is32: bool) -> list[FormatError]:
    out = []
    used = min(g["fat_bytes"], (g["cluster_count"] + 2) * bits // 8 + 2)
    first = src.read(g["fat_offset"], used)
    for i in range(1, nfats):
        off = g["fat_offset"] + i * g["fat_bytes"]
        if src.read(off, used) != first:
            out.append(FormatError(f"FAT copy {i + 1} differs from the first", field="FAT", offset=off))
    if is32:
        bps = g["bytes_per_sector"]
        fs = bs.BPB_FSInfo
        if 0 < fs < bs.BPB_RsvdSecCnt:
            info = FSINFO.parse(src.read(fs * bps, 512))
            if (info.FSI_LeadSig, info.FSI_StrucSig, info.FSI_TrailSig) != (_LEAD_SIG, _STRUC_SIG, _TRAIL_SIG):
                out.append(FormatError("FSInfo signatures are wrong", field="FSI_LeadSig", offset=fs * bps))
        bk = bs.BPB_BkBootSec
        if 0 < bk < bs.BPB_RsvdSecCnt and src.read(bk * bps, 512) != src.read(0, 512):
            out.append(FormatError("backup boot sector differs from the boot sector", field="BPB_BkBootSec",
                                   offset=bk * bps))
    return out
