"""``imgtool info`` for disk images and tarballs: what is on a ``disk.raw``, an
``esp.img``, an SD card image or a ``compressed-image.tar.gz``.

Generic over the containers of :mod:`formats`: a GPT disk (headers, both entry arrays and
their CRC-32s checked by :func:`formats.gpt.parse`), an MBR disk (a Raspberry Pi SD card,
the GCE BIOS disk), or a FAT volume without a partition table (a superfloppy); every
partition that holds a FAT volume has its files listed; an imgtool BIOS boot sector has its
parameter block decoded and its payload located (:mod:`formats.boot.bios`). A tar archive
(gzip-compressed or not) lists its members and describes the ``disk.raw`` in it (or the
only member), without writing it out: a sparse member's holes are never expanded.

Files are read through ``mmap``, so a 1 GiB disk is not read into memory; only the
sectors the parsers ask for are touched.
"""

from __future__ import annotations

import datetime as _dt
import mmap
import os
from typing import Optional

from formats import fat, gpt, mbr, tar
from formats.boot import bios
from formats.errors import FormatError
from formats.sparse import reader

_SECTOR = 512
_GZIP = b"\x1f\x8b"
_TAR_MAGICS = (b"ustar  \0", b"ustar\x0000")


class _MappedFile:
    """A read-only ``mmap`` of a file as a ByteReader: reads copy out of the mapping, so no
    view of it outlives the ``with`` block that closes it."""

    def __init__(self, mm: mmap.mmap) -> None:
        self._mm, self.size = mm, len(mm)

    def read(self, offset: int, length: int) -> bytes:
        if offset < 0 or length < 0 or offset + length > self.size:
            raise FormatError(f"read of {length} bytes at 0x{offset:x} is outside the {self.size}-byte file",
                              field="input", offset=offset)
        return self._mm[offset:offset + length]


class _Window:
    """``size`` bytes of ``src`` from ``offset`` on (a partition), as a ByteReader."""

    def __init__(self, src, offset: int, size: int) -> None:
        self._src, self._offset, self.size = src, offset, max(0, min(size, src.size - offset))

    def read(self, offset: int, length: int) -> bytes:
        if offset < 0 or length < 0 or offset + length > self.size:
            raise FormatError(f"read of {length} bytes at 0x{offset:x} is outside the {self.size}-byte partition",
                              field="partition", offset=offset)
        return self._src.read(self._offset + offset, length)


def sniff(head: bytes) -> Optional[str]:
    """``"tar"`` or ``"disk"`` for the first bytes of a file (at least 512 for a disk),
    else ``None``: gzip magic or a ustar magic at 257 is a tar; 55 AA at 510 without an
    ELF or MZ magic is a disk (MBR, protective MBR or FAT boot sector)."""
    if head[:2] == _GZIP or head[257:265] in _TAR_MAGICS:
        return "tar"
    if len(head) >= _SECTOR and head[510:512] == b"\x55\xaa" and head[:4] != b"\x7fELF" and head[:2] != b"MZ":
        return "disk"
    return None


def describe_disk_file(path: str | os.PathLike[str]) -> Optional[dict]:
    """:func:`describe_tarball` or :func:`describe_disk` of the file at ``path``, or
    ``None`` when it is neither (or cannot be opened: the caller's reader reports that).

    Raises:
        FormatError: a recognised container that is malformed (named with ``path``).
    """
    try:
        with open(path, "rb") as fh:
            kind = sniff(fh.read(_SECTOR))
            if kind is None or os.fstat(fh.fileno()).st_size == 0:
                return None
            with mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as mm:
                src = _MappedFile(mm)
                try:
                    return describe_tarball(src, str(path)) if kind == "tar" else describe_disk(src, str(path))
                except FormatError as exc:
                    raise (exc if exc.source else exc.with_source(str(path))) from None
    except OSError:
        return None


def describe_tarball(data, source: str) -> dict:
    """``{"type": "tar", "file", "compression", "members": [...], "disk": {...} | None}``:
    the members as :func:`formats.tar.parse` lists them, and :func:`describe_disk` of the
    member ``disk.raw`` (or of the only member, when there is one).

    Raises:
        FormatError: a malformed archive.
    """
    entries = tar.parse(data)
    members = [{"name": e.name, "typeflag": e.typeflag, "sparse": e.sparse_map is not None, "size": e.size,
                "stored_size": e.stored_size, "mode": e.mode, "uid": e.uid, "gid": e.gid, "uname": e.uname,
                "gname": e.gname, "mtime": e.mtime} for e in entries]
    files = [e for e in entries if e.typeflag in ("0", "\0", "S", "7")]
    pick = next((e for e in files if e.name == "disk.raw"), files[0] if len(files) == 1 else None)
    disk = None
    if pick is not None and pick.size >= _SECTOR:
        image = tar.extract(data, pick.name)
        if sniff(image.read(0, _SECTOR)) == "disk":
            disk = describe_disk(image, f"{source}:{pick.name}")
    return {"type": "tar", "file": source, "compression": "gzip" if reader(data).read(0, 2) == _GZIP else "none",
            "members": members, "disk": disk}


def describe_disk(data, source: str) -> dict:
    """A disk image (bytes-like, ``mmap`` or :class:`~formats.sparse.SparseImage`) as
    ``{"type": "disk", "file", "size", "table": "gpt"|"mbr"|"none", ...}``: partitions
    (each with its ``filesystem`` when it holds FAT), ``problems`` (strings, empty when
    every check passed), the GPT headers, the MBR disk signature, the FAT volume of a
    superfloppy, the imgtool BIOS boot sector's parameters and payload.

    Raises:
        FormatError: no MBR, GPT or FAT at LBA 0.
    """
    src = reader(data)
    out: dict = {"type": "disk", "file": source, "size": src.size}
    sector0 = src.read(0, _SECTOR)
    volume = _try_fat(src)
    if volume is not None:
        out.update(table="none", filesystem=describe_fat(volume), problems=[])
        return out
    table = mbr.parse(src)
    if table.is_protective:
        out.update(_gpt(src))
    else:
        out.update(table="mbr", disk_signature=table.disk_signature, problems=[str(p) for p in table.problems],
                   partitions=[_mbr_partition(src, p) for p in table.partitions])
    params = bios.identify(sector0)
    if params is not None:
        out["bios_boot"] = _bios_boot(params, out, src.size)
    return out


def _try_fat(src) -> Optional[fat.FatVolume]:
    try:
        return fat.parse(src)
    except FormatError:
        return None


def describe_fat(volume: fat.FatVolume) -> dict:
    """A FAT volume's type, label, ID, geometry, files (``walk()`` order) and problems."""
    try:
        files = [{"path": e.path, "dir": e.is_dir, "size": e.size, "mtime": e.mtime} for e in volume.walk()]
        problems = [str(p) for p in volume.problems]
    except FormatError as exc:
        files, problems = [], [str(exc)]
    return {"fat_bits": volume.fat_bits, "label": volume.label, "volume_id": volume.volume_id,
            "cluster_size": volume.cluster_size, "clusters": volume.cluster_count, "files": files,
            "problems": problems}


def _filesystem(src, offset: int, size: int) -> Optional[dict]:
    volume = _try_fat(_Window(src, offset, size))
    if volume is None:
        return None
    from imgtool.rpiinfo import describe_boot_partition

    desc = describe_fat(volume)
    rpi = describe_boot_partition(volume)  # a Raspberry Pi boot partition: config.txt, kernel
    if rpi is not None:
        desc["raspberrypi"] = rpi
    return desc


def _mbr_partition(src, p: mbr.MbrPartition) -> dict:
    return {"index": p.index, "type": f"0x{p.type:02x}", "type_name": p.type_name, "first_lba": p.lba_start,
            "last_lba": p.lba_end - 1, "sectors": p.sectors, "bootable": p.bootable,
            "filesystem": _filesystem(src, p.lba_start * _SECTOR, p.sectors * _SECTOR)}


def _gpt(src) -> dict:
    g = gpt.parse(src)
    headers = {}
    for name, h in (("primary", g.primary), ("backup", g.backup)):
        headers[name] = None if h is None else {
            "lba": h.my_lba, "header_crc32": h.header_crc32, "entries_lba": h.partition_entry_lba,
            "entry_count": h.entry_count, "entry_array_crc32": h.entry_array_crc32,
            "usable": [h.first_usable_lba, h.last_usable_lba]}
    parts = [{"index": p.index, "type": str(p.type).upper(), "type_name": p.type_name, "first_lba": p.first_lba,
              "last_lba": p.last_lba, "sectors": p.sectors, "name": p.name, "guid": str(p.guid).upper(),
              "attributes": p.attributes,
              "filesystem": _filesystem(src, p.first_lba * g.sector_size, p.sectors * g.sector_size)}
             for p in g.partitions]
    return {"table": "gpt", "disk_guid": str(g.disk_guid).upper(), "headers": headers, "partitions": parts,
            "problems": [str(p) for p in g.problems]}


def _bios_boot(params: bios.BiosBootParams, disk: dict, size: int) -> dict:
    """The boot sector's parameters, the partition holding the payload and what is wrong."""
    end = params.lba + params.sectors
    holder = next((p for p in disk.get("partitions", ()) if p["first_lba"] <= params.lba and end - 1 <= p["last_lba"]),
                  None)
    problems = []
    if end * _SECTOR > size:
        problems.append(f"payload LBA {params.lba}..{end - 1} runs past the disk's last sector {size // _SECTOR - 1}")
    if holder is None:
        problems.append(f"no partition covers the payload (LBA {params.lba}..{end - 1})")
    return {"version": params.version, "lba": params.lba, "sectors": params.sectors,
            "payload_bytes": params.sectors * _SECTOR, "load": params.load, "load_end": params.load_end,
            "entry": params.entry, "bss_start": params.bss_start, "bss_end": params.bss_end,
            "partition": holder["index"] if holder else None, "problems": problems}


# -- text -----------------------------------------------------------------------------------


def _size(n: int) -> str:
    for unit, shift in (("GiB", 30), ("MiB", 20), ("KiB", 10)):
        if n >= 1 << shift:
            v = n / (1 << shift)
            return f"{v:.0f} {unit}" if v == int(v) else f"{v:.1f} {unit}"
    return f"{n} bytes"


def _time(t: Optional[int]) -> str:
    if t is None:
        return "-"
    try:
        return _dt.datetime.fromtimestamp(t, _dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S")
    except (OverflowError, ValueError, OSError):  # a tar mtime (base-256) past what a datetime holds
        return f"{t} s since 1970"


def render_disk(desc: dict) -> str:
    """Text for :func:`describe_disk` or :func:`describe_tarball`."""
    if desc["type"] == "tar":
        lines = [f"{desc['file']}: tar archive ({'gzip-compressed' if desc['compression'] == 'gzip' else 'plain'}), "
                 f"{len(desc['members'])} member(s)"]
        for m in desc["members"]:
            kind = "GNU sparse" if m["sparse"] else f"type {m['typeflag']!r}"
            lines.append(f"  {m['name']:<12} {m['size']} bytes ({_size(m['size'])}), {kind}, {m['stored_size']} bytes "
                         f"stored, mode {m['mode']:04o}, owner {m['uid']}/{m['gid']}, mtime {_time(m['mtime'])} UTC")
        if desc["disk"]:
            lines.extend(_disk_lines(desc["disk"], "  "))
        return "\n".join(lines) + "\n"
    return "\n".join(_disk_lines(desc, "")) + "\n"


def _disk_lines(d: dict, ind: str) -> list[str]:
    table = {"gpt": "GPT", "mbr": "MBR", "none": "no partition table (FAT on the whole disk)"}[d["table"]]
    head = f"{ind}{d['file']}: disk image, {d['size']} bytes ({_size(d['size'])}), {table}"
    if d["table"] == "gpt":
        head += f", disk GUID {d['disk_guid']}"
    elif d["table"] == "mbr":
        head += f", disk signature 0x{d['disk_signature']:08x}"
    lines = [head]
    if d["table"] == "none":
        lines.extend(_fat_lines(d["filesystem"], ind + "  "))
    if d["table"] == "gpt":
        for name, h in d["headers"].items():
            if h:
                lines.append(f"{ind}  {name + ' GPT':<12} header LBA {h['lba']} (CRC-32 0x{h['header_crc32']:08x}), "
                             f"{h['entry_count']} entries at LBA {h['entries_lba']} (CRC-32 "
                             f"0x{h['entry_array_crc32']:08x}), usable LBA {h['usable'][0]}..{h['usable'][1]}")
    for p in d.get("partitions", ()):
        extra = f" \"{p['name']}\"" if p.get("name") else ""
        extra += ", bootable" if p.get("bootable") else ""
        lines.append(f"{ind}  partition {p['index']:<2} LBA {p['first_lba']}..{p['last_lba']} ({_size(p['sectors'] * _SECTOR)}), "
                     f"type {p['type']} {p['type_name']}{extra}")
        if p["filesystem"]:
            lines.extend(_fat_lines(p["filesystem"], ind + "    "))
    b = d.get("bios_boot")
    if b:
        part = f"partition {b['partition']}" if b["partition"] else "no partition"
        lines.append(f"{ind}  boot sector  imgtool BIOS boot code v{b['version']}: payload at LBA {b['lba']}, "
                     f"{b['sectors']} sectors ({b['payload_bytes']} bytes, {part}) -> load 0x{b['load']:x}..0x{b['load_end']:x}, "
                     f"entry 0x{b['entry']:x}, BSS 0x{b['bss_start']:x}..0x{b['bss_end']:x} "
                     f"({_size(max(0, b['bss_end'] - b['bss_start']))} zeroed)")
        lines.extend(f"{ind}  problem      {p}" for p in b["problems"])
    if d["table"] != "none":
        checks = "GPT: protective MBR, both headers and entry arrays, their CRC-32s" if d["table"] == "gpt" else "MBR"
        lines.append(f"{ind}  checks       {checks}: " + ("OK" if not d["problems"] else f"{len(d['problems'])} problem(s)"))
    lines.extend(f"{ind}  problem      {p}" for p in d["problems"])
    return lines


def _fat_lines(f: dict, ind: str) -> list[str]:
    lines = [f"{ind}FAT{f['fat_bits']} volume \"{f['label']}\", ID {f['volume_id'] >> 16:04X}-{f['volume_id'] & 0xFFFF:04X}, "
             f"{f['clusters']} clusters of {f['cluster_size']} bytes"]
    for e in f["files"]:
        lines.append(f"{ind}  {e['path'] + '/' if e['dir'] else e['path']:<40} "
                     f"{'' if e['dir'] else str(e['size']) + ' bytes':>14}  {_time(e['mtime'])}")
    lines.extend(f"{ind}problem {p}" for p in f["problems"])
    if f.get("raspberrypi"):
        from imgtool.rpiinfo import boot_partition_lines

        lines.extend(boot_partition_lines(f["raspberrypi"], ind))
    return lines
